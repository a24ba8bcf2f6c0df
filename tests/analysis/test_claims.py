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
    row = long_dependencies(probe_runs(), pairs(("adding", "simple_rnn", -0.15, "better")))
    assert row["verdict"] == SUPPORTED
    assert "custom_gru better than simple_rnn" in row["evidence"]
    assert "custom_gru 0.3, simple_rnn 1e-06" in row["evidence"]


def test_long_dependencies_without_decided_comparisons_is_not_measured():
    too_few = pairs(("adding", "simple_rnn", -0.1, "too few seeds to tell"))
    assert long_dependencies(probe_runs(), too_few)["verdict"] == NOT_MEASURED
    runs = pd.concat([probe_runs(), probe_runs().assign(dataset="copy")])
    mixed = pairs(("adding", "simple_rnn", -0.1, "better"), ("copy", "simple_rnn", 0.2, "worse"))
    assert long_dependencies(runs, mixed)["verdict"] == MIXED
    lost = pairs(("adding", "simple_rnn", 0.0, "no significant difference"))
    assert long_dependencies(probe_runs(), lost)["verdict"] == NOT_SUPPORTED


def test_fewer_parameters_gives_the_three_quarters_ratio_and_the_matched_units():
    summary = pd.DataFrame(
        {
            "dataset": ["a", "a", "b", "b"],
            "model": ["custom_gru", "lstm"] * 2,
            "units": [46, 40, 23, 20],
        }
    )
    row = fewer_parameters(summary)
    # 3 vs 4 blocks of 64 x (32 + 64 + 1) weights.
    assert "75%" in row["evidence"] and "18,624 vs 24,832" in row["evidence"]
    assert "1.15-1.15x" in row["evidence"]
    assert row["verdict"] == SUPPORTED


def speed_inputs(gru_ms, gru_seconds, gru_curve):
    # Two shapes; the second one is twice as slow for everyone, so every ratio is the same.
    bench = pd.DataFrame(
        {
            "sizing": ["same_units"] * 6,
            "jit_compile": False,
            "timesteps": [50] * 3 + [200] * 3,
            "units": 64,
            "model": ["custom_gru", "keras_gru", "lstm"] * 2,
            "train_ms": [gru_ms, 8.0, 10.0, 2 * gru_ms, 16.0, 20.0],
        }
    )
    summary = pd.DataFrame(
        {
            "dataset": ["a", "a"],
            "model": ["custom_gru", "lstm"],
            "seconds_per_epoch": [gru_seconds, 2.0],
        }
    )
    curves = pd.DataFrame(
        {
            "dataset": "a",
            "model": ["custom_gru"] * 3 + ["lstm"] * 3,
            "seed": 0,
            "epoch": [1, 2, 3] * 2,
            "value": [*gru_curve, 1.0, 0.6, 0.5],
        }
    )
    return summary, curves, bench


def test_trains_faster_counts_per_epoch_time_and_epochs_to_target():
    faster = trains_faster(*speed_inputs(5.0, 1.0, [0.6, 0.5, 0.4]))
    assert faster["verdict"] == SUPPORTED
    assert "custom_gru trains 2.00x faster than lstm (median over 2 shapes" in faster["evidence"]
    assert "keras_gru 1.25x faster than lstm" in faster["evidence"]
    assert "fewer on 1, more on 0 of 1" in faster["evidence"]
    slower = trains_faster(*speed_inputs(20.0, 4.0, [1.0, 0.9, 0.5]))
    assert slower["verdict"] == NOT_SUPPORTED
    assert "custom_gru trains 2.00x slower than lstm" in slower["evidence"]
    mixed = trains_faster(*speed_inputs(20.0, 1.0, [0.5, 0.5, 0.5]))
    assert mixed["verdict"] == MIXED


def test_trains_faster_without_a_benchmark_says_so():
    summary, curves, _ = speed_inputs(5.0, 1.0, [0.6, 0.5, 0.4])
    row = trains_faster(summary, curves, None)
    assert "no benchmark in this tracking store" in row["evidence"]
    assert row["verdict"] == SUPPORTED  # still decided by the suite's own timings


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
    assert "on 0 of 1 datasets that have baselines" in row["evidence"]
    no_gru = summary_with(np.nan, 0.9).iloc[1:]
    assert effective(no_gru, pairs())["verdict"] == NOT_MEASURED
    # Baselines beaten, but no comparison between networks converged: not measured.
    early = pairs(("sun", "lstm", 0.01, "not converged: compares early training"))
    row = effective(summary_with(0.4, 0.9), early)
    assert row["verdict"] == NOT_MEASURED and "(1 did not: unconverged" in row["evidence"]


def test_claims_table_has_one_row_per_claim():
    summary, curves, bench = speed_inputs(5.0, 1.0, [0.6, 0.5, 0.4])
    table = claims_table(
        probe_runs(),
        summary.assign(units=40, baseline=False, higher_is_better=False, mean=1.0),
        pairs(("adding", "simple_rnn", -0.15, "better")),
        curves,
        bench,
    )
    assert list(table.columns) == ["claim", "evidence", "verdict"]
    assert len(table) == 4 and table["claim"].is_unique
