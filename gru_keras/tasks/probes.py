"""Heads, losses and metrics of the long-term-dependency probes."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from gru_keras.datasets import SequenceData
from gru_keras.models import RecurrentVariant
from gru_keras.tasks import Evaluation, Task, recurrent_model, register


class LastStepRegression(Task):
    """Regress one number from the last state (the adding problem)."""

    name = "last_step_regression"
    headline_metric = "mse"
    higher_is_better = False

    def build_model(self, variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
        head = keras.layers.Dense(data.y_train.shape[-1], name="regression_head")
        return recurrent_model(variant, units, data, head)

    def compile_kwargs(self) -> dict[str, Any]:
        return {"loss": "mse", "metrics": ["mae"]}

    def evaluate_predictions(self, predictions: np.ndarray, data: SequenceData) -> Evaluation:
        errors = predictions - data.y_test
        return Evaluation({"mse": float(np.mean(errors**2)), "mae": float(np.mean(np.abs(errors)))})


class RecallLabeling(Task):
    """Label every step; what counts is the recall window at the end (copy memory)."""

    name = "recall_labeling"
    headline_metric = "recall_accuracy"
    higher_is_better = True

    def build_model(self, variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
        head = keras.layers.Dense(data.input_dim, activation="softmax", name="label_head")
        return recurrent_model(variant, units, data, head, return_sequences=True)

    def compile_kwargs(self) -> dict[str, Any]:
        return {
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["sparse_categorical_accuracy"],
        }

    def evaluate_predictions(self, probabilities: np.ndarray, data: SequenceData) -> Evaluation:
        recall_steps = int(data.info["recall_steps"])
        predicted = probabilities[:, -recall_steps:].argmax(axis=-1)
        expected = data.y_test[:, -recall_steps:]
        picked = np.take_along_axis(probabilities, data.y_test[..., None].astype("int64"), axis=-1)
        return Evaluation(
            {
                "recall_accuracy": float(np.mean(predicted == expected)),
                "sequence_accuracy": float(np.mean((predicted == expected).all(axis=1))),
                "cross_entropy": float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0)))),
            }
        )


register(LastStepRegression())
register(RecallLabeling())
