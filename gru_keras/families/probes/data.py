"""Long-term-dependency probes (Hochreiter & Schmidhuber 1997), generated on the fly.

- adding: two channels, random values and a marker channel with two ones; the target is
  the sum of the two marked values. Predicting 1.0 always scores MSE 1/6 (about 0.167).
- copy-memory: remember `symbols` random symbols shown at the start, wait `delay` blank
  steps, then reproduce them after a delimiter. Guessing scores 1/8 per recalled symbol.
- counting: is a string a^n b^m balanced (n = m), against near misses |n - m| in {1, 2} and
  far misses?
  Weiss et al. (2018) predict that an LSTM can count and a GRU cannot, which shows beyond
  the training lengths: a test at 2-4 x the longest training n goes with every dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gru_keras.families.base import DataError, DataFacts, SequenceData
from gru_keras.validation import SEED, SIZE, between


@dataclass(frozen=True)
class AddingSettings:
    """Attributes:
    sequence_length: Steps per sequence (T).
    train_size, validation_size, test_size: Examples per split.
    data_seed: Seed of the generator (the same data for every model and run seed).
    """

    sequence_length: int = field(default=50, metadata=between(2, 100_000))
    train_size: int = field(default=10_000, metadata=SIZE)
    validation_size: int = field(default=1_000, metadata=SIZE)
    test_size: int = field(default=1_000, metadata=SIZE)
    data_seed: int = field(default=0, metadata=SEED)


def adding_examples(
    count: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`count` adding-problem sequences `(count, length, 2)` and targets `(count, 1)`.

    One marker falls in the first half and one in the second, so the first marked value
    must be held for about `length / 2` steps at least.
    """
    values = rng.uniform(0.0, 1.0, size=(count, length))
    markers = np.zeros((count, length))
    half = max(1, length // 2)
    first = rng.integers(0, half, size=count)
    second = rng.integers(half, length, size=count)
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    inputs = np.stack([values, markers], axis=-1).astype("float32")
    return inputs, targets[:, None].astype("float32")


@dataclass(frozen=True)
class AddingFacts(DataFacts):
    """Attributes:
    sequence_length: Steps per sequence.
    baseline_mse_predict_1: Test MSE of always predicting 1.0 (about 1/6).
    """

    sequence_length: int = 0
    baseline_mse_predict_1: float = float("nan")


@dataclass(frozen=True)
class CopyMemoryFacts(DataFacts):
    """Attributes:
    delay, symbols: The settings the sequences were drawn with.
    recall_steps: The last steps, where the symbols must be reproduced.
    baseline_recall_accuracy: Accuracy of guessing a symbol (1/8).
    """

    delay: int = 0
    symbols: int = 0
    recall_steps: int = 0
    baseline_recall_accuracy: float = 1.0 / 8


def _generated(name: str, settings, generate) -> SequenceData:
    """Train, validation and test drawn in turn from one generator seeded by `data_seed`
    (the loader adds its facts)."""
    rng = np.random.default_rng(settings.data_seed)
    sizes = (settings.train_size, settings.validation_size, settings.test_size)
    splits = [generate(size, rng) for size in sizes]
    return SequenceData(name, *(array for split in splits for array in split))


def load_adding(settings: AddingSettings) -> SequenceData:
    data = _generated(
        "adding",
        settings,
        lambda size, rng: adding_examples(size, settings.sequence_length, rng),
    )
    data.facts = AddingFacts(settings.sequence_length, float(np.mean((data.y_test - 1.0) ** 2)))
    return data


@dataclass(frozen=True)
class CopyMemorySettings:
    """Attributes:
    delay: Blank steps between the symbols and the delimiter (T).
    symbols: How many symbols to remember (K).
    train_size, validation_size, test_size: Examples per split.
    data_seed: Seed of the generator.
    """

    delay: int = field(default=50, metadata=between(1, 100_000))
    symbols: int = field(default=5, metadata=between(1, 1_000))
    train_size: int = field(default=10_000, metadata=SIZE)
    validation_size: int = field(default=1_000, metadata=SIZE)
    test_size: int = field(default=1_000, metadata=SIZE)
    data_seed: int = field(default=0, metadata=SEED)


ALPHABET = 8  # symbols 1..8; 0 is blank, 9 the delimiter
COPY_CLASSES = ALPHABET + 2


def copy_examples(
    count: int, delay: int, symbols: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot inputs `(count, delay + 2*symbols, 10)` and integer targets `(count, same)`.

    Layout: symbols, then `delay - 1` blanks, the delimiter, then `symbols` blanks while the
    model must emit the symbols. The target is blank everywhere except those last steps.
    """
    length = delay + 2 * symbols
    shown = rng.integers(1, ALPHABET + 1, size=(count, symbols))
    tokens = np.zeros((count, length), dtype="int64")
    tokens[:, :symbols] = shown
    tokens[:, symbols + delay - 1] = ALPHABET + 1
    targets = np.zeros((count, length), dtype="int32")
    targets[:, -symbols:] = shown
    inputs = np.eye(COPY_CLASSES, dtype="float32")[tokens]
    return inputs, targets


def load_copy_memory(settings: CopyMemorySettings) -> SequenceData:
    data = _generated(
        "copy-memory",
        settings,
        lambda size, rng: copy_examples(size, settings.delay, settings.symbols, rng),
    )
    data.facts = CopyMemoryFacts(settings.delay, settings.symbols, settings.symbols, 1.0 / ALPHABET)
    return data


@dataclass(frozen=True)
class CountingSettings:
    """Attributes:
    max_n: The longest run of a's in training (N): training strings have n in [1, N].
    long_factor_low, long_factor_high: The generalization test draws n in
        [low * N, high * N] (2-4 x N: beyond every training length).
    train_size, validation_size, test_size: Strings per split (the generalization test has
        `test_size` strings too).
    data_seed: Seed of the generator.
    """

    max_n: int = field(default=16, metadata=between(3, 10_000))
    long_factor_low: int = field(default=2, metadata=between(2, 100))
    long_factor_high: int = field(default=4, metadata=between(2, 100))
    train_size: int = field(default=2_000, metadata=SIZE)
    validation_size: int = field(default=500, metadata=SIZE)
    test_size: int = field(default=1_000, metadata=SIZE)
    data_seed: int = field(default=0, metadata=SEED)


COUNTING_SYMBOLS = 2  # one-hot a, b; padding is the zero vector (masked)
NEAR_MISSES = (-2, -1, 1, 2)  # m - n of a near miss


def counting_examples(
    count: int, low: int, high: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`count` strings a^n b^m with n in [low, high]: half balanced, m = n (label 1); a
    quarter near misses, m - n in {-2, -1, 1, 2}; a quarter far misses, m drawn from
    [1, 2n] at least 3 away from n (label 0). One-hot `(count, length, 2)`, left-padded with
    zero vectors to `length` steps (at least `3 * high`); labels `(count, 1)`.

    Near misses alone can be told apart by (n - m) modulo a small number, which a finite
    automaton tracks at any length without counting (a pilot's models all scored 1.0 at
    n = 1,000 that way, and called a^500 b^300 balanced); far misses make only a count
    work. A near miss that would leave no b's takes the opposite sign, and a string too
    short for a far miss (n <= 2) takes a near miss.
    """
    n = rng.integers(low, high + 1, size=count)
    kind = rng.choice(3, size=count, p=(0.5, 0.25, 0.25))  # balanced, near, far
    near = rng.choice(NEAR_MISSES, size=count)
    near = np.where(n + near < 1, -near, near)
    # A far miss is uniform over m in [1, n - 3] and [n + 3, 2n]: pick its place among them.
    below, above = np.maximum(n - 3, 0), np.maximum(n - 2, 0)
    place = np.floor(rng.random(count) * (below + above)).astype(int)
    far_m = np.where(place < below, 1 + place, n + 3 + place - below)
    far = (kind == 2) & (below + above > 0)
    m = np.where(far, far_m, np.where(kind == 0, n, n + near))
    steps = np.arange(length)
    start = length - (n + m)  # left padding: every string ends at the last step
    is_a = (steps >= start[:, None]) & (steps < (start + n)[:, None])
    is_b = steps >= (start + n)[:, None]
    inputs = np.stack([is_a, is_b], axis=-1).astype("float32")
    return inputs, (m == n)[:, None].astype("float32")


@dataclass(frozen=True)
class CountingFacts(DataFacts):
    """Attributes:
    max_n: The longest training n.
    x_long, y_long: The generalization test: n in [long_factor_low, long_factor_high] x N.
    long_range: `(lowest, highest)` n of the generalization test.
    baseline_accuracy: Accuracy of always answering one class (1/2).
    """

    max_n: int = 0
    x_long: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, COUNTING_SYMBOLS)))
    y_long: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    long_range: tuple[int, int] = (0, 0)
    baseline_accuracy: float = 0.5


def load_counting(settings: CountingSettings) -> SequenceData:
    if settings.long_factor_high < settings.long_factor_low:
        raise DataError(
            f"counting: long_factor_high ({settings.long_factor_high}) is below "
            f"long_factor_low ({settings.long_factor_low})"
        )
    top = settings.max_n
    length = 3 * top  # the longest training string: n = N and a far miss of m = 2N
    data = _generated(
        "counting",
        settings,
        lambda size, rng: counting_examples(size, 1, top, length, rng),
    )
    low, high = settings.long_factor_low * top, settings.long_factor_high * top
    rng = np.random.default_rng([settings.data_seed, 1])  # apart from the three splits
    x_long, y_long = counting_examples(settings.test_size, low, high, 3 * high, rng)
    data.facts = CountingFacts(top, x_long, y_long, (low, high))
    return data
