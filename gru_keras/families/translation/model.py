"""The translation model: a character-level encoder-decoder (its options: `options.py`).

The encoder reads the source characters; its final state (h, or h and c for an LSTM)
initializes the decoder, which is trained with teacher forcing to emit the target one
character at a time. By default there is no attention: the recurrent state is the only path
from source to target, so the cell does the work.
"""

from __future__ import annotations

from typing import Any

import keras

from gru_keras.families.base import SequenceData
from gru_keras.families.translation.data import PAD, Vocabulary
from gru_keras.families.translation.options import EMBEDDING_DIM, TranslationOptions
from gru_keras.variants import RecurrentVariant


@keras.saving.register_keras_serializable(package="gru_keras")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Cross-entropy of softmax outputs against integer targets smoothed by `smoothing`
    (the true character gets `1 - smoothing + smoothing / K`, every other `smoothing / K`),
    averaged over the characters that are not `ignore_class`.

    Args:
        smoothing: Probability mass spread evenly over the K classes, in [0, 1).
        ignore_class: Target id that is padding, not a prediction.

    Example:
    >>> loss = SmoothedCrossEntropy(0.0, ignore_class=0)
    >>> round(float(loss([[1, 0]], [[[0.5, 0.5], [0.9, 0.1]]])), 4)  # the padding is ignored
    0.6931
    """

    def __init__(self, smoothing: float, ignore_class: int, name: str = "smoothed_ce", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
        self.smoothing, self.ignore_class = float(smoothing), int(ignore_class)

    def call(self, y_true, y_pred):
        ops = keras.ops
        classes = ops.shape(y_pred)[-1]
        y_true = ops.cast(y_true, "int32")
        real = ops.cast(ops.not_equal(y_true, self.ignore_class), y_pred.dtype)
        target = ops.one_hot(y_true, classes, dtype=y_pred.dtype)
        target = target * (1.0 - self.smoothing) + self.smoothing / ops.cast(classes, y_pred.dtype)
        log_p = ops.log(ops.clip(y_pred, keras.config.epsilon(), 1.0))
        per_character = -ops.sum(target * log_p, axis=-1) * real
        # One value per batch: the mean over its real characters, as ignore_class gives.
        return ops.sum(per_character) / ops.maximum(ops.sum(real), 1.0)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "smoothing": self.smoothing,
            "ignore_class": self.ignore_class,
        }


def seq2seq_model(
    variant: RecurrentVariant, units: int, data: SequenceData, options: TranslationOptions
) -> keras.Model:
    """`[source, target_in]` -> next-character probabilities, the variant as encoder and
    decoder (layers named as in `LAYER_NAMES`)."""
    source_vocabulary: Vocabulary = data.facts.source_vocabulary
    target_vocabulary: Vocabulary = data.facts.target_vocabulary
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    # Masking the padded source keeps the encoder's final state that of the last character.
    embedded_source = keras.layers.Embedding(
        source_vocabulary.size, EMBEDDING_DIM, mask_zero=True, name="source_embedding"
    )(source)
    attention = options.attention == "luong"
    encoded = variant.build(units, return_sequences=attention, return_state=True, name="encoder")(
        embedded_source
    )
    embedded_target = keras.layers.Embedding(
        target_vocabulary.size, EMBEDDING_DIM, name="target_embedding"
    )(target_in)
    if options.decoder_context:
        # Cho et al. (2014): every decoder step also sees the encoder's summary h.
        embedded_target = JoinContext(name="join_context")([embedded_target, encoded[1]])
    decoded = variant.build(units, return_sequences=True, return_state=True, name="decoder")(
        embedded_target, initial_state=list(encoded[1:])
    )[0]
    if attention:
        decoded = LuongAttention(units, name="attention")([decoded, encoded[0], source])
    probabilities = keras.layers.Dense(
        target_vocabulary.size, activation="softmax", name="output_head"
    )(decoded)
    return keras.Model([source, target_in], probabilities, name=f"{data.name}_{variant.name}")


@keras.saving.register_keras_serializable(package="gru_keras")
class JoinContext(keras.layers.Layer):
    """`[sequence (batch, time, features), context (batch, size)]` -> the context joined to
    the features of every step, `(batch, time, features + size)`."""

    def call(self, inputs):
        sequence, context = inputs
        # Broadcasting against a zero slice repeats the context over however many steps.
        repeated = keras.ops.expand_dims(context, 1) + keras.ops.zeros_like(sequence[:, :, :1])
        return keras.ops.concatenate([sequence, repeated], axis=-1)

    def compute_output_shape(self, input_shapes):
        sequence, context = input_shapes
        return (*sequence[:-1], sequence[-1] + context[-1])


@keras.saving.register_keras_serializable(package="gru_keras")
class LuongAttention(keras.layers.Layer):
    """Global attention with the "general" score of Luong et al. (2015).

    Every decoder output h_t scores each encoder output h̄_s as h_tᵀ W_a h̄_s (padded source
    positions get no weight), the softmax of the scores averages the encoder outputs into a
    context c_t, and the attentional state is h̃_t = tanh(W_c [c_t; h_t]).

    Args:
        units: Size of the attentional state h̃_t.

    Call arguments:
        inputs: `[decoder_outputs (batch, target_time, query_dim),
            encoder_outputs (batch, source_time, value_dim), source (batch, source_time)]`,
            where `source` holds the token ids (PAD marks padding).

    Returns:
        `(batch, target_time, units)` attentional states.

    Example:

    >>> attention = LuongAttention(8)
    >>> states = attention([np.ones((2, 3, 4)), np.ones((2, 5, 6)), np.ones((2, 5), "int32")])
    >>> tuple(states.shape)
    (2, 3, 8)
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shapes):
        query_shape, value_shape, _ = input_shapes
        self.score_kernel = self.add_weight(
            shape=(value_shape[-1], query_shape[-1]), initializer="glorot_uniform", name="score"
        )
        self.combine_kernel = self.add_weight(
            shape=(value_shape[-1] + query_shape[-1], self.units),
            initializer="glorot_uniform",
            name="combine",
        )

    def call(self, inputs):
        query, values, source = inputs
        keys = keras.ops.matmul(values, self.score_kernel)
        scores = keras.ops.matmul(query, keras.ops.transpose(keys, (0, 2, 1)))
        real = keras.ops.expand_dims(keras.ops.not_equal(source, PAD), 1)
        # A large negative score rather than -inf keeps an all-padding row finite.
        scores = keras.ops.where(real, scores, keras.ops.full_like(scores, -1e9))
        weights = keras.ops.softmax(scores, axis=-1)
        context = keras.ops.matmul(weights, values)
        joined = keras.ops.concatenate([context, query], axis=-1)
        return keras.ops.tanh(keras.ops.matmul(joined, self.combine_kernel))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}
