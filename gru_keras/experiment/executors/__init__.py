"""Where a suite's runs execute. Every module in this package is one executor: it defines
`EXECUTOR`, an object with the `Executor` protocol, and its module name is the name a suite
file (`[suite] executor = ...`) and `--executor` choose it by.

Modules are found, not listed, and imported only when chosen, so an executor's optional
dependencies (Ray) cost nothing to the others.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Protocol

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


def get_executor(name: str) -> Executor:
    """The executor called `name`; ValueError naming the valid choices otherwise."""
    if name not in EXECUTORS:
        raise ValueError(f"Unknown executor {name!r}; valid choices: {', '.join(EXECUTORS)}.")
    return importlib.import_module(f"{__name__}.{name}").EXECUTOR
