"""The confusion-matrix heat map."""

import numpy as np
from matplotlib.figure import Figure

from gru_keras.drawing.confusion import draw_confusion


def test_every_non_zero_count_is_written_in_its_cell_and_labels_are_shortened():
    counts = np.array([[5, 0], [2, 7]])
    axis = Figure().add_subplot()
    draw_confusion(axis, counts, ["speaker 1", "speaker 2"], noun="speaker")
    written = {(text.get_position(), text.get_text()) for text in axis.texts}
    assert written == {((0, 0), "5"), ((0, 1), "2"), ((1, 1), "7")}  # (column, row), no zero
    assert [tick.get_text() for tick in axis.get_xticklabels()] == ["1", "2"]
    assert axis.get_ylabel() == "true speaker" and axis.get_xlabel() == "predicted speaker"
