"""What the analysis needs to know of a task, as a protocol: the families' `Task` satisfies
it, and the caller passes the registry in (`tasks: Mapping[str, TaskFacts]`). So analysis
stays pure functions of frames and mappings, and imports nothing from `gru_keras.families`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol


class TaskFacts(Protocol):
    """The facts of one task the tables and claims read (see `gru_keras.families.Task`)."""

    @property
    def headline_column(self) -> str:
        """The headline metric as logged (`test/<name>`)."""
        ...

    higher_is_better: bool
    baselines: Collection[str]
    compared_pairs: tuple[tuple[str, str], ...]
    memory_probe: bool
    loss_at_last_step: bool


def memory_probes(tasks: Mapping[str, TaskFacts]) -> tuple[str, ...]:
    """The tasks that probe memory over a long span (the claims check reads GRU vs SimpleRNN
    on these)."""
    return tuple(name for name, task in tasks.items() if task.memory_probe)


def last_step_tasks(tasks: Mapping[str, TaskFacts]) -> tuple[str, ...]:
    """The tasks whose loss sits at the last step only, where how much gradient reaches step
    1 measures distance."""
    return tuple(name for name, task in tasks.items() if task.loss_at_last_step)
