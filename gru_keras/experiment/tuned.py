"""The tuned settings file: what `tune` chose, versioned like code, included by a suite.

    # Tuned by `python -m gru_keras tune experiments/suite.toml` at commit 1a2b3c4, ...
    [tuned.sunspots-monthly.lstm]
    # best validation loss 0.0123 of 8 trials (trial 5)
    learning_rate = 0.0061

A suite includes it with `[suite] tuned = "tuned/suite.toml"` (a path relative to the suite
file). Its values win over `[training]` and `[datasets.X.training]`, for that dataset and
model only (`gru_keras.experiment.config.apply_tuned`).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gru_keras.errors import ConfigError


def read_tuned(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """`{dataset: {model: {training key: value}}}` from a tuned settings file; its values are
    checked where they are applied.

    Raises:
        ConfigError: a missing or malformed file, or one that is not `[tuned.D.M]` tables.
    """
    if not path.is_file():
        raise ConfigError(
            f"'suite.tuned' = {str(path)!r}: no such file; `python -m gru_keras tune` writes it"
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        raise ConfigError(
            f"'suite.tuned' = {str(path)!r}: not a readable TOML file: {error}"
        ) from None
    unknown = sorted(set(document) - {"tuned"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key '{unknown[0]}'; valid keys: tuned")
    tuned = document.get("tuned", {})
    if not isinstance(tuned, dict):
        raise ConfigError(f"{path}: 'tuned' must hold [tuned.DATASET.MODEL] tables")
    for dataset, models in tuned.items():
        if not isinstance(models, dict) or not all(isinstance(v, dict) for v in models.values()):
            raise ConfigError(
                f"{path}: 'tuned.{dataset}' must hold [tuned.{dataset}.MODEL] tables of "
                "[training] keys"
            )
    return tuned


def tuned_note(path: Path) -> str:
    """A tuned settings file's provenance in one line: its path and the header's budget and
    commit (`render_tuned` writes them), for the runs that train at its values."""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("# ").strip())
    text = " ".join(header)
    commit = text.split(" at commit ", 1)[1].split(".")[0] if " at commit " in text else "?"
    budget = (
        text.split("Budget: ", 1)[1].split(";")[0] if "Budget: " in text else "budget not stated"
    )
    return f"{path.as_posix()} ({budget}; tuned at commit {commit})"


@dataclass(frozen=True)
class Choice:
    """One dataset and model's chosen setting and where it came from."""

    dataset: str
    model: str
    values: dict[str, Any]
    objective: float
    trial: int
    trials: int


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(float(f"{value:.4g}")) if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def render_tuned(choices: list[Choice], provenance: list[str]) -> str:
    """The settings file's text: the provenance as comments, then one table per choice.
    Floats keep 4 significant digits: the search cannot tell closer values apart."""
    lines = [f"# {line}" for line in provenance]
    for choice in choices:
        lines += [
            "",
            f"[tuned.{choice.dataset}.{choice.model}]",
            f"# best validation loss {choice.objective:.5g} of {choice.trials} trials "
            f"(trial {choice.trial})",
            *(f"{key} = {_toml_value(value)}" for key, value in sorted(choice.values.items())),
        ]
    return "\n".join(lines) + "\n"


def tuned_path(suite_path: Path) -> Path:
    """Where `tune` writes a suite's settings: `tuned/<suite file stem>.toml` beside it."""
    return suite_path.parent / "tuned" / f"{suite_path.stem}.toml"
