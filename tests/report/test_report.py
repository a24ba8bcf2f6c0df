import numpy as np
import pandas as pd
import pytest

from gru_keras.analysis.runs import add_missing, latest_runs
from gru_keras.analysis.tables import best_models, decimals_for, head_to_head, summary_table
from gru_keras.families import TASKS
from gru_keras.report.build import write_tables
from gru_keras.report.text import display_head_to_head, display_overview, to_markdown


def runs_frame(values=None):
    values = values or {
        "custom_gru": [0.01, 0.02, 0.03],
        "simple_rnn": [0.16, 0.17, None],
    }
    rows = []
    for model, model_values in values.items():
        for seed, value in enumerate(model_values):
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
                    "train_seconds": 10.0,
                    "failure_reason": "" if value is not None else "NonFiniteLossError: boom",
                    "test/mse": np.nan if value is None else value,
                }
            )
    return pd.DataFrame(rows)


def test_summary_counts_finished_seeds_and_picks_the_lower_mse():
    summary = summary_table(runs_frame(), TASKS).set_index("model")
    assert summary.loc["custom_gru", "mean"] == pytest.approx(0.02)
    assert summary.loc["custom_gru", "seeds"] == 3 and summary.loc["simple_rnn", "seeds"] == 2
    assert summary.loc["simple_rnn", "not_finished"] == 1
    assert summary.loc["simple_rnn", "why_not_finished"] == "1 FAILED: NonFiniteLossError: boom"
    assert summary.loc["custom_gru", "metric"] == "test/mse"
    assert best_models(summary.reset_index())["adding"] == "custom_gru"


def test_a_rerun_with_new_settings_replaces_the_older_run_of_the_same_seed():
    old = runs_frame().assign(start_time=1_000)
    # The suite ran again after a settings change: seed 1 of custom_gru has a newer run.
    newer = old.iloc[[1]].assign(**{"start_time": 2_000, "test/mse": 0.5})
    runs = latest_runs(pd.concat([newer, old], ignore_index=True))
    assert len(runs) == len(old)
    chosen = runs.set_index(["model", "seed"]).loc[("custom_gru", 1)]
    assert chosen["test/mse"] == 0.5 and chosen["start_time"] == 2_000
    summary = summary_table(runs, TASKS).set_index("model")
    assert summary.loc["custom_gru", "seeds"] == 3
    assert summary.loc["custom_gru", "mean"] == pytest.approx((0.01 + 0.5 + 0.03) / 3)


def test_markdown_marks_the_best_the_unfinished_and_the_single_seed(tmp_path):
    summary = summary_table(runs_frame(), TASKS)
    markdown = to_markdown(summary)
    assert "**" not in markdown  # no verdict, no bold
    assert "2 (1 not finished)" in markdown
    pairs = pd.DataFrame(
        [
            {
                "dataset": "adding",
                "first": "custom_gru",
                "second": "simple_rnn",
                "test": "difference",
                "verdict": "better",
            }
        ]
    )
    decimals = decimals_for(summary["mean"])
    assert f"**{0.02:.{decimals}f} [" in to_markdown(summary, pairs)
    assert "**" not in to_markdown(summary, pairs.assign(verdict="no difference shown"))
    one_seed = summary_table(runs_frame().query("seed == 0"), TASKS)
    assert "(1 seed, no CI)" in to_markdown(one_seed)


