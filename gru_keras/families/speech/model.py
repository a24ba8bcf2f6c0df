"""The speech models: zero-padded features -> Masking -> the recurrent layer (optionally both
ways) -> a head, and the CTC loss (the family's model options: `options.py`)."""

from __future__ import annotations

import keras
from keras import ops

from gru_keras.families.base import SequenceData
from gru_keras.variants import RecurrentVariant


@keras.saving.register_keras_serializable(package="gru_keras")
def ctc_loss_with_lengths(y_true, y_pred):
    """CTC loss where `y_true` packs the frame count of each utterance in column 0 and the
    labels (0-padded, 0 being the blank) after it; `y_pred` are per-frame logits."""
    y_true = ops.cast(y_true, "int32")
    frames, labels = y_true[:, 0], y_true[:, 1:]
    label_lengths = ops.sum(ops.cast(labels > 0, "int32"), axis=1)
    return ops.ctc_loss(labels, y_pred, label_lengths, frames, mask_index=0)


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
