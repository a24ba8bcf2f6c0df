"""One step of the Gated Recurrent Unit, written from its equations.

    z_t  = sigmoid(W_z . [h_{t-1}, x_t] + b_z)          update gate
    r_t  = sigmoid(W_r . [h_{t-1}, x_t] + b_r)          reset gate
    h'_t = tanh(W . [r_t * h_{t-1}, x_t] + b_h)         candidate (reset BEFORE the matmul)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h'_t             z weighs the NEW content

Weights use Keras's layout (`kernel` for x, `recurrent_kernel` for h, gate blocks z, r, h),
so `W_z . [h, x]` is `x @ kernel[:, z] + h @ recurrent_kernel[:, z]`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
from keras import ops

# DropoutRNNCell is what `keras.layers.RNN` checks for to pre-build the per-sequence dropout
# masks; it is not exported publicly, which is one reason Keras is pinned exactly.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

# Activations for which f(-a) = 1 - f(a). Only these let the z gate be relabelled exactly
# between our convention and Keras's (see `GRU.from_keras`).
SYMMETRIC_GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")


class StepWeights(NamedTuple):
    """The weights as plain tensors, sliced once per sequence so the time loop does no
    slicing or variable reads."""

    kernel: Any  # (input_dim, 3*units): x_t -> z, r, h'
    input_bias: Any  # (3*units,) or None
    gates_kernel: Any  # (units, 2*units): h_{t-1} -> z, r        (reset_after=False)
    candidate_kernel: Any  # (units, units): r*h_{t-1} -> h'     (reset_after=False)
    recurrent_kernel: Any  # (units, 3*units): h_{t-1} -> z, r, h' (reset_after=True)
    recurrent_bias: Any  # (3*units,) or None                   (reset_after=True)


class GateStep(NamedTuple):
    """What one step produces: the new state and the two gate activations."""

    state: Any
    update_gate: Any
    reset_gate: Any


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive integer, got {value!r}.")
    return value


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Argument `{name}` must be a float in [0, 1), got {value!r}.")
    return float(value)


def _activation(name: str, identifier: Any):
    try:
        return keras.activations.get(identifier)
    except (ValueError, TypeError, ImportError) as error:
        raise ValueError(
            f"Argument `{name}` is not a known activation: {identifier!r}. "
            "Use a name from keras.activations (e.g. 'tanh', 'sigmoid', 'relu') or a callable."
        ) from error


@keras.saving.register_keras_serializable(package="gru_keras")
class GRUCell(keras.layers.Layer, DropoutRNNCell):
    """One step of the seed GRU equations (Cho et al. 2014), z weighing the new content.

    This class processes one time step. `gru_keras.GRU` wraps it to process whole
    sequences, reading and slicing the weights once outside its time loop.

    Args:
        units: Positive integer, dimensionality of the state and output.
        activation: Activation of the candidate state. Default: `"tanh"`.
        recurrent_activation: Activation of the gates. Default: `"sigmoid"`.
        use_bias: Whether to add the biases `b_z, b_r, b_h`. Default: `True`.
        kernel_initializer: Initializer for `kernel`, shape `(input_dim, 3*units)`.
        recurrent_initializer: Initializer for `recurrent_kernel`, shape `(units, 3*units)`.
        bias_initializer: Initializer for `bias`.
        kernel_regularizer: Regularizer for `kernel`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        bias_regularizer: Regularizer for `bias`.
        kernel_constraint: Constraint for `kernel`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        bias_constraint: Constraint for `bias`.
        dropout: Float in [0, 1). Fraction of the inputs dropped (one mask per sequence).
        recurrent_dropout: Float in [0, 1). Fraction of `h_{t-1}` dropped where it
            enters the gate and candidate matmuls (one mask per sequence).
        reset_after: `False` (default) applies the reset gate before the recurrent
            matmul, as the seed equations say. `True` applies it after (the cuDNN
            variant), with a separate recurrent bias: `bias` is then `(2, 3*units)`.
        seed: Random seed for dropout.

    Call arguments:
        inputs: A 2D tensor `(batch, features)`: `x_t`.
        states: A 2D tensor `(batch, units)` or a list holding it: `h_{t-1}`.
        training: Whether dropout applies.

    Returns:
        `(h_t, [h_t])`.

    Example:

    >>> cell = GRUCell(4)
    >>> h, [state] = cell(np.ones((2, 3)), [np.zeros((2, 4))])
    >>> h.shape
    (2, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.activation = _activation("activation", activation)
        self.recurrent_activation = _activation("recurrent_activation", recurrent_activation)
        self.use_bias = bool(use_bias)

        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

        self.dropout = _rate("dropout", dropout)
        self.recurrent_dropout = _rate("recurrent_dropout", recurrent_dropout)
        self.reset_after = bool(reset_after)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 3 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 3 * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            # With reset_after the recurrent matmul needs its own bias inside r * (.)
            bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self.bias = self.add_weight(
                shape=bias_shape,
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def step_weights(self) -> StepWeights:
        """Read and slice the weights once, outside any time loop."""
        recurrent_kernel = ops.convert_to_tensor(self.recurrent_kernel)
        input_bias = recurrent_bias = None
        if self.use_bias:
            bias = ops.convert_to_tensor(self.bias)
            input_bias, recurrent_bias = (bias[0], bias[1]) if self.reset_after else (bias, None)
        return StepWeights(
            kernel=ops.convert_to_tensor(self.kernel),
            input_bias=input_bias,
            gates_kernel=recurrent_kernel[:, : 2 * self.units],
            candidate_kernel=recurrent_kernel[:, 2 * self.units :],
            recurrent_kernel=recurrent_kernel,
            recurrent_bias=recurrent_bias,
        )

    def step(self, inputs, previous_state, weights: StepWeights, state_mask=None) -> GateStep:
        """The four equations for one time step.

        The input projection `x_t @ kernel` does not depend on `h_{t-1}`, so inside a
        time loop it is off the critical path and the runtime overlaps it with the previous
        step's recurrent work (measured faster on CPU than projecting every step up front).

        Args:
            inputs: `(batch, features)`, `x_t` (dropout already applied).
            previous_state: `(batch, units)`, `h_{t-1}`.
            weights: from `step_weights()`.
            state_mask: optional recurrent-dropout mask multiplied into `h_{t-1}` where
                it enters the matmuls.

        Returns:
            A `GateStep(state, update_gate, reset_gate)`.
        """
        # Equal three-way and two-way splits, not slices: a split's gradient is one concat,
        # a slice's pads to the full width (and split sizes would be computed at run time).
        projected = ops.matmul(inputs, weights.kernel)
        if weights.input_bias is not None:
            projected = ops.add(projected, weights.input_bias)  # a BiasAdd, fused into the matmul
        input_update, input_reset, input_candidate = ops.split(projected, 3, axis=-1)
        dropped_state = previous_state if state_mask is None else previous_state * state_mask

        if self.reset_after:
            recurrent = ops.matmul(dropped_state, weights.recurrent_kernel)
            if weights.recurrent_bias is not None:
                recurrent = ops.add(recurrent, weights.recurrent_bias)
            recurrent_update, recurrent_reset, recurrent_candidate = ops.split(recurrent, 3, -1)
        else:
            recurrent_update, recurrent_reset = ops.split(
                ops.matmul(dropped_state, weights.gates_kernel), 2, axis=-1
            )
        update_gate = self.recurrent_activation(input_update + recurrent_update)
        reset_gate = self.recurrent_activation(input_reset + recurrent_reset)
        if self.reset_after:
            candidate = self.activation(input_candidate + reset_gate * recurrent_candidate)
        else:
            candidate = self.activation(
                input_candidate + ops.matmul(reset_gate * dropped_state, weights.candidate_kernel)
            )
        # (1 - z) * h + z * h': only the last multiply and add wait for the candidate.
        state = (1 - update_gate) * previous_state + update_gate * candidate
        return GateStep(state, update_gate, reset_gate)

    def call(self, inputs, states, training: bool = False):
        previous_state = states[0] if isinstance(states, (list, tuple)) else states
        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        state_mask = None
        if training and self.recurrent_dropout > 0:
            state_mask = self.get_recurrent_dropout_mask(previous_state)
        result = self.step(inputs, previous_state, self.step_weights(), state_mask)
        new_states = [result.state] if isinstance(states, (list, tuple)) else result.state
        return result.state, new_states

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.state_size), dtype=self.compute_dtype)]

    def get_config(self) -> dict[str, Any]:
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "reset_after": self.reset_after,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
