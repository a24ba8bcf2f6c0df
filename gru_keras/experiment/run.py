"""The tracked-run lifecycle: start an MLflow run, train and evaluate, end it with a status.

A run that raises ends FAILED with its reason as a tag and its traceback as an artifact;
Ctrl-C (or SIGTERM, which the suite turns into Ctrl-C) ends it KILLED and propagates.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

import mlflow

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.plan import RunSpec
from gru_keras.experiment.train import train_and_evaluate
from gru_keras.families import SequenceData


@dataclass
class RunOutcome:
    spec: RunSpec
    status: str  # FINISHED, SKIPPED, FAILED or KILLED
    seconds: float = 0.0
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


class SuiteInterrupted(Exception):
    """Ctrl-C or SIGTERM during a suite; carries the outcomes known so far."""

    def __init__(self, outcomes: list[RunOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def execute_run(
    spec: RunSpec,
    experiment_id: str,
    data: SequenceData,
    units: int | None,
    verbose: int,
    extra_tags: dict[str, str] | None = None,
) -> RunOutcome:
    """One tracked run. Exceptions end it FAILED; Ctrl-C ends it KILLED and propagates.

    `extra_tags` say where it ran (the Ray executor tags the worker's host and process)."""
    started = time.perf_counter()
    mlflow.start_run(
        experiment_id=experiment_id,
        run_name=spec.name,
        tags={
            **tracking.run_tags(spec.config, spec.config_hash, spec.dataset.task.name),
            **(extra_tags or {}),
        },
    )
    try:
        metrics = train_and_evaluate(spec, data, units, verbose)
    except KeyboardInterrupt:
        mlflow.set_tag(schema.TAG_FAILURE, "interrupted by the user")
        mlflow.end_run(schema.KILLED)
        raise
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        mlflow.set_tag(schema.TAG_FAILURE, reason[:5000])
        mlflow.log_text(traceback.format_exc(), schema.FAILURE_FILE)
        mlflow.end_run(schema.FAILED)
        return RunOutcome(spec, schema.FAILED, time.perf_counter() - started, reason)
    mlflow.end_run(schema.FINISHED)
    return RunOutcome(spec, schema.FINISHED, time.perf_counter() - started, metrics=metrics)
