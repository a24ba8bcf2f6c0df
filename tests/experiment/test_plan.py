"""The plan: the runs a suite defines, and the one dataset cache (memory and disk)."""

import dataclasses
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from gru_keras.errors import ConfigError
from gru_keras.experiment.cache import DatasetCache, write_arrays
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.plan import expand, expected_runs, parse_only, select
from gru_keras.families.base import DataError, to_arrays

# One dataset of every family, tiny; each has facts of a different shape (vocabularies and
# pairs, arrays of the series, nested tuples of digits and voices).
EVERY_FAMILY = """
[datasets.adding-short]
dataset = "adding"
sequence_length = 8
train_size = 16
validation_size = 8
test_size = 8

[datasets.sunspots-monthly]
stride = 8

[datasets.numbers-dates-de]
train_size = 40
validation_size = 10
test_size = 10

[datasets.spoken-digits]
train_size = 12
validation_size = 8
test_size = 8
max_digits = 2
"""


def same_data(first, second) -> bool:
    """Every array and every fact equal (the facts compared as arrays and JSON)."""
    left, right = to_arrays(first), to_arrays(second)
    return left.keys() == right.keys() and all(
        np.array_equal(left[key], right[key]) for key in left
    )


def test_every_family_reads_back_from_disk_exactly_what_it_wrote(tmp_path, tiny_suite):
    suite = load_suite(tiny_suite(datasets=EVERY_FAMILY))
    written = DatasetCache(tmp_path / "cache")
    for dataset in suite.datasets:
        data = written.get(dataset)
        assert written.get(dataset) is data  # memory: loaded once per process
        path = written.path(dataset)
        assert path.is_file() and path.name.startswith(f"{dataset.key}-")
        with np.load(path, allow_pickle=False) as stored:  # arrays and JSON, no pickles
            assert all(stored[name].dtype != object for name in stored.files)
        read = DatasetCache(tmp_path / "cache").get(dataset)
        assert read is not data and same_data(read, data), dataset.key
        assert read.digest() == data.digest() and read.input_dim == data.input_dim
        assert type(read.facts) is type(data.facts)


