"""Result tables: what counts as a result."""

import numpy as np
import pandas as pd

from gru_keras.analysis.tables import best_models, head_to_head, summary_table
from gru_keras.families import TASKS


def _runs(rows):
    base = {
        "dataset": "load",
        "family": "forecasting",
        "task": "direct_forecast",
        "status": "FINISHED",
        "failure_reason": "",
        "units": 8.0,
        "recurrent_params": 100.0,
        "mean_epoch_seconds": 1.0,
        "train_seconds": 1.0,
    }
    return pd.DataFrame([{**base, "model": model, "test/mase": value} for model, value in rows])


def test_a_non_finite_result_is_never_counted_ranked_or_compared():
    # A store written before such runs FAILED: naive "finished" on an infinite series.
    runs = _runs(
        [
            ("naive", np.inf),
            ("lstm", 0.9),
            ("lstm", 1.1),
            ("custom_gru", np.nan),
            ("custom_gru", 1.0),
            ("custom_gru", 1.2),
        ]
    )
    summary = summary_table(runs, TASKS).set_index("model")
    assert np.isnan(summary.loc["naive", "mean"]) and summary.loc["naive", "seeds"] == 0
    assert summary.loc["naive", "why_not_finished"] == "1 FINISHED with a non-finite result"
    assert summary.loc["custom_gru", "mean"] == 1.1 and summary.loc["custom_gru", "seeds"] == 2
    assert best_models(summary.reset_index())["load"] == "lstm"
    pairs = head_to_head(runs, TASKS).set_index("second")
    assert pairs.loc["lstm", "seeds"] == "2 vs 2"
