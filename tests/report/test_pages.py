"""Findings pages: every sentence is drawn once, inside a page, however many there are."""

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from gru_keras.report.pages import text_pages

SENTENCE = (
    "counting: seconds of training to reach accuracy >= 0.9 on validation, custom_gru against "
    "lstm: 9 no significant difference, 3 not every seed reaches, in cell number {}."
)


@pytest.mark.parametrize("count", [3, 14, 40])
def test_every_sentence_is_drawn_once_inside_a_page(count):
    sentences = [SENTENCE.format(i) * 2 for i in range(count)]
    figures = text_pages("Decision map 'map': when is a GRU worth using?", sentences)
    drawn = []
    for figure in figures:
        FigureCanvasAgg(figure)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        for text in figure.texts:
            if "cell number" not in text.get_text():
                continue
            box = text.get_window_extent(renderer).transformed(figure.transFigure.inverted())
            # Inside the page, above the caption's strip at the bottom.
            assert box.y0 >= 0.06 and box.x1 <= 0.98, (text.get_text()[:60], box)
            drawn.append(text.get_text().replace("\n", " "))
    assert [" ".join(s.split()) for s in drawn] == [" ".join(s.split()) for s in sentences]
    titles = [figure.texts[0].get_text() for figure in figures]
    assert all(title.endswith("(continued)") for title in titles[1:])
    if count == 3:
        assert len(figures) == 1
    if count == 40:  # about 3 pages of text at the smallest type
        assert len(figures) > 1
