"""The forecasting family's report pages: every model's forecasts on the same test windows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gru_keras.report.layout import chunked, legend_below, model_color, new_page

DATASETS_PER_PAGE = 3
FORECASTS = "forecasts"  # the report's name for the stacked forecast.csv artifacts


def forecast_page(stretches: pd.DataFrame, datasets: Sequence[str]) -> Figure:
    """Per dataset, the truth and every model's forecasts on the same test windows (seed 0)."""
    figure = new_page(
        "Forecasting: forecasts on the test split",
        "The same back-to-back test windows for every model (first seed of each network; "
        "baselines are deterministic). Black: the truth. Each window is forecast from its own "
        "origin with the full horizon, so breaks between windows are expected. Look at whether "
        "the networks follow the daily or yearly shape that seasonal naive copies and ETS smooths.",
    )
    grid = figure.add_gridspec(
        len(datasets), 1, left=0.07, right=0.98, top=0.88, bottom=0.2, hspace=0.55
    )
    models = list(dict.fromkeys(stretches["model"]))
    for row, dataset in enumerate(datasets):
        axis = figure.add_subplot(grid[row, 0])
        of_dataset = stretches[stretches["dataset"] == dataset]
        if not len(of_dataset):
            axis.text(0.5, 0.5, "no forecast artifacts", ha="center", transform=axis.transAxes)
            continue
        first = of_dataset[of_dataset["model"] == of_dataset["model"].iloc[0]]
        first = first[first["seed"] == first["seed"].min()].reset_index(drop=True)
        positions = np.arange(len(first))
        axis.plot(positions, first["truth"], color="black", linewidth=1.8, label="truth")
        for model in models:
            forecast = of_dataset[of_dataset["model"] == model]
            if not len(forecast):
                continue
            forecast = forecast[forecast["seed"] == forecast["seed"].min()].reset_index(drop=True)
            for _, window in forecast.groupby("origin", sort=False):
                axis.plot(window.index, window["forecast"], color=model_color(model), linewidth=1.0)
        step = max(1, len(first) // 8)
        axis.set_xticks(
            positions[::step], [str(t)[:16] for t in first["time"].iloc[::step]], fontsize=7
        )
        axis.set_ylabel("value (original units)", fontsize=8)
        axis.set_title(f"{dataset}: {first['origin'].nunique()} test windows", fontsize=9)
        axis.grid(alpha=0.3)
    legend_below(figure, models, truth=True)
    return figure


def forecast_pages(inputs: Any, datasets: list[str]) -> list[Figure]:
    forecasts = inputs.tables.get(FORECASTS, pd.DataFrame())
    if not len(forecasts):
        return []
    return [forecast_page(forecasts, chunk) for chunk in chunked(datasets, DATASETS_PER_PAGE)]