def test_a_corrupted_or_foreign_cache_file_is_rebuilt(tmp_path, tiny_suite, capsys):
    suite = load_suite(tiny_suite())
    (dataset,) = suite.datasets
    first = DatasetCache(tmp_path).get(dataset)
    path = DatasetCache(tmp_path).path(dataset)
    for damage in (path.read_bytes()[: path.stat().st_size // 2], b"not an npz file"):
        path.write_bytes(damage)
        rebuilt = DatasetCache(tmp_path).get(dataset)
        assert rebuilt.digest() == first.digest()
        assert "unreadable; rebuilding it" in capsys.readouterr().err
        assert DatasetCache(tmp_path).get(dataset).digest() == first.digest()
        assert capsys.readouterr().err == ""  # the rebuilt file reads back


def test_the_cache_key_covers_the_data_settings_but_not_the_model_options(tmp_path, tiny_suite):
    plain = load_suite(tiny_suite("plain", datasets="[datasets.numbers-dates-fr]\n"))
    options = load_suite(
        tiny_suite(
            "options",
            datasets="[datasets.numbers-dates-fr]\n[datasets.numbers-dates-fr.model]\n"
            'attention = "luong"\nbeam_width = 3\n',
        )
    )
    resized = load_suite(
        tiny_suite("resized", datasets="[datasets.numbers-dates-fr]\ntrain_size = 500\n")
    )
    key = DatasetCache.key
    assert options.datasets[0].model != plain.datasets[0].model
    assert key(options.datasets[0]) == key(plain.datasets[0])
    assert key(resized.datasets[0]) != key(plain.datasets[0])


def test_expand_lists_every_run_and_the_baselines_once(tiny_suite):
    suite = load_suite(
        tiny_suite(seeds=(0, 1), datasets=EVERY_FAMILY.split("[datasets.numbers")[0])
    )
    names = [spec.name for spec in expand(suite)]
    assert names[:4] == [
        "adding-short__custom_gru__0",
        "adding-short__custom_gru__1",
        "adding-short__simple_rnn__0",
        "adding-short__simple_rnn__1",
    ]
    assert [n for n in names if n.startswith("sunspots")][-3:] == [
        "sunspots-monthly__naive__0",
        "sunspots-monthly__seasonal_naive__0",
        "sunspots-monthly__ets__0",
    ]
    expected = expected_runs(suite)
    assert expected[0] == ("adding-short", "probes", "last_step_regression", "custom_gru", 0)
    assert len(expected) == len(names) == 4 + 4 + 3


def test_facts_are_frozen_typed_dataclasses(tiny_suite):
    suite = load_suite(tiny_suite())
    data = DatasetCache(None).get(suite.datasets[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.facts.sequence_length = 3


class _Payload:
    """Unpickling this runs a shell command that leaves a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_is_never_executed_and_the_file_is_rebuilt(tmp_path, tiny_suite, capsys):
    (dataset,) = load_suite(tiny_suite()).datasets
    clean = DatasetCache(tmp_path / "clean").get(dataset)
    marker = tmp_path / "pwned"
    path = DatasetCache(tmp_path).path(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    plants = {
        "a bare pickle": lambda: path.write_bytes(pickle.dumps(_Payload(marker))),
        "a pickled object array inside the npz": lambda: np.savez(
            path, x_train=np.array([_Payload(marker)], dtype=object)
        ),
    }
    for plant in plants.values():
        plant()
        assert path.is_file()
        data = DatasetCache(tmp_path).get(dataset)
        assert not marker.exists()  # the payload never ran
        assert data.digest() == clean.digest()
        assert "unreadable; rebuilding it" in capsys.readouterr().err


def test_a_cached_file_with_non_finite_or_ragged_arrays_is_rebuilt(tmp_path, tiny_suite, capsys):
    (dataset,) = load_suite(tiny_suite()).datasets
    cache = DatasetCache(tmp_path)
    clean = cache.get(dataset)
    path = cache.path(dataset)
    arrays = to_arrays(clean)
    for name, damaged in (
        ("x_train", np.where(arrays["x_train"] > 0.5, np.inf, arrays["x_train"])),
        ("y_test", arrays["y_test"][:-1]),  # one target short of the inputs
    ):
        write_arrays(path, {**arrays, name: damaged})
        assert DatasetCache(tmp_path).get(dataset).digest() == clean.digest()
        assert "unreadable; rebuilding it" in capsys.readouterr().err


def test_a_loader_giving_non_finite_data_is_a_data_error(tmp_path, tiny_suite):
    (dataset,) = load_suite(tiny_suite()).datasets
    data = DatasetCache(None).get(dataset)
    data.x_val[0, 0, 0] = np.nan
    with pytest.raises(DataError, match=r"x_val holds a non-finite value at index \(0, 0, 0\)"):
        data.check()


def test_leftover_partials_of_dead_writers_are_removed_and_a_directory_is_refused(
    tmp_path, tiny_suite
):
    (dataset,) = load_suite(tiny_suite()).datasets
    cache = DatasetCache(tmp_path)
    path = cache.path(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dead = path.parent / f"{path.name}.{gone}.abc123.partial"
    live = path.parent / f"{path.name}.{os.getpid()}.def456.partial"
    legacy = path.parent / "tmpq1w2e3.partial"  # written before writers named themselves
    for partial in (dead, live, legacy):
        partial.write_bytes(b"half")
    cache.get(dataset)
    assert not dead.exists() and not legacy.exists() and live.exists()

    other = load_suite(tiny_suite("other", length=12)).datasets[0]
    DatasetCache(tmp_path).path(other).mkdir()
    with pytest.raises(DataError, match="is not a file: remove it"):
        DatasetCache(tmp_path).get(other)


def test_only_selects_runs_matching_every_filter(tiny_suite):
    suite = load_suite(tiny_suite(seeds=(0, 1, 2)))
    specs = expand(suite)
    only = parse_only(["model=simple_rnn", "seed=0,2"], suite)
    assert only == {"model": ("simple_rnn",), "seed": ("0", "2")}
    assert [spec.name for spec in select(specs, only)] == [
        "adding-short__simple_rnn__0",
        "adding-short__simple_rnn__2",
    ]
    assert select(specs, parse_only([], suite)) == specs
    assert len(select(specs, parse_only(["dataset=adding-short"], suite))) == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed=7", "--only seed='7' is not in suite 'tiny'; valid choices: 0"),
        ("colour=red", "valid keys: dataset, model, seed"),
        ("model", "is not KEY=VALUE"),
        ("dataset=nope", "valid choices: adding-short"),
    ],
)
def test_only_names_the_bad_filter_and_the_choices(text, message, tiny_suite):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        parse_only([text], load_suite(tiny_suite()))
