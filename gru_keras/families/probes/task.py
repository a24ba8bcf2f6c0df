"""Losses and metrics of the long-term-dependency probes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gru_keras import schema
from gru_keras.families.base import Evaluation, SequenceData, Task
from gru_keras.families.probes.data import ALPHABET
from gru_keras.families.probes.model import counting_model, labeling_model, regression_model
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    import keras


class LastStepRegression(Task):
    """Regress one number from the last state (the adding problem)."""

    name = "last_step_regression"
    headline_metric = "mse"
    higher_is_better = False
    memory_probe = True
    loss_at_last_step = True
    # Adding problem at T = 100, 12 epochs, 2 jobs x 1 thread (docs/performance.md): XLA's
    # 4-5 s of compilation is won back by epochs 1.7-2.1x faster for the gated layers, not
    # for SimpleRNN (1.01 -> 0.89 s an epoch).
    xla_variants = frozenset({schema.CUSTOM_GRU, schema.KERAS_GRU, schema.LSTM})
    # The target is the sum of two U(0, 1) draws: always answering its mean, 1, scores its
    # variance, 2 x 1/12.
    reference_lines = {"predict the mean": 1 / 6}  # noqa: RUF012

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        return regression_model(variant, units, data)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        # R² per epoch (`val/r2`): the decision map's time to reach its target reads it.
        import keras

        return {"loss": "mse", "metrics": ["mae", keras.metrics.R2Score(name="r2")]}

    def evaluate_predictions(self, predictions: np.ndarray, data: SequenceData) -> Evaluation:
        errors = predictions - data.y_test
        mse = float(np.mean(errors**2))
        return Evaluation(
            {
                "mse": mse,
                "mae": float(np.mean(np.abs(errors))),
                # The share of the target's variance explained: 0 for predicting the mean,
                # 1 for a solved problem, whatever the length (the map's headline).
                "r2": 1.0 - mse / float(np.var(data.y_test)),
            }
        )


class RecallLabeling(Task):
    """Label every step; what counts is the recall window at the end (copy memory)."""

    name = "recall_labeling"
    headline_metric = "recall_accuracy"
    higher_is_better = True
    memory_probe = True
    # Copy memory at delay 30, 12 epochs: only LSTM's epochs are faster with XLA (1.0 ->
    # 0.53 s), and not by enough to repay 6 s of compilation.
    xla_variants = frozenset()
    # Guessing one of the 8 symbols at every recall step.
    reference_lines = {"chance": 1 / ALPHABET}  # noqa: RUF012

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        return labeling_model(variant, units, data)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        import keras

        return {
            "loss": "sparse_categorical_crossentropy",
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        }

    def evaluate_predictions(self, probabilities: np.ndarray, data: SequenceData) -> Evaluation:
        recall_steps = int(data.facts.recall_steps)
        predicted = probabilities[:, -recall_steps:].argmax(axis=-1)
        expected = data.y_test[:, -recall_steps:]
        picked = np.take_along_axis(probabilities, data.y_test[..., None].astype("int64"), axis=-1)
        return Evaluation(
            {
                "recall_accuracy": float(np.mean(predicted == expected)),
                "sequence_accuracy": float(np.mean((predicted == expected).all(axis=1))),
                # The training loss over every step, as `train/loss` and `val/loss`.
                "loss": float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0)))),
            }
        )


class BalanceClassification(Task):
    """Is a string a^n b^m balanced? One probability from the last state (counting).

    Scored twice: on test strings as long as the training ones (`accuracy`), and on strings
    with n at 2-4 x the longest training n (`accuracy_long`), where Weiss et al. (2018)
    predict that an LSTM still counts and a GRU does not."""

    name = "balance_classification"
    headline_metric = "accuracy"
    higher_is_better = True
    # The padding is masked: the gradient diagnostics step through unmasked layers only.
    supports_diagnostics = False
    # Counting at max_n = 32 (96 steps), 200 updates an epoch, 1 thread, alone (2026-12-06):
    # XLA takes epochs from 4.4 to 2.0 s for custom_gru, 2.0 s for LSTM; at max_n = 8 from 1.4
    # to 0.87 s (custom_gru) and 1.1 to 0.73 s (SimpleRNN). It compiles in about 2.5 s more,
    # repaid within the first few epochs.
    xla_variants = frozenset({schema.CUSTOM_GRU, schema.KERAS_GRU, schema.LSTM, schema.SIMPLE_RNN})
    reference_lines = {"chance": 0.5}  # noqa: RUF012

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        return counting_model(variant, units, data)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        import keras

        return {
            "loss": "binary_crossentropy",
            "metrics": [keras.metrics.BinaryAccuracy(name="accuracy")],
        }

    def evaluate_predictions(self, predictions: np.ndarray, data: SequenceData) -> Evaluation:
        return Evaluation({"accuracy": _accuracy(predictions, data.y_test)})

    def evaluate(
        self, model: keras.Model, data: SequenceData, batch_size: int, options: Any
    ) -> Evaluation:
        evaluation = super().evaluate(model, data, batch_size, options)
        long = model.predict(data.facts.x_long, batch_size=batch_size, verbose=0)
        evaluation.metrics["accuracy_long"] = _accuracy(long, data.facts.y_long)
        return evaluation


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities > 0.5) == (labels > 0.5)))
