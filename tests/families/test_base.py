import numpy as np
import tensorflow as tf

from gru_keras.families.base import batch_sequence, batch_stream

IDS = tf.TensorSpec((None, None), tf.int32)
SIGNATURE = ({"source": IDS}, tf.TensorSpec((None, None), tf.float32))


def batches() -> list:
    rng = np.random.default_rng(0)
    return [
        ({"source": rng.integers(0, 9, (rows, width))}, rng.normal(size=(rows, width)))
        for rows, width in ((4, 7), (4, 3), (2, 5))
    ]


def test_batch_sequence_gives_each_batch_once_in_order_with_the_signature_dtypes():
    expected = batches()
    dataset = batch_sequence(expected, SIGNATURE)
    for _ in range(2):  # Keras iterates the validation data again every epoch
        seen = list(dataset)
        assert len(seen) == len(expected)
        for (inputs, targets), (want_inputs, want_targets) in zip(seen, expected, strict=True):
            assert inputs["source"].dtype == tf.int32 and targets.dtype == tf.float32
            np.testing.assert_array_equal(inputs["source"].numpy(), want_inputs["source"])
            np.testing.assert_allclose(targets.numpy(), want_targets.astype(np.float32))
    assert dataset.cardinality().numpy() == len(expected)


def test_batch_stream_reshuffles_every_pass_from_its_seed_without_autotuning():
    expected = batches()
    first = [tuple(b[1].shape) for b in batch_stream(expected, 0, SIGNATURE).take(9)]
    again = [tuple(b[1].shape) for b in batch_stream(expected, 0, SIGNATURE).take(9)]
    assert first == again  # seeded
    for start in (0, 3, 6):  # every pass is a permutation of the batches
        assert sorted(first[start : start + 3]) == sorted(b[1].shape for b in expected)
    # An iterator's destructor waited for the autotuning thread at the end of `fit`.
    assert batch_stream(expected, 0, SIGNATURE).options().autotune.enabled is False
