"""Local worker processes (`--jobs N`) against a real sqlite store: the same runs as
sequential mode, failures and kills contained, nothing lost, no orphans."""

import os
import signal
import time
from types import SimpleNamespace

import pytest
from cli import (
    ADDING,
    DIVERGING,
    background_state,
    endless,
    gru_keras,
    here,
    runs_of,
    store,
    wait_for,
)

from gru_keras.experiment.config import load_suite
from gru_keras.experiment.executors.local import EXECUTOR as LOCAL_EXECUTOR
from gru_keras.experiment.plan import expand
from gru_keras.experiment.suite import run_suite
from gru_keras.experiment.workers import Job, WorkerPool, plan_jobs, usable_cores

pytestmark = pytest.mark.slow

# Differ between two executions of the same run by design.
EXECUTION_PARAMS = {"jobs"}
EXECUTION_TAGS = {"pid", "mlflow.runName", "mlflow.source.name", "mlflow.user"}


def run_cli(directory, *args, background=False):
    """`gru_keras run ARGS --quiet`: the driver in this process (its workers are processes
    either way), or in the background as its own process for the tests that signal or
    kill it."""
    if background:
        return gru_keras(directory, "run", *args, "--quiet", background=True)
    return here(directory, "run", *args, "--quiet")


def _by_name(directory, experiment="tiny"):
    client, runs = runs_of(store(directory), experiment)
    return client, {run.info.run_name: run for run in runs}


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_two_jobs_give_the_same_runs_params_and_metric_values_as_one(tmp_path, tiny_suite):
    # Also the determinism check: two executions of one config and seed, identical values.
    suite = tiny_suite()
    sequential, parallel = tmp_path / "sequential", tmp_path / "parallel"
    for directory, jobs in ((sequential, "1"), (parallel, "2")):
        directory.mkdir()
        result = run_cli(directory, suite, "--jobs", jobs, "--threads", "1")
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"({jobs} job(s) x 1 thread(s))" in result.stdout
    client_a, runs_a = _by_name(sequential)
    client_b, runs_b = _by_name(parallel)
    assert (
        sorted(runs_a) == sorted(runs_b) == sorted(spec.name for spec in expand(load_suite(suite)))
    )
    for name, run_a in runs_a.items():
        run_b = runs_b[name]
        assert run_a.info.status == run_b.info.status == "FINISHED"
        assert run_a.data.params["jobs"] == "1" and run_b.data.params["jobs"] == "2"
        assert run_a.data.params["threads"] == run_b.data.params["threads"] == "1"
        params_a = {k: v for k, v in run_a.data.params.items() if k not in EXECUTION_PARAMS}
        params_b = {k: v for k, v in run_b.data.params.items() if k not in EXECUTION_PARAMS}
        assert params_a == params_b
        assert set(run_a.data.tags) - EXECUTION_TAGS == set(run_b.data.tags) - EXECUTION_TAGS
        # System metrics sample the machine every 2 s: a short run may have none.
        computed_a = {m: v for m, v in run_a.data.metrics.items() if not m.startswith("system/")}
        computed_b = {m: v for m, v in run_b.data.metrics.items() if not m.startswith("system/")}
        assert set(computed_a) == set(computed_b)
        # Every value a model computes is identical; only wall times differ.
        for metric, value in computed_a.items():
            if "seconds" not in metric:
                assert run_b.data.metrics[metric] == value, (name, metric)
        history_a = client_a.get_metric_history(run_a.info.run_id, "val/loss")
        history_b = client_b.get_metric_history(run_b.info.run_id, "val/loss")
        assert [p.value for p in history_a] == [p.value for p in history_b]


