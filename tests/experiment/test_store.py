"""One writer per store: real processes on one sqlite store, a lease on a real MLflow server,
and runs marked KILLED only when their process is gone."""

import os
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from cli import gru_keras, here, runs_of, store

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.store import (
    StoreError,
    StoreInUse,
    _process_start,
    ensure_experiment,
    hold_store,
    open_store,
    pid_running,
    process_alive,
)

pytestmark = pytest.mark.slow


def test_two_run_commands_started_together_one_runs_the_other_is_refused(tmp_path, tiny_suite):
    # Long enough (20 epochs at T = 40) that the two commands surely overlap.
    suite = tiny_suite("together", models=("simple_rnn",), epochs=20, length=40, train_size=512)
    folders = [tmp_path / "first", tmp_path / "second"]
    processes = []
    for folder in folders:
        folder.mkdir()
        processes.append(
            gru_keras(
                folder, "run", suite, "--quiet", tracking_uri=store(tmp_path), background=True
            )
        )
    outputs = {process.pid: process.communicate(timeout=600)[0] for process in processes}
    (winner_code, winner), (loser_code, loser) = sorted(
        (process.returncode, process.pid) for process in processes
    )
    assert (winner_code, loser_code) == (0, 2), outputs
    stderr = {
        process.pid: (folder / "stderr.txt").read_text()
        for process, folder in zip(processes, folders, strict=True)
    }
    assert not any("Traceback" in text or "alembic" in text for text in stderr.values()), stderr
    # The refusal is one line naming the store and the holder.
    refusal = [line for line in stderr[loser].splitlines() if line.startswith("error: ")]
    assert len(refusal) == 1, stderr[loser]
    assert str(tmp_path / "mlflow.db") in refusal[0]
    assert f"in use by another run command (pid {winner} on {socket.gethostname()})" in refusal[0]
    assert "finished 1, skipped 0, failed 0" in outputs[winner]
    _, runs = runs_of(store(tmp_path), "together")
    assert [(run.info.run_name, run.info.status) for run in runs] == [
        ("adding-short__simple_rnn__0", "FINISHED")
    ]
    # The lock died with its holder: the next command runs (and skips the finished run).
    again = here(folders[1], "run", suite, "--quiet", tracking_uri=store(tmp_path))
    assert again.returncode == 0 and "skipped 1" in again.stdout


OPEN_AT = """
import sys, time
from gru_keras.experiment.store import open_store
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
client = open_store(sys.argv[2])
client.create_experiment(sys.argv[3])
"""


def test_processes_opening_a_fresh_store_at_once_migrate_it_once(tmp_path):
    uri = store(tmp_path)
    start = time.time() + 8  # after both have imported MLflow
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, str(start), uri, f"experiment-{index}"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    names = {experiment.name for experiment in open_store(uri).search_experiments()}
    assert {"experiment-0", "experiment-1", "experiment-2"} <= names


def test_a_lease_on_a_server_refuses_a_second_driver_until_released(server):
    refused = pytest.raises(StoreInUse, match=rf"pid {os.getpid()} on .*heartbeat \d+s ago")
    with hold_store(server, "leased"), refused, hold_store(server, "leased"):
        pass
    with hold_store(server, "leased"):  # released on exit: the next driver gets it
        pass


def test_only_runs_whose_process_is_gone_are_marked_killed(tmp_path):
    client = open_store(store(tmp_path))
    experiment_id = ensure_experiment(client, "marks")
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    here = socket.gethostname()
    owners = {
        "live": (here, os.getpid(), None),  # this test process, alive
        "dead": (here, int(finished.stdout), None),  # exited above
        "reused": (here, os.getpid(), 1_000),  # a pid alive now, but younger than the run
        "elsewhere": ("another-host", os.getpid(), None),
        "untagged": (None, None, None),  # a run written before runs were tagged
    }
    for name, (host, pid, start_ms) in owners.items():
        tags = {} if host is None else {schema.TAG_HOST: host, schema.TAG_PID: str(pid)}
        client.create_run(experiment_id, run_name=name, tags=tags, start_time=start_ms)
    marked, live = tracking.mark_interrupted(client, experiment_id)
    assert live == ["live"]
    assert sorted(marked) == ["dead", "elsewhere", "reused", "untagged"]
    assert process_alive(here, os.getpid(), time.time())
    statuses = {run.info.run_name: run.info.status for run in client.search_runs([experiment_id])}
    assert statuses["live"] == "RUNNING" and statuses["dead"] == "KILLED"


FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from gru_keras.__main__ import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.exit(main(sys.argv[2:]))
    """
)


def test_a_full_disk_mid_suite_is_one_line_and_exit_1(tmp_path, tiny_suite):
    # No file may grow past 960 kB, as on a full disk: a fresh store (954 kB) is created,
    # then it cannot grow to take the run's 30 epochs of metrics.
    suite = tiny_suite("full", models=("simple_rnn",), epochs=30)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            FULL_DISK,
            "960000",
            "run",
            str(suite),
            "--quiet",
            "--tracking-uri",
            store(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and str(tmp_path / "mlflow.db") in lines[0], result.stderr[-3000:]
    assert "cannot be written" in lines[0] and "the suite stopped" in lines[0]


def test_process_facts_come_from_psutil_on_any_os():
    # A child that has exited but is not yet waited for is a zombie: not running.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, left unreaped
    assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE
    assert not pid_running(child.pid)
    child.wait()
    assert not pid_running(child.pid) and not pid_running(0)
    # This process started before now and after the machine booted (psutil's own reading).
    assert psutil.boot_time() < _process_start(os.getpid()) <= time.time()
    assert _process_start(child.pid) is None


def test_an_unreachable_server_is_one_line_in_seconds_not_minutes(monkeypatch):
    # Found by fuzzing the CLI: MLflow's 7 retries backing off took 4 minutes to say so.
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    started = time.monotonic()
    with pytest.raises(
        StoreError, match=r"127\.0\.0\.1:9.*\(is an MLflow server running there\?\)"
    ):
        open_store("http://127.0.0.1:9")
    assert time.monotonic() - started < 60
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # later requests: MLflow's own
