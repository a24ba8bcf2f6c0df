"""Bach's chorales from music21's core corpus as 88-key piano rolls, in the form of JSB
Chorales (Boulanger-Lewandowski et al. 2012).

Each chorale becomes one sequence: at every time step (a quarter note, or an eighth), a
binary vector over the piano's 88 keys (A0 = MIDI 21 to C8 = MIDI 108) marking the pitches
the sung voices hold at that instant. The task predicts step t + 1 from steps 1..t.

- Files: every score under music21's `corpus/bach` except `choraleAnalyses/` (roman-numeral
  analyses in text form, not notes), parsed from source (`forceSource`): music21's own
  parse cache is pickles in a temporary folder, which this project never loads.
- Voices: the parts named Soprano, Alto, Tenor or Bass (doubled instruments named with them
  included); other instrumental parts (trumpets, timpani, obbligato strings) are left out,
  as JSB has four voices. A file with no part so named (the Humdrum files) keeps every part.
- Duplicates: a file whose piano roll equals an earlier file's (sorted by name) is dropped.
- Split: harmonizations of one melody go to the same split. A melody is known by its
  soprano incipit: the first `INCIPIT` intervals between successive distinct soprano
  pitches (so a transposed or re-barred harmonization is the same melody). Melody groups are
  shuffled with `split_seed` and dealt to test, then validation, until each has its share of
  JSB's 77 and 76 of 382 chorales; the rest train.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gru_keras.families.base import DataError, DataFacts, SequenceData
from gru_keras.validation import SEED, between, one_of

LOWEST_KEY, KEYS = 21, 88  # MIDI numbers of the piano: A0 .. C8
STEPS_PER_QUARTER = {"quarter": 1, "eighth": 2}
VOICES = ("soprano", "alto", "tenor", "bass")
INCIPIT = 8
JSB_SPLIT = (229, 76, 77)  # train, validation, test chorales of JSB Chorales


@dataclass(frozen=True)
class ChoraleSettings:
    """`[datasets.X]` keys of `bach-chorales`.

    Attributes:
        resolution: One time step per "quarter" note (as JSB) or per "eighth".
        split_seed: Seed of the melody groups' shuffle (the same split for every run).
        validation_share, test_share: Shares of the chorales (JSB: 76 and 77 of 382).
        max_files: Use only the first N files by name (0: all); for tiny test suites.
    """

    resolution: str = field(default="quarter", metadata=one_of(tuple(STEPS_PER_QUARTER)))
    split_seed: int = field(default=0, metadata=SEED)
    validation_share: float = field(default=76 / 382, metadata=between(0.01, 0.5))
    test_share: float = field(default=77 / 382, metadata=between(0.01, 0.5))
    max_files: int = field(default=0, metadata=between(0, 100_000))


@dataclass(frozen=True)
class ChoraleFacts(DataFacts):
    """Attributes:
    train_steps, val_steps, test_steps: Predicted steps of each sequence (its length - 1);
        the arrays are zero-padded after them.
    key_frequency: Share of training steps on which each key sounds (the baseline).
    test_names: The test chorales' file names.
    files, duplicates, melodies: Files parsed, dropped as duplicates, melody groups.
    split_sizes: Chorales in train, validation and test.
    resolution: The time step.
    """

    train_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, "int32"))
    val_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, "int32"))
    test_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, "int32"))
    key_frequency: np.ndarray = field(default_factory=lambda: np.zeros(KEYS))
    test_names: tuple[str, ...] = ()
    files: int = 0
    duplicates: int = 0
    melodies: int = 0
    split_sizes: tuple[int, int, int] = (0, 0, 0)
    resolution: str = "quarter"


def corpus_files() -> list[Path]:
    """The scores under music21's `corpus/bach`, sorted by name (analyses left out)."""
    from music21 import corpus

    return sorted(
        (Path(path) for path in corpus.getComposer("bach") if Path(path).suffix != ".rntxt"),
        key=lambda path: path.name,
    )


def voice_parts(score: Any) -> list[Any]:
    """The sung parts of a score, highest first (see the module docstring)."""
    parts = list(score.parts)
    named = [part for part in parts if (part.partName or "").strip().lower().startswith(VOICES)]
    return named or parts


def _step(time: float, steps_per_quarter: int) -> int:
    """The first step at or after `time` (in quarter notes); exact for binary fractions."""
    return math.ceil(round(time * steps_per_quarter, 6))


def piano_roll(score: Any, steps_per_quarter: int = 1) -> np.ndarray:
    """`(steps, 88)` booleans: key k is on at step t if a sung note of MIDI pitch 21 + k
    sounds at time t / steps_per_quarter (its onset at or before, its end after). A note
    that starts and ends between two step times is not seen, as in JSB's sampling."""
    end = _step(float(score.highestTime), steps_per_quarter)
    roll = np.zeros((end, KEYS), dtype=bool)
    for part in voice_parts(score):
        for element in part.flatten().notes:
            start = float(element.offset)
            length = float(element.quarterLength)
            if length <= 0:  # grace notes take no time
                continue
            first = _step(start, steps_per_quarter)
            last = _step(start + length, steps_per_quarter)
            for pitch in element.pitches:
                key = pitch.midi - LOWEST_KEY
                if not 0 <= key < KEYS:
                    raise DataError(f"{pitch.nameWithOctave} lies outside the piano's 88 keys")
                roll[first:last, key] = True
    return roll


