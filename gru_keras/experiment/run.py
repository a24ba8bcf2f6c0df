"""The tracked-run lifecycle: start an MLflow run, train and evaluate, end it with a status.

A run that raises ends FAILED with its reason as a tag and its traceback as an artifact;
Ctrl-C (or SIGTERM, which the suite turns into Ctrl-C) ends it KILLED and propagates. A
store that cannot be written raises `StoreError`: nothing more can be recorded, so the
suite stops.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mlflow

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.interrupts import INTERRUPTED, interrupts_deferred
from gru_keras.experiment.plan import SEQUENTIAL, Placement, RunSpec
from gru_keras.experiment.store import STORE_ERRORS, StoreError, describe, is_store_failure
from gru_keras.experiment.timing import Stopwatch

if TYPE_CHECKING:
    import keras


@dataclass
class RunOutcome:
    spec: RunSpec
    status: str  # FINISHED, SKIPPED, FAILED or KILLED
    seconds: float = 0.0
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # `schema.TIME_PARTS` -> seconds


class SuiteInterrupted(Exception):
    """Ctrl-C or SIGTERM during a suite; carries the outcomes known so far."""

    def __init__(self, outcomes: list[RunOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def execute_run(
    spec: RunSpec,
    experiment_id: str,
    cache: DatasetCache,
    units: int | None,
    verbose: int,
    placement: Placement = SEQUENTIAL,
    extra_tags: dict[str, str] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> RunOutcome:
    """One tracked run. Exceptions end it FAILED; Ctrl-C ends it KILLED and propagates.

    Args:
        spec: The run.
        experiment_id: Its MLflow experiment.
        cache: Where its dataset comes from (loaded inside the run, so the time is counted).
        units: Matched units of a recurrent variant; None for a baseline.
        verbose: Keras `fit` verbosity.
        placement: Where and how wide the runs execute, logged as params.
        extra_tags: Where it ran (the Ray executor tags itself).
        callbacks: More Keras callbacks for `fit`.
    """
    # TensorFlow loads here, before the run starts, not when a suite is planned.
    from gru_keras.experiment.train import train_and_evaluate

    started = time.perf_counter()
    clock = Stopwatch()
    tags = {
        **tracking.run_tags(spec.config, spec.config_hash, spec.dataset.task.name),
        **({schema.TAG_PARENT: placement.parent} if placement.parent else {}),
        **(extra_tags or {}),
    }
    if spec.dataset.tuned_note:
        tags[schema.TAG_TUNED] = spec.dataset.tuned_note
    if spec.trial is not None:
        tags.update({schema.TAG_STUDY: spec.trial.study, schema.TAG_TRIAL: str(spec.trial.number)})
    try:
        with interrupts_deferred():  # the run is ended KILLED below, never left RUNNING
            mlflow.start_run(
                experiment_id=experiment_id,
                run_name=spec.name,
                tags=tags,
                log_system_metrics=tracking.SYSTEM_METRICS,
            )
    except KeyboardInterrupt:
        if mlflow.active_run() is not None:
            _end(schema.KILLED, "interrupted by the user")
        raise
    except STORE_ERRORS as error:
        raise StoreError(
            f"cannot start run {spec.name} in {mlflow.get_tracking_uri()}: {describe(error)}",
            exit_code=1,
        ) from None
    try:
        with clock.part("data"):
            data = cache.get(spec.dataset)
        metrics = train_and_evaluate(spec, data, units, verbose, placement, clock, callbacks)
        mlflow.log_metrics(clock.metrics())
    except KeyboardInterrupt:
        _end(schema.KILLED, "interrupted by the user")
        raise
    except Exception as error:
        if INTERRUPTED.is_set():  # an interrupt that C code turned into another error
            _end(schema.KILLED, "interrupted by the user")
            raise KeyboardInterrupt from None
        reason = f"{type(error).__name__}: {describe(error, limit=2000)}"
        if is_store_failure(error):
            # Every later write would fail too: record what can be, and stop the suite.
            with contextlib.suppress(StoreError):
                _end(schema.FAILED, reason, traceback.format_exc())
            raise StoreError(
                f"tracking store {mlflow.get_tracking_uri()} cannot be written "
                f"({describe(error)}) during {spec.name}; the suite stopped there",
                exit_code=1,
            ) from None
        _end(schema.FAILED, reason, traceback.format_exc())
        return RunOutcome(spec, schema.FAILED, time.perf_counter() - started, reason)
    _end(schema.FINISHED)
    return RunOutcome(
        spec,
        schema.FINISHED,
        time.perf_counter() - started,
        metrics=metrics,
        timings=dict(clock.seconds),
    )


def _end(status: str, reason: str = "", details: str = "") -> None:
    """End the active run with `status` (and its reason); a store that cannot record it
    (full disk, read-only, gone) stops the suite with one line, not a second traceback."""
    run = mlflow.active_run()
    try:
        with interrupts_deferred():  # half an end leaves the run RUNNING with no one to end it
            if reason:
                mlflow.set_tag(schema.TAG_FAILURE, reason[:5000])
            if details:
                mlflow.log_text(details, schema.FAILURE_FILE)
            mlflow.end_run(status)
    except STORE_ERRORS as error:
        name = run.info.run_name if run else "the run"
        with contextlib.suppress(Exception):
            mlflow.end_run(status)  # forget it locally; the next start marks it KILLED
        raise StoreError(
            f"cannot record {name} as {status} in {mlflow.get_tracking_uri()}: "
            f"{describe(error)}" + (f" (the run failed first: {reason[:200]})" if reason else ""),
            exit_code=1,
        ) from None
