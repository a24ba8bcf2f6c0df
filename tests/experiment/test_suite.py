"""End-to-end: the real CLI on tiny suites, into a temporary sqlite MLflow store."""

import json
import signal

import keras
import mlflow.keras
import numpy as np
import pandas as pd
import pytest
from cli import (
    ADDING,
    DIVERGING,
    background_state,
    check_metric_scheme,
    gru_keras,
    here,
    runs_of,
    store,
    wait_for,
)

from gru_keras.__main__ import main
from gru_keras.convergence import convergence
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.plan import expand, preflight
from gru_keras.experiment.suite import longest_first, shape_seconds

pytestmark = pytest.mark.slow


def run_cli(tmp_path, *args, background=False):
    """`gru_keras run ARGS --quiet` into the test directory's store: in this process, or in
    the background as its own process for the tests that signal or kill it."""
    if background:
        return gru_keras(tmp_path, "run", *args, "--quiet", background=True)
    return here(tmp_path, "run", *args, "--quiet")


def runs_in(tmp_path, experiment="tiny"):
    return runs_of(store(tmp_path), experiment)


def test_suite_logs_runs_params_metrics_artifacts_and_resumes(tmp_path, tiny_suite):
    suite = tiny_suite(diagnostics=True)
    result = run_cli(tmp_path, suite)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished 2, skipped 0, failed 0" in result.stdout
    assert "family probes" in result.stdout

    client, runs = runs_in(tmp_path)
    by_name = {run.info.run_name: run for run in runs}
    assert set(by_name) == {"adding-short__custom_gru__0", "adding-short__simple_rnn__0"}
    run = by_name["adding-short__custom_gru__0"]
    assert run.info.status == "FINISHED"
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    assert params["model"] == "custom_gru" and params["training.epochs"] == "2"
    assert params["settings.sequence_length"] == "10"
    units, recurrent = int(params["units"]), int(params["recurrent_params"])
    assert recurrent == 3 * units * (2 + units + 1) and abs(recurrent - 3000) / 3000 <= 0.03
    assert (
        tags["model"] == "custom_gru" and tags["dataset"] == "adding-short" and tags["seed"] == "0"
    )
    assert tags["task"] == "last_step_regression" and len(tags["config_hash"]) == 16
    assert "git_commit" in tags and tags["version.keras"] == keras.__version__
    assert {"test/mse", "test/mae", "time/mean_epoch_seconds", "time/mean_step_seconds"} <= set(
        metrics
    )
    history = client.get_metric_history(run.info.run_id, "val/loss")
    assert [m.step for m in history] == [1, 2]  # epochs, counted from 1
    assert len(client.get_metric_history(run.info.run_id, "train/loss")) == 2
    assert run.inputs.dataset_inputs[0].dataset.name == "adding-short"
    # Every metric in the documented scheme; the restored epoch is the best one.
    for each in runs:
        check_metric_scheme(client, each)
        assert each.data.tags["headline_metric"] == "test/mse"
        assert "**adding-short**" in each.data.tags["mlflow.note.content"]
    # The adding problem's targets are not scaled (forecasting's are: `val/mae_scaled`).
    assert "val/mae" in metrics and "val/mae_scaled" not in metrics

    # The model, the MLflow way: in the experiment's logged models, loadable by its URI.
    logged = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert sorted(m.source_run_id for m in logged) == sorted(r.info.run_id for r in runs)
    loaded = mlflow.keras.load_model(tags["model_uri"])
    prediction = loaded.predict(np.zeros((3, 10, 2), "float32"), verbose=0)
    assert prediction.shape == (3, 1) and np.isfinite(prediction).all()
    # Diagnostics as pictures next to their tables (gates for the custom GRU only).
    pictures = {a.path for a in client.list_artifacts(run.info.run_id, "diagnostics")}
    assert {"diagnostics/gradient_reach.png", "diagnostics/gates.png"} <= pictures
    other = by_name["adding-short__simple_rnn__0"].info.run_id
    pictures = {a.path for a in client.list_artifacts(other, "diagnostics")}
    assert "diagnostics/gradient_reach.png" in pictures and "diagnostics/gates.png" not in pictures
    assert (tmp_path / "mlartifacts").is_dir()

    # The experiment opens as model training, described, with saved views.
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert str(suite) in experiment.tags["mlflow.note.content"]
    assert "When is a GRU worth using?" in experiment.tags["mlflow.note.content"]
    view = json.loads(experiment.tags["mlflow.sharedViewState.dataset-adding-short"])
    assert view["groupBy"]["groupByKeys"] == [{"mode": "tag", "groupByData": "model"}]
    assert "workflowType=machine_learning&viewStateShareKey=by-dataset-and-model" in result.stdout

    # One parent run per command, holding the suite and the summary; the runs nested in it.
    _, (parent,) = runs_of(store(tmp_path), "tiny", kind="invocation")
    assert parent.info.status == "FINISHED"
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    summary = _summary(client, parent, tmp_path / "first")
    assert sorted(summary["action"]) == ["trained", "trained"]
    assert sorted(summary["run_id"]) == sorted(r.info.run_id for r in runs)
    assert {"suite.toml", "suite.json"} <= {
        a.path for a in client.list_artifacts(parent.info.run_id)
    }

    assert (
        main(
            [
                "report",
                "--experiment",
                "tiny",
                "--tracking-uri",
                f"sqlite:///{tmp_path / 'mlflow.db'}",
                "--output-dir",
                str(tmp_path / "reports"),
            ]
        )
        == 0
    )
    table = (tmp_path / "reports" / "tiny-summary.md").read_text()
    assert (
        "| adding-short | custom_gru | mse" in table
        and "| adding-short | simple_rnn | mse" in table
    )
    # The report went to the parent run, not among the results.
    pdf = client.get_run(parent.info.run_id).data.tags["report_pdf"]
    assert pdf.startswith("report/tiny-") and pdf.endswith(".pdf")

    again = run_cli(tmp_path, suite)
    assert again.returncode == 0 and "finished 0, skipped 2, failed 0" in again.stdout
    # Resumed: the results are not duplicated, keep their first parent and are linked from
    # the second.
    assert sorted(r.info.run_id for r in runs_in(tmp_path)[1]) == sorted(
        r.info.run_id for r in runs
    )
    _, parents = runs_of(store(tmp_path), "tiny", kind="invocation")
    (second,) = [p for p in parents if p.info.run_id != parent.info.run_id]
    summary = _summary(client, second, tmp_path / "second")
    assert sorted(summary["action"]) == ["skipped (FINISHED earlier)"] * 2
    assert sorted(summary["run_id"]) == sorted(r.info.run_id for r in runs)
    assert all(
        r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in runs_in(tmp_path)[1]
    )


