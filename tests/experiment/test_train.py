"""One run's pieces that a whole run does not show: the repeated training stream of
`steps_per_epoch`."""

import keras
import numpy as np

from gru_keras.experiment.train import repeated


def test_steps_per_epoch_trains_that_many_full_batches_an_epoch_whatever_the_data_size():
    x = np.arange(10 * 3 * 1, dtype="float32").reshape(10, 3, 1)
    y = np.arange(10, dtype="float32")[:, None]
    inputs = {"x": x, "y": y, "validation_data": (x[:4], y[:4]), "batch_size": 4}
    stream = repeated(inputs, steps=7, seed=0)
    assert stream["steps_per_epoch"] == 7 and stream["validation_batch_size"] == 4
    assert "batch_size" not in stream and "y" not in stream
    batches = list(stream["x"].take(14).as_numpy_iterator())
    assert all(len(batch_y) == 4 for _, batch_y in batches)  # passes run on: no short batch
    seen = np.concatenate([batch_y[:, 0] for _, batch_y in batches])
    # Reshuffled passes over all 10 examples: the first 8 drawn are 8 different ones.
    assert len(set(seen[:8].tolist())) == 8 and set(seen.tolist()) <= set(range(10))
    model = keras.Sequential([keras.Input((3, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(**stream, epochs=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 14
    # Without autotuning, whose thread an iterator's destructor waited for at fit's end.
    assert stream["x"].options().autotune.enabled is False


def test_a_task_s_own_stream_keeps_its_batches_and_gets_the_steps():
    own = {"x": object(), "steps_per_epoch": 3, "validation_data": None}
    assert repeated(own, steps=9, seed=0)["steps_per_epoch"] == 9
