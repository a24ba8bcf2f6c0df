"""What an executor is: the protocol every module of `gru_keras.experiment.executors`
provides as `EXECUTOR`, how one is chosen by name, and what every executor does with a
run's outcome. Kept apart from the package of executors, whose `__init__` only lists
their names, so the suite config can validate a name without importing the engine.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from gru_keras import schema
from gru_keras.experiment import executors
from gru_keras.experiment.executors import EXECUTORS

if TYPE_CHECKING:
    from tqdm import tqdm

    from gru_keras.experiment.config import SuiteConfig
    from gru_keras.experiment.plan import SuitePlan
    from gru_keras.experiment.run import RunOutcome


class Executor(Protocol):
    """Runs the pending runs of a plan and reports their outcomes."""

    def check(self, tracking_uri: str) -> None:
        """Before anything is created: raise `ConfigError` (one line) if this executor cannot
        work here (a missing optional dependency, a store its workers cannot share)."""

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        """Execute `plan.pending`, updating `progress` per run; Ctrl-C raises
        `SuiteInterrupted` with the outcomes known so far."""

    def session(self, suite: SuiteConfig, verbose: int) -> AbstractContextManager[None]:
        """Keep what `execute` starts (a Ray instance and its workers) for every suite run
        inside the block, as a map's stages are, instead of starting it once a suite."""

    def prestart(self, suite: SuiteConfig, verbose: int) -> AbstractContextManager[None]:
        """Start, for the block, what `execute` will need and what costs little to throw away
        if nothing runs (local workers importing TensorFlow), so that it warms up while the
        driver plans; nothing where starting costs more (Ray, started by `session`)."""


def record(outcome: RunOutcome, outcomes: list[RunOutcome], progress: tqdm) -> None:
    """What every executor does with a run's outcome: name a failure above the progress
    bar, keep the outcome, and advance the bar."""
    if outcome.status == schema.FAILED:
        progress.write(f"FAILED {outcome.spec.name}: {outcome.reason}", file=sys.stderr)
    outcomes.append(outcome)
    progress.set_postfix_str(outcome.spec.name)
    progress.update()


def get_executor(name: str) -> Executor:
    """The executor called `name`; ValueError naming the valid choices otherwise."""
    if name not in EXECUTORS:
        raise ValueError(f"Unknown executor {name!r}; valid choices: {', '.join(EXECUTORS)}.")
    return importlib.import_module(f"{executors.__name__}.{name}").EXECUTOR
