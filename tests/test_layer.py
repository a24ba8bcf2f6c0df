import keras
import numpy as np
import pytest
import tensorflow as tf
from cli import baseline_tree, run_at_baseline
from reference import gru_sequence

from gru_keras import GRU


def random_inputs(batch, steps, features, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, steps, features)).astype("float32")


def right_padded_mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


@pytest.mark.parametrize(
    "batch, steps, features, units", [(1, 1, 1, 1), (4, 9, 3, 5), (8, 17, 6, 12)]
)
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("reset_after", [False, True])
def test_layer_matches_numpy_reference(batch, steps, features, units, use_bias, reset_after):
    x = random_inputs(batch, steps, features)
    layer = GRU(
        units,
        use_bias=use_bias,
        reset_after=reset_after,
        bias_initializer="random_normal",
        return_sequences=True,
        return_state=True,
    )
    sequence, state = layer(x)
    weights = layer.get_weights()
    expected, _, _ = gru_sequence(
        x, weights[0], weights[1], weights[2] if use_bias else None, reset_after=reset_after
    )
    np.testing.assert_allclose(np.asarray(sequence), expected, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), expected[:, -1], atol=1e-5)


def test_masked_steps_keep_the_state_like_the_reference():
    x = random_inputs(4, 8, 3)
    lengths = [8, 5, 1, 3]
    layer = GRU(6, return_sequences=True, bias_initializer="random_normal")
    outputs = np.asarray(layer(x, mask=right_padded_mask(lengths, 8)))
    expected, _, _ = gru_sequence(x, *layer.get_weights(), lengths=lengths)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_masking_layer_makes_padding_invisible():
    rng = np.random.default_rng(3)
    short = rng.standard_normal((1, 4, 3)).astype("float32")
    padded = np.concatenate([short, np.zeros((1, 5, 3), "float32")], axis=1)
    inputs = keras.Input((None, 3))
    outputs = GRU(5)(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, outputs)
    np.testing.assert_allclose(
        model.predict(padded, verbose=0), model.predict(short, verbose=0), atol=1e-6
    )


def _keras_gru(units, reset_after, **kwargs):
    return keras.layers.GRU(
        units, reset_after=reset_after, bias_initializer="random_normal", **kwargs
    )


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_from_keras_reproduces_keras_gru(reset_after, go_backwards):
    x = random_inputs(5, 11, 4)
    mask = right_padded_mask([11, 7, 3, 1, 9], 11)
    reference = _keras_gru(
        6, reset_after, return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    expected_sequence, expected_state = reference(x, mask=mask)
    converted = GRU.from_keras(reference)
    assert isinstance(converted, GRU)
    assert converted.reset_after == reset_after and converted.go_backwards == go_backwards
    sequence, state = converted(x, mask=mask)
    np.testing.assert_allclose(np.asarray(sequence), np.asarray(expected_sequence), atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), np.asarray(expected_state), atol=1e-5)


@pytest.mark.parametrize("reset_after", [False, True])
def test_to_keras_reproduces_the_custom_layer(reset_after):
    x = random_inputs(3, 10, 2)
    mask = right_padded_mask([10, 4, 6], 10)
    layer = GRU(5, reset_after=reset_after, bias_initializer="random_normal", return_state=True)
    expected_output, expected_state = layer(x, mask=mask)
    keras_layer = layer.to_keras()
    assert type(keras_layer) is keras.layers.GRU
    output, state = keras_layer(x, mask=mask)
    np.testing.assert_allclose(np.asarray(output), np.asarray(expected_output), atol=1e-5)
    np.testing.assert_allclose(np.asarray(state), np.asarray(expected_state), atol=1e-5)
    # Converting back recovers the original weights exactly (the map is its own inverse).
    for original, back in zip(
        layer.get_weights(), GRU.from_keras(keras_layer).get_weights(), strict=True
    ):
        np.testing.assert_array_equal(original, back)


def test_from_keras_refuses_what_it_cannot_convert():
    with pytest.raises(ValueError, match=r"keras\.layers\.GRU"):
        GRU.from_keras(keras.layers.LSTM(3))
    with pytest.raises(ValueError, match="built"):
        GRU.from_keras(keras.layers.GRU(3))
    relu_gates = keras.layers.GRU(3, recurrent_activation="relu")
    relu_gates.build((None, None, 2))
    with pytest.raises(ValueError, match="recurrent_activation"):
        GRU.from_keras(relu_gates)


