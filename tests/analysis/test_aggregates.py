"""rliable's aggregates, written with numpy: checked on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from gru_keras.analysis.aggregates import (
    across_datasets,
    improvement_interval,
    iqm,
    iqm_interval,
    normalized_scores,
    probability_of_improvement,
)
from gru_keras.families import TASKS


def test_iqm_is_the_mean_of_the_middle_half():
    # 8 values, sorted -50, 1, 2, 3, 4, 5, 6, 100: drop two at each end, average 2, 3, 4, 5.
    assert iqm(np.array([[100.0, 3.0], [4.0, -50.0], [5.0, 6.0], [1.0, 2.0]])) == 3.5


def test_probability_of_improvement_counts_pairs_and_half_ties_per_task():
    first = np.array([[2.0, 1.0], [3.0, 1.0]])
    second = np.array([[1.0, 1.0], [4.0, 0.0]])
    # Task 0: (2>1, 2<4, 3>1, 3<4) -> 2/4; task 1: (tie, 1>0, tie, 1>0) -> 3/4.
    assert probability_of_improvement(first, second) == pytest.approx((0.5 + 0.75) / 2)


def test_the_stratified_bootstrap_resamples_seeds_within_each_dataset():
    # Constant within each dataset: every resample is the same, so the interval is a point.
    scores = np.array([[0.2, 0.8], [0.2, 0.8], [0.2, 0.8]])
    assert iqm_interval(scores, reps=200) == pytest.approx((0.5, 0.5, 0.5))
    # A model better on every seed of every dataset wins with probability 1, always.
    assert improvement_interval(scores + 1, scores, reps=200) == (1.0, 1.0, 1.0)
    spread = np.random.default_rng(0).normal(0.5, 0.2, (5, 4))
    value, low, high = iqm_interval(spread, reps=500)
    assert low < value < high


def _runs_and_summary():
    rows, summary = [], []
    means = {"simple_rnn": 0.20, "lstm": 0.05, "custom_gru": 0.02, "keras_gru": 0.03}
    for dataset in ("a", "b"):
        for model, mean in means.items():
            for seed in range(3):
                rows.append(
                    {
                        "dataset": dataset,
                        "task": "last_step_regression",
                        "model": model,
                        "seed": seed,
                        "status": "FINISHED",
                        "test/mse": mean + 0.001 * seed,
                    }
                )
            summary.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "mean": mean + 0.001,
                    "higher_is_better": False,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(summary)


def test_normalized_scores_put_simple_rnn_at_0_and_the_best_at_1():
    runs, summary = _runs_and_summary()
    scores = normalized_scores(runs, summary, TASKS)
    by_model = scores.groupby("model")["score"].mean()
    assert by_model["simple_rnn"] == pytest.approx(0.0)
    assert by_model["custom_gru"] == pytest.approx(1.0)
    assert 0 < by_model["lstm"] < by_model["keras_gru"] < 1
    pooled = across_datasets(scores, ["simple_rnn", "lstm", "keras_gru", "custom_gru"], reps=200)
    assert (pooled.datasets, pooled.seeds) == (2, 3)
    improvement = pooled.improvement.set_index("other")["probability"]
    assert improvement["simple_rnn"] == 1.0 and improvement["lstm"] == 1.0
