"""minGRU (`gru_keras.min_gru`): against a NumPy reference of the sequential recurrence,
its scan against its own step loop (values, masks, direction, states and gradients), and
saved models that reload."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gru_keras.min_gru import MinGRU, MinGRUCell

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 9, 5)).astype("float32")
H0 = RNG.normal(size=(3, 4)).astype("float32")
# Ragged right padding and a gap in the middle: a masked step keeps the state.
MASK = np.ones((3, 9), dtype=bool)
MASK[0, 6:] = False
MASK[1, 3:5] = False


def reference(x, kernel, bias, h0, mask=None, backwards=False):
    """The recurrence step by step, in float64: z = sigmoid(x W_z + b_z), h' = x W_h + b_h,
    h = (1 - z) h + z h'. A masked step keeps h and repeats the last output, zeros before
    the first step the mask lets through (as keras.layers.RNN)."""
    units = kernel.shape[1] // 2
    if backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    h = h0.astype("float64")
    output = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        projected = x[:, t].astype("float64") @ kernel + bias
        z = 1 / (1 + np.exp(-projected[:, :units]))
        new = (1 - z) * h + z * projected[:, units:]
        h = new if mask is None else np.where(mask[:, t, None], new, h)
        output = new if mask is None else np.where(mask[:, t, None], new, output)
        outputs.append(output)
    return np.stack(outputs, 1), h


def twins(**kwargs):
    """A scanning and a looping layer with the same random weights (bias too)."""
    scan, loop = MinGRU(4, scan=True, **kwargs), MinGRU(4, scan=False, **kwargs)
    scan.build(X.shape)
    loop.build(X.shape)
    weights = [RNG.normal(size=w.shape).astype("float32") * 0.5 for w in scan.get_weights()]
    scan.set_weights(weights)
    loop.set_weights(weights)
    return scan, loop, weights


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_scan_and_loop_match_the_numpy_recurrence(masked, backwards):
    scan, loop, (kernel, bias) = twins(
        return_sequences=True, return_state=True, go_backwards=backwards
    )
    mask = MASK if masked else None
    want_outputs, want_state = reference(X, kernel, bias, H0, mask, backwards)
    for layer in (scan, loop):
        outputs, state = layer(X, initial_state=[H0], mask=mask)
        np.testing.assert_allclose(outputs, want_outputs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(state, want_state, rtol=1e-5, atol=1e-5)


def test_the_last_output_and_zero_output_for_mask_are_the_step_loops():
    mask = MASK
    for kwargs in ({}, {"zero_output_for_mask": True, "return_sequences": True}):
        scan, loop, _ = twins(**kwargs)
        np.testing.assert_allclose(scan(X, mask=mask), loop(X, mask=mask), rtol=1e-6, atol=1e-6)


def test_scan_and_loop_have_the_same_gradients():
    scan, loop, _ = twins(return_sequences=True)
    inputs = tf.constant(X)
    grads = []
    for layer in (scan, loop):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.sin(layer(inputs, initial_state=[H0], mask=MASK)))
        grads.append(tape.gradient(loss, [inputs, *layer.trainable_weights]))
    for from_scan, from_loop in zip(*grads, strict=True):
        np.testing.assert_allclose(from_scan, from_loop, rtol=1e-4, atol=1e-5)


def test_a_long_sequence_underflowing_the_gate_product_stays_finite():
    # 1,024 steps with every a_t near 0.5: the product underflows to 0, and nothing divides.
    x = np.ones((2, 1024, 5), dtype="float32")
    layer = MinGRU(4, bias_initializer="zeros", kernel_initializer="zeros")
    assert np.all(np.isfinite(layer(x)))
    scan, loop, _ = twins()
    long = RNG.normal(size=(2, 1024, 5)).astype("float32")
    np.testing.assert_allclose(scan(long), loop(long), rtol=1e-4, atol=1e-5)


def test_it_has_two_projections_and_no_recurrent_matrix():
    layer = MinGRU(6)
    layer.build((None, None, 5))
    assert layer.count_params() == 2 * 6 * (5 + 1)
    assert MinGRU(6, use_bias=False).cell.use_bias is False


def test_a_saved_model_reloads_with_the_same_outputs_and_config(tmp_path):
    inputs = keras.Input((None, 5))
    outputs = keras.layers.Bidirectional(MinGRU(4, return_sequences=True))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(MinGRU(3)(outputs)))
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))
    layer = MinGRU(4, scan=False, go_backwards=True, use_bias=False, name="m")
    again = MinGRU.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    assert MinGRUCell.from_config(layer.cell.get_config()).units == 4


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="positive integer"):
        MinGRU(0)
    with pytest.raises(ValueError, match="scan=False"):
        MinGRU(4, unroll=True)
