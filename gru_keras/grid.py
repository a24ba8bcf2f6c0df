"""The decision map's grid: the axes a map suite's datasets expand from, and how its cells
are judged (pairs, margins, stages, the error rate of each stage).

A leaf: the suite config expands a `[map]` table into ordinary datasets with it, and the
analysis reads the same `MapSpec` to judge the cells, so neither needs the other.

A map file is a suite file with a `[map]` table instead of `[datasets]`::

    [map]
    updates = 2000            # every run trains 2,000 updates (0: to convergence instead)
    evaluations = 20          # ... in 20 "epochs" of 100 updates, each validated
    seeds = [3, 6]            # seeds a cell has after stage 1, then after stage 2
    alpha = [0.03, 0.02]      # the family-wise error rate spent at each stage
    pairs = [["custom_gru", "lstm"], ["custom_gru", "simple_rnn"]]

    [map.strip]               # keras_gru against custom_gru on one row of cells
    task = "adding"
    model = "keras_gru"
    against = "custom_gru"
    margin = 0.02
    where = { train_size = 4000, parameter_budget = 4000 }

    [map.tasks.adding]
    dataset = "adding"
    prediction = "bai-2018"   # the literature prediction it tests (optional)
    metrics = ["r2"]          # test metrics judged; the first is the headline
    margin = 0.05             # equivalence margin, in the metric's units
    target = 0.9              # time to reach it (on the validation curve), and solve rate
    [map.tasks.adding.axes]   # one of each role: a dependency length, data, parameters
    sequence_length = [25, 50, 100]
    train_size = [500, 4000]
    parameter_budget = [1000, 4000]
    [map.tasks.adding.settings]   # fixed settings of every cell's dataset
    validation_size = 256
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from typing import Any

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.validation import between, build_dataclass, check_value

# The three roles of a map's axes. A dependency length is named by the dataset's own key.
LENGTH_AXES = ("sequence_length", "delay", "max_n")
SIZE_AXIS, BUDGET_AXIS = "train_size", "parameter_budget"
# How an axis is written in a cell's dataset key: `adding-T100-n4000-p1000`.
ABBREVIATIONS = {
    "sequence_length": "T",
    "delay": "T",
    "max_n": "N",
    SIZE_AXIS: "n",
    BUDGET_AXIS: "p",
}
MAX_SEEDS = 8  # seeds a cell may reach over all stages
MAX_STAGES = 3  # the first stage and at most 2 that add seeds
FAMILY_ALPHA = 0.05  # the stages' error rates add up to at most this

UPDATES, CONVERGED = "updates", "converged"
# Literature predictions a task of a map can test (`prediction = ...`); the findings page says
# whether each held (gru_keras.analysis.map_findings). Weiss et al. 2018: an LSTM counts beyond
# its training lengths and a GRU does not (judged on the task's last metric, the long test).
# Bai et al. 2018: gated cells solve the adding problem at long T, a tanh RNN does not.
WEISS_2018, BAI_2018 = "weiss-2018", "bai-2018"
PREDICTIONS = (WEISS_2018, BAI_2018)


@dataclass(frozen=True)
class MapTask:
    """One task of a map: a dataset expanded over three axes.

    Attributes:
        name: The task's key in the map (`[map.tasks.NAME]`), the first part of its cells' keys.
        dataset: The dataset registry name its cells load.
        axes: `(key, values)` for the length, training-size and budget axes, in that order.
        metrics: The test metrics judged (without `test/`); the first is the headline.
        margin: The equivalence margin, in the metrics' units.
        target: The headline's value that counts as solved: the time to reach it on the
            validation curve, and the solve rate.
        settings, training, model: Fixed tables every cell's dataset gets.
        higher_is_better: The metrics' direction.
        prediction: The literature prediction it tests (one of `PREDICTIONS`), or "".
    """

    name: str
    dataset: str
    axes: tuple[tuple[str, tuple[int, ...]], ...]
    metrics: tuple[str, ...]
    margin: float
    target: float
    settings: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = True
    prediction: str = ""

    @property
    def length_axis(self) -> str:
        return self.axes[0][0]


@dataclass(frozen=True)
class Cell:
    """One point of a task's grid: its dataset key and its axis values."""

    task: str
    key: str
    values: tuple[tuple[str, int], ...]

    def value(self, axis: str) -> int:
        return dict(self.values)[axis]


