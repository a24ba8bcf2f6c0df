import keras
import numpy as np
import pandas as pd
import pytest

from gru_keras.experiment.diagnostics import (
    decay_ratio,
    gate_activity,
    gradient_table,
    hidden_state_gradient_norms,
    keras_deviation,
)
from gru_keras.layer import GRU

TIMESTEPS, FEATURES, UNITS, BATCH = 7, 3, 5, 4


def with_head(recurrent: keras.layers.Layer) -> keras.Model:
    inputs = keras.Input((TIMESTEPS, FEATURES))
    outputs = keras.layers.Dense(1, name="head")(recurrent(inputs))
    return keras.Model(inputs, outputs)


def data(seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")
    targets = rng.normal(size=(BATCH, 1)).astype("float32")
    return inputs, targets


def numpy_simple_rnn_gradient_norms(model, inputs, targets):
    """Backpropagation through time by hand for h_t = tanh(x_t W + h_{t-1} U + b), y = h_T v + c,
    L_i = (y_i - target_i)^2."""
    kernel, recurrent_kernel, bias = model.get_layer("recurrent").get_weights()
    head_kernel, head_bias = model.get_layer("head").get_weights()
    states = [np.zeros((BATCH, UNITS))]
    for step in range(TIMESTEPS):
        states.append(np.tanh(inputs[:, step] @ kernel + states[-1] @ recurrent_kernel + bias))
    prediction = states[-1] @ head_kernel + head_bias
    gradient = 2 * (prediction - targets) @ head_kernel.T  # dL/dh_T
    norms = [np.linalg.norm(gradient, axis=1).mean()]
    for step in range(TIMESTEPS, 1, -1):
        gradient = (gradient * (1 - states[step] ** 2)) @ recurrent_kernel.T  # dL/dh_{step-1}
        norms.append(np.linalg.norm(gradient, axis=1).mean())
    return np.array(norms[::-1])


def test_gradient_norms_match_hand_written_backpropagation_through_time():
    model = with_head(keras.layers.SimpleRNN(UNITS, name="recurrent"))
    inputs, targets = data()
    norms = hidden_state_gradient_norms(model, inputs, targets, "mse")
    assert norms.shape == (TIMESTEPS,)
    np.testing.assert_allclose(
        norms, numpy_simple_rnn_gradient_norms(model, inputs, targets), rtol=1e-4
    )


def test_custom_gru_and_keras_gru_with_converted_weights_have_the_same_gradients():
    custom = with_head(GRU(UNITS, name="recurrent"))
    reference = with_head(custom.get_layer("recurrent").to_keras(name="recurrent"))
    reference.get_layer("head").set_weights(custom.get_layer("head").get_weights())
    inputs, targets = data(1)
    ours = hidden_state_gradient_norms(custom, inputs, targets, "mse")
    theirs = hidden_state_gradient_norms(reference, inputs, targets, "mse")
    assert np.all(ours > 0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_lstm_gradients_are_measured_through_both_states():
    model = with_head(keras.layers.LSTM(UNITS, name="recurrent"))
    inputs, targets = data(2)
    norms = hidden_state_gradient_norms(model, inputs, targets, "mse")
    assert norms.shape == (TIMESTEPS,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_gradient_table_counts_distance_back_from_the_end():
    table = gradient_table({"initial": np.array([0.1, 0.5, 1.0]), "trained": np.array([1, 2, 3])})
    assert list(table.columns) == ["stage", "step", "distance", "norm"]
    initial = table[table["stage"] == "initial"]
    assert initial["distance"].tolist() == [2, 1, 0] and initial["step"].tolist() == [1, 2, 3]
    pd.testing.assert_series_equal(
        initial["norm"].reset_index(drop=True), pd.Series([0.1, 0.5, 1.0], name="norm")
    )
    assert decay_ratio(np.array([0.1, 0.5, 1.0])) == pytest.approx(0.1)
    assert np.isnan(decay_ratio(np.array([1.0, 0.0])))


def test_gate_activity_is_per_step_in_the_unit_interval_for_the_custom_gru_only():
    model = with_head(GRU(UNITS, name="recurrent"))
    inputs, _ = data(3)
    gates = gate_activity(model, inputs)
    for name in ("update", "reset"):
        assert gates[name].shape == (BATCH, TIMESTEPS, UNITS)
        assert np.all((gates[name] >= 0) & (gates[name] <= 1))
    np.testing.assert_array_equal(gates["inputs"], inputs)
    assert gate_activity(with_head(keras.layers.LSTM(UNITS, name="recurrent")), inputs) is None


def test_keras_deviation_is_tiny_for_the_custom_gru_and_absent_for_other_cores():
    inputs, _ = data(4)
    deviation = keras_deviation(with_head(GRU(UNITS, name="recurrent")), inputs)
    assert 0 <= deviation < 1e-5
    assert (
        keras_deviation(with_head(keras.layers.SimpleRNN(UNITS, name="recurrent")), inputs) is None
    )
