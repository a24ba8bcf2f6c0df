"""Run a whole suite: plan it, skip what already finished, hand the rest to an executor.

One `run` command writes a store at a time (`store.hold_store`). Resume: a run that already
FINISHED with the same config hash is skipped, and runs left RUNNING by a process that is
gone are marked KILLED at the next start. A run that raises or hits
a non-finite loss ends FAILED with the reason as a tag, and the suite goes on.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.config import ConfigError, SuiteConfig
from gru_keras.experiment.executors import get_executor
from gru_keras.experiment.plan import DatasetCache, SuitePlan, expand, preflight
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted
from gru_keras.experiment.store import check_uri, ensure_experiment, hold_store

EXIT_OK, EXIT_FAILED_RUNS, EXIT_INTERRUPTED = 0, 1, 130


@dataclass
class SuiteResult:
    suite: str
    outcomes: list[RunOutcome]
    interrupted: bool
    marked_killed: list[str]
    seconds: float
    left_running: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        failed = any(outcome.status == schema.FAILED for outcome in self.outcomes)
        return EXIT_FAILED_RUNS if failed else EXIT_OK


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the current run is marked KILLED, not left RUNNING."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_suite(
    suite: SuiteConfig,
    force: bool = False,
    tracking_uri: str | None = None,
    verbose: int = 2,
) -> SuiteResult:
    """Execute every run of `suite` that has not FINISHED yet, with the suite's executor.

    Args:
        suite: A validated suite (its `executor` says where the runs execute).
        force: Re-run runs that already FINISHED with the same config.
        tracking_uri: MLflow store; `MLFLOW_TRACKING_URI` or `sqlite:///mlflow.db` by default.
        verbose: Keras `fit` verbosity (2: one line per epoch).

    Returns:
        A `SuiteResult` with one outcome per run, in suite order.

    Raises:
        ConfigError: before any run is created, when a dataset cannot be loaded, a budget
            cannot be matched, or the executor cannot work with this tracking store.
    """
    started = time.perf_counter()
    # Each run builds fresh models, which TensorFlow reports as "retracing"; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    uri = tracking_uri or tracking.tracking_uri()
    try:
        executor = get_executor(suite.executor.name)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    executor.check(uri)
    check_uri(uri)
    cache = DatasetCache()
    units = preflight(suite, cache)  # a bad dataset is a config error, with nothing written
    with hold_store(uri, suite.name):
        client = tracking.connect(uri)
        experiment_id = ensure_experiment(client, suite.name)
        marked, live = tracking.mark_interrupted(client, experiment_id)
        done = {} if force else tracking.finished_runs(client, experiment_id)
        specs = expand(suite)
        skipped = [spec for spec in specs if (spec.name, spec.config_hash) in done]
        # A run another live process still writes (not a `run` command, which would hold
        # the store) is left to it rather than trained twice.
        pending = [spec for spec in specs if spec not in skipped and spec.name not in live]
        plan = SuitePlan(suite, experiment_id, uri, pending, units, cache, verbose)
        outcomes = {spec.name: RunOutcome(spec, schema.SKIPPED) for spec in skipped}
        interrupted = False
        progress = tqdm(
            total=len(specs),
            initial=len(skipped),
            desc=suite.name,
            unit="run",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        with _sigterm_as_interrupt():
            try:
                # Nothing pending (a finished suite run again): no executor to start.
                finished = executor.execute(plan, progress) if plan.pending else []
            except (KeyboardInterrupt, SuiteInterrupted) as stop:
                interrupted = True
                finished = getattr(stop, "outcomes", [])
            finally:
                progress.close()
    outcomes.update({outcome.spec.name: outcome for outcome in finished})
    ordered = [outcomes[spec.name] for spec in specs if spec.name in outcomes]
    return SuiteResult(
        suite.name, ordered, interrupted, marked, time.perf_counter() - started, live
    )


def summary(result: SuiteResult) -> str:
    """Counts by status, time per task family, and the reason of every failed run."""
    counts: dict[str, int] = defaultdict(int)
    family_seconds: dict[str, float] = defaultdict(float)
    for outcome in result.outcomes:
        counts[outcome.status] += 1
        family_seconds[outcome.spec.dataset.family] += outcome.seconds
    lines = [f"suite {result.suite!r}: {len(result.outcomes)} runs in {result.seconds:.1f}s"]
    lines.append(
        "  "
        + ", ".join(
            f"{status.lower()} {counts[status]}"
            for status in (schema.FINISHED, schema.SKIPPED, schema.FAILED, schema.KILLED)
        )
    )
    for family, seconds in sorted(family_seconds.items()):
        lines.append(f"  family {family}: {seconds:.1f}s of training and evaluation")
    if result.marked_killed:
        lines.append(
            f"  marked KILLED (left RUNNING by an earlier process): {', '.join(result.marked_killed)}"
        )
    if result.left_running:
        lines.append(f"  left alone (RUNNING in a live process): {', '.join(result.left_running)}")
    for outcome in result.outcomes:
        if outcome.status == schema.FAILED:
            lines.append(f"  FAILED {outcome.spec.name}: {outcome.reason}")
    if result.interrupted:
        lines.append("  interrupted: the current run was marked KILLED; re-run to continue")
    return "\n".join(lines)