@dataclass(frozen=True)
class Strip:
    """Two models compared for equivalence along one row of a task's cells.

    Attributes:
        task: The task whose cells it runs on.
        model: The model added on those cells (keras_gru).
        against: The model it is compared with (custom_gru).
        margin: The equivalence margin.
        where: The axes held fixed (the others vary along the strip).
    """

    task: str
    model: str
    against: str
    margin: float
    where: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class MapSpec:
    """How a map's cells are run and judged.

    Attributes:
        tasks: Its tasks.
        pairs: `(first, second)` models compared on every cell, from the first's side.
        seeds: Seeds a cell has after each stage (the first stage runs every cell; each later
            stage adds seeds to the cells still undecided).
        alphas: The family-wise error rate spent at each stage (Holm within a stage; the
            stages add up, so the whole procedure keeps their sum).
        updates: Training updates of every run (0: each run trains to convergence).
        evaluations: Validation points over those updates (the epochs of a run).
        strip: The equivalence strip, or None.
    """

    tasks: tuple[MapTask, ...]
    pairs: tuple[tuple[str, str], ...]
    seeds: tuple[int, ...]
    alphas: tuple[float, ...]
    updates: int = 0
    evaluations: int = 20
    strip: Strip | None = None

    @property
    def rule(self) -> str:
        return UPDATES if self.updates else CONVERGED

    @property
    def models(self) -> tuple[str, ...]:
        """The models of the pairs, in order of first appearance (the strip's model aside)."""
        return tuple(dict.fromkeys(model for pair in self.pairs for model in pair))

    def task(self, name: str) -> MapTask:
        return next(task for task in self.tasks if task.name == name)

    def cells(self, task: str | None = None) -> list[Cell]:
        """Every cell, task by task, length fastest... in the axes' order."""
        found = []
        for spec in self.tasks:
            if task is not None and spec.name != task:
                continue
            keys = [key for key, _ in spec.axes]
            for combination in itertools.product(*(values for _, values in spec.axes)):
                values = tuple(zip(keys, combination, strict=True))
                found.append(Cell(spec.name, cell_key(spec.name, values), values))
        return found

    def strip_cells(self) -> list[Cell]:
        """The cells of the equivalence strip (none without a strip)."""
        if self.strip is None:
            return []
        fixed = dict(self.strip.where)
        return [
            cell
            for cell in self.cells(self.strip.task)
            if all(cell.value(axis) == value for axis, value in fixed.items())
        ]

    def steps_per_epoch(self) -> int:
        """Updates per evaluation under the fixed-updates rule (0 under convergence)."""
        return math.ceil(self.updates / self.evaluations) if self.updates else 0


def cell_key(task: str, values: tuple[tuple[str, int], ...]) -> str:
    """A cell's dataset key: the task and each axis value, e.g. `adding-T100-n4000-p1000`."""
    return "-".join([task, *(f"{ABBREVIATIONS.get(key, key)}{value}" for key, value in values)])


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MapTable:
    updates: int = field(default=0, metadata=between(0, 10_000_000))
    evaluations: int = field(default=20, metadata=between(1, 10_000))
    seeds: tuple[int, ...] = field(default=(3,), metadata={"nonempty": True, **between(2, 64)})
    alpha: tuple[float, ...] = field(default=(0.05,), metadata={"nonempty": True, **between(1e-6, 1.0)})  # fmt: skip
    pairs: tuple[tuple[str, ...], ...] = ()
    tasks: dict = field(default_factory=dict)
    strip: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _TaskTable:
    dataset: str = ""
    metrics: tuple[str, ...] = field(default=(), metadata={"nonempty": True, "unique": True})
    margin: float = field(default=0.05, metadata=between(0.0, 1e9))
    target: float = field(default=0.9, metadata=between(-1e9, 1e9))
    higher_is_better: bool = True
    prediction: str = field(default="", metadata={"choices": ("", *PREDICTIONS)})
    axes: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _StripTable:
    task: str = ""
    model: str = schema.REFERENCE
    against: str = schema.SUBJECT
    margin: float = field(default=0.02, metadata=between(0.0, 1e9))
    where: dict = field(default_factory=dict)


def _table(cls: type, table: Any, where: str) -> Any:
    """`build_dataclass` for tables whose nested tables and lists of lists it cannot type."""
    if not isinstance(table, dict):
        raise ConfigError(f"'{where}' must be a table, got {table!r}")
    # Tables (and the list of pairs) are checked by the parser; the rest by type and range.
    nested_names = {item.name for item in fields(cls) if str(item.type) == "dict"} | {"pairs"}
    nested = {name: value for name, value in table.items() if name in nested_names}
    for name, value in nested.items():
        if name != "pairs" and not isinstance(value, dict):
            raise ConfigError(f"'{where}.{name}' must be a table, got {value!r}")
    plain = build_dataclass(cls, {k: v for k, v in table.items() if k not in nested}, where)
    return plain.__class__(**{**plain.__dict__, **nested})


