"""One colour and style per model, the same wherever it is drawn."""

from gru_keras.drawing.colors import EXTRA_COLORS, MODEL_COLORS, model_color, model_style
from gru_keras.variants import VARIANTS


def test_every_variant_has_its_own_colour_and_line():
    colors = [model_color(name) for name in VARIANTS]
    styles = [(model_style(name)["linestyle"], model_style(name)["marker"]) for name in VARIANTS]
    assert len(set(colors)) == len(VARIANTS) and len(set(styles)) == len(VARIANTS)


def test_an_unknown_model_gets_a_stable_extra_colour():
    assert model_color("someone-new") == model_color("someone-new")
    assert model_color("someone-new") in EXTRA_COLORS
    assert model_color("naive") == MODEL_COLORS["naive"]
