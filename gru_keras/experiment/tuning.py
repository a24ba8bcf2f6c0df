"""A suite's `[tuning]` table: the search every variant gets, the same for each.

    [tuning]
    trials = 8                     # per dataset and variant; every variant gets the same
    sampler = "latin-hypercube"    # or "random", "tpe", "grid" (grid: every parameter lists values)
    pruner = "successive-halving"  # or "none"
    reduction_factor = 3           # the pruner's rungs, in epochs: min_epochs x factor^k
    min_epochs = 3
    seed = 0                       # the sampler's seed
    trial_seed = 100               # every trial's training seed; not one of [suite] seeds

    [tuning.space.learning_rate]   # any [training] key
    low = 1e-4
    high = 3e-2
    log = true                     # floats: low, high, log (or step); ints: step; or values

`python -m gru_keras tune` (`gru_keras.tuning`) runs it. Every problem is a `ConfigError`
naming the key and the valid choices, raised when the suite file is read.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from gru_keras.errors import ConfigError
from gru_keras.experiment.training_config import TrainingConfig
from gru_keras.validation import SEED, between, build_dataclass, check_value, one_of

SAMPLERS = ("latin-hypercube", "random", "tpe", "grid")
PRUNERS = ("successive-halving", "none")
# Training keys that say how a run executes, not what it learns: nothing to tune.
UNTUNABLE = ("jit_compile", "diagnostics")


@dataclass(frozen=True)
class Parameter:
    """One tuned `[training]` key: a range (`low`, `high`, on a log scale or in `step`s) or
    a list of `values`."""

    name: str
    kind: type
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    values: tuple[Any, ...] = ()

    def describe(self) -> str:
        """`learning_rate in [0.0001, 0.03] (log)` or `batch_size in {32, 64}`."""
        if self.values:
            return f"{self.name} in {{{', '.join(map(str, self.values))}}}"
        scale = " (log)" if self.log else (f" (step {self.step:g})" if self.step else "")
        return f"{self.name} in [{self.low:g}, {self.high:g}]{scale}"


@dataclass(frozen=True)
class TuningConfig:
    """The validated `[tuning]` table.

    Attributes:
        trials: Trials per dataset and variant.
        sampler: One of `SAMPLERS`: "latin-hypercube" cuts each parameter's range into
            `trials` equal strata (log strata on a log scale) and puts one trial in each;
            "random" draws each trial independently; both are drawn from `seed` alone,
            before any result, so every variant gets the same candidates.
        pruner: One of `PRUNERS`.
        reduction_factor: Successive halving keeps the best 1/factor of the trials at each
            rung.
        min_epochs: The first rung, in epochs; rung k is at min_epochs x factor^k.
        seed: The sampler's seed (the same for every variant, so that a random search
            draws the same candidate settings for each).
        trial_seed: The training seed of every trial, never one of the suite's seeds.
        space: The tuned parameters.
    """

    trials: int = field(default=8, metadata=between(1, 10_000))
    sampler: str = field(default="latin-hypercube", metadata=one_of(SAMPLERS))
    pruner: str = field(default="successive-halving", metadata=one_of(PRUNERS))
    reduction_factor: int = field(default=3, metadata=between(2, 100))
    min_epochs: int = field(default=3, metadata=between(1, 10_000))
    seed: int = field(default=0, metadata=SEED)
    trial_seed: int = field(default=100, metadata=SEED)
    space: tuple[Parameter, ...] = field(default=(), metadata={})

    def rungs(self, max_epochs: int) -> tuple[int, ...]:
        """The epochs at which successive halving compares trials, below `max_epochs`."""
        if self.pruner == "none":
            return ()
        rungs, epochs = [], self.min_epochs
        while epochs < max_epochs:
            rungs.append(epochs)
            epochs *= self.reduction_factor
        return tuple(rungs)

    def names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.space)


def _training_fields() -> dict[str, dataclasses.Field]:
    return {item.name: item for item in dataclasses.fields(TrainingConfig)}


def parse_parameter(name: str, table: Any) -> Parameter:
    """One `[tuning.space.NAME]` table, checked against the `[training]` key it tunes."""

    where = f"'tuning.space.{name}'"
    fields = _training_fields()
    tunable = sorted(set(fields) - set(UNTUNABLE))
    if name not in tunable:
        raise ConfigError(
            f"{where}: {name!r} is not a [training] key that can be tuned; valid choices: "
            + ", ".join(tunable)
        )
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table (low, high, log, step; or values)")
    unknown = sorted(set(table) - {"low", "high", "log", "step", "values"})
    if unknown:
        raise ConfigError(
            f"unknown key '{where[1:-1]}.{unknown[0]}'; valid keys: high, log, low, step, values"
        )
    kind = typing.get_type_hints(TrainingConfig)[name]
    meta = dict(fields[name].metadata)
    if "values" in table:
        if set(table) - {"values"}:
            raise ConfigError(f"{where}: give either values or low and high, not both")
        values = check_value(
            table["values"], tuple[kind, ...], {**meta, "nonempty": True, "unique": True}, where
        )
        return Parameter(name, kind, values=values)
    if kind not in (int, float):
        raise ConfigError(f"{where}: {name} is not a number; list its choices as values = [...]")
    missing = [key for key in ("low", "high") if key not in table]
    if missing:
        raise ConfigError(f"{where}: {missing[0]} is missing (or give values = [...])")
    low = check_value(table["low"], kind, meta, f"'tuning.space.{name}.low'")
    high = check_value(table["high"], kind, meta, f"'tuning.space.{name}.high'")
    if low >= high:
        raise ConfigError(f"{where}: low = {low!r} must be below high = {high!r}")
    log = check_value(table.get("log", False), bool, {}, f"'tuning.space.{name}.log'")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got low = {low!r}")
    step = None
    if "step" in table:
        step = check_value(table["step"], kind, between(0, None), f"'tuning.space.{name}.step'")
        if step <= 0 or log:
            raise ConfigError(f"{where}: step must be positive and cannot go with log = true")
    elif kind is int:
        step = 1
    return Parameter(name, kind, low, high, log, step)


def parse_tuning(table: Any, seeds: tuple[int, ...]) -> TuningConfig:
    """The `[tuning]` table, checked; `seeds` are the suite's, which `trial_seed` avoids."""
    if not isinstance(table, dict):
        raise ConfigError(f"'tuning' must be a table, got {table!r}")
    table = dict(table)
    space = table.pop("space", None)
    config = build_dataclass(TuningConfig, table, "tuning")
    if not isinstance(space, dict) or not space:
        raise ConfigError(
            "'tuning.space' is empty: add at least one [tuning.space.KEY] table of a "
            "[training] key, e.g. [tuning.space.learning_rate] low = 1e-4, high = 3e-2, log = true"
        )
    parameters = tuple(parse_parameter(name, value) for name, value in space.items())
    if config.trial_seed in seeds:
        raise ConfigError(
            f"'tuning.trial_seed' = {config.trial_seed} is one of [suite] seeds "
            f"({', '.join(map(str, seeds))}): a setting chosen on a seed would be judged on "
            "it; pick a seed the suite never uses"
        )
    if config.sampler == "grid":
        ranged = [parameter.name for parameter in parameters if not parameter.values]
        if ranged:
            raise ConfigError(
                f"'tuning.space.{ranged[0]}': the grid sampler tries listed values; give "
                'values = [...] (or sampler = "random")'
            )
    return dataclasses.replace(config, space=parameters)
