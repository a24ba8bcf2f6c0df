"""A page's subtitle stays on the page and above its plots, however long the finding."""

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from gru_keras.report.layout import below_subtitle, new_page

CLAUSE = (
    "sunspots-monthly: best mean keras_gru 0.705 (custom_gru 0.714), no verdict: not converged; "
)


@pytest.mark.parametrize("clauses", [1, 2, 4, 6])
def test_a_long_finding_is_wrapped_inside_the_page_and_ends_above_the_plots(clauses):
    finding = "Finding: " + CLAUSE * clauses
    figure = new_page("Task family: forecasting", subtitle=finding)
    FigureCanvasAgg(figure)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    (subtitle,) = [text for text in figure.texts if text.get_text().startswith("Finding")]
    drawn = subtitle.get_window_extent(renderer).transformed(figure.transFigure.inverted())
    assert drawn.x0 > 0.0 and drawn.x1 < 0.98  # no line runs off the page's right edge
    top = below_subtitle(finding, 0.85)
    assert top <= 0.85
    # The plots' titles (9 pt, about 0.02 of the page) fit between the text and the plots.
    assert drawn.y0 - top >= 0.02, (drawn.y0, top)
