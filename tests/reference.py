"""An independent NumPy implementation of the seed GRU equations, for the tests.

It uses the equations' own form, W . [h_{t-1}, x_t], with W assembled from the layer's
Keras-layout weights, so it checks the layout as well as the arithmetic.
"""

import numpy as np


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def seed_matrices(kernel, recurrent_kernel, units):
    """W_z, W_r, W as (units, units + input_dim) matrices acting on [h, x]."""
    blocks = []
    for gate in range(3):
        columns = slice(gate * units, (gate + 1) * units)
        blocks.append(
            np.concatenate([recurrent_kernel[:, columns].T, kernel[:, columns].T], axis=1)
        )
    return blocks


def gru_sequence(x, kernel, recurrent_kernel, bias=None, h0=None, reset_after=False, lengths=None):
    """Run the seed GRU over x (batch, time, features).

    Returns (states (batch, time, units), z (batch, time, units), r (batch, time, units)).
    With `lengths`, steps at or past a sample's length keep its previous state (Keras masking).
    """
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    kernel = np.asarray(kernel, np.float64)
    recurrent_kernel = np.asarray(recurrent_kernel, np.float64)
    if bias is None:
        input_bias = recurrent_bias = np.zeros(3 * units)
    elif reset_after:
        input_bias, recurrent_bias = (
            np.asarray(bias[0], np.float64),
            np.asarray(bias[1], np.float64),
        )
    else:
        input_bias, recurrent_bias = np.asarray(bias, np.float64), np.zeros(3 * units)
    w_z, w_r, w_h = seed_matrices(kernel, recurrent_kernel, units)
    b_z, b_r, b_h = np.split(input_bias, 3)
    rb_z, rb_r, rb_h = np.split(recurrent_bias, 3)
    h = np.zeros((batch, units)) if h0 is None else np.asarray(h0, np.float64)
    states, zs, rs = [], [], []
    for t in range(steps):
        xt = x[:, t]
        hx = np.concatenate([h, xt], axis=1)
        z = sigmoid(hx @ w_z.T + b_z + rb_z)
        r = sigmoid(hx @ w_r.T + b_r + rb_r)
        if reset_after:
            recurrent_h = h @ w_h[:, :units].T + rb_h
            candidate = np.tanh(xt @ w_h[:, units:].T + b_h + r * recurrent_h)
        else:
            candidate = np.tanh(np.concatenate([r * h, xt], axis=1) @ w_h.T + b_h)
        new_h = (1 - z) * h + z * candidate
        if lengths is not None:
            keep = (t < np.asarray(lengths))[:, None]
            new_h = np.where(keep, new_h, h)
        h = new_h
        states.append(h)
        zs.append(z)
        rs.append(r)
    return np.stack(states, 1), np.stack(zs, 1), np.stack(rs, 1)
