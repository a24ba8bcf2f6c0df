"""The translation family's report pages: the same test sentences, translated by every model."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from gru_keras.report.layout import table_pages
from gru_keras.report.samples import SAMPLE_ROWS_PER_PAGE, SAMPLES_SHOWN, sample_translations

SAMPLES = "samples"  # the report's name for the stacked samples.csv artifacts


def translation_pages(inputs: Any, datasets: list[str]) -> list[Figure]:
    samples = inputs.tables.get(SAMPLES, pd.DataFrame())
    pages = []
    for dataset in datasets:
        if not len(samples) or dataset not in set(samples["dataset"]):
            continue
        pages += table_pages(
            f"Translation: sample test sentences, {dataset}",
            "The same first test sentences for every model, translated by its first seed with "
            "the run's decoding (greedy unless a beam width is set). 'exact' in green marks a "
            "translation identical to the reference; 'differs' in red one that is not. Look "
            "at whether a model gets the reordering right (units before tens in German, "
            "'quatre-vingt' in French) and whether SimpleRNN falls behind the gated ones.",
            sample_translations(samples, dataset, SAMPLES_SHOWN),
            color_column="color",
            column_widths=(0.07, 0.12, 0.68, 0.08),
            rows_per_page=SAMPLE_ROWS_PER_PAGE,
        )
    return pages
