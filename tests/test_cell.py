import keras
import numpy as np
import pytest
from reference import gru_sequence

from gru_keras import GRUCell


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_one_step_matches_numpy_seed_equations(reset_after, use_bias):
    rng = np.random.default_rng(0)
    cell = GRUCell(6, use_bias=use_bias, reset_after=reset_after, bias_initializer="random_normal")
    x = rng.standard_normal((5, 4)).astype("float32")
    h0 = rng.standard_normal((5, 6)).astype("float32")
    output, [state] = cell(x, [h0])
    weights = cell.get_weights()
    bias = weights[2] if use_bias else None
    expected, _, _ = gru_sequence(x[:, None], weights[0], weights[1], bias, h0, reset_after)
    np.testing.assert_allclose(np.asarray(output), expected[:, 0], atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), expected[:, 0], atol=1e-5)


def test_update_gate_weighs_the_new_content():
    # With z forced to 1 (large z bias) the state is the candidate; with z = 0 it is h_{t-1}.
    cell = GRUCell(3)
    cell.build((None, 2))
    kernel, recurrent, bias = cell.get_weights()
    h0 = np.full((1, 3), 0.5, "float32")
    x = np.ones((1, 2), "float32")
    for z_bias, expect_old in ((-50.0, True), (50.0, False)):
        bias[:3] = z_bias
        cell.set_weights([kernel, recurrent, bias])
        state, _ = cell(x, [h0])
        if expect_old:
            np.testing.assert_allclose(np.asarray(state), h0, atol=1e-6)
        else:
            assert not np.allclose(np.asarray(state), h0, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units"),
        ({"units": -3}, "units"),
        ({"units": 2.5}, "units"),
        ({"units": 4, "dropout": 1.0}, "dropout"),
        ({"units": 4, "dropout": -0.1}, "dropout"),
        ({"units": 4, "recurrent_dropout": 1.5}, "recurrent_dropout"),
        ({"units": 4, "activation": "no_such_activation"}, "activation"),
        ({"units": 4, "recurrent_activation": "nope"}, "recurrent_activation"),
    ],
)
def test_bad_arguments_raise_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GRUCell(**kwargs)


def test_config_round_trip_is_complete():
    cell = GRUCell(
        7,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        use_bias=False,
        kernel_regularizer="l2",
        dropout=0.25,
        recurrent_dropout=0.1,
        reset_after=True,
        seed=3,
    )
    config = cell.get_config()
    rebuilt = GRUCell.from_config(config)
    assert rebuilt.get_config() == config
    for key in ("units", "use_bias", "dropout", "recurrent_dropout", "reset_after", "seed"):
        assert getattr(rebuilt, key) == getattr(cell, key)


def test_cell_works_inside_plain_keras_rnn():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 2)).astype("float32")
    layer = keras.layers.RNN(GRUCell(4), return_sequences=True)
    outputs = np.asarray(layer(x))
    weights = layer.get_weights()
    expected, _, _ = gru_sequence(x, *weights)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
