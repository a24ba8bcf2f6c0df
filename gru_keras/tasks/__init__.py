"""Registry from task name to the model head, loss, metrics and evaluation of a task."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pandas as pd

from gru_keras.datasets import SequenceData
from gru_keras.models import RecurrentVariant, stacked_core_params
from gru_keras.registry import Registry


@dataclass
class Evaluation:
    """What a run's test evaluation produces: metrics (keyed without the `test_` prefix), and
    tables and figures to store as artifacts (file name -> DataFrame / matplotlib Figure)."""

    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


# A baseline turns the data into test predictions shaped like the model's, without training.
Baseline = Callable[[SequenceData], np.ndarray]


class Task(abc.ABC):
    """What turns a recurrent core into a trainable, evaluable model for one kind of data.

    Attributes:
        name: Registry name.
        headline_metric: The test metric that summarizes a run (logged as `test_<name>`).
        higher_is_better: Direction of the headline metric.
        recurrent_layers: How many recurrent layers the core stacks (for parameter matching).
        baselines: Non-neural models run beside the recurrent variants on the same test
            windows, logged as runs of their own (name -> `Baseline`).
        supports_diagnostics: Whether the model is inputs -> one unmasked layer named
            `recurrent` -> head, which `gru_keras.diagnostics` can step through by hand.
    """

    name: str = ""
    headline_metric: str = ""
    higher_is_better: bool = False
    recurrent_layers: int = 1
    baselines: dict[str, Baseline] = {}  # noqa: RUF012 - read-only class-level registry
    supports_diagnostics: bool = True

    @abc.abstractmethod
    def build_model(self, variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
        """The uncompiled model: inputs -> recurrent core -> task head."""

    @abc.abstractmethod
    def compile_kwargs(self) -> dict[str, Any]:
        """`loss` and `metrics` for `model.compile`."""

    @abc.abstractmethod
    def evaluate_predictions(self, predictions: np.ndarray, data: SequenceData) -> Evaluation:
        """Score test-split predictions (from a model or a baseline)."""

    def core_parameters(
        self, variant: RecurrentVariant, data: SequenceData
    ) -> Callable[[int], int]:
        """Parameters of the model's recurrent core as a function of units, for matching.

        The default is `recurrent_layers` stacked layers fed the data's features.
        """
        return stacked_core_params(variant, data.input_dim, self.recurrent_layers)

    def recurrent_parameter_count(self, model: keras.Model) -> int:
        """Parameters the recurrent core of a built model actually has (logged per run)."""
        return model.get_layer("recurrent").count_params()

    def fit_inputs(self, data: SequenceData, batch_size: int, seed: int) -> dict[str, Any]:
        """Keyword arguments of `model.fit` for the training and validation data (`x`, `y`,
        `validation_data`, and `batch_size` or `steps_per_epoch`)."""
        return {
            "x": data.x_train,
            "y": data.y_train,
            "validation_data": (data.x_val, data.y_val),
            "batch_size": batch_size,
        }

    @property
    def loss(self) -> Any:
        """The training loss, as given to `model.compile`."""
        return self.compile_kwargs()["loss"]

    def evaluate(self, model: keras.Model, data: SequenceData, batch_size: int) -> Evaluation:
        """Predict the test split and score it."""
        return self.evaluate_predictions(
            model.predict(data.x_test, batch_size=batch_size, verbose=0), data
        )


TASKS: Registry[Task] = Registry("task")


def register(task: Task) -> Task:
    return TASKS.register(task.name, task)


def get_task(name: str) -> Task:
    """The registered task `name`; ValueError naming the valid choices otherwise."""
    return TASKS.lookup(name)


def recurrent_model(
    variant: RecurrentVariant,
    units: int,
    data: SequenceData,
    head: keras.layers.Layer,
    return_sequences: bool = False,
) -> keras.Model:
    """inputs -> the variant's recurrent layer (named `recurrent`) -> `head`."""
    inputs = keras.Input(data.x_train.shape[1:], name="sequence")
    states = variant.build(units, return_sequences=return_sequences, name="recurrent")(inputs)
    return keras.Model(inputs, head(states), name=f"{data.name}_{variant.name}")


from gru_keras.tasks import forecasting, probes, speech, translation  # noqa: E402, F401