@pytest.mark.parametrize("reset_after", [False, True])
def test_gradients_match_keras_with_converted_weights(reset_after):
    x = tf.constant(random_inputs(4, 9, 3))
    mask = tf.constant(right_padded_mask([9, 6, 2, 8], 9))
    reference = _keras_gru(5, reset_after, return_sequences=True)
    reference(x)
    converted = GRU.from_keras(reference)
    target = tf.constant(random_inputs(4, 9, 5, seed=7))

    def gradients(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum((layer(x, mask=mask) - target) ** 2)
        return tape.gradient(loss, [x, *layer.trainable_variables])

    expected = gradients(reference)
    actual = gradients(converted)
    np.testing.assert_allclose(actual[0].numpy(), expected[0].numpy(), atol=1e-5)
    # Keras's z is the negation of ours, so its gradient is the negation too.
    for ours, theirs in zip(actual[1:], expected[1:], strict=True):
        flipped = theirs.numpy().copy()
        flipped[..., :5] *= -1
        np.testing.assert_allclose(ours.numpy(), flipped, atol=1e-5)


def test_gradient_matches_numpy_finite_differences():
    x = random_inputs(2, 6, 3).astype("float64")
    layer = GRU(4, dtype="float64", bias_initializer="random_normal")
    layer(x)
    kernel, recurrent, bias = layer.get_weights()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant(x)) ** 2)
    analytic = tape.gradient(loss, layer.cell.recurrent_kernel).numpy()

    def numpy_loss(recurrent_kernel):
        states, _, _ = gru_sequence(x, kernel, recurrent_kernel, bias)
        return float(np.sum(states[:, -1] ** 2))

    numeric = np.zeros_like(recurrent)
    epsilon = 1e-6
    for index in np.ndindex(recurrent.shape):
        plus, minus = recurrent.copy(), recurrent.copy()
        plus[index] += epsilon
        minus[index] -= epsilon
        numeric[index] = (numpy_loss(plus) - numpy_loss(minus)) / (2 * epsilon)
    np.testing.assert_allclose(analytic, numeric, atol=1e-6)


def test_bidirectional_matches_keras_bidirectional():
    x = random_inputs(3, 7, 4)
    mask = right_padded_mask([7, 3, 5], 7)
    reference = keras.layers.Bidirectional(_keras_gru(4, False, return_sequences=True))
    expected = reference(x, mask=mask)
    ours = keras.layers.Bidirectional(GRU(4, return_sequences=True))
    ours.build((None, 7, 4))
    ours.forward_layer.set_weights(GRU.from_keras(reference.forward_layer).get_weights())
    ours.backward_layer.set_weights(GRU.from_keras(reference.backward_layer).get_weights())
    assert ours.backward_layer.go_backwards
    np.testing.assert_allclose(np.asarray(ours(x, mask=mask)), np.asarray(expected), atol=1e-5)


def test_stateful_carries_state_across_batches():
    x = random_inputs(2, 10, 3)
    whole = GRU(4, return_sequences=True)
    expected = np.asarray(whole(x))
    stateful = GRU(4, return_sequences=True, stateful=True)
    stateful.build((2, 10, 3))
    stateful.set_weights(whole.get_weights())
    first = np.asarray(stateful(x[:, :6]))
    second = np.asarray(stateful(x[:, 6:]))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected, atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(np.asarray(stateful(x[:, :6])), first, atol=1e-6)


def test_unroll_gives_the_same_result_as_the_loop():
    x = random_inputs(3, 6, 2)
    looped = GRU(5, return_sequences=True, bias_initializer="random_normal")
    expected = np.asarray(looped(x))
    unrolled = GRU(5, return_sequences=True, unroll=True)
    unrolled.build((None, 6, 2))
    unrolled.set_weights(looped.get_weights())
    np.testing.assert_allclose(np.asarray(unrolled(x)), expected, atol=1e-6)


def test_initial_state_is_used():
    x = random_inputs(2, 5, 3)
    h0 = np.random.default_rng(5).standard_normal((2, 4)).astype("float32")
    layer = GRU(4, return_sequences=True)
    outputs = np.asarray(layer(x, initial_state=h0))
    expected, _, _ = gru_sequence(x, *layer.get_weights(), h0=h0)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)


