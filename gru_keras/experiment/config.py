"""Typed experiment configs loaded from TOML and validated before anything runs.

A suite file looks like::

    base = "suite.toml"            # optional: this file then holds only overrides

    [suite]
    name = "smoke"
    models = ["simple_rnn", "lstm", "keras_gru", "custom_gru"]
    seeds = [0, 1, 2]
    parameter_budget = 10000       # recurrent-core parameters, matched across models

    [training]                     # defaults for every dataset
    epochs = 10

    [datasets.adding-T50]          # the key names the dataset in run names
    dataset = "adding"             # registry name (defaults to the key)
    sequence_length = 50           # the dataset's own settings
    [datasets.adding-T50.training] # per-dataset overrides of [training]
    epochs = 20

    [datasets.numbers-dates-fr.model]  # the task's model options (attention, ...)
    attention = "luong"

A decision map has a `[map]` table instead of `[datasets]`: its grid expands into one
dataset a cell (`gru_keras.grid`; experiments/map.toml), so a map is an ordinary suite.

Every problem raises `ConfigError` with one line naming the file, the key and the valid
choices; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gru_keras.errors import ConfigError
from gru_keras.experiment.executors import EXECUTORS, LOCAL
from gru_keras.experiment.training_config import TrainingConfig
from gru_keras.experiment.tuned import read_tuned, tuned_note
from gru_keras.experiment.tuning import TuningConfig, parse_tuning
from gru_keras.families import DATASETS, Task, family_of, get_dataset
from gru_keras.grid import MapSpec, parse_map
from gru_keras.names import check_name
from gru_keras.validation import (
    BUDGET,
    SEED,
    between,
    build_dataclass,
    check_value,
    one_of,
    path_fields,
)
from gru_keras.variants import VARIANTS


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset of a suite with its resolved training settings, budget and model options.

    Attributes:
        key: The dataset's name in the suite (and in run names).
        dataset: Registry name of its loader.
        parameter_budget: Recurrent-core parameters every variant is matched to.
        training: How its runs train.
        settings: The loader's settings dataclass: everything that changes the data.
        model: The task's model options dataclass (`[datasets.KEY.model]`).
        tuned: `(model, training)` for each model whose training settings the suite's tuned
            settings file sets (`gru_keras.experiment.tuned`); `for_model` applies them.
        tuned_note: Where the tuned settings came from, in one line (`tuned.tuned_note`);
            kept by `for_model` only for a model the file sets.
    """

    key: str
    dataset: str
    parameter_budget: int
    training: TrainingConfig
    settings: Any
    model: Any
    tuned: tuple[tuple[str, TrainingConfig], ...] = ()
    tuned_note: str = ""

    def for_model(self, model: str) -> DatasetConfig:
        """The dataset as `model` trains on it: with its tuned training settings where the
        suite's settings file (`[suite] tuned`) has them, else the dataset's own."""
        chosen = dict(self.tuned)
        if model not in chosen:
            return dataclasses.replace(self, tuned=(), tuned_note="")
        return dataclasses.replace(self, training=chosen[model], tuned=())

    @property
    def family(self) -> str:
        return family_of(self.dataset).name

    @property
    def task(self) -> Task:
        return get_dataset(self.dataset).task


@dataclass(frozen=True)
class ExecutorConfig:
    """Where the runs execute (not part of a run's config: a run is the same run wherever it
    executes, so a suite can be resumed with another executor).

    Attributes:
        name: A module of `gru_keras.experiment.executors`: `local` (in this process, one
            run after another) or `ray` (one Ray task per run).
        address: Ray cluster to join (`ray://host:10001`, `auto`); empty starts a local Ray.
        cpus_per_run, gpus_per_run: The resources each run's Ray task asks for.
        jobs: Local runs at once, each in its own worker process; 0 means one per core, 1
            runs them one after another in this process.
        threads: TensorFlow threads of each local run; 0 means cores // jobs.
    """

    name: str = LOCAL
    address: str = ""
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    jobs: int = 0
    threads: int = 0

    @property
    def task_threads(self) -> int:
        """TensorFlow threads of a cluster's task (Ray): as many as the CPUs it asks for."""
        return max(1, round(self.cpus_per_run))


@dataclass(frozen=True)
class SuiteConfig:
    """A validated suite: what to run, how, and the merged TOML it came from."""

    name: str
    path: Path
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    datasets: tuple[DatasetConfig, ...]
    resolved: dict[str, Any]
    executor: ExecutorConfig = ExecutorConfig()
    map: MapSpec | None = None
    tuning: TuningConfig | None = None
    tuned_from: Path | None = None  # the tuned settings file its datasets include


