"""The forecasting family's view of each dataset on its family page: every model's forecasts
on the same test windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras.drawing.colors import model_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FORECASTS = "forecasts"  # the report's name for the stacked forecast.csv artifacts


def draw_forecasts(axis: Axes, stretches: pd.DataFrame, dataset: str) -> Axes:
    """The truth and every model's forecasts (first seed) on a dataset's logged test
    windows, each window forecast from its own origin."""
    of_dataset = stretches[stretches["dataset"] == dataset] if len(stretches) else stretches
    if not len(of_dataset):
        axis.text(0.5, 0.5, "no forecast artifacts", ha="center", transform=axis.transAxes)
        return axis
    first = of_dataset[of_dataset["model"] == of_dataset["model"].iloc[0]]
    first = first[first["seed"] == first["seed"].min()].reset_index(drop=True)
    positions = np.arange(len(first))
    axis.plot(positions, first["truth"], color="black", linewidth=1.8)
    for model in dict.fromkeys(of_dataset["model"]):
        forecast = of_dataset[of_dataset["model"] == model]
        forecast = forecast[forecast["seed"] == forecast["seed"].min()].reset_index(drop=True)
        for _, window in forecast.groupby("origin", sort=False):
            axis.plot(window.index, window["forecast"], color=model_color(model), linewidth=0.9)
    step = max(1, len(first) // 4)
    axis.set_xticks(
        positions[::step], [str(t)[:10] for t in first["time"].iloc[::step]], fontsize=7
    )
    axis.set_ylabel("original units", fontsize=8)
    axis.set_title(f"{dataset}: {first['origin'].nunique()} test windows", fontsize=9)
    axis.grid(alpha=0.3)
    return axis


def forecast_panel(inputs: Any, dataset: str, axis: Axes) -> str:
    draw_forecasts(axis, inputs.tables.get(FORECASTS, pd.DataFrame()), dataset)
    return (
        "Right: the truth (black) and every model's forecasts (first seed of each network; "
        "baselines are deterministic) on the same back-to-back test windows, each forecast "
        "from its own origin over the full horizon, so breaks between windows are expected."
    )