def _axes(table: dict, where: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    lengths = [key for key in table if key in LENGTH_AXES]
    unknown = sorted(set(table) - {*LENGTH_AXES, SIZE_AXIS, BUDGET_AXIS})
    if unknown:
        raise ConfigError(
            f"unknown axis '{where}.{unknown[0]}'; valid axes: one length "
            f"({', '.join(LENGTH_AXES)}), {SIZE_AXIS}, {BUDGET_AXIS}"
        )
    if len(lengths) != 1 or SIZE_AXIS not in table or BUDGET_AXIS not in table:
        raise ConfigError(
            f"'{where}' needs three axes: one length ({', '.join(LENGTH_AXES)}), "
            f"{SIZE_AXIS} and {BUDGET_AXIS}"
        )
    meta = {"nonempty": True, "unique": True, **between(1, 100_000_000)}
    return tuple(
        (key, tuple(sorted(check_value(table[key], tuple[int, ...], meta, f"'{where}.{key}'"))))
        for key in (lengths[0], SIZE_AXIS, BUDGET_AXIS)
    )


def _task(name: str, table: Any, where: str) -> MapTask:
    parsed = _table(_TaskTable, table, where)
    if not parsed.dataset:
        raise ConfigError(f"'{where}.dataset' is required: the dataset its cells load")
    if not parsed.metrics:
        raise ConfigError(f"'{where}.metrics' is required: the test metrics to judge")
    return MapTask(
        name,
        parsed.dataset,
        _axes(parsed.axes, f"{where}.axes"),
        parsed.metrics,
        parsed.margin,
        parsed.target,
        dict(parsed.settings),
        dict(parsed.training),
        dict(parsed.model),
        parsed.higher_is_better,
        parsed.prediction,
    )


def _pairs(value: Any, models: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    where = "'map.pairs'"
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a list of [first, second] model pairs")
    pairs = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]):
            raise ConfigError(f"{where}: {pair!r} is not a pair of two different models")
        for model in pair:
            check_value(model, str, {"choices": models}, where)
        pairs.append((pair[0], pair[1]))
    return tuple(dict.fromkeys(pairs))


def parse_map(table: Any, models: tuple[str, ...]) -> MapSpec:
    """A `[map]` table as a `MapSpec`, checked: axes, pairs of known `models`, stages.

    Raises:
        ConfigError: one line naming the key and what is valid.
    """
    parsed = _table(_MapTable, table, "map")
    if not parsed.tasks:
        raise ConfigError("'map.tasks' is empty: add at least one [map.tasks.NAME] table")
    tasks = tuple(_task(name, task, f"map.tasks.{name}") for name, task in parsed.tasks.items())
    seeds, alphas = parsed.seeds, parsed.alpha
    if len(seeds) > MAX_STAGES:
        raise ConfigError(
            f"'map.seeds' has {len(seeds)} stages; at most {MAX_STAGES} (the first and "
            f"{MAX_STAGES - 1} that add seeds)"
        )
    if list(seeds) != sorted(set(seeds)) or seeds[-1] > MAX_SEEDS:
        raise ConfigError(
            f"'map.seeds' = {list(seeds)} must grow from stage to stage and stay at most "
            f"{MAX_SEEDS} seeds a cell"
        )
    if len(alphas) != len(seeds):
        raise ConfigError(
            f"'map.alpha' has {len(alphas)} values for {len(seeds)} stages: give one error "
            "rate a stage"
        )
    if sum(alphas) > FAMILY_ALPHA + 1e-12:
        raise ConfigError(
            f"'map.alpha' adds up to {sum(alphas):g}; the stages may spend at most {FAMILY_ALPHA}"
        )
    strip = None
    if parsed.strip:
        table = _table(_StripTable, parsed.strip, "map.strip")
        names = [task.name for task in tasks]
        check_value(table.task, str, {"choices": tuple(names)}, "'map.strip.task'")
        check_value(table.model, str, {"choices": models}, "'map.strip.model'")
        check_value(table.against, str, {"choices": models}, "'map.strip.against'")
        axes = dict(next(task for task in tasks if task.name == table.task).axes)
        for axis, value in table.where.items():
            check_value(axis, str, {"choices": tuple(axes)}, "'map.strip.where'")
            check_value(value, int, {"choices": axes[axis]}, f"'map.strip.where.{axis}'")
        strip = Strip(
            table.task, table.model, table.against, table.margin, tuple(table.where.items())
        )
    return MapSpec(
        tasks,
        _pairs(list(parsed.pairs), models),
        seeds,
        alphas,
        parsed.updates,
        parsed.evaluations,
        strip,
    )