def test_a_sessions_workers_start_before_the_plan_and_serve_each_of_its_suites(
    tmp_path, tiny_suite, monkeypatch
):
    """The workers a session starts (as a map's stages and a tune's waves run in one) are
    spawned before any plan exists, run every suite of the session, and end with it."""
    monkeypatch.chdir(tmp_path)
    first = load_suite(tiny_suite("first", seeds=(0, 1), jobs=2, suite="threads = 1"))
    second = load_suite(tiny_suite("second", seeds=(0, 1), jobs=2, suite="threads = 1"))
    uri = store(tmp_path)
    with LOCAL_EXECUTOR.session(first, verbose=0):
        workers = [worker.process for worker in LOCAL_EXECUTOR._warm.workers]
        assert len(workers) == 2 and all(process.is_alive() for process in workers)
        results = [run_suite(suite, tracking_uri=uri, verbose=0) for suite in (first, second)]
        assert all(process.is_alive() for process in workers)  # kept between suites
    assert [result.exit_code for result in results] == [0, 0]
    pids = {str(process.pid) for process in workers}
    for name in ("first", "second"):
        _, runs = _by_name(tmp_path, name)
        assert len(runs) == 4
        assert {run.data.tags["pid"] for run in runs.values()} == pids
    assert not any(process.is_alive() for process in workers)
    assert LOCAL_EXECUTOR._warm is None


@pytest.mark.alone
@pytest.mark.skipif(usable_cores() < 2, reason="one job per core is one job here")
def test_one_job_per_core_is_not_slower_than_one_job_on_a_small_suite(tmp_path, tiny_suite):
    """The default (one job per core) pays off on a suite of a few short runs too: its
    workers import TensorFlow while the driver plans. Each command is a fresh process that
    pays its own imports, as a user's does; alone, since it needs both cores."""
    suite = tiny_suite(
        models=("simple_rnn", "lstm", "keras_gru", "custom_gru"),
        seeds=(0, 1),
        length=40,
        train_size=256,
        epochs=2,
        jobs=0,
    )
    seconds = {}
    for jobs in ("1", "0"):
        directory = tmp_path / f"jobs{jobs}"
        directory.mkdir()
        started = time.perf_counter()
        result = gru_keras(directory, "run", suite, "--jobs", jobs, "--quiet")
        seconds[jobs] = time.perf_counter() - started
        assert result.returncode == 0, result.stderr[-3000:]
        assert "8 runs in" in result.stdout
    assert seconds["0"] <= seconds["1"], seconds


def test_a_diverging_run_in_one_job_fails_and_the_other_job_finishes(tmp_path, tiny_suite):
    suite = tiny_suite(
        models=("simple_rnn",), datasets=DIVERGING + ADDING.format(length=10, train_size=64)
    )
    result = run_cli(tmp_path, suite, "--jobs", "2")
    assert result.returncode == 1
    _, runs = _by_name(tmp_path)
    assert {name: run.info.status for name, run in runs.items()} == {
        "adding-diverging__simple_rnn__0": "FAILED",
        "adding-short__simple_rnn__0": "FINISHED",
    }
    assert "loss became" in runs["adding-diverging__simple_rnn__0"].data.tags["failure_reason"]
    assert "finished 1, skipped 0, failed 1" in result.stdout
    # Two processes ran them at once.
    pids = {run.data.tags["pid"] for run in runs.values()}
    assert len(pids) == 2


def test_sigkill_of_the_driver_leaves_no_worker_and_a_rerun_completes(tmp_path, tiny_suite):
    # Runs that cannot end on their own (10,000 epochs): the kill always lands mid-run.
    suite = tiny_suite(models=("simple_rnn",), seeds=(0, 1), epochs=10_000, length=20)
    process = run_cli(tmp_path, suite, "--jobs", "2", "--threads", "1", background=True)
    try:
        assert wait_for(
            lambda: sum(r.info.status == "RUNNING" for r in _by_name(tmp_path)[1].values()) == 2,
            process=process,
        ), background_state(tmp_path, process, "tiny")
        workers = _children(process.pid)
        assert len(workers) >= 2
    finally:
        process.kill()  # SIGKILL: the driver cannot clean up
        process.communicate(timeout=60)
    # Each worker got the parent-death signal and stopped.
    assert wait_for(lambda: not any(map(_alive, workers)), timeout=10)
    _, runs = _by_name(tmp_path)
    # Each worker ended its own run KILLED on the way out.
    assert sorted(run.info.status for run in runs.values()) == ["KILLED", "KILLED"]

    # The store and its lock outlive a SIGKILLed driver: the next command runs to the end.
    short = tiny_suite(models=("simple_rnn",), seeds=(0, 1), epochs=2, length=20)
    result = run_cli(tmp_path, short)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished 2, skipped 0, failed 0" in result.stdout
    _, runs = runs_of(store(tmp_path), "tiny")
    assert sorted(run.info.status for run in runs) == ["FINISHED", "FINISHED", "KILLED", "KILLED"]


