"""Speech features: recorded vowels (speaker identification) and synthesized digit strings (CTC).

- japanese-vowels: the UCI/UEA JapaneseVowels set shipped with `sktime` (9 male speakers, 12
  LPC cepstrum coefficients per frame, 7-29 frames). The official 270/370 train/test split is
  kept; validation is taken from train, stratified by speaker.
- spoken-digits: strings of 1-7 digits ("seven three nine") spoken by eSpeak NG in many English
  voices and variants, at varied rate, pitch and gain, with noise at a given SNR. The voices
  (accent + variant) of the test split, and of the validation split, never occur in training.

Sequences are zero-padded at the end to the longest in the dataset, after normalization; the
models put a `Masking` layer in front, so padding is skipped rather than read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from gru_keras.families.base import DataError, DataFacts, SequenceData
from gru_keras.families.speech.audio import (
    FEATURES,
    batch_features,
    log_mel,
    mfcc,
    stack_frames,
    with_deltas,
)
from gru_keras.families.speech.espeak import ENGLISH_VOICES, TIMBRES, SpeechJob, Voice, synthesize
from gru_keras.validation import SEED, between, one_of

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def pad_sequences(sequences: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """`(examples, length, features)` float32, zero-padded at the end."""
    length = length or max(len(sequence) for sequence in sequences)
    padded = np.zeros((len(sequences), length, sequences[0].shape[1]), dtype="float32")
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = sequence
    return padded


def standardize(train: list[np.ndarray], *others: list[np.ndarray]) -> tuple[list[np.ndarray], ...]:
    """Scale every split with the per-feature mean and deviation of the training frames."""
    frames = np.concatenate(train)
    mean, deviation = frames.mean(axis=0), frames.std(axis=0) + 1e-8
    return tuple(
        [((sequence - mean) / deviation).astype("float32") for sequence in split]
        for split in (train, *others)
    )


def stratified_holdout(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out), holding out `fraction` of every class (at least one)."""
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held += members[: max(1, round(fraction * len(members)))].tolist()
    held_out = np.sort(np.array(held, dtype=int))
    return np.setdiff1d(np.arange(len(labels)), held_out), held_out


# --- japanese-vowels ------------------------------------------------------------------------


@dataclass(frozen=True)
class JapaneseVowelsSettings:
    """Attributes:
    validation_fraction: Share of each speaker's training utterances held out for validation.
    data_seed: Seed of the validation draw.
    """

    validation_fraction: float = field(default=0.2, metadata=between(0.05, 0.5))
    data_seed: int = field(default=0, metadata=SEED)