def soprano_incipit(score: Any, intervals: int = INCIPIT) -> tuple[int, ...]:
    """The first `intervals` steps between successive distinct pitches of the top voice's
    highest notes: a transposition- and rhythm-free name of the melody."""
    pitches: list[int] = []
    for element in voice_parts(score)[0].flatten().notes:
        pitch = max(p.midi for p in element.pitches)
        if not pitches or pitches[-1] != pitch:
            pitches.append(pitch)
    return tuple(int(b - a) for a, b in itertools.pairwise(pitches))[:intervals]


@dataclass(frozen=True)
class Chorale:
    name: str
    roll: np.ndarray
    melody: tuple[int, ...]


def parse_corpus(steps_per_quarter: int, max_files: int = 0) -> list[Chorale]:
    """Every corpus file as a `Chorale` (the slow part: about 20 s for all of them)."""
    from music21 import converter

    files = corpus_files()
    if max_files:
        files = files[:max_files]
    chorales = []
    for path in files:
        score = converter.parse(path, forceSource=True)
        chorales.append(
            Chorale(path.name, piano_roll(score, steps_per_quarter), soprano_incipit(score))
        )
    return chorales


def drop_duplicates(chorales: list[Chorale]) -> list[Chorale]:
    """The chorales whose piano roll no earlier chorale has."""
    seen, kept = set(), []
    for chorale in chorales:
        shape = str(chorale.roll.shape).encode()
        digest = hashlib.sha256(shape + np.packbits(chorale.roll).tobytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(chorale)
    return kept


def split_by_melody(
    melodies: list[tuple[int, ...]], validation_share: float, test_share: float, seed: int
) -> np.ndarray:
    """Each chorale's split (0 train, 1 validation, 2 test), whole melody groups at a time."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, melody in enumerate(melodies):
        groups.setdefault(melody, []).append(index)
    order = np.random.default_rng(seed).permutation(len(groups))
    members = list(groups.values())
    wanted = {2: round(test_share * len(melodies)), 1: round(validation_share * len(melodies))}
    split = np.zeros(len(melodies), dtype="int8")
    counts = {1: 0, 2: 0}
    for group in order:
        target = next((part for part in (2, 1) if counts[part] < wanted[part]), 0)
        split[members[group]] = target
        if target:
            counts[target] += len(members[group])
    return split


def _padded(rolls: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (steps 1..T-1) and targets (2..T), zero-padded to the longest, and the
    number of predicted steps of each."""
    steps = np.array([len(roll) - 1 for roll in rolls], dtype="int32")
    width = int(steps.max())
    inputs = np.zeros((len(rolls), width, KEYS), dtype="float32")
    targets = np.zeros_like(inputs)
    for row, roll in enumerate(rolls):
        inputs[row, : len(roll) - 1] = roll[:-1]
        targets[row, : len(roll) - 1] = roll[1:]
    return inputs, targets, steps


def load_chorales(settings: ChoraleSettings) -> SequenceData:
    """The `bach-chorales` dataset: parsed, deduplicated, split by melody."""
    parsed = parse_corpus(STEPS_PER_QUARTER[settings.resolution], settings.max_files)
    unique = drop_duplicates(parsed)
    chorales = [chorale for chorale in unique if len(chorale.roll) >= 2]
    split = split_by_melody(
        [chorale.melody for chorale in chorales],
        settings.validation_share,
        settings.test_share,
        settings.split_seed,
    )
    parts = [[c for c, s in zip(chorales, split, strict=True) if s == part] for part in range(3)]
    if not all(parts):
        raise DataError(f"bach-chorales: {len(chorales)} chorales are too few to split three ways")
    (x_train, y_train, train_steps), (x_val, y_val, val_steps), (x_test, y_test, test_steps) = (
        _padded([chorale.roll for chorale in part]) for part in parts
    )
    # Padding is zeros, so summing whole rows counts only real steps.
    frequency = y_train.sum(axis=(0, 1), dtype="float64") / train_steps.sum()
    facts = ChoraleFacts(
        train_steps=train_steps,
        val_steps=val_steps,
        test_steps=test_steps,
        key_frequency=frequency,
        test_names=tuple(chorale.name for chorale in parts[2]),
        files=len(parsed),
        duplicates=len(parsed) - len(unique),
        melodies=len(set(chorale.melody for chorale in chorales)),
        split_sizes=tuple(len(part) for part in parts),
        resolution=settings.resolution,
    )
    return SequenceData("bach-chorales", x_train, y_train, x_val, y_val, x_test, y_test, facts)
