import pandas as pd

from gru_keras.analysis.findings import (
    best_sentence,
    convergence_sentence,
    cost_sentence,
    executive_summary,
    family_finding,
    verdict_sentences,
)
from gru_keras.analysis.stats import BETTER, EQUIVALENT, NO_DIFFERENCE, NOT_CONVERGED, WORSE


def _summary():
    rows = []
    # (dataset, higher is better, {model: (mean, seconds per epoch, seeds not converged)})
    for dataset, higher, cells in (
        (
            "a",
            False,
            {"lstm": (0.1, 2.0, 0), "custom_gru": (0.2, 4.0, 0), "keras_gru": (0.2, 1.0, 0)},
        ),
        (
            "b",
            True,
            {"lstm": (0.5, 1.0, 0), "custom_gru": (0.9, 3.0, 1), "keras_gru": (0.8, 1.0, 0)},
        ),
        (
            "c",
            False,
            {"lstm": (3.0, 1.0, 0), "custom_gru": (1.0, 1.0, 0), "keras_gru": (1.1, 0.5, 0)},
        ),
    ):
        for model, (mean, seconds, not_converged) in cells.items():
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "baseline": False,
                    "higher_is_better": higher,
                    "mean": mean,
                    "seconds_per_epoch": seconds,
                    "not_converged": not_converged,
                }
            )
    rows.append({**rows[0], "model": "naive", "baseline": True, "mean": 0.0})  # never "best"
    return pd.DataFrame(rows)


def _pairs():
    verdicts = {
        "lstm": [WORSE, NOT_CONVERGED, BETTER],
        "keras_gru": [EQUIVALENT, NOT_CONVERGED, EQUIVALENT],
    }
    return pd.DataFrame(
        [
            {"dataset": d, "first": "custom_gru", "second": second, "verdict": v}
            for second, values in verdicts.items()
            for d, v in zip("abc", values, strict=True)
        ]
    )


def test_the_best_variant_per_dataset_follows_the_metric_direction_and_skips_baselines():
    sentence = best_sentence(_summary())
    # The margin over the runner-up's mean: b 0.9 vs 0.8, c 1.0 vs 1.1, a 0.1 vs 0.2.
    assert (
        "over 3 datasets, and by how much it beats the runner-up's mean: custom_gru on 2 "
        "(b by 12.5%, c by 9.1%); lstm on 1 (a by 50.0%)"
    ) in sentence


def test_verdicts_are_counted_from_the_head_to_head_table():
    lstm, keras = verdict_sentences(_pairs())
    assert lstm.startswith(
        "custom_gru against lstm: better on 1, worse on 1, no significant difference on 0 of "
        "the 2 datasets with a verdict out of 3"
    )
    assert lstm.endswith("no verdict on 1 not converged.")
    assert f"{EQUIVALENT} on 2 of the 2 datasets with a verdict out of 3" in keras
    undecided = _pairs().assign(verdict=NOT_CONVERGED)
    assert (
        "no verdict on any of the 3 datasets: 3 not converged." in verdict_sentences(undecided)[0]
    )
    alike = _pairs().assign(verdict=NO_DIFFERENCE)
    assert (
        "better on 0, worse on 0, no significant difference on 3 of the 3 datasets with a "
        "verdict out of 3 (the exact permutation test, Holm-adjusted p < 0.05); every dataset decided."
    ) in verdict_sentences(alike)[0]


def test_cost_and_convergence_come_from_the_summary():
    cost = cost_sentence(_summary())
    # custom_gru / keras_gru per dataset: 4, 3, 2 -> median 3; / lstm: 2, 3, 1 -> median 2.
    assert "median 3.00x keras_gru's (range 2.00-4.00) and 2.00x lstm's (range 1.00-3.00)" in cost
    assert "1 of 9 dataset-variant cells" in convergence_sentence(_summary())
    claims = pd.DataFrame([{"claim": "Fewer parameters than LSTM", "verdict": "SUPPORTED"}])
    sentences = executive_summary(_summary(), _pairs(), claims)
    assert 5 <= len(sentences) <= 8
    assert sentences[-1] == "Claims: Fewer parameters than LSTM: supported."


