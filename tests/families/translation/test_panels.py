"""The translation family's panel: means per metric and per kind of sentence."""

import numpy as np
import pandas as pd

from gru_keras.families.translation.panels import metrics_table


def test_metrics_table_means_every_metric_and_kind_over_finished_seeds():
    rng = np.random.default_rng(0)
    rows = []
    for model in ("lstm", "custom_gru", "naive"):
        for seed in range(3):
            rows.append(
                {
                    "dataset": "numbers-dates-fr",
                    "model": model,
                    "seed": seed,
                    "status": "FAILED" if seed == 2 and model == "lstm" else "FINISHED",
                    "test/exact_match": rng.uniform(),
                    "test/exact_match_cardinal": rng.uniform(),
                    "test/exact_match_long_date": rng.uniform(),
                    "test/cer": rng.uniform(),
                    "test/chrf": rng.uniform(0, 100),
                    "test/loss": np.nan if model == "custom_gru" else rng.uniform(),
                }
            )
    runs = pd.DataFrame(rows)
    table = metrics_table(runs, "numbers-dates-fr").set_index("test metric")
    # The variants only, in the report's order; kinds indented under exact match.
    assert list(table.columns) == ["lstm", "custom_gru"]
    assert list(table.index) == [
        "exact match",
        "  cardinal",
        "  long date",
        "CER ↓",
        "chrF ↑",
        "test loss ↓",
    ]
    lstm = runs[(runs["model"] == "lstm") & (runs["status"] == "FINISHED")]
    assert len(lstm) == 2
    assert table.loc["  long date", "lstm"] == f"{lstm['test/exact_match_long_date'].mean():.3f}"
    custom = runs[runs["model"] == "custom_gru"]
    assert table.loc["chrF ↑", "custom_gru"] == f"{custom['test/chrf'].mean():.1f}"
    assert table.loc["test loss ↓", "custom_gru"] == "—"  # never logged
