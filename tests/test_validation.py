"""Typed settings from TOML tables: the range helpers and the one validator."""

import math
from dataclasses import dataclass, field

import pytest

from gru_keras.errors import ConfigError
from gru_keras.validation import SEED, between, build_dataclass, one_of


@dataclass(frozen=True)
class Settings:
    size: int = field(default=8, metadata=between(8, 100))
    rate: float = field(default=0.5, metadata=between(0.0, 1.0))
    kind: str = field(default="a", metadata=one_of(("a", "b")))
    seed: int = field(default=0, metadata=SEED)
    sizes: tuple[int, ...] = field(default=(8,), metadata={"nonempty": True, "unique": True})


def test_a_valid_table_builds_the_dataclass_with_its_types():
    built = build_dataclass(Settings, {"size": 9, "rate": 1, "kind": "b", "sizes": [8, 9]}, "t")
    assert built == Settings(size=9, rate=1.0, kind="b", sizes=(8, 9))
    assert isinstance(built.rate, float)


@pytest.mark.parametrize(
    "table, message",
    [
        ({"size": 7}, "'t.size' = 7 is out of range [8, 100]"),
        ({"seed": 2**31}, "'t.seed' = 2147483648 is out of range [0, 2147483647]"),
        ({"kind": "c"}, "'t.kind' = 'c' is not valid; valid choices: a, b"),
        ({"rate": math.nan}, "'t.rate' must be a number (finite), got nan"),
        ({"size": True}, "'t.size' must be an integer, got True"),
        ({"sizes": []}, "'t.sizes' must not be empty"),
        ({"sizes": [8, 8]}, "'t.sizes' lists 8 twice; each value may appear once"),
        ({"sise": 9}, "unknown key 't.sise'; valid keys: kind, rate, seed, size, sizes"),
        ([1], "t must be a table, got [1]"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_key_and_what_is_valid(table, message):
    with pytest.raises(ConfigError) as error:
        build_dataclass(Settings, table, "t")
    assert str(error.value) == message