@dataclass(frozen=True)
class _SuiteTable:
    name: str = field(default="", metadata={})
    models: tuple[str, ...] = field(
        default=tuple(VARIANTS),
        metadata={"nonempty": True, "unique": True, **one_of(tuple(VARIANTS))},
    )
    seeds: tuple[int, ...] = field(
        default=(0, 1, 2), metadata={"nonempty": True, "unique": True, **SEED}
    )
    parameter_budget: int = field(default=10_000, metadata=BUDGET)
    executor: str = field(default=LOCAL, metadata=one_of(EXECUTORS))
    ray_address: str = field(default="", metadata={})
    cpus_per_run: float = field(default=1.0, metadata=between(0.01, 1024))
    gpus_per_run: float = field(default=0.0, metadata=between(0.0, 64))
    jobs: int = field(default=0, metadata=between(0, 256))
    threads: int = field(default=0, metadata=between(0, 256))
    tuned: str = field(default="", metadata={})


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.resolve() in chain:
        raise ConfigError(f"{path}: 'base' chain loops back to itself")
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: malformed TOML: {error}") from None
    except UnicodeDecodeError as error:  # found by the fuzz test: TOML must be UTF-8
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); save the file as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the suite file: {error.strerror}") from None
    base = document.pop("base", None)
    if base is None:
        return document
    if not isinstance(base, str):
        raise ConfigError(f"{path}: 'base' must be a path string, got {base!r}")
    parent = _read_toml((path.parent / base), (*chain, path.resolve()))
    return _deep_merge(parent, document)


TOP_LEVEL_KEYS = ("suite", "training", "datasets", "map", "tuning")


def map_datasets(spec: MapSpec, training: dict) -> dict[str, dict]:
    """The `[datasets]` tables a map's cells expand to: each cell's dataset with its task's
    fixed settings, its axis values, and under the fixed-updates rule the same updates and
    validations for every cell."""
    datasets = {}
    for task in spec.tasks:
        for cell in spec.cells(task.name):
            table: dict[str, Any] = {"dataset": task.dataset, **task.settings, **dict(cell.values)}
            overrides = dict(task.training)
            if spec.updates:
                where = f"map.tasks.{task.name}.training"
                if {**training, **overrides}.get("early_stopping_patience", 0):
                    raise ConfigError(
                        f"'{where}.early_stopping_patience': a map of fixed updates "
                        "(map.updates > 0) trains every run the same number of updates; "
                        "set it to 0, or map.updates = 0 to train to convergence"
                    )
                overrides.update(epochs=spec.evaluations, steps_per_epoch=spec.steps_per_epoch())
            table["training"] = overrides
            if task.model:
                table["model"] = dict(task.model)
            datasets[cell.key] = table
    return datasets


def _expand_map(document: dict) -> tuple[dict, MapSpec]:
    """The document with its `[map]` expanded into `[datasets]`, `[suite]` models and seeds."""
    if "datasets" in document:
        raise ConfigError("a map expands its datasets from [map]: remove the [datasets] tables")
    suite = document.get("suite", {})
    if not isinstance(suite, dict):
        raise ConfigError(f"'suite' must be a table, got {suite!r}")
    for key, source in (("models", "[map] pairs"), ("seeds", "[map] seeds")):
        if key in suite:
            raise ConfigError(f"'suite.{key}': a map's {key} come from {source}; remove it")
    spec = parse_map(document["map"], tuple(VARIANTS))
    training = document.get("training", {})
    if not isinstance(training, dict):
        raise ConfigError(f"'training' must be a table, got {training!r}")
    for task in spec.tasks:
        if task.dataset not in DATASETS:
            raise ConfigError(
                f"'map.tasks.{task.name}.dataset' = {task.dataset!r} is not a known dataset; "
                f"valid choices: {', '.join(sorted(DATASETS))}"
            )
    expanded = {
        **document,
        "suite": {**suite, "models": list(spec.models), "seeds": list(range(spec.seeds[0]))},
        "datasets": map_datasets(spec, training),
    }
    del expanded["map"]
    return expanded, spec


def _resolve_paths(settings: Any, directory: Path) -> Any:
    """Make the settings' path fields absolute, relative to the suite file's folder."""
    resolved = {
        name: str(directory / path)
        for name, path in path_fields(settings).items()
        if not Path(path).is_absolute()
    }
    return dataclasses.replace(settings, **resolved) if resolved else settings


