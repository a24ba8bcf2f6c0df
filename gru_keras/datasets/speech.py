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

import hashlib
import itertools
import json
import os
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gru_keras.datasets import DataError, DatasetSpec, SequenceData, register
from gru_keras.datasets.audio import (
    FEATURES,
    batch_features,
    log_mel,
    mfcc,
    stack_frames,
    with_deltas,
)
from gru_keras.datasets.espeak import ENGLISH_VOICES, VARIANTS, SpeechJob, Voice, synthesize

FAMILY = "speech"
CACHE = Path("data/cache/spoken-digits")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
BLANK = 0  # CTC blank; digit d is label d + 1


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

    validation_fraction: float = field(default=0.2, metadata={"min": 0.05, "max": 0.5})
    data_seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1})


def japanese_vowels_split(split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """One official split as `(frames, 12)` arrays and speaker labels 0-8."""
    from sktime.datasets import load_japanese_vowels

    frame, labels = load_japanese_vowels(split=split, return_X_y=True, return_type="nested_univ")
    sequences = [
        np.stack([np.asarray(cell, dtype="float64") for cell in row], axis=1)
        for row in frame.itertuples(index=False)
    ]
    return sequences, np.asarray(labels).astype(int) - 1


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
        info={
            "classes": [f"speaker {number}" for number in range(1, 10)],
            "lengths": lengths,
            "sizes": [len(split) for split in splits],
            "length_range": f"{min(map(min, lengths))}-{longest} frames",
        },
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
    bidirectional: Read each utterance both ways (a model option; the budget covers both).
    data_seed: Seed of everything drawn (texts, voices, prosody, gain, noise).
    """

    train_size: int = field(default=3000, metadata={"min": 8, "max": 200_000})
    validation_size: int = field(default=300, metadata={"min": 8, "max": 100_000})
    test_size: int = field(default=500, metadata={"min": 8, "max": 100_000})
    min_digits: int = field(default=1, metadata={"min": 1, "max": 20})
    max_digits: int = field(default=7, metadata={"min": 1, "max": 20})
    test_voices: int = field(default=32, metadata={"min": 1, "max": 100})
    validation_voices: int = field(default=16, metadata={"min": 1, "max": 100})
    snr_db: float = field(default=20.0, metadata={"min": -10.0, "max": 100.0})
    min_rate: int = field(default=130, metadata={"min": 80, "max": 450})
    max_rate: int = field(default=210, metadata={"min": 80, "max": 450})
    min_pitch: int = field(default=25, metadata={"min": 0, "max": 100})
    max_pitch: int = field(default=75, metadata={"min": 0, "max": 100})
    features: str = field(default="mfcc", metadata={"choices": FEATURES})
    normalization: str = field(default="utterance", metadata={"choices": ("utterance", "train")})
    frame_stack: int = field(default=3, metadata={"min": 1, "max": 10})
    bidirectional: bool = False
    data_seed: int = field(default=0, metadata={"min": 0, "max": 2**31 - 1})


# Settings that change the model, not the audio or its features: not part of the cache key.
MODEL_SETTINGS = ("bidirectional", "normalization")


def all_voices() -> list[Voice]:
    return [Voice(language, variant) for language in ENGLISH_VOICES for variant in VARIANTS]


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


def cache_path(settings: SpokenDigitsSettings) -> Path:
    generation = {k: v for k, v in asdict(settings).items() if k not in MODEL_SETTINGS}
    key = hashlib.sha256(json.dumps(generation, sort_keys=True).encode()).hexdigest()[:16]
    return CACHE / f"{key}.npz"


def _expected_keys() -> set[str]:
    fields = ("frames", "lengths", "digits", "digit_counts", "voices", "seconds")
    return {f"{split}_{name}" for split in ("train", "validation", "test") for name in fields}


def read_cache(path: Path, settings: SpokenDigitsSettings) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None if the file is missing, partial or corrupted."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    sizes = {"train": settings.train_size, "validation": settings.validation_size}
    sizes["test"] = settings.test_size
    if set(arrays) != _expected_keys() or any(
        len(arrays[f"{split}_lengths"]) != size
        or int(arrays[f"{split}_lengths"].sum()) != len(arrays[f"{split}_frames"])
        for split, size in sizes.items()
    ):
        return None
    return arrays


def write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically: a crash leaves the old file or none, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
    os.replace(partial, path)


def cached_spoken_digits(settings: SpokenDigitsSettings) -> tuple[dict[str, np.ndarray], bool]:
    """The dataset's arrays from `data/cache/`, generated (and cached) when missing or bad.

    Returns:
        The arrays, and whether they came from the cache.
    """
    path = cache_path(settings)
    arrays = read_cache(path, settings)
    if arrays is not None:
        return arrays, True
    if path.exists():
        print(f"spoken-digits: cache {path} is unreadable; rebuilding it", file=sys.stderr)
    arrays = generate_spoken_digits(settings)
    write_cache(path, arrays)
    return arrays, False


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


def load_spoken_digits(settings: SpokenDigitsSettings) -> SequenceData:
    arrays, from_cache = cached_spoken_digits(settings)
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
        info={
            "classes": 1 + len(DIGITS),
            "bidirectional": settings.bidirectional,
            "test_digits": splits[2][1],
            "test_voices": arrays["test_voices"].tolist(),
            "voices": voices,
            "sizes": [len(split[0]) for split in splits],
            "from_cache": from_cache,
            "steps": f"{min(map(min, lengths))}-{longest}",
            "audio_seconds": float(
                sum(arrays[f"{s}_seconds"].sum() for s in ("train", "validation", "test"))
            ),
        },
    )
    return data


register(
    DatasetSpec(
        name="japanese-vowels",
        family=FAMILY,
        task="speaker-classification",
        settings=JapaneseVowelsSettings,
        load=load_japanese_vowels,
        description="JapaneseVowels (UCI/UEA via sktime): 9 speakers, 12 LPC cepstra, 7-29 frames",
    )
)
register(
    DatasetSpec(
        name="spoken-digits",
        family=FAMILY,
        task="ctc",
        settings=SpokenDigitsSettings,
        load=load_spoken_digits,
        description="digit strings spoken by eSpeak NG voices, held-out voices for test; CTC",
    )
)