def test_the_convergence_rule_over_the_logged_histories_gives_the_logged_verdicts(
    tmp_path, tiny_suite
):
    # Enough epochs for either branch of the rule: early stopping (patience 3) or the
    # plateau judged over the whole history; the halving schedule runs on the way.
    suite = tiny_suite(
        models=("simple_rnn", "custom_gru"),
        seeds=(0, 1),
        epochs=8,
        training="early_stopping_patience = 3\nreduce_lr_patience = 1",
    )
    result = run_cli(tmp_path, suite)
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = runs_in(tmp_path)
    assert len(runs) == 4
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "val/loss")
        losses = [m.value for m in sorted(history, key=lambda m: m.step)]
        params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
        assert params["training.reduce_lr_patience"] == "1"
        # The tiny suite turns diagnostics off: none are computed or logged, and it says so.
        assert params["training.diagnostics"] == "False"
        assert not [name for name in metrics if name.startswith("diagnostics/")]
        assert not client.list_artifacts(run.info.run_id, "diagnostics")
        judged = convergence(
            losses,
            int(params["training.epochs"]),
            int(params["training.early_stopping_patience"]),
        )
        assert metrics["fit/epochs_run"] == len(losses) <= 8
        assert tags["converged"] == str(judged.converged).lower(), run.info.run_name
        assert tags["convergence"] == judged.why
        assert metrics["fit/converged"] == float(judged.converged)
        assert metrics["best/epoch"] == judged.best_epoch == 1 + int(np.argmin(losses))