def _dataset_config(
    key: str, table: Any, suite: _SuiteTable, training: dict, directory: Path
) -> DatasetConfig:
    where = f"datasets.{key}"
    try:
        check_name(key, "dataset key")
    except ValueError as error:
        raise ConfigError(f"'{where}': {error}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"'{where}' must be a table")
    table = dict(table)
    name = table.pop("dataset", key)
    if not isinstance(name, str) or name not in DATASETS:
        raise ConfigError(
            f"'{where}.dataset' = {name!r} is not a known dataset; valid choices: {', '.join(sorted(DATASETS))}"
        )
    budget = check_value(
        table.pop("parameter_budget", suite.parameter_budget),
        int,
        BUDGET,
        f"'{where}.parameter_budget'",
    )
    overrides = table.pop("training", {})
    options_type = get_dataset(name).task.model_options
    options = table.pop("model", {})
    moved = sorted(set(table) & {f.name for f in dataclasses.fields(options_type)})
    if moved:
        raise ConfigError(
            f"'{where}.{moved[0]}' is a model option: move it to a [{where}.model] table"
        )
    if not isinstance(overrides, dict):
        raise ConfigError(f"'{where}.training' must be a table")
    run_training = build_dataclass(TrainingConfig, {**training, **overrides}, f"{where}.training")
    settings = _resolve_paths(build_dataclass(get_dataset(name).settings, table, where), directory)
    model = build_dataclass(options_type, options, f"{where}.model")
    return DatasetConfig(key, name, budget, run_training, settings, model)


def apply_tuned(
    datasets: tuple[DatasetConfig, ...],
    tuned: dict[str, dict[str, dict[str, Any]]],
    training: dict,
    tables: dict,
    models: tuple[str, ...],
    note: str = "",
) -> tuple[DatasetConfig, ...]:
    """The datasets with a tuned settings file's values (`gru_keras.experiment.tuned`): for
    each dataset and model it names, `[training]`, then `[datasets.X.training]`, then the
    tuned values, the last winning.

    Raises:
        ConfigError: a dataset the suite does not have, a model it does not run, or a value
            a `[training]` key cannot take.
    """
    keys = [dataset.key for dataset in datasets]
    for key, by_model in tuned.items():
        if key not in keys:
            raise ConfigError(
                f"'suite.tuned': [tuned.{key}] is not a dataset of this suite; valid choices: "
                + ", ".join(keys)
            )
        for model in by_model:
            if model not in models:
                raise ConfigError(
                    f"'suite.tuned': [tuned.{key}.{model}] is not a model of this suite; "
                    f"valid choices: {', '.join(models)}"
                )
    applied = []
    for dataset in datasets:
        overrides = tables[dataset.key].get("training", {})
        chosen = tuple(
            (
                model,
                build_dataclass(
                    TrainingConfig,
                    {**training, **overrides, **values},
                    f"suite.tuned: tuned.{dataset.key}.{model}",
                ),
            )
            for model, values in tuned.get(dataset.key, {}).items()
        )
        applied.append(dataclasses.replace(dataset, tuned=chosen, tuned_note=note))
    return tuple(applied)


def load_suite(path: str | Path, tuned: bool = True) -> SuiteConfig:
    """Read, merge (`base`), and validate a suite file.

    Args:
        path: The suite file.
        tuned: Apply the tuned settings file the suite names (`[suite] tuned`); `tune`
            reads a suite without them, so it never reads its own output.

    Raises:
        ConfigError: with a one-line message naming the file and the offending key.
    """
    path = Path(path)
    document = _read_toml(path)
    try:
        unknown = sorted(set(document) - set(TOP_LEVEL_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown top-level key '{unknown[0]}'; valid keys: base, {', '.join(TOP_LEVEL_KEYS)}"
            )
        spec = None
        if "map" in document:
            document, spec = _expand_map(document)
        suite = build_dataclass(_SuiteTable, document.get("suite", {}), "suite")
        training = document.get("training", {})
        build_dataclass(TrainingConfig, training, "training")  # validate the defaults once
        datasets = document.get("datasets", {})
        if not isinstance(datasets, dict) or not datasets:
            raise ConfigError(
                f"no datasets: add at least one [datasets.NAME] table; known datasets: {', '.join(sorted(DATASETS))}"
            )
        dataset_configs = tuple(
            _dataset_config(key, table, suite, training, path.parent)
            for key, table in datasets.items()
        )
        name = suite.name or path.stem
        try:
            check_name(name, "suite name" if suite.name else "suite name (the file's stem)")
        except ValueError as error:
            raise ConfigError(f"{error}; set [suite] name") from None
        tuning = None
        if "tuning" in document:
            tuning = parse_tuning(document["tuning"], suite.seeds)
        tuned_from = None
        if tuned and suite.tuned:
            tuned_from = path.parent / suite.tuned
            dataset_configs = apply_tuned(
                dataset_configs,
                read_tuned(tuned_from),
                training,
                datasets,
                suite.models,
                tuned_note(tuned_from),
            )
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    return SuiteConfig(
        name=name,
        path=path,
        models=suite.models,
        seeds=suite.seeds,
        datasets=dataset_configs,
        resolved=document,
        executor=ExecutorConfig(
            suite.executor,
            suite.ray_address,
            suite.cpus_per_run,
            suite.gpus_per_run,
            suite.jobs,
            suite.threads,
        ),
        map=spec,
        tuning=tuning,
        tuned_from=tuned_from,
    )


def with_jit_compile(suite: SuiteConfig, jit_compile: str | bool) -> SuiteConfig:
    """The suite with every dataset's `training.jit_compile` set to `jit_compile`."""
    datasets = tuple(
        dataclasses.replace(
            dataset, training=dataclasses.replace(dataset.training, jit_compile=jit_compile)
        )
        for dataset in suite.datasets
    )
    return dataclasses.replace(suite, datasets=datasets)
