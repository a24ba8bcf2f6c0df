"""The translation family's report pages: the same test sentences, translated by every model."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from gru_keras.report.layout import legend_below, new_page
from gru_keras.report.plots import metric_dots
from gru_keras.report.samples import samples_of
from gru_keras.schema import as_test_metric
from gru_keras.variants import VARIANTS, model_order

SAMPLES = "samples"  # the report's name for the stacked samples.csv artifacts


# Exact match is the headline; these separate models that all miss whole sentences.
SEPARATING = ("exact_match", "cer", "chrf", "loss")
DIRECTIONS = {"exact_match": "↑", "cer": "↓", "chrf": "↑", "loss": "↓"}


def metrics_page(runs: pd.DataFrame, datasets: list[str]) -> Figure:
    """Per translation dataset, the test metrics that separate the variants, side by side."""
    recurrent = runs[runs["model"].isin(list(VARIANTS))]
    models = model_order(recurrent["model"].unique())
    figure = new_page(
        "Translation: every test metric, per dataset",
        "Exact match is the headline, but while models still miss most whole sentences it sits "
        "near 0 for all of them; the character error rate (CER, edit distance over reference "
        "length), sacrebleu's chrF (0-100) and the test cross-entropy per reference character "
        "(test/loss, nats; the training loss) still separate them. Dots: every seed; marker "
        "and bar: mean and 95% Student-t interval over seeds. Each axis is fitted to its "
        "values, not started at zero.",
    )
    grid = figure.add_gridspec(
        len(datasets),
        len(SEPARATING),
        left=0.07,
        right=0.98,
        top=0.88,
        bottom=0.2,
        hspace=0.8,
        wspace=0.35,
    )
    for row, dataset in enumerate(datasets):
        of_dataset = recurrent[recurrent["dataset"] == dataset]
        for column, name in enumerate(SEPARATING):
            axis = figure.add_subplot(grid[row, column])
            metric_dots(axis, of_dataset, as_test_metric(name), models)
            axis.set_title(f"{dataset}: {name} {DIRECTIONS[name]}", fontsize=9)
    legend_below(figure, models)
    return figure


def translation_pages(inputs: Any, datasets: list[str]) -> list[Figure]:
    return [metrics_page(inputs.runs, datasets)] if len(inputs.runs) else []


def translation_samples(inputs: Any, datasets: list[str]) -> pd.DataFrame:
    """The appendix rows: test sentences the models translate differently."""
    return samples_of(inputs.tables.get(SAMPLES, pd.DataFrame()), datasets)
