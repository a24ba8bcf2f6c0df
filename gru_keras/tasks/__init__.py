"""Registry from task name to the model head, loss, metrics and evaluation of a task."""

from __future__ import annotations

import abc
from typing import Any

import keras

from gru_keras.datasets import SequenceData
from gru_keras.models import RecurrentVariant


class Task(abc.ABC):
    """What turns a recurrent core into a trainable, evaluable model for one kind of data.

    Attributes:
        name: Registry name.
        headline_metric: The test metric that summarizes a run (logged as `test_<name>`).
        higher_is_better: Direction of the headline metric.
        recurrent_layers: How many recurrent layers the core stacks (for parameter matching).
    """

    name: str = ""
    headline_metric: str = ""
    higher_is_better: bool = False
    recurrent_layers: int = 1

    @abc.abstractmethod
    def build_model(self, variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
        """The uncompiled model: inputs -> recurrent core -> task head."""

    @abc.abstractmethod
    def compile_kwargs(self) -> dict[str, Any]:
        """`loss` and `metrics` for `model.compile`."""

    @abc.abstractmethod
    def evaluate(self, model: keras.Model, data: SequenceData, batch_size: int) -> dict[str, float]:
        """Test-split metrics, keyed without the `test_` prefix."""


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    if task.name in TASKS:
        raise ValueError(f"Task {task.name!r} is registered twice.")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(
            f"Unknown task {name!r}; valid choices: {', '.join(sorted(TASKS))}."
        ) from None


from gru_keras.tasks import probes  # noqa: E402, F401
