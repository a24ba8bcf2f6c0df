"""The music model: piano-roll steps -> one recurrent layer (every step) -> 88 sigmoids, and
its loss, the negative log-likelihood of a step summed over the keys."""

from __future__ import annotations

import keras
from keras import ops

from gru_keras.families.music.data import KEYS
from gru_keras.variants import RecurrentVariant


def music_model(variant: RecurrentVariant, units: int, name: str) -> keras.Model:
    """Any number of steps in, one independent Bernoulli probability per key and step out.

    No mask: padding comes after a chorale's last step, and a one-way recurrent layer's
    outputs at real steps never see it; the loss weights leave the padded steps out.
    """
    inputs = keras.Input((None, KEYS), name="piano_roll")
    states = variant.build(units, return_sequences=True, name="recurrent")(inputs)
    outputs = keras.layers.Dense(KEYS, activation="sigmoid", name="key_head")(states)
    return keras.Model(inputs, outputs, name=f"{name}_{variant.name}")


@keras.saving.register_keras_serializable(package="gru_keras")
class KeySummedCrossEntropy(keras.losses.Loss):
    """Binary cross-entropy summed over the 88 keys: each step's negative log-likelihood in
    nats (Keras's `binary_crossentropy` averages over the last axis instead)."""

    def __init__(self, name: str = "key_summed_cross_entropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ops.sum(
            keras.losses.binary_crossentropy(y_true[..., None], y_pred[..., None]), axis=-1
        )