def test_gate_activations_match_the_reference_gates():
    x = random_inputs(3, 8, 2)
    lengths = [8, 4, 6]
    layer = GRU(5, bias_initializer="random_normal")
    layer(x)
    gates = layer.gate_activations(x, mask=right_padded_mask(lengths, 8))
    _, z, r = gru_sequence(x, *layer.get_weights())
    assert set(gates) == {"update", "reset", "state"}
    # Up to each sample's length the gates are exactly the reference's.
    for sample, length in enumerate(lengths):
        np.testing.assert_allclose(gates["update"][sample, :length], z[sample, :length], atol=1e-5)
        np.testing.assert_allclose(gates["reset"][sample, :length], r[sample, :length], atol=1e-5)
    assert gates["update"].shape == (3, 8, 5)


def test_dropout_applies_only_in_training():
    x = random_inputs(4, 6, 3)
    layer = GRU(8, dropout=0.5, recurrent_dropout=0.5, seed=1)
    inference_a = np.asarray(layer(x, training=False))
    inference_b = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(inference_a, inference_b)
    trained = np.asarray(layer(x, training=True))
    assert np.abs(trained - inference_a).max() > 1e-3


def _model_with(layer, steps=6, features=3):
    inputs = keras.Input((steps, features))
    outputs = keras.layers.Dense(2)(layer(inputs))
    return keras.Model(inputs, outputs)


def test_config_round_trip_gives_identical_predictions():
    layer = GRU(
        5,
        return_sequences=False,
        reset_after=True,
        dropout=0.1,
        kernel_regularizer="l2",
        name="seed_gru",
    )
    model = _model_with(layer)
    config = layer.get_config()
    assert config["reset_after"] is True and config["units"] == 5 and "cell" not in config
    rebuilt = GRU.from_config(config)
    assert rebuilt.get_config() == config
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = random_inputs(4, 6, 3)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_file_save_and_load_without_custom_objects(tmp_path):
    model = _model_with(GRU(5, bias_initializer="random_normal"))
    x = random_inputs(4, 6, 3)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on, no custom_objects
    assert isinstance(loaded.layers[1], GRU)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


SAVE_AT_BASELINE = """
import numpy as np, keras
from gru_keras import GRU
from gru_keras.families.speech.task import ctc_loss_with_lengths
inputs = keras.Input((6, 3))
states = GRU(5, return_sequences=True, bias_initializer="random_normal")(inputs)
model = keras.Model(inputs, keras.layers.Dense(4)(states))
model.compile(optimizer="adam", loss=ctc_loss_with_lengths)
x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype("float32")
model.save("model.keras")
np.save("x.npy", x)
np.save("y.npy", model.predict(x, verbose=0))
"""


# The model is compiled, never trained, so its optimizer has no slots for Keras to restore.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_model_saved_by_the_baseline_code_loads_and_predicts_the_same(tmp_path):
    """`.keras` files saved before the package was reorganised still load: the registered
    names (`gru_keras>GRU`, `gru_keras>GRUCell`, the speech task's CTC loss) did not change.
    The file is saved by the `BASELINE` commit's package, in its own process."""
    old = baseline_tree(tmp_path)
    saved = run_at_baseline(old, "-c", SAVE_AT_BASELINE)
    assert saved.returncode == 0, saved.stderr[-2000:]
    from gru_keras.families import register_keras_objects

    register_keras_objects()  # what importing Keras after `import gru_keras` does

    loaded = keras.saving.load_model(old / "model.keras")  # safe mode, no custom_objects
    assert isinstance(loaded.layers[1], GRU)
    assert loaded.loss.__name__ == "ctc_loss_with_lengths"
    expected = np.load(old / "y.npy")
    # Equal to float32 rounding: the step's arithmetic is ordered differently since then.
    np.testing.assert_allclose(
        loaded.predict(np.load(old / "x.npy"), verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_training_lowers_the_loss_and_changes_every_weight():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10, 3)).astype("float32")
    y = x[:, :, 0].sum(axis=1, keepdims=True).astype("float32") / 3
    inputs = keras.Input((10, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(GRU(8, bias_initializer="zeros")(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    initial_loss = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * initial_loss
    for old, new in zip(before, model.get_weights(), strict=True):
        assert np.abs(old - new).max() > 1e-4


def test_trains_with_jit_compile():
    x = random_inputs(8, 5, 3)
    y = np.ones((8, 2), "float32")
    model = _model_with(GRU(4), steps=5)
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
