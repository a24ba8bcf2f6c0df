"""The Ray executor against real processes on 127.0.0.1: an `mlflow server` (sqlite backend
in a temporary directory) and a local Ray instance started by the CLI."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow.tracking import MlflowClient

from gru_keras.config import ConfigError, load_suite
from gru_keras.ray_executor import NodeDataCache
from gru_keras.runner import check_shared_store

pytestmark = pytest.mark.slow

SUITE = """
[suite]
name = "{name}"
models = ["custom_gru", "simple_rnn"]
seeds = {seeds}
parameter_budget = 3000
cpus_per_run = {cpus}

[training]
epochs = {epochs}
batch_size = 32

[datasets.adding-short]
dataset = "adding"
sequence_length = {length}
train_size = {train_size}
validation_size = 32
test_size = 32
"""


def write_suite(directory, name, seeds="[0, 1, 2]", cpus=1.0, epochs=1, length=10, train_size=64):
    path = directory / f"{name}.toml"
    path.write_text(
        SUITE.format(
            name=name, seeds=seeds, cpus=cpus, epochs=epochs, length=length, train_size=train_size
        )
    )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{directory / 'server.db'}",
            "--artifacts-destination",
            str(directory / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "server.log").open("w"),
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(
            "mlflow server did not start: " + (directory / "server.log").read_text()[-2000:]
        )
    yield uri
    process.terminate()
    process.wait(timeout=30)


def gru_keras(directory, uri, *args, background=False):
    command = [sys.executable, "-m", "gru_keras", "run", *map(str, args), "--quiet"]
    command += ["--executor", "ray", "--tracking-uri", uri]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if background:
        with (directory / "stderr.txt").open("w") as stderr:
            return subprocess.Popen(
                command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
    return subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def runs_of(uri, experiment):
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    return client, ([] if found is None else client.search_runs([found.experiment_id]))


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


def test_twenty_concurrent_runs_finish_on_the_server_once_with_nothing_lost(server, tmp_path):
    # 10 seeds x 2 models at 0.1 CPU each: all 20 runs execute at once against one server.
    suite = write_suite(tmp_path, "ray-load", seeds=str(list(range(10))), cpus=0.1, epochs=2)
    started = time.monotonic()
    result = gru_keras(tmp_path, server, suite)
    # The summary on stdout names each failed run and its reason.
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1500:]
    assert "finished 20, skipped 0, failed 0" in result.stdout
    client, runs = runs_of(server, "ray-load")
    names = [run.info.run_name for run in runs]
    assert sorted(names) == sorted(
        f"adding-short__{model}__{seed}"
        for model in ("custom_gru", "simple_rnn")
        for seed in range(10)
    )
    metric_points = 0
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["executor"] == "ray" and int(run.data.tags["ray_worker_pid"]) > 0
        assert {"test_mse", "mean_epoch_seconds"} <= set(run.data.metrics)
        for name in ("train_loss", "val_loss"):
            history = client.get_metric_history(run.info.run_id, name)
            assert [point.step for point in history] == [0, 1], (run.info.run_name, name)
            metric_points += len(history)
        assert "model" in {item.path for item in client.list_artifacts(run.info.run_id)}
    assert metric_points == 20 * 2 * 2
    print(f"20 concurrent runs in {time.monotonic() - started:.0f}s, {metric_points} points")
    # The datasets were prepared once for the node and cached for every worker.
    assert len(list((tmp_path / "data" / "cache" / "datasets").glob("adding-short-*.pkl"))) == 1
    # The local Ray instance went down with its workers.
    deadline = time.monotonic() + 60
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(1)
    assert not ray_processes()

    again = gru_keras(tmp_path, server, suite)
    assert again.returncode == 0 and "finished 0, skipped 20, failed 0" in again.stdout
    assert len(runs_of(server, "ray-load")[1]) == 20


def test_a_killed_worker_fails_its_run_and_a_rerun_completes_the_suite(server, tmp_path):
    suite = write_suite(tmp_path, "ray-fault", seeds="[0]", epochs=10, length=40, train_size=1024)
    suite.write_text(suite.read_text().replace('"custom_gru", "simple_rnn"', '"custom_gru"'))
    process = gru_keras(tmp_path, server, suite, background=True)
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline:
        for run in runs_of(server, "ray-fault")[1]:
            if run.info.status == "RUNNING" and "ray_worker_pid" in run.data.tags:
                victim = run
                break
        time.sleep(0.5)
    assert victim is not None, "no run started"
    time.sleep(2)  # let it get into training
    os.kill(int(victim.data.tags["ray_worker_pid"]), signal.SIGKILL)
    stdout, _ = process.communicate(timeout=600)
    assert process.returncode == 1
    assert f"FAILED {victim.info.run_name}: the Ray worker running it died" in stdout
    client, runs = runs_of(server, "ray-fault")
    killed = client.get_run(victim.info.run_id)
    assert killed.info.status == "FAILED"
    assert "Ray worker running it died" in killed.data.tags["failure_reason"]
    assert not [run for run in runs if run.info.status == "RUNNING"]

    rerun = gru_keras(tmp_path, server, suite)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    finished = [
        run.info.run_name
        for run in runs_of(server, "ray-fault")[1]
        if run.info.status == "FINISHED"
    ]
    assert finished == ["adding-short__custom_gru__0"]


def test_sqlite_and_files_are_refused_for_ray_and_servers_accepted():
    for uri in ("sqlite:///mlflow.db", "file:///tmp/mlruns", "./mlruns"):
        with pytest.raises(ConfigError, match="unsafe for concurrent writers"):
            check_shared_store(uri)
    for uri in ("http://127.0.0.1:5000", "https://mlflow.example.org", "postgresql://u@h/db"):
        check_shared_store(uri)


def test_the_cli_refuses_ray_with_sqlite_before_any_run(tmp_path):
    suite = write_suite(tmp_path, "ray-sqlite")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gru_keras",
            "run",
            str(suite),
            "--executor",
            "ray",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "unsafe for concurrent writers" in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_suite_toml_can_choose_ray_and_its_resources(tmp_path):
    path = write_suite(tmp_path, "ray-config", cpus=0.5)
    path.write_text(
        path.read_text().replace(
            "[training]", 'executor = "ray"\nray_address = "auto"\n\n[training]'
        )
    )
    executor = load_suite(path).executor
    assert (executor.name, executor.address, executor.cpus_per_run) == ("ray", "auto", 0.5)
    path.write_text(path.read_text().replace('executor = "ray"', 'executor = "dask"'))
    with pytest.raises(ConfigError, match="valid choices: local, ray"):
        load_suite(path)


def test_node_cache_rebuilds_a_corrupted_file(tmp_path):
    suite = load_suite(write_suite(tmp_path, "cache"))
    cache = NodeDataCache(tmp_path / "cache")
    first = cache.get(suite.datasets[0])
    path = cache.path(suite.datasets[0])
    path.write_bytes(b"not a pickle")
    rebuilt = NodeDataCache(tmp_path / "cache").get(suite.datasets[0])
    assert rebuilt.digest() == first.digest()
    assert NodeDataCache(tmp_path / "cache").get(suite.datasets[0]).digest() == first.digest()


def test_without_ray_installed_the_error_names_the_extra(monkeypatch):
    from gru_keras import ray_executor

    monkeypatch.setattr(ray_executor, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[ray\]'"):
        ray_executor.require_ray()
