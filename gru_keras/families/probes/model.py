"""The probes' models: inputs -> one recurrent layer -> a dense head (no options)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gru_keras.families.base import SequenceData, recurrent_model
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    import keras


def regression_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """One number from the last state (the adding problem)."""
    import keras

    head = keras.layers.Dense(data.y_train.shape[-1], name="regression_head")
    return recurrent_model(variant, units, data, head)


def labeling_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """A label distribution at every step (copy memory)."""
    import keras

    head = keras.layers.Dense(data.input_dim, activation="softmax", name="label_head")
    return recurrent_model(variant, units, data, head, return_sequences=True)


def counting_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """Left-padded strings of any length -> Masking -> the variant's last state -> P(balanced).

    The padding is masked, so every string starts from the zero state however long the
    longest one is, and a model trained on short strings can be tested on long ones."""
    import keras

    inputs = keras.Input((None, data.x_train.shape[-1]), name="sequence")
    masked = keras.layers.Masking(mask_value=0.0, name="padding_mask")(inputs)
    state = variant.build(units, return_sequences=False, name="recurrent")(masked)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="balanced_head")(state)
    return keras.Model(inputs, outputs, name=f"{data.name}_{variant.name}")
