"""The chorale data: piano rolls against a hand-written fragment, melodies, duplicates, the
split, and the cache."""

import numpy as np
import pytest
from music21 import converter, note, stream

from gru_keras.families.base import DataError
from gru_keras.families.music.data import (
    KEYS,
    LOWEST_KEY,
    Chorale,
    ChoraleSettings,
    drop_duplicates,
    parse_corpus,
    piano_roll,
    soprano_incipit,
    split_by_melody,
)

# A four-bar chorale fragment in 4/4: (MIDI pitch or None for a rest, quarter notes).
FRAGMENT = {
    "Soprano": [
        (72, 1),
        (74, 1),
        (76, 2),
        (77, 3),
        (76, 1),
        (74, 0.5),
        (72, 0.5),
        (74, 1),
        (76, 2),
        (72, 4),
    ],
    "Alto": [(67, 4), (69, 2), (67, 2), (65, 2), (67, 2), (64, 4)],
    "Tenor": [(64, 2), (65, 2), (60, 4), (None, 1), (59, 1), (60, 2), (55, 4)],
    "Bass": [(48, 4), (41, 2), (48, 2), (43, 4), (48, 4)],
    # Not a voice: left out of the roll.
    "Trumpet 1": [(84, 4), (None, 12)],
}
# What sounds at each quarter-note beat, worked out by hand from the parts above. Beat 8
# holds the soprano's first eighth (D5); its second (C5, at 8.5) falls between two beats.
BEATS = [
    {72, 67, 64, 48},
    {74, 67, 64, 48},
    {76, 67, 65, 48},
    {76, 67, 65, 48},
    {77, 69, 60, 41},
    {77, 69, 60, 41},
    {77, 67, 60, 48},
    {76, 67, 60, 48},
    {74, 65, 43},  # the tenor rests
    {74, 65, 59, 43},
    {76, 67, 60, 43},
    {76, 67, 60, 43},
    {72, 64, 55, 48},
    {72, 64, 55, 48},
    {72, 64, 55, 48},
    {72, 64, 55, 48},
]


def fragment(parts=FRAGMENT, transpose: int = 0) -> stream.Score:
    score = stream.Score()
    for name, notes in parts.items():
        part = stream.Part()
        part.partName = name
        for midi, length in notes:
            part.append(
                note.Rest(quarterLength=length)
                if midi is None
                else note.Note(midi + transpose, quarterLength=length)
            )
        score.insert(0, part)
    return score


def expected(beats: list[set[int]]) -> np.ndarray:
    roll = np.zeros((len(beats), KEYS), dtype=bool)
    for step, pitches in enumerate(beats):
        roll[step, [pitch - LOWEST_KEY for pitch in pitches]] = True
    return roll


def test_the_piano_roll_of_a_hand_written_fragment(tmp_path):
    score = fragment()
    assert np.array_equal(piano_roll(score, 1), expected(BEATS))
    # The same through MusicXML, as the corpus files are read (measures, barlines).
    path = score.write("musicxml", fp=tmp_path / "fragment.musicxml")
    assert np.array_equal(piano_roll(converter.parse(path, forceSource=True), 1), expected(BEATS))


def test_eighth_notes_double_the_steps_and_catch_the_off_beat_eighth():
    roll = piano_roll(fragment(), 2)
    assert roll.shape == (32, KEYS)
    # Every beat as before on the even steps; the off-beat steps repeat the beat before,
    # except 8.5 quarter notes in, where the soprano has moved from D5 to C5.
    beats = expected(BEATS)
    assert np.array_equal(roll[::2], beats)
    off_beats = beats.copy()
    off_beats[8] = expected([{72, 65, 43}])[0]
    assert np.array_equal(roll[1::2], off_beats)


def test_a_pitch_off_the_keyboard_is_a_data_error():
    with pytest.raises(DataError, match="outside the piano's 88 keys"):
        piano_roll(fragment({"Soprano": [(110, 1)]}), 1)


def test_a_transposed_harmonization_is_the_same_melody():
    assert soprano_incipit(fragment()) == soprano_incipit(fragment(transpose=-3))
    assert soprano_incipit(fragment()) == (2, 2, 1, -1, -2, -2, 2, 2)
    other = dict(FRAGMENT, Soprano=[(72, 1), (71, 1), (72, 14)])
    assert soprano_incipit(fragment(other)) != soprano_incipit(fragment())


def test_only_exact_duplicate_rolls_are_dropped():
    a, b = expected(BEATS), expected(BEATS[:8])
    chorales = [Chorale("a", a, ()), Chorale("b", b, ()), Chorale("a2", a.copy(), ())]
    assert [c.name for c in drop_duplicates(chorales)] == ["a", "b"]


def test_the_split_keeps_each_melody_in_one_split_and_meets_its_shares():
    rng = np.random.default_rng(1)
    melodies = [(int(m),) for m in rng.integers(0, 60, size=400)]
    split = split_by_melody(melodies, 0.2, 0.2, seed=3)
    for melody in set(melodies):
        assert len({split[i] for i, m in enumerate(melodies) if m == melody}) == 1
    counts = np.bincount(split, minlength=3)
    assert abs(counts[1] - 80) <= 12 and abs(counts[2] - 80) <= 12
    assert np.array_equal(split, split_by_melody(melodies, 0.2, 0.2, seed=3))
    assert not np.array_equal(split, split_by_melody(melodies, 0.2, 0.2, seed=4))


def test_corpus_chorales_split_disjointly_by_chorale_and_melody():
    chorales = drop_duplicates(parse_corpus(1, max_files=60))
    split = split_by_melody([c.melody for c in chorales], 0.2, 0.2, seed=0)
    names = [
        {c.name for c, s in zip(chorales, split, strict=True) if s == part} for part in range(3)
    ]
    assert all(names) and sum(map(len, names)) == len(chorales)
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    melodies = [
        {c.melody for c, s in zip(chorales, split, strict=True) if s == part} for part in range(3)
    ]
    assert not (melodies[0] & melodies[1] or melodies[0] & melodies[2] or melodies[1] & melodies[2])
    # Chorales are four voices, almost every beat: 3 to 4 keys down at a time on average.
    keys_down = np.mean([c.roll.sum(axis=1).mean() for c in chorales])
    assert 3.0 < keys_down <= 4.5


def test_a_corrupted_cache_file_is_rebuilt(tmp_path, capsys):
    from gru_keras.experiment.cache import DatasetCache
    from gru_keras.experiment.config import DatasetConfig, TrainingConfig

    config = DatasetConfig(
        "bach-chorales",
        "bach-chorales",
        19800,
        TrainingConfig(),
        ChoraleSettings(max_files=24),
        None,
    )
    first = DatasetCache(tmp_path).get(config)
    path = DatasetCache(tmp_path).path(config)
    assert path.exists()
    path.write_bytes(b"not a numpy archive")
    again = DatasetCache(tmp_path).get(config)
    assert "unreadable; rebuilding it" in capsys.readouterr().err
    assert again.digest() == first.digest()
    assert again.facts.split_sizes == first.facts.split_sizes
    assert np.load(path, allow_pickle=False)  # written again, readable
