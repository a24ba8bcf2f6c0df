"""One colour, line style and marker per model, the same on every report page and panel."""

from __future__ import annotations

from gru_keras import schema

# Okabe-Ito colours (distinguishable with colour-blindness); the two GRUs share a hue family.
MODEL_COLORS = {
    schema.CUSTOM_GRU: "#0072B2",
    schema.KERAS_GRU: "#56B4E9",
    schema.LSTM: "#E69F00",
    schema.SIMPLE_RNN: "#009E73",
    "naive": "#999999",
    "seasonal_naive": "#666666",
    "ets": "#CC79A7",
}

EXTRA_COLORS = ("#D55E00", "#F0E442", "#000000", "#8C564B", "#7F7F7F")

# Line style and marker per variant, so curves stay apart in greyscale and where the two GRU
# blues overlap.
MODEL_STYLES = {
    schema.SIMPLE_RNN: ("-", "o"),
    schema.LSTM: ("--", "s"),
    schema.KERAS_GRU: ("-.", "^"),
    schema.CUSTOM_GRU: (":", "D"),
}


def model_color(model: str) -> str:
    """The model's colour on every page; unknown models get a stable extra colour."""
    if model in MODEL_COLORS:
        return MODEL_COLORS[model]
    return EXTRA_COLORS[sum(map(ord, model)) % len(EXTRA_COLORS)]


def model_style(model: str) -> dict[str, str]:
    """Keyword arguments of `plot` for the model's line: colour, line style and marker."""
    linestyle, marker = MODEL_STYLES.get(model, ("-", "o"))
    return {"color": model_color(model), "linestyle": linestyle, "marker": marker}
