import numpy as np

from gru_keras.families import get_dataset
from gru_keras.families.probes.data import (
    AddingSettings,
    CopyMemorySettings,
    CountingSettings,
    adding_examples,
    copy_examples,
    counting_examples,
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


def read_strings(inputs: np.ndarray) -> list[str]:
    """One-hot counting inputs back as text: `a`, `b`, `.` for padding."""
    return ["".join(".ab"[int(a) + 2 * int(b)] for a, b in row) for row in inputs]


def test_counting_strings_are_balanced_near_misses_or_far_misses():
    inputs, labels = counting_examples(4000, 1, 10, 30, np.random.default_rng(0))
    assert inputs.shape == (4000, 30, 2) and labels.shape == (4000, 1)
    misses = []
    for text, label in zip(read_strings(inputs), labels[:, 0], strict=True):
        body = text.lstrip(".")  # left padding only: every string ends at the last step
        n, m = body.count("a"), body.count("b")
        assert body == "a" * n + "b" * m and 1 <= n <= 10 and 1 <= m <= 2 * n + 2, text
        assert (n == m) == bool(label), text
        if not label:
            misses.append(m - n)
    assert 0.45 < labels.mean() < 0.55
    near = [d for d in misses if abs(d) <= 2]
    assert set(near) == {-2, -1, 1, 2}
    # About half the misses are far (n > 2 leaves room), and some differ by a multiple of
    # 4 or 8: (n - m) modulo a small number cannot tell them from balanced strings.
    assert 0.35 < (len(misses) - len(near)) / len(misses) < 0.5
    assert any(d % 4 == 0 for d in misses) and any(d % 8 == 0 for d in misses)


def test_counting_tests_generalization_at_two_to_four_times_the_longest_training_n():
    data = get_dataset("counting").load(
        CountingSettings(max_n=8, train_size=64, validation_size=32, test_size=300)
    )
    data.check()
    train_n = [s.count("a") for s in read_strings(data.x_train)]
    long_n = [s.count("a") for s in read_strings(data.facts.x_long)]
    assert max(train_n) <= 8 and min(long_n) >= 16 and max(long_n) <= 32
    assert data.x_train.shape[1] == 24 and data.facts.x_long.shape[1] == 96
    assert data.facts.long_range == (16, 32) and len(data.facts.y_long) == 300
    again = get_dataset("counting").load(
        CountingSettings(max_n=8, train_size=64, validation_size=32, test_size=300)
    )
    np.testing.assert_array_equal(again.facts.x_long, data.facts.x_long)
