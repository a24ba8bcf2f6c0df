"""The tuning report's numbers: Dodge et al.'s expected best against a simulation, the rank
agreement of early epochs, and the budget table."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gru_keras.analysis.tuning import (
    budget_spent,
    expected_best,
    expected_best_curves,
    rung_agreement,
)


def test_expected_best_matches_drawing_trials_at_random():
    rng = np.random.default_rng(7)
    values = rng.gamma(2.0, 1.0, size=9)
    curve = expected_best(values, 12)
    draws = rng.choice(values, size=(200_000, 12), replace=True)
    simulated = np.minimum.accumulate(draws, axis=1).mean(axis=0)
    np.testing.assert_allclose(curve, simulated, rtol=5e-3)
    assert curve[0] == pytest.approx(values.mean())  # one trial: the mean
    assert np.all(np.diff(curve) <= 1e-12) and curve[-1] >= values.min()


def test_expected_best_of_one_value_is_that_value():
    np.testing.assert_allclose(expected_best(np.array([0.3]), 4), [0.3] * 4)
    assert np.isnan(expected_best(np.array([]), 2)).all()


def trials_table() -> pd.DataFrame:
    rows = []
    for model, objectives in (
        ("lstm", [0.3, 0.2, 0.5, None]),
        ("custom_gru", [0.4, 0.1, 0.6, 0.7]),
    ):
        for trial, objective in enumerate(objectives):
            state = "failed" if objective is None else ("pruned" if trial == 2 else "complete")
            rows.append(
                {
                    "dataset": "d",
                    "model": model,
                    "trial": trial,
                    "state": state,
                    "objective": objective,
                    "epochs": 10 + trial,
                    "seconds": 1.5,
                    "chosen": False,
                }
            )
    return pd.DataFrame(rows)


def test_expected_best_curves_leave_failed_trials_out_and_run_to_the_budget():
    curves = expected_best_curves(trials_table())
    lstm = curves[curves["model"] == "lstm"]
    assert list(lstm["n"]) == [1, 2, 3, 4]  # the budget: 4 trials a variant
    assert lstm["expected"].iloc[0] == pytest.approx(np.mean([0.3, 0.2, 0.5]))


def test_budget_counts_trials_by_state_and_sums_what_they_spent():
    table = budget_spent(trials_table()).set_index("model")
    assert table.loc["lstm", ["trials", "complete", "pruned", "failed"]].tolist() == [4, 2, 1, 1]
    assert table.loc["custom_gru", ["complete", "failed"]].tolist() == [3, 0]
    assert table.loc["lstm", "epochs"] == 10 + 11 + 12 + 13
    assert table.loc["lstm", "seconds"] == 6.0


def test_rung_agreement_is_spearman_of_an_epoch_against_the_final_value():
    rng = np.random.default_rng(3)
    rows = []
    finals = rng.uniform(0.1, 1.0, size=8)
    early = finals + rng.normal(0, 0.3, size=8)  # epoch 1 ranks them only roughly
    for trial in range(8):
        stop = 4 if trial == 0 else 6  # trial 0 stopped early: its value carries forward
        for epoch in range(1, stop + 1):
            value = early[trial] if epoch == 1 else finals[trial]
            rows.append(
                {"dataset": "d", "model": "lstm", "trial": trial, "epoch": epoch, "value": value}
            )
    table = rung_agreement(pd.DataFrame(rows), [1, 2, 5]).set_index("epoch")
    assert table.loc[1, "rho"] == pytest.approx(stats.spearmanr(early, finals).statistic)
    assert table.loc[2, "rho"] == pytest.approx(1.0) and table.loc[5, "rho"] == pytest.approx(1.0)
    assert table["trials"].tolist() == [8, 8, 8]
