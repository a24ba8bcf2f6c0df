"""Character-level encoder-decoder translation (as in the keras-io `lstm_seq2seq` example).

The encoder reads the source characters; its final state (h, or h and c for an LSTM)
initializes the decoder, which is trained with teacher forcing to emit the target one
character at a time. By default there is no attention: the recurrent state is the only path
from source to target, so the cell does the work; `attention = "luong"` adds Luong et al.
(2015) global attention over the encoder's outputs. Test sentences are decoded in batches,
greedily or with a beam, and scored with sacrebleu (chrF, BLEU), exact match and character
error rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pandas as pd
import sacrebleu
import tensorflow as tf

from gru_keras.datasets import SequenceData
from gru_keras.datasets.translation import END, PAD, START, Vocabulary
from gru_keras.models import RecurrentVariant
from gru_keras.tasks import Evaluation, Task, register
from gru_keras.tasks.text import error_rate

EMBEDDING_DIM = 32
SAMPLE_COUNT = 12  # the same first test sentences in every run, for the report
DECODE_BATCH = 512
LENGTH_MARGIN = 10  # decoding may run this many characters past the longest test target
LAYER_NAMES = ("encoder", "decoder")


def length_batches(
    inputs: dict[str, np.ndarray], targets: np.ndarray, batch_size: int
) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Batches of pairs of similar length, each cut to its own longest source and target, so
    short sentences do not pay for the padding of long ones."""
    source_lengths = (inputs["source"] != PAD).sum(axis=1)
    target_lengths = (targets != PAD).sum(axis=1)
    order = np.lexsort((source_lengths, target_lengths))
    batches = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        source_width = max(1, int(source_lengths[rows].max()))
        target_width = int(target_lengths[rows].max())
        batches.append(
            (
                {
                    "source": inputs["source"][rows, :source_width],
                    "target_in": inputs["target_in"][rows, :target_width],
                },
                targets[rows, :target_width],
            )
        )
    return batches


def batch_dataset(
    batches: list[tuple[dict[str, np.ndarray], np.ndarray]], seed: int | None
) -> tf.data.Dataset:
    """The batches as an endless tf.data stream; with a seed, in a new order every epoch."""

    def generate():
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(len(batches)) if seed is not None else range(len(batches))
            for index in order:
                yield batches[index]

    ids = tf.TensorSpec((None, None), tf.int32)
    return tf.data.Dataset.from_generator(
        generate, output_signature=({"source": ids, "target_in": ids}, ids)
    ).prefetch(2)


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


