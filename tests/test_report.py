import numpy as np
import pandas as pd
import pytest

from gru_keras.report import best_models, bootstrap_ci, summary_table, to_markdown, write_summary


def test_bootstrap_ci_of_constant_values_is_the_value():
    assert bootstrap_ci(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0, 2.0)


def test_bootstrap_ci_brackets_the_mean_and_stays_within_the_data():
    mean, low, high = bootstrap_ci(np.array([1.0, 2.0, 3.0, 10.0]))
    assert mean == 4.0
    assert 1.0 <= low < mean < high <= 10.0


def test_bootstrap_ci_with_one_seed_has_no_interval_and_ignores_nan():
    mean, low, high = bootstrap_ci(np.array([0.5, np.nan]))
    assert mean == 0.5 and np.isnan(low) and np.isnan(high)
    assert all(np.isnan(bootstrap_ci(np.array([]))))


def runs_frame():
    rows = []
    for model, values in {
        "custom_gru": [0.01, 0.02, 0.03],
        "simple_rnn": [0.16, 0.17, None],
    }.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "run_name": f"adding__{model}__{seed}",
                    "status": "FAILED" if value is None else "FINISHED",
                    "dataset": "adding",
                    "family": "probes",
                    "task": "last_step_regression",
                    "model": model,
                    "seed": seed,
                    "units": 39 if model == "custom_gru" else 69,
                    "recurrent_params": 4914 if model == "custom_gru" else 4968,
                    "mean_epoch_seconds": 2.0,
                    "failure_reason": "" if value is not None else "boom",
                    "test_mse": np.nan if value is None else value,
                }
            )
    return pd.DataFrame(rows)


def test_summary_counts_finished_seeds_and_picks_the_lower_mse():
    summary = summary_table(runs_frame()).set_index("model")
    assert summary.loc["custom_gru", "mean"] == pytest.approx(0.02)
    assert summary.loc["custom_gru", "seeds"] == 3 and summary.loc["simple_rnn", "seeds"] == 2
    assert summary.loc["simple_rnn", "not_finished"] == 1
    assert summary.loc["custom_gru", "metric"] == "test_mse"
    assert best_models(summary.reset_index())["adding"] == "custom_gru"


def test_markdown_marks_the_best_and_the_missing(tmp_path):
    summary = summary_table(runs_frame())
    markdown = to_markdown(summary)
    assert "**0.02 [" in markdown and "2 (1 not finished)" in markdown
    one_seed = summary_table(runs_frame().query("seed == 0"))
    assert "(1 seed, no CI)" in to_markdown(one_seed)
    paths = write_summary(summary, tmp_path, "probes")
    assert [p.name for p in paths] == ["probes-summary.csv", "probes-summary.md"]
    assert pd.read_csv(paths[0])["model"].tolist() == ["custom_gru", "simple_rnn"]
