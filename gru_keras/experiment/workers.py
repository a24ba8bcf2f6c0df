"""Local worker processes: a suite's runs on several cores at once.

The driver (`python -m gru_keras run --jobs N`) starts N worker processes, spawned so that
each has its own TensorFlow with its thread pools sized to its share of the cores, and hands
each one run at a time. A worker runs exactly what the sequential executor runs
(`execute_run`), so params, metrics, FAILED marking and resume are the same. Its epoch lines
come back to the driver prefixed with the run name, so the one progress bar stays whole.

Warm start. A pool can be started before the driver knows its runs (`WorkerPool.start`):
its workers import TensorFlow and the training code while the driver plans, which is most
of what a worker costs on a small suite, and then wait. Each suite's setup reaches them as
a message before its first job, so one pool serves every suite of a session (a map's
stages, a tune's waves) and keeps its compiled models between them.

Lifetimes. A worker starts with Ctrl-C ignored (the terminal sends SIGINT to the whole
process group; the driver decides) and takes SIGTERM as an interrupt: its run ends KILLED
and it exits. On Ctrl-C or SIGTERM the driver sends SIGTERM to every worker, waits, kills
what is left and marks any run still RUNNING as KILLED. If the driver dies, even by SIGKILL,
every worker gets SIGTERM from the kernel (Linux's parent-death signal) or sees its parent's
sentinel close, and ends the same way; one that cannot finish within `GRACE_SECONDS` exits
hard, and the next `run` marks its run KILLED.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gru_keras import schema
from gru_keras.experiment.interrupts import raise_interrupt

GRACE_SECONDS = 20.0
EXIT_SECONDS = 5.0  # for a worker told to stop to exit by itself
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
WORKER_DIED = "the worker process running it died"


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def plan_jobs(jobs: int, threads: int, runs: int) -> tuple[int, int]:
    """`(jobs, threads)` to use: 0 jobs means one per core, never more jobs than runs; 0
    threads means the cores shared out, at least one each."""
    cores = usable_cores()
    jobs = max(1, min(jobs or cores, max(runs, 1)))
    return jobs, threads or max(1, cores // jobs)


def configure_threads(threads: int) -> None:
    """Size TensorFlow's thread pools; must happen before TensorFlow runs its first op (in a
    worker, first thing). A process whose TensorFlow already runs keeps its pools."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        logging.getLogger(__name__).warning(
            "TensorFlow is already initialized in this process; it keeps its thread pools"
        )


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs for one suite, sent before that suite's first job."""

    experiment_id: str
    tracking_uri: str
    cache_dir: str
    threads: int
    jobs: int
    epoch_lines: bool
    parent: str = ""  # the invocation's run id (`Placement.parent`)


@dataclass(frozen=True)
class Job:
    spec: Any  # RunSpec
    units: int | None

    @property
    def shape(self) -> tuple[str, str]:
        """Runs of one shape (dataset and model; they differ only in the seed) share a
        compiled model in a worker (`gru_keras.experiment.reuse`)."""
        return self.spec.dataset.key, self.spec.model


# How far down the queue a free worker looks for a run of the shape it last ran. The queue
# is longest first, and a shape's seeds have one estimate, so they sit next to each other.
LOOKAHEAD = 4


# --- the worker side ---------------------------------------------------------------------


def worker_main(connection: Connection, threads: int, driver_pid: int) -> None:
    """A worker's whole life: import what runs need, say so, then run each suite's jobs
    (after its `WorkerSetup`) until told to stop (None)."""
    _interrupt_on_sigterm()
    _die_with_parent(driver_pid)
    try:
        configure_threads(threads)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        from gru_keras.experiment import tracking
        from gru_keras.experiment.cache import DatasetCache
        from gru_keras.experiment.callbacks import EpochLines
        from gru_keras.experiment.executors import LOCAL
        from gru_keras.experiment.plan import Placement
        from gru_keras.experiment.run import RunOutcome, execute_run
        from gru_keras.experiment.store import StoreError

        connection.send(("ready",))
        setup: WorkerSetup | None = None
        stopped = False
        while (message := connection.recv()) is not None:
            if isinstance(message, WorkerSetup):
                if setup is None or setup.tracking_uri != message.tracking_uri:
                    tracking.connect(message.tracking_uri, create=False)
                setup = message
                placement = Placement(LOCAL, setup.jobs, setup.threads, setup.parent)
                cache = DatasetCache(Path(setup.cache_dir))
                continue
            job = message
            assert setup is not None, "a job before its suite's setup"
            callbacks = []
            if setup.epoch_lines:
                callbacks.append(EpochLines(job.spec.name, lambda line: _send(connection, line)))
            try:
                outcome = execute_run(
                    job.spec,
                    setup.experiment_id,
                    cache,
                    job.units,
                    0,
                    placement,
                    callbacks=callbacks,
                )
            except KeyboardInterrupt:
                outcome = RunOutcome(job.spec, schema.KILLED, reason="interrupted by the user")
                connection.send(("done", outcome))
                return
            except StoreError as error:
                connection.send(("store", str(error), error.exit_code))
                return
            connection.send(("done", outcome))
        stopped = True
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return
    finally:
        # Nothing left to end KILLED: a SIGTERM while the process exits just ends it.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if stopped:
        # Every run has ended and its outcome is sent: nothing is left to write, so skip
        # the interpreter's teardown of TensorFlow (1.4 s here, longer after runs), which
        # the driver would otherwise wait for at the end of every suite.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _send(connection: Connection, line: str) -> None:
    connection.send(("line", line))


