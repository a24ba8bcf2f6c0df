"""`MinGRU`: the minimal GRU of Feng et al. 2024 ("Were RNNs All We Needed?",
arXiv:2410.01201, §3.1.3), in plain space, trained as a parallel scan over time.

    z_t  = sigmoid(W_z · x_t + b_z)
    h'_t = W_h · x_t + b_h                    unconstrained: no tanh, no g(·)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h'_t

Its gates see only x_t, so h_t = a_t * h_{t-1} + b_t with (a_t, b_t) = (1 - z_t, z_t * h'_t)
known for every t at once, and the recurrence is a scan with the associative combine
(a₁, b₁) ∘ (a₂, b₂) = (a₁a₂, a₂b₁ + b₂). No step divides, so a product that underflows to 0
is harmless. The paper's log-space form applies g(·) to h'_t: a different function, not this
one. One layer has 2 · units · (input_dim + 1) parameters and no recurrent matrix, and mixes
time only linearly.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from gru_keras.cell import positive_int


def _combine(earlier: tuple, later: tuple) -> tuple:
    """(a₁, b₁) ∘ (a₂, b₂) = (a₁a₂, a₂b₁ + b₂): `earlier` then `later` as one affine step."""
    a1, b1 = earlier
    a2, b2 = later
    return a1 * a2, a2 * b1 + b2


@keras.saving.register_keras_serializable(package="gru_keras")
class MinGRUCell(keras.layers.Layer):
    """One time step of minGRU; `MinGRU` scans whole sequences with the same weights.

    Args:
        units: Positive integer, dimensionality of the state and output.
        use_bias: Whether the two projections have biases. Default: `True`.
        kernel_initializer: Initializer for `kernel`, the `(input_dim, 2 * units)` matrix of
            the update gate's and the candidate's projections. Default: `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`.
        bias_regularizer: Regularizer for `bias`.
        kernel_constraint: Constraint for `kernel`.
        bias_constraint: Constraint for `bias`.

    Call arguments:
        inputs: A 2D tensor, `(batch, features)`.
        states: A list of one 2D tensor, `(batch, units)`: the previous state.

    Returns:
        `(h, [h])`: the new state, as output and as the next state.
    """

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: tuple) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"MinGRUCell needs a known number of input features; got shape {input_shape}."
            )
        self.kernel = self.add_weight(
            shape=(features, 2 * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(2 * self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def coefficients(self, inputs):
        """`(a, b)` of `h = a * h_prev + b` for inputs of any leading shape:
        `(1 - z, z * h')`."""
        projected = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            projected = projected + self.bias
        update = ops.sigmoid(projected[..., : self.units])
        candidate = projected[..., self.units :]
        return 1.0 - update, update * candidate

    def call(self, inputs, states):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        a, b = self.coefficients(inputs)
        state = a * previous + b
        return state, [state]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        }


@keras.saving.register_keras_serializable(package="gru_keras")
class MinGRU(keras.layers.RNN):
    """minGRU over whole sequences (Feng et al. 2024, §3.1.3, plain space).

    `h_t = (1 - z_t) * h_{t-1} + z_t * h'_t` with `z_t = sigmoid(W_z x_t + b_z)` and
    `h'_t = W_h x_t + b_h`. With `scan=True` (the default) the sequence is computed as one
    associative scan over time (`keras.ops.associative_scan`), in log depth where the
    backend can; with `scan=False`, step by step as `keras.layers.RNN` does. Both compute
    the same function.

    Args:
        units: Positive integer, dimensionality of the output space.
        use_bias: Whether the projections have biases. Default: `True`.
        kernel_initializer: Initializer for `kernel`. Default: `"glorot_uniform"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`.
        bias_regularizer: Regularizer for `bias`.
        kernel_constraint: Constraint for `kernel`.
        bias_constraint: Constraint for `bias`.
        scan: Compute whole sequences as a parallel scan (True) or a step loop (False).
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the last state.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the last state of each batch into the next batch.
        unroll: Unroll the step loop (with `scan=False` only).
        zero_output_for_mask: Output zeros at masked steps instead of the carried state.

    Call arguments:
        sequences: A 3D tensor, `(batch, timesteps, features)`.
        initial_state: A list of one `(batch, units)` tensor; zeros by default.
        mask: A boolean `(batch, timesteps)` tensor: at a False step the state carries over,
            and the output is the last one (zeros before the first True step), or zeros with
            `zero_output_for_mask`, as in `keras.layers.RNN`.
        training: Unused (the layer has no dropout); accepted as by every RNN.

    Returns:
        `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`; followed
        by the last state with `return_state`.

    Example:

    >>> inputs = np.random.random((32, 10, 8))
    >>> MinGRU(4)(inputs).shape
    (32, 4)
    >>> outputs, state = MinGRU(4, return_sequences=True, return_state=True)(inputs)
    >>> outputs.shape, state.shape
    ((32, 10, 4), (32, 4))
    """

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        scan: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        cell = MinGRUCell(
            units,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            dtype=kwargs.get("dtype"),
            name="min_gru_cell",
        )
        if scan and unroll:
            raise ValueError("`unroll=True` unrolls the step loop: it needs `scan=False`.")
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        self.scan = bool(scan)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self.scan:
            return super().inner_loop(sequences, initial_state, mask, training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.go_backwards:  # as the step loop: the sequence reversed, outputs in that order
            sequences = ops.flip(sequences, axis=1)
            mask = None if mask is None else ops.flip(mask, axis=1)
        a, b = self.cell.coefficients(sequences)
        if mask is not None:  # a masked step is the identity: a = 1, b = 0
            keep = ops.cast(ops.expand_dims(mask, -1), a.dtype)
            a = keep * a + (1.0 - keep)
            b = keep * b
        products, sums = ops.associative_scan(_combine, (a, b), axis=1)
        # TensorFlow's scan over a time axis of unknown length loses the static rank.
        products, sums = ops.reshape(products, ops.shape(a)), ops.reshape(sums, ops.shape(b))
        outputs = products * ops.expand_dims(initial_state[0], 1) + sums
        state = outputs[:, -1, :]
        if mask is not None:
            # As `keras.layers.RNN`: a masked step outputs zeros, or the last output, which
            # is zeros until the first step the mask lets through (the state is kept).
            seen = ops.cumsum(ops.cast(mask, "int32"), axis=1) > 0
            shown = keep if self.zero_output_for_mask else ops.expand_dims(seen, -1)
            outputs = outputs * ops.cast(shown, outputs.dtype)
        return outputs[:, -1, :], outputs, [state]

    @property
    def units(self) -> int:
        return self.cell.units

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        cell = config.pop("cell")["config"]
        for key in ("name", "trainable", "dtype"):
            cell.pop(key, None)
        return {**config, **cell, "scan": self.scan}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MinGRU:
        return cls(**config)
