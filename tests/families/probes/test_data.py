import numpy as np

from gru_keras.families import get_dataset
from gru_keras.families.probes.data import (
    AddingSettings,
    CopyMemorySettings,
    adding_examples,
    copy_examples,
)


def test_adding_targets_are_the_sum_of_the_marked_values():
    inputs, targets = adding_examples(200, 30, np.random.default_rng(0))
    assert inputs.shape == (200, 30, 2) and targets.shape == (200, 1)
    assert (inputs[:, :, 1].sum(axis=1) == 2).all()
    marked = (inputs[:, :, 0] * inputs[:, :, 1]).sum(axis=1)
    np.testing.assert_allclose(targets[:, 0], marked, rtol=1e-6)
    # One marker in each half, so the first must be remembered.
    assert (inputs[:, :15, 1].sum(axis=1) == 1).all()


def test_adding_is_deterministic_and_predict_one_baseline_is_one_sixth():
    settings = AddingSettings(sequence_length=20, train_size=64, validation_size=64, test_size=4000)
    first, second = (get_dataset("adding").load(settings) for _ in range(2))
    assert first.digest() == second.digest()
    assert abs(first.facts.baseline_mse_predict_1 - 1 / 6) < 0.01
    other = get_dataset("adding").load(
        AddingSettings(
            sequence_length=20, train_size=64, validation_size=64, test_size=4000, data_seed=1
        )
    )
    assert other.digest() != first.digest()


def test_copy_memory_layout():
    inputs, targets = copy_examples(10, delay=6, symbols=3, rng=np.random.default_rng(0))
    assert inputs.shape == (10, 12, 10) and targets.shape == (10, 12)
    tokens = inputs.argmax(axis=-1)
    np.testing.assert_array_equal(targets[:, -3:], tokens[:, :3])
    assert (tokens[:, 8] == 9).all()  # delimiter after symbols + delay - 1 steps
    assert (targets[:, :-3] == 0).all()
    data = get_dataset("copy-memory").load(
        CopyMemorySettings(delay=6, symbols=3, train_size=16, validation_size=8, test_size=8)
    )
    assert data.facts.recall_steps == 3 and data.input_dim == 10
