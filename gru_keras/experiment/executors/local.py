"""The local executor: a suite's runs on this machine, `jobs` at a time.

With one job, run after run in this process (the simplest to debug). With more, each run
goes to one of `jobs` worker processes (`gru_keras.experiment.workers`), longest expected
first, each with `threads` TensorFlow threads so that jobs x threads fit the cores.
"""

from __future__ import annotations

import contextlib
import os
import sys

from tqdm import tqdm

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import CACHE_DIRECTORY
from gru_keras.experiment.config import SuiteConfig
from gru_keras.experiment.executor import record
from gru_keras.experiment.plan import SuitePlan
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted, execute_run
from gru_keras.experiment.workers import Job, WorkerPool, WorkerSetup, configure_threads


class LocalExecutor:
    """Runs `plan.pending`; Ctrl-C marks the running runs KILLED and stops."""

    def check(self, tracking_uri: str) -> None:
        """Any store works: several local writers to sqlite wait for each other's locks."""

    def session(self, suite: SuiteConfig, verbose: int) -> contextlib.nullcontext[None]:
        """Nothing to keep: workers start with each suite, in a second or two."""
        return contextlib.nullcontext()

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
            driver_pid=os.getpid(),
            parent=plan.placement.parent,
        )
        pool = WorkerPool(setup, on_died=died)
        outcomes: list[RunOutcome] = []
        try:
            pool.run(
                [Job(spec, plan.units_of(spec)) for spec in plan.pending],
                lambda outcome: record(outcome, outcomes, progress),
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
            pool.stop()
        return outcomes


EXECUTOR = LocalExecutor()