def _interrupt_on_sigterm() -> None:
    """SIGTERM raises a remembered KeyboardInterrupt once (`interrupts`: the run ends
    KILLED); later ones are ignored, and a watchdog ends the process if the cleanup takes
    longer than `GRACE_SECONDS`."""

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        watchdog = threading.Timer(GRACE_SECONDS, os._exit, args=(128 + signal.SIGTERM,))
        watchdog.daemon = True
        watchdog.start()
        raise_interrupt(signum, frame)

    signal.signal(signal.SIGTERM, handler)


def _die_with_parent(driver_pid: int) -> None:
    """SIGTERM to this process when the driver goes: the kernel's parent-death signal where
    there is one (Linux), and a thread watching the parent's sentinel everywhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def watch() -> None:
            wait([parent.sentinel])
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != driver_pid:  # the driver went before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


# --- the driver side ---------------------------------------------------------------------


class _Worker:
    """The driver's handle of one worker process and the run it is doing."""

    def __init__(self, context: Any, threads: int) -> None:
        connection, child = context.Pipe()
        self.process = context.Process(
            target=worker_main,
            args=(child, threads, os.getpid()),
            name="gru_keras-worker",
            daemon=True,
        )
        # Started with Ctrl-C ignored, which the child keeps through exec: a terminal Ctrl-C
        # reaches every process of the group, and only the driver should act on it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        child.close()
        self.connection = connection
        self.ready = False  # has imported what runs need ("ready" received)
        self.setup: WorkerSetup | None = None  # the suite setup it was last sent
        self.retired = False  # told to exit (None sent)
        self.job: Job | None = None
        self.last: Job | None = None  # the job it ran before, whose model it keeps

    def prepare(self, setup: WorkerSetup) -> None:
        if setup != self.setup:
            self.connection.send(setup)
            self.setup = setup

    def give(self, job: Job) -> None:
        self.job = job
        self.connection.send(job)

    def idle(self) -> None:
        """Done with its job; it waits, warm, for the next suite or for `stop`."""
        self.last, self.job = self.job, None

    def retire(self) -> None:
        """Told to exit, which it does by itself (a second or two, beside the other runs)."""
        with contextlib.suppress(OSError, ValueError):
            self.connection.send(None)
        self.retired = True

    def tell_stop(self) -> None:
        """An idle worker is told to exit; one still importing, which holds nothing, is
        killed. A worker with a run goes on (`stop` ends it)."""
        if self.job is not None or not self.process.is_alive():
            return
        with contextlib.suppress(EOFError, OSError, ValueError):
            while self.connection.poll():
                self.ready |= self.connection.recv()[0] == "ready"
        if not self.ready:
            self.process.kill()
        elif not self.retired:
            self.retire()

    def stop(self, timeout: float) -> None:
        """`tell_stop`, a moment to exit by itself if idle; then SIGTERM, and SIGKILL after
        `timeout`."""
        self.tell_stop()
        if self.job is None:
            self.process.join(EXIT_SECONDS)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


