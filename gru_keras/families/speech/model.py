"""The speech models: zero-padded features -> Masking -> the recurrent layer (optionally both
ways) -> a head, and the model options of the family."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
from keras import ops

from gru_keras.families.base import SequenceData
from gru_keras.validation import HASHED
from gru_keras.variants import RecurrentVariant


@dataclass(frozen=True)
class SpeechOptions:
    """`[datasets.X.model]` of a CTC speech dataset.

    Attributes:
        bidirectional: Read each utterance both ways; the parameter budget covers both.
    """

    bidirectional: bool = field(default=False, metadata=HASHED)


def masked_recurrent_model(
    variant: RecurrentVariant,
    units: int,
    data: SequenceData,
    head: keras.layers.Layer,
    return_sequences: bool = False,
    bidirectional: bool = False,
) -> keras.Model:
    """features -> Masking (zero frames) -> the variant (named `recurrent`) -> `head`; the
    output carries no mask."""
    inputs = keras.Input((None, data.x_train.shape[-1]), name="features")
    masked = keras.layers.Masking(mask_value=0.0, name="padding_mask")(inputs)
    if bidirectional:
        layer = keras.layers.Bidirectional(
            variant.build(units, return_sequences=return_sequences),
            merge_mode="concat",
            name="recurrent",
        )
    else:
        layer = variant.build(units, return_sequences=return_sequences, name="recurrent")
    outputs = DropMask(name="unmasked")(head(layer(masked)))
    return keras.Model(inputs, outputs, name=f"{data.name}_{variant.name}")


@keras.saving.register_keras_serializable(package="gru_keras")
class DropMask(keras.layers.Layer):
    """Passes its input on without the padding mask, so that Keras does not apply a
    per-frame mask to a loss (CTC) that already takes the lengths itself."""

    def call(self, inputs):
        # A new tensor: the input one carries its mask as an attribute.
        return ops.copy(inputs)

    def compute_mask(self, inputs, mask=None):
        return None
