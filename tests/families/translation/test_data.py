import datetime

import numpy as np
import pytest
from babel.dates import format_date
from fuzz import budget, fuzz, outcome
from fuzz import hostile as fuzz_files
from hypothesis import given
from hypothesis import strategies as st
from num2words import num2words

from gru_keras.__main__ import main
from gru_keras.families import DataError
from gru_keras.families.translation.data import (
    END,
    PAD,
    START,
    UNKNOWN,
    NumbersDatesSettings,
    TatoebaSettings,
    Vocabulary,
    draw_values,
    load_tatoeba,
    numbers_dates_pairs,
    read_tatoeba,
    split_by_source,
    translation_data,
    value_key,
)

SMALL = NumbersDatesSettings(train_size=400, validation_size=100, test_size=100)


def test_generation_is_deterministic_per_seed():
    assert numbers_dates_pairs(SMALL, "fr") == numbers_dates_pairs(SMALL, "fr")
    other_seed = NumbersDatesSettings(
        train_size=400, validation_size=100, test_size=100, data_seed=1
    )
    assert numbers_dates_pairs(other_seed, "fr") != numbers_dates_pairs(SMALL, "fr")


def test_splits_are_disjoint_by_underlying_value_and_sized_as_asked():
    splits = draw_values(SMALL)
    assert [len(split) for split in splits] == [400, 100, 100]
    keys = [{value_key(kind, value) for kind, value in split} for split in splits]
    assert sum(map(len, keys)) == 600  # no value twice, within or across splits
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    # Every kind reaches the test split, not only train.
    assert {kind for kind, _ in splits[2]} == {
        "cardinal",
        "year",
        "ordinal",
        "full_date",
        "long_date",
        "currency",
    }


def test_pairs_match_num2words_and_babel_directly():
    values = draw_values(SMALL)[0]
    pairs = numbers_dates_pairs(SMALL, "de")[0]
    checked = set()
    for (kind, value), (source, target) in zip(values, pairs, strict=True):
        if kind == "cardinal":
            assert (source, target) == (num2words(value, lang="en"), num2words(value, lang="de"))
        elif kind == "year":
            assert target == num2words(value, lang="de", to="year")
        elif kind == "ordinal":
            assert target == num2words(value, lang="de", to="ordinal")
        elif kind == "full_date":
            assert source == format_date(value, format="full", locale="en")
            assert target == format_date(value, format="full", locale="de")
        elif kind == "long_date":
            assert target == format_date(value, format="long", locale="de")
        else:
            assert target == num2words(value / 100, lang="de", to="currency", currency="EUR")
        checked.add(kind)
    assert len(checked) == 6
    # A known pair, end to end: the German reorders units before tens.
    assert num2words(97, lang="de") == "siebenundneunzig"
    assert format_date(datetime.date(2026, 11, 24), "full", locale="fr") == "mardi 24 novembre 2026"


def test_the_mix_of_kinds_follows_the_weights_exactly():
    settings = NumbersDatesSettings(
        train_size=800, validation_size=100, test_size=100, year_weight=0.3, ordinal_weight=0.2
    )
    counts = {}
    for split in draw_values(settings):
        for kind, _ in split:
            counts[kind] = counts.get(kind, 0) + 1
    weights = {kind: getattr(settings, f"{kind}_weight") for kind in counts}
    total = sum(weights.values())
    for kind, count in counts.items():
        assert abs(count - 1000 * weights[kind] / total) < 1, kind


def test_cardinals_cover_every_magnitude_up_to_max_number():
    settings = NumbersDatesSettings(
        train_size=3000,
        validation_size=10,
        test_size=10,
        **{
            f"{kind}_weight": 0.0
            for kind in ("year", "ordinal", "full_date", "long_date", "currency")
        },
    )
    numbers = [value for split in draw_values(settings) for _, value in split]
    assert max(numbers) <= 999_999 and max(numbers) >= 100_000
    assert min(numbers) < 10


def test_impossible_settings_are_data_errors():
    with pytest.raises(DataError, match="cannot draw 2020 distinct cardinal values"):
        draw_values(
            NumbersDatesSettings(
                train_size=2000,
                validation_size=10,
                test_size=10,
                max_number=10,
                year_weight=0,
                ordinal_weight=0,
                full_date_weight=0,
                long_date_weight=0,
                currency_weight=0,
            )
        )
    with pytest.raises(DataError, match="weight"):
        draw_values(
            NumbersDatesSettings(
                cardinal_weight=0,
                year_weight=0,
                ordinal_weight=0,
                full_date_weight=0,
                long_date_weight=0,
                currency_weight=0,
            )
        )


def test_vocabulary_reserves_tokens_and_comes_from_train_only():
    splits = [[("ab", "xy")], [("ab", "xy")], [("abc", "xyz")]]
    data = translation_data("t", splits, reverse_source=False)
    source_vocabulary: Vocabulary = data.facts.source_vocabulary
    assert source_vocabulary.characters == ("a", "b") and source_vocabulary.size == 6
    np.testing.assert_array_equal(data.x_test["source"], [[4, 5, UNKNOWN]])  # "c" unseen
    np.testing.assert_array_equal(data.x_train["target_in"], [[START, 4, 5]])
    np.testing.assert_array_equal(data.y_train, [[4, 5, END]])
    assert data.facts.target_vocabulary.decode([4, 5, END, 4]) == "xy"
    reversed_data = translation_data("t", splits, reverse_source=True)
    np.testing.assert_array_equal(reversed_data.x_train["source"], [[5, 4]])