def _ensure_list(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def inference_models(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """The trained model split in two: source -> encoder states, and one decoder step
    `(previous token, states) -> (next-token probabilities, states)`, sharing its layers.

    Inputs the step needs besides the recurrent states ride along after them, unchanged
    while decoding: the context joined to every decoder step, and for attention the
    encoder's outputs and the source ids (which say where the padding is).
    """
    source = model.get_layer("source").output
    encoder_outputs = _ensure_list(model.get_layer("encoder").output)
    encoder_states = encoder_outputs[1:]
    layer_names = {layer.name for layer in model.layers}
    with_context = "join_context" in layer_names
    with_attention = "attention" in layer_names
    carried = list(encoder_states)
    if with_context:
        carried.append(encoder_states[0])
    if with_attention:
        carried += [encoder_outputs[0], source]
    encoder = keras.Model(source, carried, name="encoder_model")
    token = keras.Input((1,), dtype="int32", name="previous_token")
    inputs = [
        keras.Input(tuple(tensor.shape[1:]), dtype=tensor.dtype, name=f"state_{i}")
        for i, tensor in enumerate(carried)
    ]
    states = inputs[: len(encoder_states)]
    embedded = model.get_layer("target_embedding")(token)
    if with_context:
        embedded = model.get_layer("join_context")([embedded, inputs[len(encoder_states)]])
    decoded = _ensure_list(model.get_layer("decoder")(embedded, initial_state=states))
    features = decoded[0]
    if with_attention:
        features = model.get_layer("attention")([features, inputs[-2], inputs[-1]])
    probabilities = model.get_layer("output_head")(features)
    vocabulary_size = probabilities.shape[-1]
    probabilities = keras.layers.Reshape((vocabulary_size,))(probabilities)
    step = keras.Model([token, *inputs], [probabilities, *decoded[1:]], name="decoder_step")
    return encoder, step


# One decoder step on a batch: (previous tokens (n, 1), states) -> (next-token
# probabilities (n, vocabulary), new states).
Step = Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]


def greedy_search(step: Step, states: list[np.ndarray], max_length: int) -> np.ndarray:
    """Most likely next token at every step, for the whole batch at once.

    Returns:
        `(batch, max_length)` token ids, PAD after each sequence's end token.
    """
    batch = len(states[0])
    tokens = np.full((batch, 1), START, dtype="int32")
    done = np.zeros(batch, dtype=bool)
    decoded = np.full((batch, max_length), PAD, dtype="int32")
    for position in range(max_length):
        probabilities, states = step(tokens, states)
        chosen = np.asarray(probabilities).argmax(axis=-1).astype("int32")
        decoded[:, position] = np.where(done, PAD, chosen)
        done |= chosen == END
        if done.all():
            break
        tokens = chosen[:, None]
    return decoded


def beam_search(
    step: Step, states: list[np.ndarray], max_length: int, beam_width: int
) -> np.ndarray:
    """Beam search for the whole batch at once: each sequence keeps `beam_width` hypotheses,
    flattened into one `(batch * beam_width)` decoder batch. A finished hypothesis keeps its
    score; the winner has the best mean log-probability per token (end token included).

    Returns:
        `(batch, max_length)` token ids, PAD after each sequence's end token.
    """
    batch, width = len(states[0]), beam_width
    states = [np.repeat(np.asarray(state), width, axis=0) for state in states]
    scores = np.full((batch, width), -np.inf)
    scores[:, 0] = 0.0  # every beam starts identical: expand only the first
    sequences = np.full((batch, width, max_length), PAD, dtype="int32")
    lengths = np.zeros((batch, width))
    done = np.zeros((batch, width), dtype=bool)
    tokens = np.full((batch * width, 1), START, dtype="int32")
    rows = np.arange(batch)[:, None]
    for position in range(max_length):
        probabilities, states = step(tokens, states)
        log_probabilities = np.log(np.clip(np.asarray(probabilities, dtype="float64"), 1e-12, 1))
        vocabulary = log_probabilities.shape[-1]
        log_probabilities = log_probabilities.reshape(batch, width, vocabulary)
        # A finished hypothesis can only be continued by padding, at no cost.
        log_probabilities[done] = -np.inf
        log_probabilities[done, PAD] = 0.0
        candidates = (scores[:, :, None] + log_probabilities).reshape(batch, -1)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :width]
        parent, token = best // vocabulary, (best % vocabulary).astype("int32")
        scores = candidates[rows, best]
        sequences = sequences[rows, parent]
        lengths = lengths[rows, parent] + ~done[rows, parent]
        done = done[rows, parent]
        sequences[:, :, position] = np.where(done, PAD, token)
        done = done | (token == END)
        flat_parent = (parent + rows * width).reshape(-1)
        states = [np.asarray(state)[flat_parent] for state in states]
        if done.all():
            break
        tokens = token.reshape(-1, 1)
    normalized = np.where(np.isfinite(scores), scores / np.maximum(lengths, 1), -np.inf)
    return sequences[np.arange(batch), normalized.argmax(axis=1)]


def _model_step(step_model: keras.Model) -> Step:
    def step(tokens: np.ndarray, states: list[np.ndarray]):
        probabilities, *updated = _ensure_list(step_model.predict_on_batch([tokens, *states]))
        # Inputs past the recurrent states (the context) pass through unchanged.
        return np.asarray(probabilities), [*map(np.asarray, updated), *states[len(updated) :]]

    return step


def decode(model: keras.Model, source: np.ndarray, max_length: int, beam_width: int = 1):
    """Translate a batch of encoded sources with a trained encoder-decoder, `DECODE_BATCH`
    sentences at a time; greedy for `beam_width` 1.

    Returns:
        `(examples, max_length)` token ids, PAD after each sentence's end token.
    """
    encoder, step_model = inference_models(model)
    step = _model_step(step_model)
    outputs = []
    for start in range(0, len(source), DECODE_BATCH):
        states = [
            np.asarray(state)
            for state in _ensure_list(
                encoder.predict_on_batch(source[start : start + DECODE_BATCH])
            )
        ]
        if beam_width > 1:
            outputs.append(beam_search(step, states, max_length, beam_width))
        else:
            outputs.append(greedy_search(step, states, max_length))
    return np.concatenate(outputs)


def token_cross_entropy(model: keras.Model, inputs: dict, targets: np.ndarray) -> float:
    """Mean negative log-probability of each reference character (end token included) under
    teacher forcing, in nats."""
    total, count = 0.0, 0
    for batch_inputs, batch_targets in length_batches(inputs, targets, DECODE_BATCH):
        probabilities = np.asarray(model.predict_on_batch(batch_inputs))
        picked = np.take_along_axis(probabilities, batch_targets[..., None], axis=-1)[..., 0]
        real = batch_targets != PAD
        total += float(-np.log(np.clip(picked[real], 1e-12, 1.0)).sum())
        count += int(real.sum())
    return total / max(count, 1)


