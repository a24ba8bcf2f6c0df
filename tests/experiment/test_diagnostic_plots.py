import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gru_keras import schema
from gru_keras.experiment.diagnostic_plots import draw_gradient_reach, gates_figure


def test_a_gradient_that_underflows_to_zero_is_drawn_at_the_floor_and_named():
    norms = {"initial": [0.0, 0.0, 1e-20, 1.0], "trained": [1e-3, 1e-2, 1e-1, 1.0]}
    table = pd.concat(
        pd.DataFrame({"stage": stage, "distance": [3, 2, 1, 0], "norm": values})
        for stage, values in norms.items()
    )
    axis = draw_gradient_reach(Figure().add_subplot(), table)
    assert axis.get_yscale() == "log"
    lines = {line.get_label(): line for line in axis.get_lines()}
    initial = lines["initial"].get_ydata()
    assert initial.min() == schema.GRADIENT_FLOOR and (initial > 0).all()
    (marked,) = [label for label in lines if schema.UNDERFLOW in label]
    assert marked.startswith("initial") and len(lines[marked].get_xdata()) == 2
    assert not any(schema.UNDERFLOW in label and "trained" in label for label in lines)


def test_the_gates_figure_draws_both_gates_of_the_first_example():
    rng = np.random.default_rng(0)
    gates = {"update": rng.random((4, 9, 3)), "reset": rng.random((4, 9, 3))}
    figure = gates_figure(gates)
    images = [axis.get_images()[0] for axis in figure.axes if axis.get_images()]
    assert len(images) == 2
    assert np.array_equal(images[0].get_array(), gates["update"][0].T)
    assert np.array_equal(images[1].get_array(), gates["reset"][0].T)
