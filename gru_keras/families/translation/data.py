"""Character-level translation pairs: generated numbers and dates, and Tatoeba files.

- numbers-dates-{fr,de,es}: English to French, German or Spanish, generated from a seed with
  `num2words` (numbers, years, ordinals, currency amounts) and `babel`'s CLDR data (dates).
  The target languages restructure the source ("ninety-seven" -> "siebenundneunzig",
  "quatre-vingt-dix-sept"; "Tuesday, November 24, 2026" -> "mardi 24 novembre 2026"), so a
  model has to remember the sentence, not copy it.
- tatoeba: any tab-separated file of `source<TAB>target[<TAB>attribution]` lines, such as the
  manythings.org Anki files, read from a path the user gives.

Both become `SequenceData` whose inputs are a dict of two int arrays: `source` (the source
characters, optionally reversed, 0-padded at the end) and `target_in` (start token, then the
target characters); `y` is the target characters followed by the end token. Vocabularies
come from the training split only.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from babel.dates import format_date
from num2words import num2words

from gru_keras.families.base import DataError, DataFacts, SequenceData
from gru_keras.validation import PATH, SEED, SIZE, between

PAD, START, END, UNKNOWN = 0, 1, 2, 3
RESERVED = ("<pad>", "<start>", "<end>", "<unk>")
LANGUAGES = ("fr", "de", "es")

_WEIGHT = between(0.0, 1_000.0)


@dataclass(frozen=True)
class Vocabulary:
    """Characters of one side, with ids 0-3 reserved for padding, start, end and unknown."""

    characters: tuple[str, ...]

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Vocabulary:
        return cls(tuple(sorted(set("".join(texts)))))

    @property
    def size(self) -> int:
        return len(RESERVED) + len(self.characters)

    def encode(self, text: str) -> list[int]:
        index = {character: i + len(RESERVED) for i, character in enumerate(self.characters)}
        return [index.get(character, UNKNOWN) for character in text]

    def decode(self, ids: Sequence[int]) -> str:
        """Characters up to the first end token; padding and start are dropped."""
        characters = []
        for token in ids:
            token = int(token)
            if token == END:
                break
            if token >= len(RESERVED):
                characters.append(self.characters[token - len(RESERVED)])
            elif token == UNKNOWN:
                characters.append("?")
        return "".join(characters)


def encode_pairs(
    pairs: Sequence[tuple[str, str]],
    source_vocabulary: Vocabulary,
    target_vocabulary: Vocabulary,
    reverse_source: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """`({"source", "target_in"}, target_out)` int32 arrays, 0-padded to the longest pair."""
    sources = [source_vocabulary.encode(s[::-1] if reverse_source else s) for s, _ in pairs]
    targets = [target_vocabulary.encode(t) for _, t in pairs]
    source = np.zeros((len(pairs), max(map(len, sources), default=1)), dtype="int32")
    target_in = np.zeros((len(pairs), max(map(len, targets), default=0) + 1), dtype="int32")
    target_out = np.zeros_like(target_in)
    for row, (source_ids, target_ids) in enumerate(zip(sources, targets, strict=True)):
        source[row, : len(source_ids)] = source_ids
        target_in[row, : len(target_ids) + 1] = [START, *target_ids]
        target_out[row, : len(target_ids) + 1] = [*target_ids, END]
    return {"source": source, "target_in": target_in}, target_out


@dataclass(frozen=True)
class TranslationFacts(DataFacts):
    """Attributes:
    source_vocabulary, target_vocabulary: Characters of each side, from the training split.
    reverse_source: Whether the source characters are fed back to front.
    pairs: `(source, target)` texts of train, validation and test.
    lengths: Character-length quantiles per side and split, for data cards.
    source_language, target_language: Language codes, where known.
    test_groups: The kind of every test pair (cardinal, date...), where there are kinds.
    path: The file the pairs came from, if any.
    """

    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary
    reverse_source: bool
    pairs: tuple[tuple[tuple[str, str], ...], ...]
    lengths: dict[str, str]
    source_language: str = ""
    target_language: str = ""
    test_groups: tuple[str, ...] = ()
    path: str = ""

    @property
    def input_dim(self) -> int:
        return self.source_vocabulary.size

    @property
    def test_pairs(self) -> tuple[tuple[str, str], ...]:
        return self.pairs[2]

    @property
    def sizes(self) -> list[int]:
        return [len(split) for split in self.pairs]


def translation_data(
    name: str, splits: Sequence[Sequence[tuple[str, str]]], reverse_source: bool, **facts: Any
) -> SequenceData:
    """Encode train, validation and test pairs with vocabularies built from train alone;
    `facts` are the other `TranslationFacts` fields (languages, groups, path)."""
    train = splits[0]
    source_vocabulary = Vocabulary.from_texts([source for source, _ in train])
    target_vocabulary = Vocabulary.from_texts([target for _, target in train])
    arrays = []
    for pairs in splits:
        inputs, targets = encode_pairs(pairs, source_vocabulary, target_vocabulary, reverse_source)
        arrays += [inputs, targets]
    lengths = {
        f"{side}_length_{split}": _quantiles([len(pair[index]) for pair in pairs])
        for side, index in (("source", 0), ("target", 1))
        for split, pairs in zip(("train", "validation", "test"), splits, strict=True)
    }
    return SequenceData(
        name,
        *arrays,
        facts=TranslationFacts(
            source_vocabulary,
            target_vocabulary,
            reverse_source,
            tuple(tuple(tuple(pair) for pair in pairs) for pairs in splits),
            lengths,
            **facts,
        ),
    )


def _quantiles(lengths: list[int]) -> str:
    if not lengths:
        return "empty"
    low, median, high = np.percentile(lengths, [0, 50, 100])
    return f"min {low:.0f}, median {median:.0f}, max {high:.0f}"


# --- numbers and dates ----------------------------------------------------------------------


@dataclass(frozen=True)
class NumbersDatesSettings:
    """Attributes:
    train_size, validation_size, test_size: Pairs per split.
    max_number: Largest cardinal number (drawn log-uniformly, so every magnitude appears).
    max_ordinal: Largest ordinal ("first" to ...), also drawn log-uniformly.
    cardinal_weight, year_weight, ordinal_weight, full_date_weight, long_date_weight,
    currency_weight: Relative share of each kind of pair (0 leaves a kind out).
    first_year, last_year: Range of the years and dates.

    A number is one value whether it appears as a cardinal, a year or an ordinal, so kinds
    compete for the small numbers; a kind that cannot find its share is a clear error.
    reverse_source: Feed the source characters back to front (Sutskever et al. 2014), so
        the start of the sentence is the last thing the encoder read.
    data_seed: Seed of the generator (the same pairs for every model and run seed).
    """

    train_size: int = field(default=12_000, metadata=SIZE)
    validation_size: int = field(default=1_000, metadata=SIZE)
    test_size: int = field(default=1_000, metadata=SIZE)
    max_number: int = field(default=999_999, metadata=between(10, 999_999_999))
    max_ordinal: int = field(default=99_999, metadata=between(10, 999_999_999))
    cardinal_weight: float = field(default=0.35, metadata=_WEIGHT)
    year_weight: float = field(default=0.05, metadata=_WEIGHT)
    ordinal_weight: float = field(default=0.1, metadata=_WEIGHT)
    full_date_weight: float = field(default=0.15, metadata=_WEIGHT)
    long_date_weight: float = field(default=0.15, metadata=_WEIGHT)
    currency_weight: float = field(default=0.2, metadata=_WEIGHT)
    first_year: int = field(default=1000, metadata=between(1000, 2999))
    last_year: int = field(default=2099, metadata=between(1000, 2999))
    reverse_source: bool = True
    data_seed: int = field(default=0, metadata=SEED)


# Each kind draws an underlying value; a pair is (English text, target text) of that value.
# The value's key says what "the same value" means for disjoint splits: a number is the
# same number as a cardinal, a year or an ordinal; a date is the same date in either format.
Kind = tuple[
    Callable[[np.random.Generator, NumbersDatesSettings], object],
    Callable[[object], tuple],
    Callable[[object, str], str],
]


def _draw_cardinal(rng: np.random.Generator, settings: NumbersDatesSettings) -> int:
    return int(np.exp(rng.uniform(0.0, np.log(settings.max_number + 1)))) - 1  # 0 to max


def _draw_year(rng: np.random.Generator, settings: NumbersDatesSettings) -> int:
    return int(rng.integers(settings.first_year, settings.last_year + 1))


def _draw_ordinal(rng: np.random.Generator, settings: NumbersDatesSettings) -> int:
    return int(np.exp(rng.uniform(0.0, np.log(settings.max_ordinal + 1))))  # 1 to max


def _draw_date(rng: np.random.Generator, settings: NumbersDatesSettings) -> datetime.date:
    first = datetime.date(settings.first_year, 1, 1)
    days = (datetime.date(settings.last_year, 12, 31) - first).days
    return first + datetime.timedelta(days=int(rng.integers(0, days + 1)))


def _draw_cents(rng: np.random.Generator, settings: NumbersDatesSettings) -> int:
    return int(np.exp(rng.uniform(np.log(100), np.log(1_000_000))))  # 1.00 to 9,999.99


def _currency(cents: object, language: str) -> str:
    return num2words(cents / 100, lang=language, to="currency", currency="EUR")


KINDS: dict[str, Kind] = {
    "cardinal": (_draw_cardinal, lambda v: ("number", v), lambda v, lang: num2words(v, lang=lang)),
    "year": (
        _draw_year,
        lambda v: ("number", v),
        lambda v, lang: num2words(v, lang=lang, to="year"),
    ),
    "ordinal": (
        _draw_ordinal,
        lambda v: ("number", v),
        lambda v, lang: num2words(v, lang=lang, to="ordinal"),
    ),
    "full_date": (
        _draw_date,
        lambda v: ("date", v),
        lambda v, lang: format_date(v, format="full", locale=lang),
    ),
    "long_date": (
        _draw_date,
        lambda v: ("date", v),
        lambda v, lang: format_date(v, format="long", locale=lang),
    ),
    "currency": (_draw_cents, lambda v: ("amount", v), _currency),
}


def value_key(kind: str, value: object) -> tuple:
    """What "the same value" means across kinds: 21 is one number as a cardinal, a year or
    an ordinal; a date is one date in either format."""
    return KINDS[kind][1](value)


def kind_quotas(settings: NumbersDatesSettings) -> dict[str, int]:
    """How many pairs of each kind, in proportion to the weights (largest remainders)."""
    weights = np.array([getattr(settings, f"{kind}_weight") for kind in KINDS], dtype=float)
    if weights.sum() <= 0:
        raise DataError("at least one of the *_weight settings must be positive")
    total = settings.train_size + settings.validation_size + settings.test_size
    exact = weights / weights.sum() * total
    quotas = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - quotas), kind="stable")[: total - quotas.sum()]:
        quotas[index] += 1
    return dict(zip(KINDS, quotas.tolist(), strict=True))


def draw_values(settings: NumbersDatesSettings) -> list[list[tuple[str, object]]]:
    """`(kind, value)` for train, validation and test, disjoint by `value_key`.

    Each kind draws distinct values until it has its share of the pairs; then all are dealt
    to the splits in a random order, so every split has the same mix of kinds and sizes.

    Raises:
        DataError: naming the kind that does not have that many distinct values.
    """
    if settings.first_year > settings.last_year:
        raise DataError(
            f"first_year ({settings.first_year}) is after last_year ({settings.last_year})"
        )
    rng = np.random.default_rng(settings.data_seed)
    drawn: list[tuple[str, object]] = []
    seen: set[tuple] = set()
    for kind, quota in kind_quotas(settings).items():
        found = 0
        for _ in range(50 * quota + 1_000):
            if found == quota:
                break
            value = KINDS[kind][0](rng, settings)
            if value_key(kind, value) not in seen:
                seen.add(value_key(kind, value))
                drawn.append((kind, value))
                found += 1
        if found < quota:
            raise DataError(
                f"cannot draw {quota} distinct {kind} values (found {found}); lower "
                f"{kind}_weight or the split sizes, or widen its range"
            )
    order = rng.permutation(len(drawn))
    sizes = [settings.train_size, settings.validation_size, settings.test_size]
    bounds = np.cumsum([0, *sizes])
    return [[drawn[i] for i in order[low:high]] for low, high in itertools.pairwise(bounds)]


def render(kind: str, value: object, language: str) -> str:
    """The value as text in `language` ("en" for the source side)."""
    return KINDS[kind][2](value, language)


def numbers_dates_pairs(
    settings: NumbersDatesSettings, language: str
) -> list[list[tuple[str, str]]]:
    """Train, validation and test `(English, target)` pairs, disjoint by underlying value."""
    return [list(split) for split in numbers_dates_loader(language)(settings).facts.pairs]


def numbers_dates_loader(language: str) -> Callable[[NumbersDatesSettings], SequenceData]:
    def load(settings: NumbersDatesSettings) -> SequenceData:
        values = draw_values(settings)
        pairs = [
            [(render(kind, value, "en"), render(kind, value, language)) for kind, value in split]
            for split in values
        ]
        return translation_data(
            f"numbers-dates-{language}",
            pairs,
            settings.reverse_source,
            source_language="en",
            target_language=language,
            # What each test pair is, so scores can be broken down by kind.
            test_groups=tuple(kind for kind, _ in values[2]),
        )

    return load


# --- Tatoeba files ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TatoebaSettings:
    """Attributes:
    path: Tab-separated file, one `source<TAB>target[<TAB>attribution]` pair per line
        (relative paths are relative to the suite file).
    max_length: Longest sentence kept, in characters, on either side.
    max_pairs: Most pairs kept (after the length filter, in file order); 0 keeps all.
    lowercase: Lower-case both sides.
    validation_fraction, test_fraction: Shares of the distinct source sentences per split.
    reverse_source: Feed the source characters back to front.
    data_seed: Seed of the split.
    """

    path: str = field(default="", metadata=PATH)
    max_length: int = field(default=60, metadata=between(1, 10_000))
    max_pairs: int = field(default=20_000, metadata=between(0, 100_000_000))
    lowercase: bool = True
    validation_fraction: float = field(default=0.1, metadata=between(0.01, 0.5))
    test_fraction: float = field(default=0.1, metadata=between(0.01, 0.5))
    reverse_source: bool = True
    data_seed: int = field(default=0, metadata=SEED)


def read_tatoeba(path: Path) -> list[tuple[str, str]]:
    """Every pair of a Tatoeba / manythings file, in file order.

    Raises:
        DataError: naming the file (and line) if it is missing, unreadable or malformed.
    """
    if not path.is_file():
        raise DataError(f"Tatoeba file not found: {path}")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    lines = []
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        try:
            lines.append(line_bytes.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}, line {number}: not UTF-8 text (byte {line_bytes[error.start]:#04x} at "
                f"column {error.start + 1}); save the file as UTF-8"
            ) from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise DataError(
                f"{path}, line {number}: expected 'source<TAB>target[<TAB>attribution]', "
                f"got {line[:60]!r}"
            )
        pairs.append((fields[0].strip(), fields[1].strip()))
    if not pairs:
        raise DataError(f"{path}: no sentence pairs in the file")
    return pairs


def split_by_source(
    pairs: list[tuple[str, str]], validation_fraction: float, test_fraction: float, seed: int
) -> list[list[tuple[str, str]]]:
    """Train, validation and test, with every translation of one source sentence in the
    same split (Tatoeba lists many sentences with several translations)."""
    sources = sorted({source for source, _ in pairs})
    order = np.random.default_rng(seed).permutation(len(sources))
    test_count = max(1, round(test_fraction * len(sources)))
    validation_count = max(1, round(validation_fraction * len(sources)))
    if test_count + validation_count >= len(sources):
        raise DataError(f"only {len(sources)} distinct source sentences: too few for three splits")
    split_of = {}
    for rank, index in enumerate(order):
        split_of[sources[index]] = (
            2 if rank < test_count else 1 if rank < test_count + validation_count else 0
        )
    splits: list[list[tuple[str, str]]] = [[], [], []]
    for pair in pairs:
        splits[split_of[pair[0]]].append(pair)
    return splits


def load_tatoeba(settings: TatoebaSettings) -> SequenceData:
    if not settings.path:
        raise DataError("'path' is required for the tatoeba dataset (a tab-separated file)")
    path = Path(settings.path)
    pairs = read_tatoeba(path)
    if settings.lowercase:
        pairs = [(source.lower(), target.lower()) for source, target in pairs]
    pairs = [pair for pair in pairs if max(len(pair[0]), len(pair[1])) <= settings.max_length]
    if settings.max_pairs:
        pairs = pairs[: settings.max_pairs]
    if not pairs:
        raise DataError(f"{path}: no pair is at most max_length={settings.max_length} characters")
    try:
        splits = split_by_source(
            pairs, settings.validation_fraction, settings.test_fraction, settings.data_seed
        )
        return translation_data("tatoeba", splits, settings.reverse_source, path=str(path))
    except DataError as error:  # found by the fuzz test: name the file, as every error here does
        raise DataError(f"{path}: {error}") from None