class WorkerPool:
    """`jobs` worker processes, each with `threads` TensorFlow threads, that run the jobs
    of one suite after another and report each outcome as it arrives.

    Args:
        jobs: Worker processes (started by `start`, or by the first `run`).
        threads: TensorFlow threads of each.
    """

    def __init__(self, jobs: int, threads: int) -> None:
        self.jobs = jobs
        self.threads = threads
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.setup: WorkerSetup | None = None

    def start(self, count: int | None = None) -> WorkerPool:
        """Spawn the workers now (`count`, at most `jobs`); each imports TensorFlow and the
        training code at once, while the caller goes on."""
        wanted = self.jobs if count is None else min(self.jobs, count)
        self.workers += [_Worker(self.context, self.threads) for _ in range(wanted)]
        return self

    def fits(self, jobs: int, threads: int) -> bool:
        return (self.jobs, self.threads) == (jobs, threads)

    def run(
        self,
        setup: WorkerSetup,
        jobs: list[Job],
        on_outcome: Callable[[Any], None],
        on_died: Callable[[Job, str], Any],
        on_line: Callable[[str], None] = lambda line: tqdm.write(line, file=sys.stderr),
        keep: bool = False,
    ) -> None:
        """Every job of one suite, at most `self.jobs` at once, in order; `on_outcome`
        after each. A job whose worker died mid-run gets `on_died(job, reason)`'s outcome
        (the driver marks the run FAILED in the store), and a fresh worker goes on. With
        `keep`, the workers stay, idle, for the next `run`; else each exits as soon as the
        queue has nothing left for it, while the others finish.

        Raises:
            StoreError: a worker cannot write the store (the others are stopped first).
        """
        self.setup, self.on_died, self.on_line = setup, on_died, on_line
        queue = list(jobs)
        if not self.workers:
            self.start(len(jobs))
        for index, worker in enumerate(self.workers):
            if not queue:
                break
            if worker.retired or not worker.process.is_alive():  # nothing of it to record
                worker = self.workers[index] = _Worker(self.context, self.threads)
            worker.prepare(setup)
            worker.give(self._next(queue, worker))
        while busy := [worker for worker in self.workers if worker.job is not None]:
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if {worker.connection, worker.process.sentinel} & ready:
                    outcome = self._collect(worker)
                    if outcome is None:  # only epoch lines so far
                        continue
                    on_outcome(outcome)
                    if not worker.process.is_alive():  # died mid-run: a fresh one goes on
                        worker.job = None
                        if not queue:
                            continue
                        worker = self._replace(worker)
                        worker.prepare(setup)
                    worker.idle()
                    if queue:
                        worker.give(self._next(queue, worker))
                    elif not keep:
                        worker.retire()

    def _next(self, queue: list[Job], worker: _Worker) -> Job:
        """The job `worker` runs next, taken off `queue`: among the next `LOOKAHEAD` jobs
        per worker, the first of the shape it last ran (its compiled model is kept), else
        the first of a shape no other worker is running, else the head of the queue."""
        window = queue[: LOOKAHEAD * len(self.workers)]
        others = {w.job.shape for w in self.workers if w is not worker and w.job is not None}
        last = worker.last.shape if worker.last is not None else None
        chosen = next((job for job in window if job.shape == last), None)
        chosen = chosen or next((job for job in window if job.shape not in others), queue[0])
        queue.remove(chosen)
        return chosen

    def _collect(self, worker: _Worker) -> Any:
        """The worker's outcome if it has one (after passing on its epoch lines), None if it
        is still running; a worker that died without one gets `on_died`'s outcome."""
        from gru_keras.experiment.store import StoreError

        try:
            while worker.connection.poll():
                kind, *payload = worker.connection.recv()
                if kind == "ready":
                    worker.ready = True
                elif kind == "line":
                    self.on_line(payload[0])
                elif kind == "store":
                    self.stop()
                    raise StoreError(payload[0], exit_code=payload[1])
                else:
                    return payload[0]
        except (EOFError, OSError):
            pass
        if worker.process.is_alive():
            return None
        worker.process.join()
        return self.on_died(worker.job, f"{WORKER_DIED} (exit code {worker.process.exitcode})")

    def _replace(self, dead: _Worker) -> _Worker:
        fresh = _Worker(self.context, self.threads)
        self.workers[self.workers.index(dead)] = fresh
        return fresh

    def interrupt(self) -> tuple[list[Any], list[Job]]:
        """Stop every worker: each running run ends KILLED in its worker.

        Returns:
            `(outcomes, lost)`: the outcomes the workers still reported, and the jobs whose
            worker ended without one (the caller marks their runs KILLED).
        """
        for worker in self.workers:
            if worker.process.is_alive():
                with contextlib.suppress(OSError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        outcomes, lost = [], []
        for worker in self.workers:
            if worker.job is None:
                continue
            outcome = None
            with contextlib.suppress(EOFError, OSError, ValueError):
                while outcome is None and worker.connection.poll():
                    kind, *payload = worker.connection.recv()
                    outcome = payload[0] if kind == "done" else None
            if outcome is None:
                lost.append(worker.job)
            else:
                outcomes.append(outcome)
        self.stop()
        return outcomes, lost

    def stop(self) -> None:
        """End every worker (SIGTERM, then SIGKILL) and close the pipes; a later `run`
        starts fresh ones."""
        workers, self.workers = self.workers, []
        for worker in workers:  # every idle one exits at once, not one after another
            worker.tell_stop()
        for worker in workers:
            worker.stop(timeout=GRACE_SECONDS)
            with contextlib.suppress(OSError):
                worker.connection.close()
