"""`GRU`: `keras.layers.RNN` around `GRUCell`, plus conversion to and from Keras's GRU."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

# `rnn` is the backend's time loop that `keras.layers.RNN` itself uses (masking,
# go_backwards, unroll). Keras does not export it; the pinned Keras release keeps it stable.
from keras.src.backend import rnn as backend_rnn

from gru_keras.cell import SYMMETRIC_GATE_ACTIVATIONS, GRUCell

# Keys of a Keras GRU config that have no meaning for this layer.
_KERAS_ONLY_KEYS = ("use_cudnn", "implementation")


def _negate_update_block(array, units: int):
    """Flip the sign of the z block (the first `units` columns) of a kernel or bias.

    sigmoid(-a) = 1 - sigmoid(a), so this turns Keras's z (weighs the old state) into the
    seed's z (weighs the new content) and back again.
    """
    flipped = array.copy()
    flipped[..., :units] = -flipped[..., :units]
    return flipped


@keras.saving.register_keras_serializable(package="gru_keras")
class GRU(keras.layers.RNN):
    """Gated Recurrent Unit written from the seed equations (Cho et al. 2014).

    `h_t = (1 - z_t) * h_{t-1} + z_t * h'_t`, with the reset gate applied before the
    recurrent matmul by default. The weights are read and sliced once per call, outside the
    time loop, so each loop step is only the cell's matmuls and element-wise gate math.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate state. Default: `"tanh"`.
        recurrent_activation: Activation of the gates. Default: `"sigmoid"`.
        use_bias: Whether the layer uses biases. Default: `True`.
        kernel_initializer: Initializer for `kernel`. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`. Default: `"orthogonal"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        kernel_regularizer: Regularizer for `kernel`.
        recurrent_regularizer: Regularizer for `recurrent_kernel`.
        bias_regularizer: Regularizer for `bias`.
        activity_regularizer: Regularizer for the layer's output.
        kernel_constraint: Constraint for `kernel`.
        recurrent_constraint: Constraint for `recurrent_kernel`.
        bias_constraint: Constraint for `bias`.
        dropout: Float in [0, 1). Fraction of the inputs dropped.
        recurrent_dropout: Float in [0, 1). Fraction of the recurrent state dropped.
        seed: Random seed for dropout.
        return_sequences: Return the whole output sequence instead of the last output.
        return_state: Also return the last state.
        go_backwards: Process the sequence backwards and return the reversed sequence.
        stateful: Carry the last state of each batch into the next batch.
        unroll: Unroll the time loop (only for short sequences).
        reset_after: `False` (default, the seed's variant) or `True` (the cuDNN variant).

    Call arguments:
        inputs: A 3D tensor `(batch, timesteps, features)`.
        mask: Optional boolean `(batch, timesteps)`; `False` steps are skipped.
        training: Whether dropout applies.
        initial_state: Optional initial state `(batch, units)` or a list holding it.

    Returns:
        The last output `(batch, units)`, or the sequence `(batch, timesteps, units)` with
        `return_sequences=True`; followed by the final state with `return_state=True`.

    Example:

    >>> layer = GRU(4, return_sequences=True, return_state=True)
    >>> sequence, state = layer(np.random.random((32, 10, 8)))
    >>> sequence.shape, state.shape
    ((32, 10, 4), (32, 4))
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
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = False,
        **kwargs: Any,
    ) -> None:
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            reset_after=reset_after,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def _run_loop(
        self, sequences, initial_state, mask, training, with_gates: bool, return_sequences: bool
    ):
        cell: GRUCell = self.cell
        if training and cell.dropout > 0:
            # One mask per sequence, shared by every step, as keras.layers.GRU does.
            sequences = sequences * ops.expand_dims(cell.get_dropout_mask(sequences[:, 0, :]), 1)
        weights = cell.step_weights()
        state_mask = None
        if training and cell.recurrent_dropout > 0:
            state_mask = cell.get_recurrent_dropout_mask(initial_state[0])

        def step(inputs, states):
            result = cell.step(inputs, states[0], weights, state_mask)
            output = result.state
            if with_gates:
                output = ops.concatenate([result.state, result.update_gate, result.reset_gate], -1)
            return output, [result.state]

        return backend_rnn(
            step,
            sequences,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=return_sequences,
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        return self._run_loop(
            sequences,
            initial_state,
            mask,
            training,
            with_gates=False,
            return_sequences=self.return_sequences,
        )

    def gate_activations(self, sequences, mask=None, initial_state=None) -> dict[str, Any]:
        """Per-timestep gate activity for diagnostics (inference mode, no dropout).

        Args:
            sequences: `(batch, timesteps, features)`.
            mask: Optional boolean `(batch, timesteps)`.
            initial_state: Optional `(batch, units)`; zeros by default.

        Returns:
            A dict of NumPy arrays, each `(batch, timesteps, units)` in processing order
            (reversed when `go_backwards=True`): `"update"` (z_t, the weight of the new
            content), `"reset"` (r_t) and `"state"` (h_t). At masked steps the values are
            those of the last unmasked step.
        """
        sequences = ops.convert_to_tensor(sequences, dtype=self.compute_dtype)
        if not self.built:
            self.build(sequences.shape)
        if initial_state is None:
            initial_state = self.cell.get_initial_state(ops.shape(sequences)[0])
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if mask is not None:
            mask = ops.convert_to_tensor(mask, dtype="bool")
        _, outputs, _ = self._run_loop(
            sequences, initial_state, mask, False, with_gates=True, return_sequences=True
        )
        state, update, reset = (
            ops.convert_to_numpy(part) for part in ops.split(outputs, 3, axis=-1)
        )
        return {"update": update, "reset": reset, "state": state}

    @classmethod
    def from_keras(cls, layer: keras.layers.GRU, name: str | None = None) -> GRU:
        """Build a `gru_keras.GRU` computing exactly what a built `keras.layers.GRU` computes.

        Args:
            layer: A built `keras.layers.GRU` (either `reset_after`) whose gate activation
                is `"sigmoid"` or `"hard_sigmoid"`.
            name: Name of the new layer; auto-generated by default.

        Returns:
            A built `gru_keras.GRU` with the same configuration and converted weights.
        """
        if not isinstance(layer, keras.layers.GRU):
            raise ValueError(f"from_keras expects a keras.layers.GRU, got {type(layer).__name__}.")
        config = {k: v for k, v in layer.get_config().items() if k not in _KERAS_ONLY_KEYS}
        config.pop("name", None)
        converted = cls.from_config({**config, "name": name} if name else config)
        _copy_weights(source=layer, target=converted)
        return converted

    def to_keras(self, name: str | None = None) -> keras.layers.GRU:
        """Build a `keras.layers.GRU` computing exactly what this built layer computes.

        Args:
            name: Name of the new layer; auto-generated by default.

        Returns:
            A built `keras.layers.GRU` with the same configuration and converted weights.
        """
        config = self.get_config()
        config.pop("name", None)
        if name:
            config["name"] = name
        converted = keras.layers.GRU.from_config(config)
        _copy_weights(source=self, target=converted)
        return converted

    @property
    def units(self) -> int:
        return self.cell.units

    @property
    def activation(self):
        return self.cell.activation

    @property
    def recurrent_activation(self):
        return self.cell.recurrent_activation

    @property
    def use_bias(self) -> bool:
        return self.cell.use_bias

    @property
    def dropout(self) -> float:
        return self.cell.dropout

    @property
    def recurrent_dropout(self) -> float:
        return self.cell.recurrent_dropout

    @property
    def reset_after(self) -> bool:
        return self.cell.reset_after

    def get_config(self) -> dict[str, Any]:
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        base_config = super().get_config()
        del base_config["cell"]
        return {
            **base_config,
            **cell_config,
            "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GRU:
        return cls(**config)


def _copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    """Copy GRU weights between the two z conventions (either direction: the map is its own
    inverse)."""
    if not source.built:
        raise ValueError("The source GRU layer must be built (call it once or build it first).")
    gate = keras.activations.serialize(source.cell.recurrent_activation)
    gate_name = gate if isinstance(gate, str) else str(gate)
    if gate_name not in SYMMETRIC_GATE_ACTIVATIONS:
        raise ValueError(
            f"Cannot convert a GRU whose recurrent_activation is {gate_name!r}: relabelling z "
            f"needs f(-a) = 1 - f(a), which holds for {', '.join(SYMMETRIC_GATE_ACTIVATIONS)}."
        )
    input_dim = source.cell.kernel.shape[0]
    target.build((None, None, input_dim))
    units = source.cell.units
    target.set_weights([_negate_update_block(weight, units) for weight in source.get_weights()])