def _summary(client, parent, directory) -> pd.DataFrame:
    directory.mkdir()
    return pd.read_csv(client.download_artifacts(parent.info.run_id, "summary.csv", str(directory)))


def test_a_diverging_run_fails_with_its_reason_and_the_suite_goes_on(tmp_path, tiny_suite):
    suite = tiny_suite(
        models=("simple_rnn",), datasets=DIVERGING + ADDING.format(length=10, train_size=64)
    )
    result = run_cli(tmp_path, suite)
    _, runs = runs_in(tmp_path)
    statuses = {run.info.run_name: run.info.status for run in runs}
    assert statuses == {
        "adding-diverging__simple_rnn__0": "FAILED",
        "adding-short__simple_rnn__0": "FINISHED",
    }
    assert result.returncode == 1
    (failed,) = [run for run in runs if run.info.status == "FAILED"]
    assert "loss became" in failed.data.tags["failure_reason"]
    assert (
        "FAILED adding-diverging__simple_rnn__0: NonFiniteLossError: training loss became"
        in result.stdout
    )
    assert "finished 1, skipped 0, failed 1" in result.stdout


def _statuses(tmp_path):
    return [run.info.status for run in runs_in(tmp_path)[1]]


def test_killed_process_resumes_with_only_the_missing_runs(tmp_path, tiny_suite):
    # In this process, one run at a time (tests/experiment/test_workers.py kills workers).
    suite = tiny_suite(models=("simple_rnn",), seeds=(0, 1, 2), epochs=3, length=20, train_size=256)
    process = run_cli(tmp_path, suite, "--jobs", "1", background=True)
    try:
        assert wait_for(
            lambda: "FINISHED" in _statuses(tmp_path) and "RUNNING" in _statuses(tmp_path),
            process=process,
        ), background_state(tmp_path, process, "tiny")
    finally:
        process.kill()  # SIGKILL: no chance to clean up
        process.communicate(timeout=60)
    _, before = runs_in(tmp_path)
    finished_before = {
        run.info.run_name: run.info.run_id for run in before if run.info.status == "FINISHED"
    }
    assert any(run.info.status == "RUNNING" for run in before)

    result = run_cli(tmp_path, suite, "--jobs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"skipped {len(finished_before)}" in result.stdout and "marked KILLED" in result.stdout
    _, after = runs_in(tmp_path)
    assert not [run for run in after if run.info.status == "RUNNING"]
    finished = [run for run in after if run.info.status == "FINISHED"]
    names = [run.info.run_name for run in finished]
    expected = {spec.name for spec in expand(load_suite(suite))}
    assert sorted(names) == sorted(expected)  # exactly one FINISHED run per combination
    for name, run_id in finished_before.items():  # earlier results kept, not re-run
        assert {run.info.run_name: run.info.run_id for run in finished}[name] == run_id
    killed = [run for run in after if run.info.status == "KILLED"]
    assert len(killed) == 1 and "RUNNING" in killed[0].data.tags["failure_reason"]


def _epochs_logged(tmp_path) -> int:
    """Epochs the RUNNING run has logged so far (0 before it starts)."""
    client, runs = runs_in(tmp_path)
    running = [run for run in runs if run.info.status == "RUNNING"]
    if not running:
        return 0
    return len(client.get_metric_history(running[0].info.run_id, "time/epoch_seconds"))


def test_ctrl_c_marks_the_current_run_killed(tmp_path, tiny_suite):
    suite = tiny_suite(seeds=(0, 1), epochs=40, length=40, train_size=512)
    process = run_cli(tmp_path, suite, "--jobs", "1", background=True)
    try:
        # Inside training, whatever the machine's load: after its first logged epoch.
        assert wait_for(lambda: _epochs_logged(tmp_path) >= 1, process=process), background_state(
            tmp_path, process, "tiny"
        )
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stdout
    assert "interrupted: the running runs were marked KILLED" in stdout
    assert "finished 0, skipped 0, failed 0, killed 1" in stdout
    _, runs = runs_in(tmp_path)
    assert [(run.info.run_name, run.info.status) for run in runs] == [
        ("adding-short__custom_gru__0", "KILLED")
    ]
    assert runs[0].data.tags["failure_reason"] == "interrupted by the user"


CSV_SERIES = """
[datasets.load]
dataset = "csv"
path = "series.csv"
time_column = "hour"
target_column = "load"
season_length = 12
input_length = 24
horizon = 6
"""


def test_forecasting_suite_logs_baselines_and_forecast_artifacts(tmp_path, tiny_suite):
    hours = np.arange(400)
    load = 100 + 10 * np.sin(2 * np.pi * hours / 12) + np.random.default_rng(0).normal(0, 1, 400)
    (tmp_path / "series.csv").write_text(
        "hour,load\n" + "\n".join(f"{h},{v:.3f}" for h, v in zip(hours, load, strict=True))
    )
    suite = tiny_suite("tiny-forecast", models=("custom_gru",), datasets=CSV_SERIES)
    result = run_cli(tmp_path, suite)
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = runs_in(tmp_path, "tiny-forecast")
    by_model = {run.data.tags["model"]: run for run in runs}
    assert set(by_model) == {"custom_gru", "naive", "seasonal_naive", "ets"}
    for model, run in by_model.items():
        assert run.info.status == "FINISHED", model
        assert {"test/mae", "test/rmse", "test/mase"} <= set(run.data.metrics)
        check_metric_scheme(client, run)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"forecast.csv", "forecast.png"} <= artifacts
    # A seasonal series: the seasonal-naive baseline beats the naive one.
    assert (
        by_model["seasonal_naive"].data.metrics["test/mase"]
        < by_model["naive"].data.metrics["test/mase"]
    )
    assert (
        "units" in by_model["custom_gru"].data.params and "units" not in by_model["ets"].data.params
    )
    # The network trains on scaled series; its Keras metric says so, its test metrics do not.
    assert {"val/mae_scaled", "train/mae_scaled"} <= set(by_model["custom_gru"].data.metrics)
    assert "val/mae" not in by_model["custom_gru"].data.metrics


