import numpy as np
import pandas as pd

from gru_keras.analysis.claims import (
    MIXED,
    NOT_MEASURED,
    NOT_SUPPORTED,
    SUPPORTED,
    claims_table,
    effective,
    fewer_parameters,
    long_dependencies,
    trains_faster,
)
from gru_keras.families import TASKS


def probe_runs(decay_gru=0.3, decay_rnn=1e-6):
    rows = []
    for model, decay in (("custom_gru", decay_gru), ("simple_rnn", decay_rnn)):
        rows.append(
            {
                "dataset": "adding",
                "family": "probes",
                "task": "last_step_regression",
                "model": model,
                "diagnostics/gradient_reach_trained": decay,
            }
        )
    return pd.DataFrame(rows)


def pairs(*rows):
    return pd.DataFrame(
        [
            {
                "dataset": dataset,
                "first": "custom_gru",
                "second": second,
                "metric": "test/mse",
                "difference": difference,
                "verdict": verdict,
            }
            for dataset, second, difference, verdict in rows
        ]
    )


def test_long_dependencies_is_supported_by_a_significant_win_and_quotes_the_gradients():
    row = long_dependencies(probe_runs(), pairs(("adding", "simple_rnn", -0.15, "better")), TASKS)
    assert row["verdict"] == SUPPORTED
    assert "custom_gru better than simple_rnn" in row["evidence"]
    assert "custom_gru 0.3, simple_rnn 1e-06" in row["evidence"]


def test_long_dependencies_without_decided_comparisons_is_not_measured():
    too_few = pairs(("adding", "simple_rnn", -0.1, "too few seeds to tell"))
    assert long_dependencies(probe_runs(), too_few, TASKS)["verdict"] == NOT_MEASURED
    runs = pd.concat([probe_runs(), probe_runs().assign(dataset="copy")])
    mixed = pairs(("adding", "simple_rnn", -0.1, "better"), ("copy", "simple_rnn", 0.2, "worse"))
    assert long_dependencies(runs, mixed, TASKS)["verdict"] == MIXED
    lost = pairs(("adding", "simple_rnn", 0.0, "no significant difference"))
    assert long_dependencies(probe_runs(), lost, TASKS)["verdict"] == NOT_SUPPORTED


def test_fewer_parameters_is_measured_at_the_suites_inputs_and_units():
    # LSTMs of 40 units on 12 inputs and of 20 units on 88: 4 n (d + n + 1) weights.
    summary = pd.DataFrame(
        {
            "dataset": ["a", "a", "b", "b"],
            "model": ["custom_gru", "lstm"] * 2,
            "units": [46, 40, 23, 20],
            "recurrent_params": [np.nan, 4 * 40 * 53, np.nan, 4 * 20 * 109],
        }
    )
    row = fewer_parameters(summary)
    # keras_gru (reset_after=False, as Keras counts it): 3 n (d + n + 1), a quarter fewer.
    assert "a GRU layer has 75% of the LSTM's weights (2 datasets)" in row["evidence"]
    assert "custom_gru gets 1.15-1.15x the LSTM's units" in row["evidence"]
    assert row["verdict"] == SUPPORTED
    assert fewer_parameters(summary.iloc[[0]])["verdict"] == NOT_MEASURED


def bench_table(gru_ms, sizing="same_params"):
    # Two shapes; the second one is twice as slow for everyone, so every ratio is the same.
    return pd.DataFrame(
        {
            "sizing": [sizing] * 6,
            "jit_compile": False,
            "batch": 64,
            "timesteps": [50] * 3 + [200] * 3,
            "features": 8,
            "units": 64,
            "model": ["custom_gru", "keras_gru", "lstm"] * 2,
            "train_ms": [gru_ms, 8.0, 10.0, 2 * gru_ms, 16.0, 20.0],
        }
    )


def test_trains_faster_comes_from_the_benchmark_and_says_faster_or_slower():
    faster = trains_faster(bench_table(5.0))
    assert faster["verdict"] == SUPPORTED
    assert (
        "matched parameters (benchmark, training step time): custom_gru trains 2.00x faster "
        "than lstm (median over 2 shapes" in faster["evidence"]
    )
    assert "keras_gru 1.25x faster than lstm" in faster["evidence"]
    slower = trains_faster(bench_table(20.0, sizing="same_units"))
    assert slower["verdict"] == NOT_SUPPORTED
    assert "equal units (benchmark" in slower["evidence"]
    assert "custom_gru trains 2.00x slower than lstm" in slower["evidence"]
    mixed = bench_table(5.0)
    mixed.loc[3, "train_ms"] = 40.0  # slower on the long shape only
    assert trains_faster(mixed)["verdict"] == MIXED


def test_trains_faster_without_a_benchmark_is_not_measured():
    row = trains_faster(None)
    assert "no benchmark in this tracking store" in row["evidence"]
    assert row["verdict"] == NOT_MEASURED


def summary_with(gru_mean, baseline_mean):
    return pd.DataFrame(
        {
            "dataset": ["sun"] * 3,
            "model": ["custom_gru", "lstm", "seasonal_naive"],
            "baseline": [False, False, True],
            "higher_is_better": [False] * 3,
            "mean": [gru_mean, 0.5, baseline_mean],
        }
    )


def test_effective_needs_baselines_beaten_and_no_significant_loss():
    tie = pairs(("sun", "lstm", 0.01, "no significant difference"))
    assert effective(summary_with(0.4, 0.9), tie)["verdict"] == SUPPORTED
    assert effective(summary_with(1.0, 0.9), tie)["verdict"] == MIXED
    loss = pairs(("sun", "lstm", 0.5, "worse"))
    row = effective(summary_with(1.0, 0.9), loss)
    assert row["verdict"] == NOT_SUPPORTED
    assert "on 0 of 1 converged datasets that have baselines" in row["evidence"]
    no_gru = summary_with(np.nan, 0.9).iloc[1:]
    assert effective(no_gru, pairs())["verdict"] == NOT_MEASURED
    # Baselines beaten, but no comparison between networks converged: not measured.
    early = pairs(("sun", "lstm", 0.01, "not converged: compares early training"))
    row = effective(summary_with(0.4, 0.9), early)
    assert row["verdict"] == NOT_MEASURED and "(1 did not: unconverged" in row["evidence"]
    # A dataset whose networks did not converge counts for nothing, baselines included.
    unconverged = summary_with(0.4, 0.9).assign(not_converged=[2, 0, 0])
    row = effective(unconverged, tie)
    assert row["verdict"] == NOT_MEASURED
    assert "on 0 of 0 converged datasets" in row["evidence"]
    assert "left out, not converged: sun" in row["evidence"]


def test_claims_table_has_one_row_per_claim():
    summary = pd.DataFrame({"dataset": ["a", "a"], "model": ["custom_gru", "lstm"]})
    table = claims_table(
        probe_runs(),
        summary.assign(units=40, baseline=False, higher_is_better=False, mean=1.0),
        pairs(("adding", "simple_rnn", -0.15, "better")),
        bench_table(5.0),
        TASKS,
    )
    assert list(table.columns) == ["claim", "evidence", "verdict"]
    assert len(table) == 4 and table["claim"].is_unique
