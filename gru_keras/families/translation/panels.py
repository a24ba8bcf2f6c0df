"""The translation family's view of each dataset on its family page: the test metrics that
separate the variants, and exact match per kind of sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras.drawing.samples import samples_of
from gru_keras.drawing.tables import draw_table
from gru_keras.schema import as_test_metric
from gru_keras.variants import VARIANTS, model_order

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SAMPLES = "samples"  # the report's name for the stacked samples.csv artifacts

# Exact match is the headline; these separate models that all miss whole sentences.
SEPARATING = {
    "cer": ("CER ↓", 3),
    "chrf": ("chrF ↑", 1),
    "loss": ("test loss ↓", 3),
}
KIND_PREFIX = "exact_match_"


def metrics_table(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Mean over FINISHED seeds of exact match, per kind of sentence (where the dataset has
    kinds), and of the metrics in `SEPARATING`: one row per metric, one column per variant."""
    of_dataset = runs[
        (runs["dataset"] == dataset)
        & runs["model"].isin(list(VARIANTS))
        & (runs["status"] == "FINISHED")
    ]
    models = model_order(of_dataset["model"].unique())
    kinds = sorted(
        column.removeprefix(as_test_metric(KIND_PREFIX))
        for column in of_dataset.columns
        if column.startswith(as_test_metric(KIND_PREFIX)) and of_dataset[column].notna().any()
    )
    rows = [("exact match", "exact_match", 3)]
    rows += [(f"  {kind.replace('_', ' ')}", KIND_PREFIX + kind, 3) for kind in kinds]
    rows += [(label, name, places) for name, (label, places) in SEPARATING.items()]
    table = {"test metric": [label for label, _, _ in rows]}
    for model in models:
        of_model = of_dataset[of_dataset["model"] == model]
        table[model] = [
            _mean(of_model.get(as_test_metric(name)), places) for _, name, places in rows
        ]
    return pd.DataFrame(table)


def _mean(values: pd.Series | None, places: int) -> str:
    finite = [] if values is None else [v for v in values.to_numpy(float) if np.isfinite(v)]
    return f"{np.mean(finite):.{places}f}" if finite else "—"


def translation_panel(inputs: Any, dataset: str, axis: Axes) -> str:
    table = metrics_table(inputs.runs, dataset)
    columns = len(table.columns)
    draw_table(
        axis,
        table,
        column_widths=(0.2, *[0.8 / (columns - 1)] * (columns - 1)),
        font_size=5.5,
        row_scale=1.1,
    )
    axis.set_title(f"{dataset}: test metrics (means)", fontsize=9)
    return (
        "Right: mean over seeds of exact match, overall and per kind of sentence, and of the "
        "metrics that still separate models that miss whole sentences: the character error "
        "rate (CER, edit distance over reference length), sacrebleu's chrF (0-100) and the "
        "test loss, the cross-entropy per reference character (nats)."
    )


def translation_samples(inputs: Any, datasets: list[str]) -> pd.DataFrame:
    """The appendix rows: test sentences the models translate differently."""
    return samples_of(inputs.tables.get(SAMPLES, pd.DataFrame()), datasets)
