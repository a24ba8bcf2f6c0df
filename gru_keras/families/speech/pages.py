"""The speech family's report pages: confusion matrices per model, and decoded utterances."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from gru_keras.report.layout import model_color, new_page
from gru_keras.report.plots import draw_confusion
from gru_keras.report.samples import samples_of
from gru_keras.variants import model_order

# The report's names for the stacked confusion_matrix.csv and decoded_samples.csv artifacts.
CONFUSIONS, DECODED = "confusions", "decoded"


def confusion_page(title: str, caption: str, matrices: dict[str, pd.DataFrame]) -> Figure:
    """One confusion-matrix heat map per model (up to four), counts in the cells."""
    figure = new_page(title, caption)
    models = list(matrices)[:4]
    for index, model in enumerate(models):
        counts = matrices[model]
        axis = figure.add_axes((0.07 + 0.47 * (index % 2), 0.52 - 0.38 * (index // 2), 0.36, 0.29))
        draw_confusion(
            axis, counts.to_numpy(), counts.index, tick_size=7, label_size=8, count_size=6
        )
        axis.set_title(model, fontsize=10, color=model_color(model), fontweight="bold")
    return figure


def confusion_by_model(confusions: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """Each model's confusion matrix on `dataset`, summed over its seeds (rows true, columns
    predicted, in the class order the runs logged)."""
    of_dataset = confusions[confusions["dataset"] == dataset]
    matrices = {}
    for model in model_order(of_dataset["model"].unique()):
        of_model = of_dataset[of_dataset["model"] == model]
        counts = of_model.drop(columns=["dataset", "model", "seed"]).groupby("true", sort=False)
        matrices[model] = counts.sum()
    return matrices


def speech_pages(inputs: Any, datasets: list[str]) -> list[Figure]:
    confusions = inputs.tables.get(CONFUSIONS, pd.DataFrame())
    return [
        confusion_page(
            f"Speech: confusion matrices, {dataset}",
            "Test utterances by true speaker (rows) and predicted speaker (columns), summed "
            "over seeds. Off-diagonal cells are the mistakes; a model whose errors concentrate "
            "on one pair of speakers confuses similar voices.",
            confusion_by_model(confusions, dataset),
        )
        for dataset in datasets
        if len(confusions) and dataset in set(confusions["dataset"])
    ]


def speech_samples(inputs: Any, datasets: list[str]) -> pd.DataFrame:
    """The appendix rows: test utterances the models decode differently."""
    return samples_of(inputs.tables.get(DECODED, pd.DataFrame()), datasets, "voice")
