"""The one table drawer, and where its table ends on the page."""

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gru_keras.drawing.tables import draw_table, table_bottom


def test_table_bottom_is_where_the_drawn_table_ends_on_the_page():
    bottoms = []
    for rows in (2, 8, 16):
        figure = Figure(figsize=(11.69, 8.27))
        FigureCanvasAgg(figure)
        axis = figure.add_axes((0.04, 0.12, 0.92, 0.69))
        frame = pd.DataFrame({"dataset": [f"d{i}" for i in range(rows)], "value": range(rows)})
        draw_table(axis, frame)
        bottom = table_bottom(axis)
        # Measured from the drawn cells, in page coordinates: the table's lowest cell edge.
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        drawn = (
            axis.tables[0].get_window_extent(renderer).transformed(figure.transFigure.inverted())
        )
        assert bottom == pytest.approx(drawn.y0, abs=0.01)
        assert 0.12 < bottom < 0.81
        bottoms.append(bottom)
    assert bottoms[0] > bottoms[1] > bottoms[2]