def test_head_to_head_gives_the_difference_interval_and_verdict():
    pairs = head_to_head(runs_frame(), TASKS)
    (row,) = pairs.itertuples()  # only the pair whose models both ran
    assert (row.first, row.second) == ("custom_gru", "simple_rnn")
    assert row.difference == pytest.approx(0.02 - 0.165)
    # 3 seeds against 2 split 10 ways: the exact p cannot go below 0.1, so no verdict, and
    # the verdict says how many seeds would do (2 / C(8, 4) = 0.029 < 0.05 at 4).
    assert row.ci_high < 0 and row.p_value == pytest.approx(0.1)
    assert row.verdict == "too few seeds to tell" and row.needs == 4
    assert row.seeds == "3 vs 2"
    shown = display_head_to_head(pairs).iloc[0]
    assert shown["verdict"] == "too few seeds to tell (needs 4 a side)"
    assert shown["difference [95% CI]"].startswith("-0.145 [")
    # With 4 separated seeds a side it is a verdict: lower MSE is better.
    four = head_to_head(
        runs_frame(
            {"custom_gru": [0.01, 0.02, 0.03, 0.015], "simple_rnn": [0.16, 0.17, 0.18, 0.19]}
        ),
        TASKS,
    )
    assert four["verdict"].tolist() == ["better"]
    assert four["p_value"].iloc[0] == pytest.approx(2 / 70)
    assert display_head_to_head(four).iloc[0]["verdict"] == "custom_gru better"


def test_head_to_head_with_one_seed_or_no_finished_run_says_so():
    one_seed = head_to_head(runs_frame().query("seed == 0"), TASKS)
    assert one_seed["verdict"].tolist() == ["too few seeds to tell"]
    all_failed = head_to_head(
        runs_frame({"custom_gru": [0.1, 0.2], "simple_rnn": [None, None]}), TASKS
    )
    assert all_failed["verdict"].tolist() == ["missing runs"]


def test_a_dataset_with_no_run_at_all_is_missing_in_the_head_to_head():
    # The suite lists a dataset that has not been run: its metric column does not exist yet.
    expected = [
        ("spoken-digits", "speech", "ctc", model, seed)
        for model in ("custom_gru", "lstm")
        for seed in range(2)
    ]
    completed = add_missing(runs_frame(), expected)
    assert "test/digit_error_rate" not in completed
    pairs = head_to_head(completed, TASKS)
    speech = pairs[pairs["dataset"] == "spoken-digits"]
    assert speech["verdict"].tolist() == ["missing runs"]


def test_missing_runs_appear_with_their_reason_and_reach_the_tables(tmp_path):
    runs = runs_frame().query("seed < 2")
    expected = [
        ("adding", "probes", "last_step_regression", model, seed)
        for model in ("custom_gru", "simple_rnn", "lstm")
        for seed in range(2)
    ]
    completed = add_missing(runs, expected)
    missing = completed[completed["status"] == "MISSING"]
    assert sorted(missing["run_name"]) == ["adding__lstm__0", "adding__lstm__1"]
    assert set(missing["failure_reason"]) == {"no run in the tracking store"}
    assert add_missing(runs, []) is runs
    summary = summary_table(completed, TASKS).set_index("model")
    assert summary.loc["lstm", "seeds"] == 0 and np.isnan(summary.loc["lstm", "mean"])
    assert "— (2 MISSING: no run in the tracking store)" in to_markdown(summary.reset_index())
    pairs = head_to_head(completed, TASKS)
    assert pairs.set_index("second").loc["lstm", "verdict"] == "missing runs"
    paths = write_tables(summary.reset_index(), pairs, tmp_path, "probes")
    assert [p.name for p in paths] == [
        "probes-summary.csv",
        "probes-head-to-head.csv",
        "probes-summary.md",
    ]
    # Registry order, so every table and plot lists the models the same way.
    assert pd.read_csv(paths[0])["model"].tolist() == ["simple_rnn", "lstm", "custom_gru"]
    assert len(pd.read_csv(paths[1])) == 2
    assert "## Head-to-head" in paths[2].read_text()


