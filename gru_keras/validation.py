"""Typed settings from TOML tables: the range metadata of a dataclass field, and the one
validator that checks a table against a dataclass (keys, types, ranges, choices).

A leaf module: the suite config (`gru_keras.experiment.config`) and every family's
settings and model options use it, so a range is written once (`SEED`, `SIZE`,
`between(1, 64)`) and every bad value gets the same one-line `ConfigError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from typing import Any

from gru_keras.errors import ConfigError


def between(minimum: float | None = None, maximum: float | None = None) -> dict[str, Any]:
    """A field's metadata for a number in `[minimum, maximum]` (None: unbounded)."""
    return {"min": minimum, "max": maximum}


def one_of(choices: tuple[Any, ...]) -> dict[str, Any]:
    """A field's metadata for a value from `choices`."""
    return {"choices": tuple(choices)}


SEED = between(0, 2**31 - 1)  # a NumPy / TensorFlow seed
SIZE = between(8, 1_000_000)  # examples in a generated split
BUDGET = between(16, 100_000_000)  # recurrent-core parameters
PATH = {"path": True}  # a file path, resolved next to the suite file that names it

# How a field of a run's training or model options enters its config hash
# (`gru_keras.experiment.identity`); every such field declares one, and a test says so.
IDENTITY = "identity"
HASHED = {IDENTITY: "hashed"}  # always: a field the hash has held since it first existed
EXECUTION = {IDENTITY: "execution"}  # never: how a run executes, not what it computes


def added_later(neutral: Any) -> dict[str, Any]:
    """A field's metadata for an option added after runs were logged without it: at
    `neutral` (the behaviour before it existed) it is left out of the hash, so those runs
    keep theirs and are not run again."""
    return {IDENTITY: ("added_later", neutral)}


def hashed_fields(options: Any) -> dict[str, Any]:
    """The fields of a training or model-options dataclass that enter a run's config hash:
    every field but the `EXECUTION` ones and the `added_later` ones at their neutral value.

    Raises:
        TypeError: a field that declares no `IDENTITY`; the hash cannot decide for it.
    """
    kept = {}
    for item in dataclasses.fields(options):
        rule = item.metadata.get(IDENTITY)
        value = getattr(options, item.name)
        if rule is None:
            raise TypeError(
                f"{type(options).__name__}.{item.name} declares no identity: give its field "
                "metadata HASHED, EXECUTION or added_later(neutral) (gru_keras.validation)"
            )
        if rule == EXECUTION[IDENTITY] or (isinstance(rule, tuple) and value == rule[1]):
            continue
        kept[item.name] = value
    return kept


def path_fields(settings: Any) -> dict[str, str]:
    """The `PATH` fields of a settings dataclass that are set, by field name."""
    return {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if f.metadata.get("path") and getattr(settings, f.name)
    }


def _type_name(kind: Any) -> str:
    if isinstance(kind, types.UnionType):
        return " or ".join(_type_name(member) for member in typing.get_args(kind))
    origin = typing.get_origin(kind)
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(kind)[0])[2:]}s"
    return {int: "an integer", float: "a number", str: "a string", bool: "a boolean"}.get(
        kind, str(kind)
    )


def _toml(value: Any, quote: bool = True) -> str:
    """A value as a TOML file spells it (`true`, not `True`)."""
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if quote else str(value)


_SCALAR_CHECKS = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    str: lambda value: isinstance(value, str),
}


def _check_scalar(value: Any, kind: Any) -> Any:
    """The value converted to `kind`, or raise TypeError (NaN and infinities included: a
    range check cannot catch NaN, which every comparison lets through)."""
    if isinstance(kind, types.UnionType):  # `str | bool`: the first member it is
        for member in typing.get_args(kind):
            with contextlib.suppress(TypeError):
                return _check_scalar(value, member)
        raise TypeError
    if not _SCALAR_CHECKS[kind](value):
        raise TypeError
    if kind is float and not math.isfinite(value):
        raise TypeError
    return float(value) if kind is float else value


def check_value(value: Any, kind: Any, meta: dict, where: str) -> Any:
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be {_type_name(kind)}, got {value!r}")
        if meta.get("nonempty") and not value:
            raise ConfigError(f"{where} must not be empty")
        item_kind = typing.get_args(kind)[0]
        items = tuple(check_value(item, item_kind, meta, where) for item in value)
        repeated = sorted({item for item in items if items.count(item) > 1}, key=str)
        if meta.get("unique") and repeated:
            raise ConfigError(f"{where} lists {repeated[0]!r} twice; each value may appear once")
        return items
    try:
        value = _check_scalar(value, kind)
    except TypeError:
        finite = " (finite)" if kind is float else ""
        raise ConfigError(f"{where} must be {_type_name(kind)}{finite}, got {value!r}") from None
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(
            f"{where} = {_toml(value)} is not valid; valid choices: "
            + ", ".join(_toml(choice, quote=False) for choice in choices)
        )
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{where} = {value!r} is out of range [{low}, {high}]")
    return value


def build_dataclass(cls: type, table: Any, where: str) -> Any:
    """Instantiate dataclass `cls` from a TOML table, checking keys, types and ranges."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key '{where}.{unknown[0]}'; valid keys: {', '.join(sorted(fields)) or '(none)'}"
        )
    values = {
        name: check_value(
            table[name], hints[name], dict(fields[name].metadata), f"'{where}.{name}'"
        )
        for name in fields
        if name in table
    }
    return cls(**values)
