"""Names that become paths and MLflow filter strings: suite names, dataset keys, experiment
names. One pattern for all of them, and the only way a path is built from one."""

from __future__ import annotations

import re
from pathlib import Path

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit"


def check_name(value: object, what: str) -> str:
    """`value` if it is a safe name; ValueError saying what it names and the rule otherwise.

    Example:
    >>> check_name("adding-T100", "dataset key")
    'adding-T100'
    """
    if not isinstance(value, str) or NAME_PATTERN.fullmatch(value) is None:
        raise ValueError(f"{what} {value!r} is not a valid name: use only {NAME_RULE}")
    return value


def inside(folder: Path, file_name: str) -> Path:
    """`folder / file_name`, refused (ValueError) unless it resolves inside `folder`: a name
    never climbs out of the folder it is meant for, whatever it holds."""
    path = folder / file_name
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"{file_name!r} would be written outside {folder}")
    return path


def quoted(value: str) -> str:
    """`value` as a string literal of an MLflow filter (`attributes.run_name = 'x'`)."""
    for quote in ("'", '"'):
        if quote not in value:
            return f"{quote}{value}{quote}"
    raise ValueError(f"{value!r} holds both quote characters; it cannot be used in a filter")