def translation_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Exact match, character error rate, and sacrebleu's corpus chrF and BLEU (0-100)."""
    return {
        "exact_match": float(
            np.mean([h == r for h, r in zip(hypotheses, references, strict=True)])
        ),
        "cer": error_rate(hypotheses, references),
        "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score),
        "bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
    }


class Seq2Seq(Task):
    """Encoder-decoder translation with teacher forcing; the variant is both encoder and
    decoder, matched on their combined parameters."""

    name = "seq2seq"
    headline_metric = "exact_match"
    higher_is_better = True
    recurrent_layers = 2
    supports_diagnostics = False

    def core_parameters(self, variant: RecurrentVariant, data: SequenceData):
        context = bool(data.info.get("decoder_context", False))

        def count(units: int) -> int:
            decoder_inputs = EMBEDDING_DIM + (units if context else 0)
            return variant.count_params(EMBEDDING_DIM, units) + variant.count_params(
                decoder_inputs, units
            )

        return count

    def recurrent_parameter_count(self, model: keras.Model) -> int:
        return sum(model.get_layer(name).count_params() for name in LAYER_NAMES)

    def build_model(self, variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
        source_vocabulary: Vocabulary = data.info["source_vocabulary"]
        target_vocabulary: Vocabulary = data.info["target_vocabulary"]
        source = keras.Input((None,), dtype="int32", name="source")
        target_in = keras.Input((None,), dtype="int32", name="target_in")
        # Masking the padded source keeps the encoder's final state that of the last character.
        embedded_source = keras.layers.Embedding(
            source_vocabulary.size, EMBEDDING_DIM, mask_zero=True, name="source_embedding"
        )(source)
        attention = data.info.get("attention", "none") == "luong"
        encoded = variant.build(
            units, return_sequences=attention, return_state=True, name="encoder"
        )(embedded_source)
        embedded_target = keras.layers.Embedding(
            target_vocabulary.size, EMBEDDING_DIM, name="target_embedding"
        )(target_in)
        if data.info.get("decoder_context", False):
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

    def compile_kwargs(self) -> dict[str, Any]:
        # Padding after the end token is not a prediction; variable batch shapes rule out XLA.
        return {
            "loss": keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD),
            "jit_compile": False,
        }

    def fit_inputs(self, data: SequenceData, batch_size: int, seed: int) -> dict[str, Any]:
        train = length_batches(data.x_train, data.y_train, batch_size)
        validation = length_batches(data.x_val, data.y_val, batch_size)
        return {
            "x": batch_dataset(train, seed),
            "validation_data": batch_dataset(validation, None),
            "steps_per_epoch": len(train),
            "validation_steps": len(validation),
            "shuffle": False,  # the batch stream reshuffles itself, seeded, every epoch
        }

    def decode(self, model: keras.Model, data: SequenceData) -> list[str]:
        """Translate the test split (batched, greedy or with the dataset's beam width)."""
        max_length = int(data.y_test.shape[1]) + LENGTH_MARGIN
        source = data.x_test["source"]
        ids = decode(model, source, max_length, int(data.info.get("beam_width", 1)))
        vocabulary: Vocabulary = data.info["target_vocabulary"]
        return [vocabulary.decode(row) for row in ids]

    def evaluate(self, model: keras.Model, data: SequenceData, batch_size: int) -> Evaluation:
        hypotheses = self.decode(model, data)
        evaluation = self.evaluate_predictions(np.array(hypotheses, dtype=object), data)
        evaluation.metrics["cross_entropy"] = token_cross_entropy(model, data.x_test, data.y_test)
        return evaluation

    def evaluate_predictions(self, hypotheses: np.ndarray, data: SequenceData) -> Evaluation:
        pairs = data.info["test_pairs"]
        references = [target for _, target in pairs]
        hypotheses = [str(text) for text in hypotheses]
        count = min(SAMPLE_COUNT, len(pairs))
        samples = pd.DataFrame(
            {
                "source": [source for source, _ in pairs[:count]],
                "reference": references[:count],
                "hypothesis": hypotheses[:count],
            }
        )
        scores = translation_scores(hypotheses, references)
        groups = data.info.get("test_groups")
        if groups:
            # Exact match per kind of sentence (cardinal, date...): where a model fails.
            for group in sorted(set(groups)):
                chosen = [index for index, name in enumerate(groups) if name == group]
                scores[f"exact_match_{group}"] = float(
                    np.mean([hypotheses[index] == references[index] for index in chosen])
                )
        return Evaluation(scores, tables={"samples.csv": samples})


register(Seq2Seq())
