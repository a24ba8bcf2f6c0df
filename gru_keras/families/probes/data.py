"""Long-term-dependency probes (Hochreiter & Schmidhuber 1997), generated on the fly.

- adding: two channels, random values and a marker channel with two ones; the target is
  the sum of the two marked values. Predicting 1.0 always scores MSE 1/6 (about 0.167).
- copy-memory: remember `symbols` random symbols shown at the start, wait `delay` blank
  steps, then reproduce them after a delimiter. Guessing scores 1/8 per recalled symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gru_keras.families.base import DataFacts, SequenceData
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