def test_sigterm_with_two_jobs_ends_both_running_runs_killed(tmp_path, tiny_suite):
    # The driver turns SIGTERM into the Ctrl-C path (tests/experiment/test_suite.py sends
    # Ctrl-C to a sequential run); from there both stop their workers alike.
    stop = signal.SIGTERM
    # Runs that cannot end on their own: both are still running when the signal comes.
    suite = tiny_suite(models=("simple_rnn",), seeds=(0, 1), epochs=10_000, length=20)
    process = run_cli(tmp_path, suite, "--jobs", "2", "--threads", "1", background=True)
    try:
        assert wait_for(
            lambda: sum(r.info.status == "RUNNING" for r in _by_name(tmp_path)[1].values()) == 2,
            process=process,
        ), background_state(tmp_path, process, "tiny")
        workers = _children(process.pid)
        process.send_signal(stop)
        stdout, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stdout
    assert "killed 2" in stdout and "interrupted" in stdout
    _, runs = _by_name(tmp_path)
    assert sorted(run.info.status for run in runs.values()) == ["KILLED", "KILLED"]
    assert all(
        run.data.tags["failure_reason"] == "interrupted by the user" for run in runs.values()
    )
    assert not any(map(_alive, workers))


def test_killed_workers_fail_their_runs_and_a_fresh_worker_goes_on(tmp_path, tiny_suite):
    # Two endless runs occupy both workers (a fresh store runs in suite order); the short
    # run waits in the queue until a worker dies, so only a fresh worker can run it.
    suite = tiny_suite(
        models=("simple_rnn",),
        datasets=endless("endless-a")
        + endless("endless-b")
        + ADDING.format(length=10, train_size=64),
    )
    victims = ["endless-a__simple_rnn__0", "endless-b__simple_rnn__0"]
    process = run_cli(tmp_path, suite, "--jobs", "2", "--threads", "1", background=True)
    try:
        assert wait_for(
            lambda: [_status(tmp_path, name) for name in victims] == ["RUNNING"] * 2,
            process=process,
        ), background_state(tmp_path, process, "tiny")
        runs = _by_name(tmp_path)[1]
        for name in victims:
            os.kill(int(runs[name].data.tags["pid"]), signal.SIGKILL)
        stdout, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stdout
    for name in victims:
        assert f"FAILED {name}: the worker process running it died (exit code -9)" in stdout
    assert "finished 1, skipped 0, failed 2" in stdout
    _, runs = _by_name(tmp_path)
    assert {name: run.info.status for name, run in runs.items()} == {
        victims[0]: "FAILED",
        victims[1]: "FAILED",
        "adding-short__simple_rnn__0": "FINISHED",
    }
    assert "worker process running it died" in runs[victims[0]].data.tags["failure_reason"]
    # Neither dead worker ran it.
    dead = {runs[name].data.tags["pid"] for name in victims}
    assert runs["adding-short__simple_rnn__0"].data.tags["pid"] not in dead


def _status(directory, name: str) -> str | None:
    run = _by_name(directory)[1].get(name)
    return run.info.status if run else None


