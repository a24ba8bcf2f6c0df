"""The speech tasks: masking through every variant, CTC loss and decoding, metrics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gru_keras.families import SequenceData, get_task
from gru_keras.families.edit_distance import error_rate
from gru_keras.families.speech.data import SpeakerFacts
from gru_keras.families.speech.model import ctc_loss_with_lengths
from gru_keras.families.speech.task import greedy_ctc
from gru_keras.variants import get_variant


def padded_data(length: int, frames: np.ndarray) -> SequenceData:
    x = np.zeros((1, length, frames.shape[1]), dtype="float32")
    x[0, : len(frames)] = frames
    y = np.zeros(1, dtype=int)
    return SequenceData("toy", x, y, x, y, x, y, facts=speakers())


def speakers() -> SpeakerFacts:
    return SpeakerFacts(("a", "b", "c"), ((),), "")


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "keras_gru", "custom_gru"])
def test_masking_makes_the_prediction_independent_of_the_padding(name):
    frames = np.random.default_rng(0).normal(size=(9, 4)).astype("float32")
    keras.utils.set_random_seed(0)
    task = get_task("speaker-classification")
    short = task.build_model(get_variant(name), 6, padded_data(12, frames), None)
    long = task.build_model(get_variant(name), 6, padded_data(40, frames), None)
    long.set_weights(short.get_weights())
    first = short.predict(padded_data(12, frames).x_test, verbose=0)
    second = long.predict(padded_data(40, frames).x_test, verbose=0)
    unpadded = short.predict(frames[None], verbose=0)
    assert np.allclose(first, second, atol=1e-6) and np.allclose(first, unpadded, atol=1e-6)


def one_hot_logits(path: list[int], classes: int = 11) -> np.ndarray:
    logits = np.full((len(path), classes), -10.0, dtype="float32")
    logits[np.arange(len(path)), path] = 10.0
    return logits


def test_greedy_ctc_collapses_repeats_and_drops_blanks():
    # labels are digit + 1; 0 is the blank. Frames: 8 8 _ 4 _ 4 4 _ then padding.
    path = [8, 8, 0, 4, 0, 4, 4, 0]
    logits = np.stack([one_hot_logits([*path, 1, 1]), one_hot_logits([3, 3, 0, 0, 10] + [0] * 5)])
    decoded = greedy_ctc(logits, np.array([8, 5]))
    assert decoded == [[7, 3, 3], [2, 9]]  # padding frames (the 1s) are not read


def test_ctc_loss_unpacks_lengths_like_tf_nn_ctc_loss():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 7, 11)).astype("float32")
    y_true = np.array([[7, 3, 5, 0], [4, 2, 2, 9]], dtype="int32")  # frames, then labels
    ours = keras.ops.convert_to_numpy(ctc_loss_with_lengths(y_true, logits))
    reference = tf.nn.ctc_loss(
        labels=tf.constant([[3, 5, 0], [2, 2, 9]]),
        logits=tf.constant(logits),
        label_length=tf.constant([2, 3]),
        logit_length=tf.constant([7, 4]),
        logits_time_major=False,
        blank_index=0,
    ).numpy()
    assert np.allclose(ours, reference, rtol=1e-5)
    # A confident correct path costs almost nothing.
    exact = one_hot_logits([4, 0, 6])[None]
    assert float(ctc_loss_with_lengths(np.array([[3, 4, 6]]), exact)[0]) < 1e-3


def test_digit_error_rate_on_known_pairs():
    references = [[1, 2, 3], [4, 5], [7]]
    hypotheses = [[1, 2, 3], [4], [8, 7]]  # 0 errors, 1 deletion, 1 insertion
    assert error_rate(hypotheses, references) == pytest.approx(2 / 6)


def test_speaker_evaluation_reports_accuracy_macro_f1_and_confusion():
    task = get_task("speaker-classification")
    y = np.array([0, 0, 1, 2])
    data = SequenceData("toy", None, y, None, y, None, y, facts=speakers())
    probabilities = np.eye(3)[[0, 1, 1, 2]]
    evaluation = task.evaluate_predictions(probabilities, data)
    assert evaluation.metrics["accuracy"] == pytest.approx(0.75)
    # per-class F1: a 2/3, b 2/3, c 1
    assert evaluation.metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    table = evaluation.tables["confusion_matrix.csv"]
    assert table.loc[0, ["a", "b", "c"]].tolist() == [1, 1, 0]
    assert "confusion_matrix.png" in evaluation.figures
