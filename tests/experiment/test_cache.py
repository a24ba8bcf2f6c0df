"""The dataset cache's files are hostile until read: whatever lies at a cache path, a get
returns the dataset as a fresh build makes it, and leaves a good file behind."""

import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzz import budget, fuzz
from hypothesis import given
from hypothesis import strategies as st

from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import load_suite
from gru_keras.families.base import to_arrays

SUITE = """
[suite]
name = "cache"
models = ["lstm"]
[datasets.adding]
dataset = "adding"
sequence_length = 8
train_size = 32
validation_size = 16
test_size = 16
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "cache.toml"
    path.write_text(SUITE)
    (dataset,) = load_suite(path).datasets
    return dataset


@pytest.fixture(scope="module")
def fresh(dataset, tmp_path_factory):
    """The arrays of a fresh build, and the bytes of the file the cache writes for it."""
    cache = DatasetCache(tmp_path_factory.mktemp("cache"))
    arrays = to_arrays(cache.get(dataset))
    return arrays, cache.path(dataset).read_bytes()


def same(arrays, expected):
    assert arrays.keys() == expected.keys()
    for name, array in expected.items():
        np.testing.assert_array_equal(arrays[name], array, err_msg=name)


# A good file cut short, with bytes overwritten, or with bytes spliced in; or any bytes at all.
edits = st.one_of(
    st.tuples(st.just("cut"), st.floats(0, 1), st.binary(max_size=0)),
    st.tuples(st.just("overwrite"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("splice"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("replace"), st.just(0.0), st.binary(max_size=400)),
)


@fuzz
@budget(60)
@given(edit=edits)
def test_fuzz_a_cache_file_is_read_or_rebuilt_never_misread(dataset, fresh, edit):
    expected, good = fresh
    kind, where, payload = edit
    at = int(where * len(good))
    content = {
        "cut": good[:at],
        "overwrite": good[:at] + payload + good[at + len(payload) :],
        "splice": good[:at] + payload + good[at:],
        "replace": payload,
    }[kind]
    with tempfile.TemporaryDirectory() as directory:
        cache = DatasetCache(Path(directory))
        path = cache.path(dataset)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        same(to_arrays(cache.get(dataset)), expected)
        # Either the file was fine, or it was rebuilt: a new cache reads it back whole.
        same(to_arrays(DatasetCache(Path(directory)).get(dataset)), expected)
