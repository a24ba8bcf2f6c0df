"""Looking inside the recurrent cells: how far gradients reach back, and what the gates do.

The seed's claims about GRUs are claims about gradients and gates, so the runner measures
both for every recurrent run (at initialization and after training) and logs them; the
report draws them from MLflow. Every function here is pure: a model and data in, arrays out.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from gru_keras.layer import GRU


def _initial_states(cell: keras.layers.Layer, batch_size: int) -> list[tf.Tensor]:
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [tf.zeros((batch_size, size)) for size in sizes]


def hidden_state_gradient_norms(
    model: keras.Model, inputs: np.ndarray, targets: np.ndarray, loss: Any
) -> np.ndarray:
    """‖∂L/∂h_t‖ for every step t of the layer named `recurrent`, averaged over examples.

    The layer's cell is stepped by hand so each h_t is a tensor of its own; the gradient with
    respect to it is the total derivative through all later steps and the head, which is what
    vanishes (or not) with distance. L is each example's own loss, so the norms do not shrink
    with the batch size.

    Args:
        model: Inputs -> a recurrent layer named `recurrent` (no masking) -> head layers.
        inputs: `(batch, timesteps, features)`.
        targets: What the model's loss compares its output with.
        loss: A Keras loss name or function returning per-example (or per-step) losses.

    Returns:
        `(timesteps,)` mean L2 norm over examples of ∂L_i/∂h_t, in time order.

    Example:
    >>> norms = hidden_state_gradient_norms(model, x[:64], y[:64], "mse")
    >>> norms[0] / norms[-1]  # how much of the last step's gradient reaches the first
    """
    recurrent = model.get_layer("recurrent")
    head = keras.Model(recurrent.output, model.output)
    cell = recurrent.cell
    loss_function = keras.losses.get(loss)
    sequence = tf.convert_to_tensor(inputs, dtype="float32")
    states = _initial_states(cell, sequence.shape[0])
    with tf.GradientTape() as tape:
        hidden = []
        for step in range(sequence.shape[1]):
            output, states = cell(sequence[:, step], states, training=False)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            hidden.append(output)
        features = tf.stack(hidden, axis=1) if recurrent.return_sequences else hidden[-1]
        total = tf.reduce_sum(loss_function(tf.convert_to_tensor(targets), head(features)))
    gradients = tape.gradient(total, hidden)
    return np.array([float(tf.reduce_mean(tf.norm(gradient, axis=-1))) for gradient in gradients])


def gradient_table(norms_by_stage: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long table `stage, step, distance, norm`; distance counts steps back from the end."""
    frames = []
    for stage, norms in norms_by_stage.items():
        steps = np.arange(1, len(norms) + 1)
        frames.append(
            pd.DataFrame(
                {"stage": stage, "step": steps, "distance": len(norms) - steps, "norm": norms}
            )
        )
    return pd.concat(frames, ignore_index=True)


def gate_activity(model: keras.Model, inputs: np.ndarray) -> dict[str, np.ndarray] | None:
    """Update and reset gate activations of a custom GRU core, `(examples, timesteps, units)`.

    Returns:
        `{"update", "reset", "inputs"}`, or None when the core is not a `gru_keras.GRU`.
    """
    recurrent = model.get_layer("recurrent")
    if not isinstance(recurrent, GRU):
        return None
    gates = recurrent.gate_activations(inputs)
    return {"update": gates["update"], "reset": gates["reset"], "inputs": np.asarray(inputs)}


def keras_deviation(model: keras.Model, inputs: np.ndarray) -> float | None:
    """Largest absolute difference between a custom GRU core's outputs and those of
    `keras.layers.GRU` holding the converted weights; None for other cores."""
    recurrent = model.get_layer("recurrent")
    if not isinstance(recurrent, GRU):
        return None
    reference = recurrent.to_keras()
    ours = keras.ops.convert_to_numpy(recurrent(inputs))
    theirs = keras.ops.convert_to_numpy(reference(inputs))
    return float(np.max(np.abs(ours - theirs)))


def decay_ratio(norms: np.ndarray) -> float:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: the share of the end's gradient that reaches the first step."""
    norms = np.asarray(norms, dtype=float)
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")