def test_four_jobs_on_one_sqlite_store_lose_no_run_or_metric_point(tmp_path, tiny_suite):
    # Oversubscribes the 2 cores on purpose: 4 processes write the store at once.
    epochs = 5
    suite = tiny_suite(seeds=(0, 1), epochs=epochs, batch_size=8)
    result = run_cli(tmp_path, suite, "--jobs", "4", "--threads", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished 4, skipped 0, failed 0" in result.stdout
    client, runs = _by_name(tmp_path)
    assert len(runs) == 4 and len({run.data.tags["pid"] for run in runs.values()}) == 4
    for run in runs.values():
        assert run.info.status == "FINISHED"
        for metric in ("train/loss", "val/loss", "time/epoch_seconds", "time/step_seconds"):
            history = client.get_metric_history(run.info.run_id, metric)
            assert [point.step for point in history] == list(range(1, epochs + 1)), metric
        assert {"test/mse", "time/fit_seconds", "time/logging_seconds"} <= set(run.data.metrics)


def test_dry_run_lists_runs_with_estimates_and_writes_nothing(tmp_path, tiny_suite):
    suite = tiny_suite(seeds=(0, 1))
    result = here(tmp_path, "run", suite, "--dry-run")
    first = result.stdout
    assert result.returncode == 0
    assert "4 runs: 4 to run, 0 to skip" in first
    assert "no estimate" in first
    assert not (tmp_path / "mlflow.db").exists()
    # The tests' own polling never creates a store either (a CLI may be creating it).
    assert runs_of(store(tmp_path), "tiny") == (None, [])
    assert not (tmp_path / "mlflow.db").exists()

    assert run_cli(tmp_path, suite, "--only", "seed=0").returncode == 0
    second = here(tmp_path, "run", suite, "--dry-run").stdout
    assert "4 runs: 2 to run, 2 to skip" in second
    assert "skip  adding-short__custom_gru__0" in second
    # Seed 1 is estimated from seed 0 of the same dataset and model.
    assert "estimated time:" in second and "have none" not in second
    assert len(_by_name(tmp_path)[1]) == 2


def test_only_with_an_unknown_value_names_the_choices(tmp_path, tiny_suite):
    result = here(tmp_path, "run", tiny_suite(), "--only", "model=gru")
    stderr = result.stderr
    assert result.returncode == 2
    assert "valid choices: custom_gru, simple_rnn" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "mlflow.db").exists()


def test_jobs_default_to_one_per_core_and_share_the_cores():
    cores = usable_cores()
    assert plan_jobs(0, 0, runs=100) == (cores, 1)
    assert plan_jobs(0, 0, runs=1) == (1, cores)  # never more jobs than runs
    assert plan_jobs(2, 0, runs=100) == (2, max(1, cores // 2))
    assert plan_jobs(3, 4, runs=100) == (3, 4)


def _jobs(*shapes: str) -> list[Job]:
    """Jobs named `dataset__model__seed`, for the scheduling rule alone."""
    return [
        Job(SimpleNamespace(dataset=SimpleNamespace(key=key), model=model, seed=seed), None)
        for key, model, seed in (shape.split("__") for shape in shapes)
    ]


def test_a_free_worker_takes_the_next_seed_of_its_shape_and_the_other_another_shape():
    """Seeds of one shape go to the worker that keeps its compiled model; a second worker
    starts another shape rather than tracing the same one in parallel."""
    pool = WorkerPool(jobs=2, threads=1)
    pool.workers = [SimpleNamespace(job=None, last=None) for _ in range(2)]
    queue = _jobs("a__gru__0", "a__gru__1", "a__gru__2", "b__gru__0", "b__gru__1", "c__gru__0")
    first, second = pool.workers
    first.job = pool._next(queue, first)
    second.job = pool._next(queue, second)
    assert (first.job.spec.dataset.key, second.job.spec.dataset.key) == ("a", "b")
    first.last, first.job = first.job, None
    assert pool._next(queue, first).spec.dataset.key == "a"  # its own shape, not b's seed
    second.last, second.job = second.job, None
    assert pool._next(queue, second).spec.dataset.key == "b"
    assert pool._next(queue, first).spec.seed == "2"
    # Nothing of its shape left: the head of the queue, longest first.
    assert pool._next(queue, first).spec.dataset.key == "c"
    assert queue == []