def test_a_family_finding_states_the_best_mean_and_custom_grus_verdicts_per_dataset():
    sentence = family_finding(_summary(), _pairs(), ["a", "b"])
    assert sentence == (
        "Finding: a: best mean lstm 0.100 (custom_gru 0.200), custom_gru worse than lstm, "
        f"{EQUIVALENT} with keras_gru; b: best mean custom_gru 0.900, no verdict: not converged."
    )


def test_a_best_mean_equal_to_the_runner_ups_is_called_a_tie():
    summary = _summary()
    summary.loc[(summary["dataset"] == "c") & (summary["model"] == "keras_gru"), "mean"] = 1.0
    assert "c, tied" in best_sentence(summary)


def test_the_cost_comes_from_the_benchmark_when_the_store_has_one():
    # Two shapes; train_ms per model: custom_gru 2, 3; keras_gru 1, 2; lstm 4, 4.
    bench = pd.DataFrame(
        [
            {
                "sizing": "same_params",
                "jit_compile": False,
                "batch": 32,
                "timesteps": steps,
                "features": 2,
                "units": 30,
                "model": model,
                "train_ms": train_ms,
            }
            for steps, times in ((10, (2, 1, 4)), (20, (3, 2, 4)))
            for model, train_ms in zip(("custom_gru", "keras_gru", "lstm"), times, strict=True)
        ]
    )
    cost = cost_sentence(_summary(), bench)
    # custom_gru / keras_gru: 2.0, 1.5 -> median 1.75; / lstm: 0.5, 0.75 -> median 0.625.
    assert "runs 1.75x slower than keras_gru (time ratio 1.50-2.00)" in cost
    assert "and 1.60x faster than lstm (time ratio 0.50-0.75)" in cost
    assert "median over 2 shapes of this suite at matched parameters" in cost
    # Without a benchmark: the suite's own epochs, said to be shared-machine timings.
    assert "no benchmark in this store" in cost_sentence(_summary())


def test_a_finding_names_missing_runs_as_the_reason_for_no_verdict():
    pairs = _pairs()
    pairs.loc[pairs["dataset"] == "b", "verdict"] = "missing runs"
    assert "b: best mean custom_gru 0.900, no verdict: missing runs" in family_finding(
        _summary(), pairs, ["b"]
    )


def test_the_convergence_sentence_names_each_unconverged_run_and_why():
    runs = pd.DataFrame(
        [
            {
                "dataset": "b",
                "model": "custom_gru",
                "seed": 2,
                "status": "FINISHED",
                "converged": False,
                "convergence": "still improving (1.5% in the last quarter)",
            },
            {
                "dataset": "b",
                "model": "custom_gru",
                "seed": 0,
                "status": "FINISHED",
                "converged": True,
                "convergence": "early stopping (patience 5)",
            },
            {
                "dataset": "a",
                "model": "naive",
                "seed": 0,
                "status": "FINISHED",
                "converged": None,
                "convergence": "",
            },
            {
                "dataset": "a",
                "model": "lstm",
                "seed": 1,
                "status": "FAILED",
                "converged": False,
                "convergence": "",
            },
            {
                "dataset": "a",
                "model": "lstm",
                "seed": 0,
                "status": "FINISHED",
                "converged": False,
                "convergence": "",
            },
        ]
    )
    sentence = convergence_sentence(_summary(), runs)
    assert sentence.endswith(
        "The 2 runs: a lstm seed 0 (not recorded); "
        "b custom_gru seed 2 (still improving (1.5% in the last quarter))."
    )
    assert "seed 1" not in sentence  # a failed run is missing, not unconverged