def test_a_report_that_fails_midway_leaves_the_previous_pdf_and_no_partial_file(tmp_path):
    from matplotlib.figure import Figure

    from gru_keras.report.build import replace_copy, write_pdf

    good = Figure()
    good.add_subplot().plot([0, 1])
    previous = write_pdf([good], tmp_path / "suite-1.pdf", "first")
    latest = replace_copy(previous, tmp_path / "latest.pdf")
    before = latest.read_bytes()

    class Broken(Figure):
        def savefig(self, *args, **kwargs):
            raise RuntimeError("a page could not be drawn")

    with pytest.raises(RuntimeError, match="could not be drawn"):
        write_pdf([good, Broken()], tmp_path / "suite-2.pdf", "second")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["latest.pdf", "suite-1.pdf"]
    assert latest.read_bytes() == before and before.startswith(b"%PDF")


def test_mean_curves_stop_where_the_shortest_seed_stopped_and_seeds_are_drawn_whole():
    from matplotlib.figure import Figure

    from gru_keras.drawing.colors import model_style
    from gru_keras.report.plots import learning_curves

    lengths = {0: 6, 1: 4, 2: 6}  # seed 1 stopped early
    curves = pd.DataFrame(
        [
            {"model": "lstm", "seed": seed, "epoch": epoch, "value": 1.0 / epoch + seed}
            for seed, length in lengths.items()
            for epoch in range(1, length + 1)
        ]
    )
    axis = learning_curves(Figure().add_subplot(), curves, ["lstm"], "val loss")
    lines = axis.get_lines()
    thin, (mean,) = lines[:3], lines[3:]
    assert [len(line.get_xdata()) for line in thin] == [6, 4, 6]
    assert list(mean.get_xdata()) == [1, 2, 3, 4]
    assert mean.get_ydata()[0] == pytest.approx((1.0 + 2.0 + 3.0) / 3)
    assert mean.get_linestyle() == "--" and mean.get_marker() == model_style("lstm")["marker"]


def test_a_dataset_prints_every_value_to_the_places_of_its_largest_mean():
    assert decimals_for(pd.Series([0.153, 0.009413, 0.01035])) == 3
    assert decimals_for(pd.Series([18.98, 2.5, np.nan])) == 1
    assert decimals_for(pd.Series([1234.0])) == 0
    assert decimals_for(pd.Series([np.nan])) == 3


def test_tables_split_evenly_and_keep_a_datasets_rows_on_one_page():
    from gru_keras.report.layout import _chunks

    assert [len(page) for page in _chunks(pd.DataFrame({"x": range(25)}), 24)] == [13, 12]
    assert [len(page) for page in _chunks(pd.DataFrame({"x": range(3)}), 24)] == [3]
    rows = pd.DataFrame({"dataset": [key for key in "abcdefg" for _ in range(4)][:25]})
    pages = _chunks(rows, 22, "dataset")
    assert min(len(page) for page in pages) > 3
    seen = [set(page["dataset"]) for page in pages]
    assert not set.intersection(*seen)  # no dataset split over two pages


def test_the_overview_is_one_row_per_dataset_with_places_from_the_networks():
    def row(model, mean, low, high, baseline=False):
        return {
            "dataset": "seattle",
            "model": model,
            "metric": "test/mase",
            "higher_is_better": False,
            "mean": mean,
            "ci_low": low,
            "ci_high": high,
            "baseline": baseline,
            "not_converged": 0,
            "why_not_finished": "",
        }

    summary = pd.DataFrame(
        [
            row("simple_rnn", 0.5123, 0.5011, 0.5236),
            row("custom_gru", 0.4987, 0.4901, 0.5073),
            row("naive", 14.04, np.nan, np.nan, baseline=True),
        ]
    )
    (overview,) = display_overview(summary).to_dict("records")
    # 3 significant figures of the networks' largest mean, not of the naive forecast's 14.
    assert overview["simple_rnn"] == "0.512 [0.501, 0.524]"
    assert overview["custom_gru"] == "0.499 [0.490, 0.507]"
    assert overview["baselines"] == "naive 14.040"
    assert overview["test metric"] == "mase ↓" and "lstm" not in overview
