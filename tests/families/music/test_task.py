"""The music task's scores against independent computations, its batches, and its model."""

import keras
import numpy as np
from scipy.stats import bernoulli

from gru_keras.families.base import SequenceData
from gru_keras.families.music.data import KEYS, ChoraleFacts
from gru_keras.families.music.model import KeySummedCrossEntropy
from gru_keras.families.music.task import (
    NextStepPianoRoll,
    frame_accuracy,
    nll_per_step,
    step_batches,
)
from gru_keras.variants import get_variant


def test_nll_per_step_is_the_bernoulli_log_likelihood_summed_over_keys():
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0.05, 0.95, size=(2, 3, 4))
    targets = rng.integers(0, 2, size=(2, 3, 4)).astype(float)
    steps = np.array([3, 1])  # the second sequence has two padded steps
    per_step = [
        -bernoulli.logpmf(targets[row, step], probabilities[row, step]).sum()
        for row, length in enumerate(steps)
        for step in range(length)
    ]
    assert np.isclose(nll_per_step(probabilities, targets, steps), np.mean(per_step))
    # Padding changes nothing: padded steps are never scored.
    probabilities[1, 1:] = 0.5
    assert np.isclose(nll_per_step(probabilities, targets, steps), np.mean(per_step))


def test_frame_accuracy_is_true_positives_over_every_mistake_and_hit():
    # Step 1: keys 0, 1 on, predicted 0 and 2: TP 1, FP 1, FN 1. Step 2 (real): nothing on,
    # nothing predicted. Step 3: padding, all wrong, not counted.
    targets = np.array([[[1, 1, 0], [0, 0, 0], [1, 1, 1]]], dtype=float)
    probabilities = np.array([[[0.9, 0.2, 0.7], [0.1, 0.4, 0.3], [0.0, 0.0, 0.0]]])
    assert frame_accuracy(probabilities, targets, np.array([2])) == 1 / 3


def test_batch_weights_make_keras_loss_the_mean_over_real_steps():
    rng = np.random.default_rng(1)
    steps = np.array([5, 2, 4])
    targets = rng.integers(0, 2, size=(3, 6, KEYS)).astype("float32")
    probabilities = rng.uniform(0.1, 0.9, size=(3, 6, KEYS)).astype("float32")
    inputs = np.zeros_like(targets)
    ((rows, (x, y, weights)),) = step_batches(inputs, targets, steps, batch_size=8)
    assert x.shape[1] == 5  # cut to the longest sequence of the batch
    keras_loss = KeySummedCrossEntropy()(y, probabilities[rows, :5], sample_weight=weights)
    assert np.isclose(float(keras_loss), nll_per_step(probabilities, targets, steps), rtol=1e-5)


def test_batches_are_cut_to_length_and_rounded_up_under_xla():
    steps = np.array([3, 30, 7, 12])
    inputs = np.zeros((4, 40, KEYS), "float32")
    batches = step_batches(inputs, inputs, steps, batch_size=2)
    assert [list(rows) for rows, _ in batches] == [[0, 2], [3, 1]]
    assert [batch[0].shape[1] for _, batch in batches] == [7, 30]
    rounded = step_batches(inputs, inputs, steps, batch_size=2, round_to=16)
    assert [batch[0].shape[1] for _, batch in rounded] == [16, 32]


def test_bucketed_evaluation_equals_predicting_the_padded_sequences():
    # No mask: padding follows each sequence's last step, and a one-way layer's outputs at
    # the real steps never see it, so batches cut to length score the same.
    rng = np.random.default_rng(2)
    steps = np.array([9, 3, 6, 12, 2])
    rolls = (rng.uniform(size=(5, 12, KEYS)) < 0.05).astype("float32")
    rolls *= (np.arange(12)[None, :] < steps[:, None])[..., None]
    facts = ChoraleFacts(test_steps=steps)
    data = SequenceData("tiny", rolls, rolls, rolls, rolls, rolls, rolls, facts)
    task = NextStepPianoRoll()
    keras.utils.set_random_seed(0)
    model = task.build_model(get_variant("custom_gru"), 8, data, None)
    bucketed = task.evaluate(model, data, batch_size=2, options=None)
    whole = task.evaluate_predictions(model.predict(rolls, verbose=0), data)
    assert np.isclose(bucketed.metrics["nll"], whole.metrics["nll"], rtol=1e-5)
    assert bucketed.metrics["frame_accuracy"] == whole.metrics["frame_accuracy"]


def test_the_key_frequency_baseline_scores_the_training_marginals():
    frequency = np.full(KEYS, 0.1)
    targets = np.zeros((1, 2, KEYS))
    facts = ChoraleFacts(test_steps=np.array([2]), key_frequency=frequency)
    data = SequenceData("tiny", targets, targets, targets, targets, targets, targets, facts)
    task = NextStepPianoRoll()
    predictions = task.baselines["key_frequency"](data)
    # Every key off at every step: 88 x -log(0.9) nats a step.
    assert np.isclose(
        task.evaluate_predictions(predictions, data).metrics["nll"], -KEYS * np.log(0.9)
    )
