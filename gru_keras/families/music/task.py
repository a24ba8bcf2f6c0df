"""Next-step prediction of piano rolls, scored as Chung et al. (2014) score it: the negative
log-likelihood of a step, summed over the 88 keys, averaged over every test step, in nats;
and Bay et al.'s (2009) frame-level accuracy."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.families.base import Evaluation, SequenceData, Task, batch_sequence, batch_stream
from gru_keras.families.music.data import KEYS
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

EPSILON = 1e-7  # probabilities are clipped as Keras's binary cross-entropy clips them
ROUND_WIDTH = 16  # under XLA, batch widths are rounded up to a multiple: one compile each
CORPUS_FILE = "corpus.csv"  # what the data are, logged with every run for the report page

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


def step_mask(steps: np.ndarray, width: int) -> np.ndarray:
    """`(sequences, width)` booleans: True on each sequence's real (predicted) steps."""
    return np.arange(width)[None, :] < np.asarray(steps)[:, None]


def nll_per_step(probabilities: np.ndarray, targets: np.ndarray, steps: np.ndarray) -> float:
    """Negative log-likelihood of the real steps under independent Bernoulli keys: summed
    over keys, averaged over all steps of all sequences (not per sequence), in nats."""
    p = np.clip(probabilities.astype("float64"), EPSILON, 1 - EPSILON)
    log_likelihood = targets * np.log(p) + (1 - targets) * np.log1p(-p)
    per_step = -log_likelihood.sum(axis=-1)
    mask = step_mask(steps, targets.shape[1])
    return float(per_step[mask].mean())


def frame_accuracy(probabilities: np.ndarray, targets: np.ndarray, steps: np.ndarray) -> float:
    """Bay et al. (2009): TP / (TP + FP + FN) over every key of every real step, a key
    predicted on at probability 0.5 or more."""
    mask = step_mask(steps, targets.shape[1])
    predicted, truth = probabilities[mask] >= 0.5, targets[mask] > 0.5
    hits = np.sum(predicted & truth)
    errors = np.sum(predicted ^ truth)
    return float(hits / (hits + errors)) if hits + errors else 1.0


def step_batches(
    inputs: np.ndarray, targets: np.ndarray, steps: np.ndarray, batch_size: int, round_to: int = 1
) -> list[tuple[np.ndarray, Batch]]:
    """Sequences of similar length batched together, each batch cut to its longest sequence
    (rounded up to `round_to`): `(rows, (x, y, weights))`. The weights are 0 on padding and
    scaled so that Keras's mean over the batch's cells is the mean over its real steps."""
    order = np.argsort(steps, kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = min(inputs.shape[1], math.ceil(int(steps[rows].max()) / round_to) * round_to)
        valid = step_mask(steps[rows], width).astype("float32")
        weights = valid * (valid.size / valid.sum())
        batches.append((rows, (inputs[rows, :width], targets[rows, :width], weights)))
    return batches


def batch_signature() -> tuple[tf.TensorSpec, ...]:
    """One batch: piano-roll inputs, targets, and the step weights."""
    import tensorflow as tf

    return (
        tf.TensorSpec((None, None, KEYS), tf.float32),
        tf.TensorSpec((None, None, KEYS), tf.float32),
        tf.TensorSpec((None, None), tf.float32),
    )


class NextStepPianoRoll(Task):
    """Predict each step's 88 keys from the steps before it."""

    name = "next_step_piano_roll"
    headline_metric = "nll"
    higher_is_better = False
    # The gradient and gate diagnostics read every step of fixed-length inputs up to a loss
    # at the last one; a chorale's padded tail would be most of what they show.
    supports_diagnostics = False
    # Chung et al. compare tanh, LSTM and GRU units with one another: every pair of the four
    # variants is tested (the gated ones against tanh first), custom_gru against keras_gru
    # for equivalence as everywhere.
    compared_pairs = (
        (schema.CUSTOM_GRU, schema.SIMPLE_RNN),
        (schema.KERAS_GRU, schema.SIMPLE_RNN),
        (schema.LSTM, schema.SIMPLE_RNN),
        (schema.CUSTOM_GRU, schema.LSTM),
        (schema.KERAS_GRU, schema.LSTM),
        (schema.CUSTOM_GRU, schema.KERAS_GRU),
    )
    baselines = {  # noqa: RUF012
        # Every step, each key on with its training frequency: what is known without context.
        "key_frequency": lambda data: np.broadcast_to(data.facts.key_frequency, data.y_test.shape),
    }

    def build_model(
        self, variant: RecurrentVariant, units: int, data: SequenceData, options: Any
    ) -> keras.Model:
        from gru_keras.families.music.model import music_model

        return music_model(variant, units, data.name)

    def compile_kwargs(self, options: Any = None) -> dict[str, Any]:
        from gru_keras.families.music.model import KeySummedCrossEntropy

        return {"loss": KeySummedCrossEntropy()}

    def fit_inputs(
        self, data: SequenceData, batch_size: int, seed: int, xla: bool = False
    ) -> dict[str, Any]:
        round_to = ROUND_WIDTH if xla else 1
        facts = data.facts
        train = step_batches(data.x_train, data.y_train, facts.train_steps, batch_size, round_to)
        validation = step_batches(data.x_val, data.y_val, facts.val_steps, batch_size, round_to)
        return {
            "x": batch_stream([batch for _, batch in train], seed, batch_signature()),
            "validation_data": batch_sequence(
                [batch for _, batch in validation], batch_signature()
            ),
            "steps_per_epoch": len(train),
            "validation_steps": len(validation),
            "shuffle": False,  # the stream reshuffles its batches, seeded, every epoch
        }

    def evaluate(
        self, model: keras.Model, data: SequenceData, batch_size: int, options: Any
    ) -> Evaluation:
        probabilities = np.zeros_like(data.y_test)
        steps = data.facts.test_steps
        for rows, (inputs, _, _) in step_batches(data.x_test, data.y_test, steps, batch_size):
            probabilities[rows, : inputs.shape[1]] = np.asarray(model.predict_on_batch(inputs))
        return self.evaluate_predictions(probabilities, data)

    def evaluate_predictions(self, probabilities: np.ndarray, data: SequenceData) -> Evaluation:
        steps = data.facts.test_steps
        return Evaluation(
            {
                "nll": nll_per_step(probabilities, data.y_test, steps),
                "frame_accuracy": frame_accuracy(probabilities, data.y_test, steps),
            },
            tables={CORPUS_FILE: corpus_table(data)},
        )


def corpus_table(data: SequenceData) -> pd.DataFrame:
    """One row: the corpus version, its files, duplicates, melodies and split sizes."""
    import music21

    facts = data.facts
    train, validation, test = facts.split_sizes
    return pd.DataFrame(
        [
            {
                "music21": music21.__version__,
                "files": facts.files,
                "duplicates": facts.duplicates,
                "melodies": facts.melodies,
                "train": train,
                "validation": validation,
                "test": test,
                "resolution": facts.resolution,
            }
        ]
    )
