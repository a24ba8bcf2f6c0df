"""The probes' models: inputs -> one recurrent layer -> a dense head (no options)."""

from __future__ import annotations

import keras

from gru_keras.families.base import SequenceData, recurrent_model
from gru_keras.variants import RecurrentVariant


def regression_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """One number from the last state (the adding problem)."""
    head = keras.layers.Dense(data.y_train.shape[-1], name="regression_head")
    return recurrent_model(variant, units, data, head)


def labeling_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """A label distribution at every step (copy memory)."""
    head = keras.layers.Dense(data.input_dim, activation="softmax", name="label_head")
    return recurrent_model(variant, units, data, head, return_sequences=True)