def japanese_vowels_split(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """One official split as `(frames, 12)` arrays and speaker labels 0-8."""
    from sktime.datasets import load_japanese_vowels

    frame, labels = load_japanese_vowels(split=split, return_X_y=True, return_type="nested_univ")
    sequences = [
        np.stack([np.asarray(cell, dtype="float64") for cell in row], axis=1)
        for row in frame.itertuples(index=False)
    ]
    return sequences, np.asarray(labels).astype(int) - 1


@dataclass(frozen=True)
class SpeakerFacts(DataFacts):
    """Attributes:
    classes: Speaker names, in label order.
    lengths: Frames of every utterance, per split.
    length_range: Shortest and longest utterance, for data cards.
    """

    classes: tuple[str, ...]
    lengths: tuple[tuple[int, ...], ...]
    length_range: str

    @property
    def sizes(self) -> list[int]:
        return [len(split) for split in self.lengths]


def load_japanese_vowels(settings: JapaneseVowelsSettings) -> SequenceData:
    train, train_labels = japanese_vowels_split("train")
    test, test_labels = japanese_vowels_split("test")
    kept, held = stratified_holdout(train_labels, settings.validation_fraction, settings.data_seed)
    splits = standardize([train[i] for i in kept], [train[i] for i in held], test)
    lengths = [np.array([len(sequence) for sequence in split]) for split in splits]
    longest = max(int(length.max()) for length in lengths)
    return SequenceData(
        "japanese-vowels",
        pad_sequences(splits[0], longest),
        train_labels[kept],
        pad_sequences(splits[1], longest),
        train_labels[held],
        pad_sequences(splits[2], longest),
        test_labels,
        facts=SpeakerFacts(
            classes=tuple(f"speaker {number}" for number in range(1, 10)),
            lengths=tuple(tuple(int(n) for n in length) for length in lengths),
            length_range=f"{min(map(min, lengths))}-{longest} frames",
        ),
    )


# --- spoken-digits --------------------------------------------------------------------------


@dataclass(frozen=True)
class SpokenDigitsSettings:
    """Attributes:
    train_size, validation_size, test_size: Utterances per split.
    min_digits, max_digits: Digits per utterance, drawn uniformly.
    test_voices, validation_voices: Voices (accent + variant) reserved for each split; the
        rest speak the training split.
    snr_db: Signal-to-noise ratio of the added white noise, in dB.
    min_rate, max_rate: Speaking rate range, words per minute.
    min_pitch, max_pitch: eSpeak pitch range (0-100).
    features: "mfcc" (13 coefficients) or "logmel" (40 bands), each with deltas and
        delta-deltas.
    normalization: "utterance" (each utterance to zero mean, unit variance per feature) or
        "train" (statistics of the training frames).
    frame_stack: Consecutive 10 ms frames joined into one step (3 gives 30 ms steps).
    data_seed: Seed of everything drawn (texts, voices, prosody, gain, noise).
    """

    train_size: int = field(default=3000, metadata=between(8, 200_000))
    validation_size: int = field(default=300, metadata=between(8, 100_000))
    test_size: int = field(default=500, metadata=between(8, 100_000))
    min_digits: int = field(default=1, metadata=between(1, 20))
    max_digits: int = field(default=7, metadata=between(1, 20))
    test_voices: int = field(default=32, metadata=between(1, 100))
    validation_voices: int = field(default=16, metadata=between(1, 100))
    snr_db: float = field(default=20.0, metadata=between(-10.0, 100.0))
    min_rate: int = field(default=130, metadata=between(80, 450))
    max_rate: int = field(default=210, metadata=between(80, 450))
    min_pitch: int = field(default=25, metadata=between(0, 100))
    max_pitch: int = field(default=75, metadata=between(0, 100))
    features: str = field(default="mfcc", metadata=one_of(FEATURES))
    normalization: str = field(default="utterance", metadata=one_of(("utterance", "train")))
    frame_stack: int = field(default=3, metadata=between(1, 10))
    data_seed: int = field(default=0, metadata=SEED)


def all_voices() -> list[Voice]:
    return [Voice(language, variant) for language in ENGLISH_VOICES for variant in TIMBRES]


def voice_splits(settings: SpokenDigitsSettings) -> tuple[list[Voice], list[Voice], list[Voice]]:
    """Disjoint voices for train, validation and test, drawn with `data_seed`."""
    voices = all_voices()
    reserved = settings.test_voices + settings.validation_voices
    if reserved >= len(voices):
        raise DataError(
            f"test_voices + validation_voices = {reserved} leaves no training voice "
            f"(there are {len(voices)})"
        )
    order = np.random.default_rng(settings.data_seed).permutation(len(voices))
    shuffled = [voices[i] for i in order]
    test = shuffled[: settings.test_voices]
    validation = shuffled[settings.test_voices : reserved]
    return shuffled[reserved:], validation, test


def draw_jobs(
    count: int, voices: list[Voice], settings: SpokenDigitsSettings, rng: np.random.Generator
) -> tuple[list[SpeechJob], list[list[int]]]:
    """`count` utterances spoken by `voices`, and their digit sequences."""
    if settings.min_digits > settings.max_digits:
        raise DataError(
            f"min_digits = {settings.min_digits} is above max_digits = {settings.max_digits}"
        )
    jobs, digits = [], []
    for _ in range(count):
        sequence = rng.integers(0, 10, rng.integers(settings.min_digits, settings.max_digits + 1))
        jobs.append(
            SpeechJob(
                text=" ".join(DIGITS[d] for d in sequence),
                voice=voices[rng.integers(len(voices))],
                rate=int(rng.integers(settings.min_rate, settings.max_rate + 1)),
                pitch=int(rng.integers(settings.min_pitch, settings.max_pitch + 1)),
            )
        )
        digits.append(sequence.tolist())
    return jobs, digits


def degrade(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Random gain (0.3-1.0), then white noise at `snr_db` relative to the speech power."""
    speech = samples * rng.uniform(0.3, 1.0)
    power = float(np.mean(speech**2)) if len(speech) else 0.0
    noise = rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(speech))
    return (speech + noise).astype("float32")


def normalize_utterance(frames: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance per feature within one utterance."""
    return ((frames - frames.mean(axis=0)) / (frames.std(axis=0) + 1e-8)).astype("float32")


def utterance_features(
    waves: list[np.ndarray], sample_rate: int, settings: SpokenDigitsSettings
) -> list[np.ndarray]:
    """Per utterance: MFCCs or log-mels with deltas, `frame_stack` frames to a step."""
    extract = mfcc if settings.features == "mfcc" else log_mel
    return [
        stack_frames(with_deltas(frames), settings.frame_stack)
        for frames in batch_features(waves, sample_rate, extract)
    ]


def generate_spoken_digits(settings: SpokenDigitsSettings) -> dict[str, np.ndarray]:
    """Synthesize and featurize every split. Returns flat arrays (see `_unflatten`)."""
    rng = np.random.default_rng(settings.data_seed)
    voice_sets = voice_splits(settings)
    sizes = (settings.train_size, settings.validation_size, settings.test_size)
    arrays: dict[str, np.ndarray] = {}
    for split, voices, size in zip(("train", "validation", "test"), voice_sets, sizes, strict=True):
        jobs, digits = draw_jobs(size, voices, settings, rng)
        waves, sample_rate = synthesize(jobs, seed=int(rng.integers(2**31)))
        noisy = [degrade(wave, settings.snr_db, rng) for wave in waves]
        features = utterance_features(noisy, sample_rate, settings)
        arrays[f"{split}_frames"] = np.concatenate(features)
        arrays[f"{split}_lengths"] = np.array([len(item) for item in features])
        arrays[f"{split}_digits"] = np.array([d for sequence in digits for d in sequence])
        arrays[f"{split}_digit_counts"] = np.array([len(sequence) for sequence in digits])
        arrays[f"{split}_voices"] = np.array([job.voice.name for job in jobs])
        arrays[f"{split}_seconds"] = np.array([len(wave) / sample_rate for wave in waves])
    return arrays


def _split(arrays: dict[str, np.ndarray], split: str) -> tuple[list[np.ndarray], list[list[int]]]:
    ends = np.cumsum(arrays[f"{split}_lengths"])
    frames = np.split(arrays[f"{split}_frames"], ends[:-1])
    digits = np.split(arrays[f"{split}_digits"], np.cumsum(arrays[f"{split}_digit_counts"])[:-1])
    return frames, [sequence.tolist() for sequence in digits]


def ctc_min_steps(sequence: list[int]) -> int:
    """Fewest output steps CTC can align `sequence` to: one per label, plus a blank between
    each pair of equal neighbours."""
    return len(sequence) + sum(a == b for a, b in itertools.pairwise(sequence))


def ctc_targets(digits: list[list[int]], lengths: np.ndarray, width: int) -> np.ndarray:
    """`(examples, 1 + width)` int32: the frame count, then labels (digit + 1), 0-padded."""
    targets = np.zeros((len(digits), 1 + width), dtype="int32")
    targets[:, 0] = lengths
    for row, sequence in enumerate(digits):
        targets[row, 1 : 1 + len(sequence)] = np.asarray(sequence) + 1
    return targets


@dataclass(frozen=True)
class DigitsFacts(DataFacts):
    """Attributes:
    classes: Output labels: the CTC blank and the ten digits.
    test_digits: The digits of every test utterance.
    test_voices: The voice of every test utterance.
    voices: The voices of each split (disjoint).
    sizes: Utterances per split.
    steps: Fewest and most steps of an utterance, for data cards.
    audio_seconds: Length of all the audio synthesized.
    """

    classes: int
    test_digits: tuple[tuple[int, ...], ...]
    test_voices: tuple[str, ...]
    voices: tuple[tuple[str, ...], ...]
    sizes: tuple[int, ...]
    steps: str
    audio_seconds: float


def load_spoken_digits(settings: SpokenDigitsSettings) -> SequenceData:
    arrays = generate_spoken_digits(settings)
    splits = [_split(arrays, split) for split in ("train", "validation", "test")]
    frames = [split[0] for split in splits]
    if settings.normalization == "train":
        frames = list(standardize(*frames))
    else:
        frames = [[normalize_utterance(item) for item in split] for split in frames]
    lengths = [arrays[f"{split}_lengths"] for split in ("train", "validation", "test")]
    longest = max(int(length.max()) for length in lengths)
    digit_sets = [split[1] for split in splits]
    short = sum(
        int(steps < ctc_min_steps(sequence))
        for split_lengths, split_digits in zip(lengths, digit_sets, strict=True)
        for steps, sequence in zip(split_lengths, split_digits, strict=True)
    )
    if short:
        raise DataError(
            f"spoken-digits: {short} utterances have fewer steps than CTC needs for their "
            "digits; lower frame_stack or max_rate"
        )
    voices = [sorted(set(arrays[f"{s}_voices"].tolist())) for s in ("train", "validation", "test")]
    width = settings.max_digits
    data = SequenceData(
        "spoken-digits",
        pad_sequences(frames[0], longest),
        ctc_targets(splits[0][1], lengths[0], width),
        pad_sequences(frames[1], longest),
        ctc_targets(splits[1][1], lengths[1], width),
        pad_sequences(frames[2], longest),
        ctc_targets(splits[2][1], lengths[2], width),
        facts=DigitsFacts(
            classes=1 + len(DIGITS),
            test_digits=tuple(tuple(sequence) for sequence in splits[2][1]),
            test_voices=tuple(arrays["test_voices"].tolist()),
            voices=tuple(tuple(split) for split in voices),
            sizes=tuple(len(split[0]) for split in splits),
            steps=f"{min(map(min, lengths))}-{longest}",
            audio_seconds=float(
                sum(arrays[f"{s}_seconds"].sum() for s in ("train", "validation", "test"))
            ),
        ),
    )
    return data