def test_shorter_pairs_are_padded():
    splits = [[("a", "x"), ("aaa", "xx")], [("a", "x")], [("a", "x")]]
    data = translation_data("t", splits, reverse_source=False)
    np.testing.assert_array_equal(data.x_train["source"], [[4, PAD, PAD], [4, 4, 4]])
    np.testing.assert_array_equal(data.y_train, [[4, END, PAD], [4, 4, END]])


TATOEBA = (
    "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
    "Go.\tMarche.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\n"
    "Hi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM)\n"
    "Run!\tCours !\n"
    "Who?\tQui ?\n"
    "Wow!\tÇa alors !\n"
    "This sentence is much too long to keep.\tCette phrase est bien trop longue.\n"
)


def test_tatoeba_reads_pairs_lowercases_filters_and_limits(tmp_path):
    path = tmp_path / "fra.txt"
    path.write_text(TATOEBA, encoding="utf-8")
    assert read_tatoeba(path)[:2] == [("Go.", "Va !"), ("Go.", "Marche.")]
    settings = TatoebaSettings(path=str(path), max_length=12)
    data = load_tatoeba(settings)
    assert sum(data.facts.sizes) == 6  # the long pair is dropped
    for side in ("source_vocabulary", "target_vocabulary"):
        letters = [c for c in getattr(data.facts, side).characters if c.isalpha()]
        assert letters and all(c == c.lower() for c in letters)
    limited = load_tatoeba(TatoebaSettings(path=str(path), max_pairs=4, max_length=12))
    assert sum(limited.facts.sizes) == 4
    kept_case = load_tatoeba(TatoebaSettings(path=str(path), max_length=12, lowercase=False))
    assert "G" in kept_case.facts.source_vocabulary.characters + tuple(
        "".join(source for source, _ in kept_case.facts.test_pairs)
    )


def test_tatoeba_split_keeps_every_translation_of_a_sentence_together():
    pairs = [(f"s{i}", f"t{i}") for i in range(20)] + [("s3", "other"), ("s7", "autre")]
    splits = split_by_source(pairs, 0.2, 0.2, seed=0)
    assert sum(map(len, splits)) == len(pairs)
    where = {}
    for index, split in enumerate(splits):
        for source, _ in split:
            where.setdefault(source, set()).add(index)
    assert all(len(indices) == 1 for indices in where.values())
    assert [len({s for s, _ in split}) for split in splits] == [12, 4, 4]
    assert split_by_source(pairs, 0.2, 0.2, seed=0) == splits


def test_tatoeba_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_tatoeba(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("Go.\tVa !\nno tab on this line\nHi.\tSalut !\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt, line 2: expected 'source<TAB>target"):
        read_tatoeba(bad)
    empty_target = tmp_path / "empty.txt"
    empty_target.write_text("Go.\t\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1"):
        read_tatoeba(empty_target)
    with pytest.raises(DataError, match="'path' is required"):
        load_tatoeba(TatoebaSettings())
    mixed = tmp_path / "mixed.txt"  # UTF-8, then one line saved as Latin-1
    mixed.write_bytes(b"Go.\tVa !\n" + "Tea.\tThé.\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"mixed.txt, line 2: not UTF-8 text \(byte 0xe9 at column 8\)"
    ):
        read_tatoeba(mixed)


@pytest.mark.parametrize("sources", [1, 2])
def test_a_tatoeba_file_with_too_few_distinct_sources_is_a_config_error(
    sources, tmp_path, tiny_suite, capsys
):
    path = tmp_path / "pairs.txt"
    path.write_text("".join(f"S{i % sources}.\tT{i}.\n" for i in range(6)), encoding="utf-8")
    suite = tiny_suite(datasets=f'[datasets.few]\ndataset = "tatoeba"\npath = "{path}"\n')
    assert main(["run", str(suite), "--tracking-uri", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    error = capsys.readouterr().err.strip()
    assert f"only {sources} distinct source sentences: too few for three splits" in error
    assert "\n" not in error and not (tmp_path / "s.db").exists()


TSV_CELLS = st.one_of(
    st.text(max_size=30), st.sampled_from(["", "\t", " ", "\x00", "\ufeff", "\u2028", "Go."])
)


@fuzz
@budget(150)
@given(content=fuzz_files(TATOEBA, TSV_CELLS))
def test_fuzz_a_tatoeba_file_loads_or_raises_a_data_error(content):
    def read(path):
        return load_tatoeba(TatoebaSettings(path=str(path), max_length=40))

    data, error = outcome(content, "pairs.tsv", read, DataError)
    if error is None:
        data.check()
    else:
        assert error.startswith("PATH")  # every Tatoeba error names the file
