import keras
import numpy as np
import pytest

from gru_keras.families.translation.data import PAD
from gru_keras.families.translation.model import SmoothedCrossEntropy


def outputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random softmax outputs (batch 3, 6 characters, 7 classes) and targets with padding."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(3, 6, 7))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    targets = rng.integers(1, 7, size=(3, 6))
    targets[0, 4:] = PAD
    targets[2, 2:] = PAD
    return targets, probabilities.astype(np.float32)


def test_without_smoothing_it_is_keras_cross_entropy_ignoring_the_padding():
    targets, probabilities = outputs()
    ours = SmoothedCrossEntropy(0.0, ignore_class=PAD)(targets, probabilities)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)
    np.testing.assert_allclose(float(ours), float(keras_loss(targets, probabilities)), rtol=1e-5)


def test_smoothing_moves_that_share_of_each_target_evenly_over_the_classes():
    targets, probabilities = outputs(1)
    smoothing, classes = 0.1, probabilities.shape[-1]
    expected = []
    for row, sentence in enumerate(targets):
        for column, target in enumerate(sentence):
            if target == PAD:
                continue
            wanted = np.full(classes, smoothing / classes)
            wanted[target] += 1 - smoothing
            expected.append(-(wanted * np.log(probabilities[row, column])).sum())
    ours = SmoothedCrossEntropy(smoothing, ignore_class=PAD)(targets, probabilities)
    np.testing.assert_allclose(float(ours), np.mean(expected), rtol=1e-5)


def test_a_perfect_model_scores_the_floor_only_with_smoothing():
    targets, _ = outputs()
    perfect = np.eye(7, dtype=np.float32)[targets]
    assert float(SmoothedCrossEntropy(0.0, ignore_class=PAD)(targets, perfect)) < 1e-5
    smoothed = float(SmoothedCrossEntropy(0.1, ignore_class=PAD)(targets, perfect))
    assert smoothed > 0.5  # the 0.1/7 shares on wrong classes cost log(1/epsilon) each


def test_the_loss_round_trips_through_its_config_and_rejects_a_bad_share():
    loss = SmoothedCrossEntropy(0.2, ignore_class=PAD)
    again = SmoothedCrossEntropy.from_config(loss.get_config())
    assert (again.smoothing, again.ignore_class) == (0.2, PAD)
    with pytest.raises(ValueError, match="smoothing"):
        SmoothedCrossEntropy(1.0, ignore_class=PAD)
