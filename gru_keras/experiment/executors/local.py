"""The local executor: a suite's runs on this machine, `jobs` at a time.

With one job, run after run in this process (the simplest to debug). With more, each run
goes to one of `jobs` worker processes (`gru_keras.experiment.workers`), longest expected
first, each with `threads` TensorFlow threads so that jobs x threads fit the cores.

The workers start before the plan is made (`session`): they import TensorFlow while the
driver reads the store, and a session's suites (a map's stages, a tune's waves) share them.
A plan whose jobs or threads differ from theirs (fewer runs than jobs) starts its own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import CACHE_DIRECTORY
from gru_keras.experiment.config import SuiteConfig
from gru_keras.experiment.executor import record
from gru_keras.experiment.plan import SuitePlan
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted, execute_run
from gru_keras.experiment.workers import (
    Job,
    WorkerPool,
    WorkerSetup,
    configure_threads,
    plan_jobs,
)


class LocalExecutor:
    """Runs `plan.pending`; Ctrl-C marks the running runs KILLED and stops."""

    def __init__(self) -> None:
        self._warm: WorkerPool | None = None  # the session's workers
        self._sessions = 0  # open sessions: inside an outer one, more suites follow

    def check(self, tracking_uri: str) -> None:
        """Any store works: several local writers to sqlite wait for each other's locks."""

    @contextmanager
    def session(self, suite: SuiteConfig, verbose: int) -> Iterator[None]:
        """Worker processes for the suites inside the block, started now so that they import
        TensorFlow while the driver plans; none for one job. Re-entered, it keeps the
        outer session's workers."""
        jobs, threads = plan_jobs(suite.executor.jobs, suite.executor.threads, sys.maxsize)
        started = self._warm is None and jobs > 1
        if started:
            self._warm = WorkerPool(jobs, threads).start()
        self._sessions += 1
        try:
            yield
        finally:
            self._sessions -= 1
            if started:
                pool, self._warm = self._warm, None
                pool.stop()

    prestart = session  # cheap to throw away: a suite with nothing to run stops them

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        if plan.placement.jobs == 1:
            return self._in_process(plan, progress)
        return self._in_workers(plan, progress)

    def _in_process(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        configure_threads(plan.placement.threads)
        outcomes = []
        for spec in plan.pending:
            progress.set_postfix_str(spec.name)
            tqdm.write(f"--- {spec.name}", file=sys.stderr)
            try:
                outcome = execute_run(
                    spec,
                    plan.experiment_id,
                    plan.cache,
                    plan.units_of(spec),
                    plan.verbose,
                    plan.placement,
                )
            except KeyboardInterrupt:
                outcomes.append(RunOutcome(spec, schema.KILLED, reason="interrupted by the user"))
                raise SuiteInterrupted(outcomes) from None
            record(outcome, outcomes, progress)
        return outcomes

    def _in_workers(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        client = tracking.connect(plan.tracking_uri)

        def died(job: Job, reason: str) -> RunOutcome:
            tracking.mark_failed(client, plan.experiment_id, job.spec.name, reason)
            return RunOutcome(job.spec, schema.FAILED, reason=reason)

        setup = WorkerSetup(
            experiment_id=plan.experiment_id,
            tracking_uri=plan.tracking_uri,
            cache_dir=str((plan.cache.directory or CACHE_DIRECTORY).resolve()),
            threads=plan.placement.threads,
            jobs=plan.placement.jobs,
            epoch_lines=plan.verbose > 0,
            parent=plan.placement.parent,
        )
        warm = self._warm
        if warm is not None and warm.fits(setup.jobs, setup.threads):
            pool = warm
        else:
            pool = WorkerPool(setup.jobs, setup.threads)
        outcomes: list[RunOutcome] = []
        try:
            pool.run(
                setup,
                [Job(spec, plan.units_of(spec)) for spec in plan.pending],
                lambda outcome: record(outcome, outcomes, progress),
                died,
                keep=pool is warm and self._sessions > 1,  # more suites of this session follow
            )
        except KeyboardInterrupt:
            reported, lost = pool.interrupt()
            outcomes += reported
            # A worker that could not end its run in time leaves it RUNNING, its process gone.
            tracking.mark_interrupted(client, plan.experiment_id, "interrupted by the user")
            outcomes += [
                RunOutcome(job.spec, schema.KILLED, reason="interrupted by the user")
                for job in lost
            ]
            raise SuiteInterrupted(outcomes) from None
        finally:
            if pool is not warm:
                pool.stop()
        return outcomes


EXECUTOR = LocalExecutor()
