"""The Ray executor against real processes on 127.0.0.1: an `mlflow server` (sqlite backend
in a temporary directory) and a local Ray instance started by the CLI."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from cli import ADDING, background_state, endless, gru_keras, here, runs_of, wait_for

from gru_keras.errors import ConfigError
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.executors.ray import (
    check_shared_store,
    node_directory,
    receive_inputs,
    require_ray,
    ship_inputs,
)

pytestmark = pytest.mark.slow


def ray_run(directory, uri, suite, *args, background=False):
    """`gru_keras run SUITE --executor ray ARGS` against the server at `uri`."""
    return gru_keras(
        directory,
        "run",
        suite,
        *args,
        "--quiet",
        "--executor",
        "ray",
        tracking_uri=uri,
        background=background,
    )


def ray_processes() -> list[int]:
    """Pids of live processes whose command line Ray set to `ray::...` (its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read().startswith(b"ray::"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


SHORT = ("short-a", "short-b")


def test_runs_on_two_ray_workers_finish_once_and_a_killed_worker_fails_only_its_run(
    server, tmp_path, tiny_suite
):
    # At 1 CPU a run, 2 Ray workers on 2 cores against one server: one takes a run that
    # cannot end on its own and is killed mid-run; the two short runs (one epoch of short
    # sequences: what is under test is the executor and the store, not training) finish.
    # (At 0.1 CPU, 20 workers at once each imported TensorFlow, and a test like this took
    # 3-6 minutes of `make test`.)
    datasets = endless("endless") + "".join(
        ADDING.format(length=5, train_size=32).replace("adding-short", key) for key in SHORT
    )
    suite = tiny_suite(
        "ray", models=("simple_rnn",), suite="cpus_per_run = 1.0", epochs=1, datasets=datasets
    )
    started = time.monotonic()
    process = ray_run(tmp_path, server, suite, background=True)
    try:
        assert wait_for(
            lambda: _status(server, "endless__simple_rnn__0") == "RUNNING", process=process
        ), background_state(tmp_path, process, "ray", server)
        (victim,) = [r for r in runs_of(server, "ray")[1] if r.info.run_name.startswith("endless")]
        os.kill(int(victim.data.tags["pid"]), signal.SIGKILL)
        stdout, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stdout
    assert "finished 2, skipped 0, failed 1" in stdout
    assert "FAILED endless__simple_rnn__0: the Ray worker running it died" in stdout
    client, runs = runs_of(server, "ray")
    by_name = {run.info.run_name: run for run in runs}
    assert sorted(by_name) == sorted(f"{key}__simple_rnn__0" for key in ("endless", *SHORT))
    killed = by_name.pop("endless__simple_rnn__0")
    assert killed.info.status == "FAILED"
    assert "Ray worker running it died" in killed.data.tags["failure_reason"]
    metric_points = 0
    for run in by_name.values():
        assert run.info.status == "FINISHED"
        assert run.data.tags["executor"] == "ray" and int(run.data.tags["pid"]) > 0
        assert {"test/mse", "time/mean_epoch_seconds"} <= set(run.data.metrics)
        for name in ("train/loss", "val/loss"):
            history = client.get_metric_history(run.info.run_id, name)
            assert [point.step for point in history] == [1], (run.info.run_name, name)
            metric_points += len(history)
        assert run.data.tags["model_uri"].startswith("models:/")
    assert metric_points == 2 * 2
    # Nested under the command's parent run, as in local mode; nothing left RUNNING.
    _, (parent,) = runs_of(server, "ray", kind="invocation")
    assert {run.data.tags["mlflow.parentRunId"] for run in runs} == {parent.info.run_id}
    assert parent.info.status == "FAILED"
    print(f"3 runs in {time.monotonic() - started:.0f}s, {metric_points} points")
    # They did run side by side, in several workers.
    assert len({run.data.tags["pid"] for run in runs}) >= 2
    # Each worker imported the gru_keras that Ray's runtime environment shipped to the node,
    # not the driver's checkout (which this machine's editable install would also import).
    repository = Path(__file__).resolve().parents[2]
    for run in runs:
        code = Path(run.data.tags["code_path"])
        assert "runtime_resources" in code.parts and code.name == "gru_keras", code
        assert not code.is_relative_to(repository), code
    print("workers imported gru_keras from", {run.data.tags["code_path"] for run in runs})
    # Each dataset was prepared on the node, in its own cache, for every worker there; the
    # driver's cache is the driver's.
    cache = node_directory() / "datasets"
    for key in SHORT:
        assert len(list(cache.glob(f"{key}-*.npz"))) == 1, key
    # The local Ray instance went down with its workers.
    deadline = time.monotonic() + 60
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(1)
    assert not ray_processes()

    # Resumed in this process: nothing to run, so no Ray instance is started.
    again = here(
        tmp_path,
        *("run", suite, "--quiet", "--executor", "ray", "--only", "dataset=" + ",".join(SHORT)),
        tracking_uri=server,
    )
    assert again.returncode == 0 and "finished 0, skipped 2, failed 0" in again.stdout
    assert len(runs_of(server, "ray")[1]) == 3


def _status(server, name):
    run = next((r for r in runs_of(server, "ray")[1] if r.info.run_name == name), None)
    return run.info.status if run else None


def test_sqlite_and_files_are_refused_for_ray_and_servers_accepted():
    for uri in ("sqlite:///mlflow.db", "file:///tmp/mlruns", "./mlruns"):
        with pytest.raises(ConfigError, match="unsafe for concurrent writers"):
            check_shared_store(uri)
    for uri in ("http://127.0.0.1:5000", "https://mlflow.example.org", "postgresql://u@h/db"):
        check_shared_store(uri)


def test_the_cli_refuses_ray_with_sqlite_before_any_run(tmp_path, tiny_suite):
    suite = tiny_suite("ray-sqlite", epochs=1)
    result = here(tmp_path, "run", suite, "--executor", "ray")
    assert result.returncode == 2
    assert "unsafe for concurrent writers" in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_suite_toml_can_choose_ray_and_its_resources(tiny_suite):
    path = tiny_suite(
        "ray-config", suite='cpus_per_run = 0.5\nexecutor = "ray"\nray_address = "auto"'
    )
    executor = load_suite(path).executor
    assert (executor.name, executor.address, executor.cpus_per_run) == ("ray", "auto", 0.5)
    path.write_text(path.read_text().replace('executor = "ray"', 'executor = "dask"'))
    with pytest.raises(ConfigError, match="valid choices: local, ray"):
        load_suite(path)


def test_without_ray_installed_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ConfigError, match=r"`make ray` installs it"):
        require_ray()


def test_a_suite_s_input_file_travels_to_the_node_and_its_data_are_cached_there(
    tmp_path, tiny_suite
):
    # In Ray's object store and back, as a task on another node receives it: the driver's
    # file is gone by then, and the node builds the dataset from its own copy, cached under
    # the key every machine uses (the suite's own path).
    ray = require_ray()
    series = tmp_path / "series.csv"
    series.write_text("hour,load\n" + "\n".join(f"{h},{100 + h % 12}" for h in range(300)))
    suite = load_suite(tiny_suite("inputs", models=("lstm",), datasets=CSV_SERIES))
    (dataset,) = suite.datasets
    node = tmp_path / "node"
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        shipped = ship_inputs(ray, suite.datasets)
        assert list(shipped) == [str(series)]
        series.unlink()
        inputs = receive_inputs(ray, shipped, node)
    finally:
        ray.shutdown()
    copy = Path(inputs[str(series)])
    assert copy.is_relative_to(node / "inputs") and copy.name == "series.csv"
    cache = DatasetCache(node / "datasets", inputs)
    data = cache.get(dataset)
    assert len(data.x_train) > 0
    assert cache.path(dataset) == DatasetCache(node / "datasets").path(dataset)
    assert cache.path(dataset).is_file()


CSV_SERIES = """
[datasets.load]
dataset = "csv"
path = "series.csv"
target_column = "load"
season_length = 12
input_length = 24
horizon = 6
"""


def test_a_tune_on_ray_reports_from_the_workers_to_a_study_database_of_its_own(
    server, tmp_path, tiny_suite, monkeypatch
):
    # Optuna and MLflow both keep an `alembic_version` table: the studies live in a
    # database of their own, which every Ray worker reaches (here a sqlite file).
    import optuna

    database = f"sqlite:///{tmp_path / 'optuna.db'}"
    monkeypatch.setenv("GRU_KERAS_TUNING_STORAGE", database)
    tuning = "[tuning]\ntrials = 2\npruner = 'none'\n[tuning.space.learning_rate]\nlow = 1e-3\nhigh = 1e-2\n"
    suite = tiny_suite(
        "raytune",
        models=("simple_rnn",),
        suite="cpus_per_run = 1.0",
        epochs=2,
        datasets=ADDING.format(length=5, train_size=32) + tuning,
    )
    result = gru_keras(tmp_path, "tune", suite, "--executor", "ray", tracking_uri=server)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = runs_of(server, "raytune-tuning")[1]
    assert sorted(run.info.status for run in trials) == ["FINISHED", "FINISHED"]
    assert {run.data.tags["executor"] for run in trials} == {"ray"}
    study = optuna.load_study(study_name="raytune-tuning/adding-short/simple_rnn", storage=database)
    # Each epoch's value came from the Ray worker that trained the trial.
    assert [sorted(t.intermediate_values) for t in study.trials] == [[1, 2], [1, 2]]
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert (tmp_path / "tuned" / "raytune.toml").is_file()