def test_a_bad_csv_is_a_config_error_with_no_run(tmp_path, tiny_suite, capsys):
    (tmp_path / "series.csv").write_text("hour,load\n1,2\n2,oops\n")
    suite = tiny_suite("tiny-forecast", models=("custom_gru",), datasets=CSV_SERIES)
    store = tmp_path / "store.db"
    assert main(["run", str(suite), "--tracking-uri", f"sqlite:///{store}"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"error: {suite}: 'datasets.load': {tmp_path / 'series.csv'}: column 'load' is not numeric (line 3: 'oops')"
    )
    assert not store.exists()


def test_on_a_fresh_store_the_runs_go_longest_first_by_their_shapes(tiny_suite):
    """No earlier times: the order comes from epochs x batches x steps x multiply-adds, so
    the long sequences with many epochs go first and the baselines last."""
    datasets = ADDING.format(length=10, train_size=64) + (
        '[datasets.long]\ndataset = "adding"\nsequence_length = 40\ntrain_size = 256\n'
        "[datasets.long.training]\nepochs = 4\n"
    )
    suite = load_suite(tiny_suite(datasets=datasets, seeds=(0, 1)))
    cache = DatasetCache()
    units = preflight(suite, cache)
    specs = expand(suite)
    by_shape = {s.name: shape_seconds(s, units.get((s.dataset.key, s.model)), cache) for s in specs}
    ordered = [spec.dataset.key for spec in longest_first(specs, {}, by_shape)]
    assert ordered == ["long"] * 4 + ["adding-short"] * 4
    # A time measured for a shape outranks the estimate.
    measured = {specs[0].name: 1e6}
    assert longest_first(specs, measured, by_shape)[0].dataset.key == "adding-short"
