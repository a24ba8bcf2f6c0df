"""Translating with a trained encoder-decoder: the model split into an encoder and one
decoder step, and batched greedy and beam search as pure functions over a step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from gru_keras.families.translation.data import END, PAD, START

if TYPE_CHECKING:
    import keras

DECODE_BATCH = 512


def _ensure_list(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def inference_models(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """The trained model split in two: source -> encoder states, and one decoder step
    `(previous token, states) -> (next-token probabilities, states)`, sharing its layers.

    Inputs the step needs besides the recurrent states ride along after them, unchanged
    while decoding: the context joined to every decoder step, and for attention the
    encoder's outputs and the source ids (which say where the padding is).
    """
    import keras

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
