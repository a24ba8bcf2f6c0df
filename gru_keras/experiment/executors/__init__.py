"""Where a suite's runs execute. Every module in this package is one executor: it defines
`EXECUTOR`, an object with the `Executor` protocol, and its module name is the name a suite
file (`[suite] executor = ...`) and `--executor` choose it by.

Modules are found, not listed, and imported only when chosen, so an executor's optional
dependencies (Ray) cost nothing to the others.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import TYPE_CHECKING, Protocol

from gru_keras import schema

if TYPE_CHECKING:
    from tqdm import tqdm

    from gru_keras.experiment.plan import SuitePlan
    from gru_keras.experiment.run import RunOutcome

EXECUTORS: tuple[str, ...] = tuple(
    sorted(
        module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")
    )
)


class Executor(Protocol):
    """Runs the pending runs of a plan and reports their outcomes."""

    def check(self, tracking_uri: str) -> None:
        """Before anything is created: raise `ConfigError` (one line) if this executor cannot
        work here (a missing optional dependency, a store its workers cannot share)."""

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        """Execute `plan.pending`, updating `progress` per run; Ctrl-C raises
        `SuiteInterrupted` with the outcomes known so far."""


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
    return importlib.import_module(f"{__name__}.{name}").EXECUTOR
