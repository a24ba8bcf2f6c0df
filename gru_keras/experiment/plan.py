"""From a validated suite to the runs it defines, with every dataset loaded once.

`expand` lists the runs (dataset x model x seed, plus a task's baselines once per dataset);
`preflight` loads every dataset and solves every model's units before any run starts, so a
bad dataset or an unreachable budget is a config error, not a row of FAILED runs;
`DatasetCache` is the one dataset cache: in memory per process, and on disk as arrays and
JSON, written atomically, shared by every process on the machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gru_keras import schema
from gru_keras.experiment.config import (
    ConfigError,
    DatasetConfig,
    SuiteConfig,
    config_hash,
    run_config,
)
from gru_keras.experiment.store import pid_running
from gru_keras.families import DataError, SequenceData, get_dataset
from gru_keras.families.base import from_arrays, to_arrays
from gru_keras.names import inside
from gru_keras.variants import get_variant, solve_units

CACHE_DIRECTORY = Path("data/cache/datasets")
# Bump when the cached layout changes, so old files are rebuilt rather than misread.
CACHE_FORMAT = 1
PARTIAL = ".partial"


@dataclass(frozen=True)
class RunSpec:
    """One (dataset, model, seed) combination and its full config."""

    dataset: DatasetConfig
    model: str
    seed: int
    config: dict[str, Any]
    config_hash: str

    @property
    def name(self) -> str:
        return schema.run_name(self.dataset.key, self.model, self.seed)


def expand(suite: SuiteConfig) -> list[RunSpec]:
    """Every run of the suite, dataset by dataset, then model, then seed. A task's baselines
    are deterministic, so they run once per dataset, with the first seed."""
    specs = []
    for dataset in suite.datasets:
        combinations = [(model, seed) for model in suite.models for seed in suite.seeds]
        combinations += [(baseline, suite.seeds[0]) for baseline in dataset.task.baselines]
        for model, seed in combinations:
            config = run_config(suite, dataset, model, seed)
            specs.append(RunSpec(dataset, model, seed, config, config_hash(config)))
    return specs


SELECTORS = ("dataset", "model", "seed")


def parse_only(filters: list[str], suite: SuiteConfig) -> dict[str, tuple[str, ...]]:
    """`["dataset=a,b", "seed=0"]` -> `{"dataset": ("a", "b"), "seed": ("0",)}`, each value
    checked against the suite.

    Raises:
        ConfigError: naming the bad filter and the valid choices.
    """
    specs = expand(suite)
    known = {
        "dataset": sorted({spec.dataset.key for spec in specs}),
        "model": sorted({spec.model for spec in specs}),
        "seed": sorted({str(spec.seed) for spec in specs}, key=int),
    }
    selected: dict[str, tuple[str, ...]] = {}
    for text in filters:
        key, _, values = text.partition("=")
        if key not in SELECTORS or not values:
            raise ConfigError(
                f"--only {text!r} is not KEY=VALUE[,VALUE...]; valid keys: {', '.join(SELECTORS)}"
            )
        for value in values.split(","):
            if value not in known[key]:
                raise ConfigError(
                    f"--only {key}={value!r} is not in suite {suite.name!r}; valid choices: "
                    + ", ".join(known[key])
                )
        selected[key] = (*selected.get(key, ()), *values.split(","))
    return selected


def select(specs: list[RunSpec], only: dict[str, tuple[str, ...]] | None) -> list[RunSpec]:
    """The runs whose dataset, model and seed are all among the selected (all by default)."""
    if not only:
        return specs

    def chosen(spec: RunSpec) -> bool:
        values = {"dataset": spec.dataset.key, "model": spec.model, "seed": str(spec.seed)}
        return all(values[key] in allowed for key, allowed in only.items())

    return [spec for spec in specs if chosen(spec)]


def expected_runs(suite: SuiteConfig) -> list[tuple[str, str, str, str, int]]:
    """`(dataset, family, task, model, seed)` of every run the suite defines, for the report
    to mark the ones the store does not have."""
    return [
        (spec.dataset.key, spec.dataset.family, spec.dataset.task.name, spec.model, spec.seed)
        for spec in expand(suite)
    ]


class DatasetCache:
    """Each configured dataset loaded once per process, and once per machine.

    A dataset is keyed by its loader and settings (never by model options, which do not
    change the data). On disk it is one `.npz` of arrays with its facts as JSON, never a
    pickle; a file that cannot be read back (a crash mid-write, an older layout) is rebuilt.

    Args:
        directory: Where the files live (`data/cache/datasets` by default); None keeps the
            cache in memory only.
    """

    def __init__(self, directory: Path | None = CACHE_DIRECTORY) -> None:
        self.directory = directory
        self._loaded: dict[str, SequenceData] = {}

    @staticmethod
    def key(dataset: DatasetConfig) -> str:
        settings = {
            "format": CACHE_FORMAT,
            "loader": dataset.dataset,
            "settings": dataclasses.asdict(dataset.settings),
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
        return f"{dataset.key}-{digest.hexdigest()[:16]}"

    def path(self, dataset: DatasetConfig) -> Path | None:
        if self.directory is None:
            return None
        return inside(self.directory, f"{self.key(dataset)}.npz")

    def get(self, dataset: DatasetConfig) -> SequenceData:
        """The dataset, from memory, from disk, or loaded (and then written to disk).

        Raises:
            DataError: when the loader's data are unusable (non-finite values, ragged
                splits), or the cache path is taken by something that is not a file.
        """
        key = self.key(dataset)
        if key not in self._loaded:
            self._loaded[key] = self._from_disk(dataset) or self._build(dataset)
        return self._loaded[key]

    def _from_disk(self, dataset: DatasetConfig) -> SequenceData | None:
        path = self.path(dataset)
        if path is None or not path.exists():
            return None
        if not path.is_file():
            raise DataError(f"the dataset cache path {path} is not a file: remove it")
        try:
            # Never allow_pickle: a cache file is data, and a planted pickle would be code.
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            data = from_arrays(arrays, get_dataset(dataset.dataset).facts)
            data.check()
            return data
        except Exception:  # partial, corrupted, planted or another layout: rebuild it
            print(f"dataset cache {path} is unreadable; rebuilding it", file=sys.stderr)
            return None

    def _build(self, dataset: DatasetConfig) -> SequenceData:
        data = get_dataset(dataset.dataset).load(dataset.settings)
        data.check()
        path = self.path(dataset)
        if path is not None:
            remove_stale_partials(path.parent)
            write_arrays(path, to_arrays(data))
        return data


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save arrays as one `.npz`, atomically: written beside, then renamed, so a reader sees
    the old file or the new one, never half of one. Text arrays are stored as text, never
    as pickled objects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {
        name: array.astype(str) if array.dtype == object else array
        for name, array in arrays.items()
    }
    # The writer's pid is in the name, so `remove_stale_partials` knows a dead writer's file.
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=PARTIAL, delete=False
    ) as file:
        try:
            np.savez(file, **plain)
        except BaseException:
            os.unlink(file.name)
            raise
    os.replace(file.name, path)


def remove_stale_partials(directory: Path) -> list[Path]:
    """Delete the half-written files (`*.partial`) of writers that are gone, which a crash
    or a kill mid-write leaves behind; a live writer's file is left alone."""
    removed = []
    for partial in directory.glob(f"*{PARTIAL}"):
        pid = partial.name.removesuffix(PARTIAL).split(".")[-2:-1]
        if pid and pid[0].isdigit() and pid_running(int(pid[0])):
            continue
        with contextlib.suppress(OSError):
            partial.unlink()
            removed.append(partial)
    return removed


def preflight(suite: SuiteConfig, cache: DatasetCache) -> dict[tuple[str, str], int]:
    """Load every dataset and solve every model's units before any run starts.

    Returns:
        `(dataset key, model) -> units`.

    Raises:
        ConfigError: naming the dataset that cannot be loaded or whose budget cannot be
            matched.
    """
    units = {}
    for dataset in suite.datasets:
        try:
            data = cache.get(dataset)
        except DataError as error:
            raise ConfigError(f"{suite.path}: 'datasets.{dataset.key}': {error}") from None
        task = dataset.task
        try:
            matched = {
                model: solve_units(
                    task.core_parameters(get_variant(model), data, dataset.model),
                    dataset.parameter_budget,
                )
                for model in suite.models
            }
        except ValueError as error:
            raise ConfigError(
                f"{suite.path}: 'datasets.{dataset.key}.parameter_budget': {error}"
            ) from None
        units.update({(dataset.key, model): count for model, count in matched.items()})
    return units


@dataclass(frozen=True)
class Execution:
    """How the runs execute, logged with each run but not part of its config hash.

    Attributes:
        jobs: Runs at once (worker processes; "ray" for Ray tasks).
        threads: TensorFlow threads of each run.
        parent: The run id of the `run` command's parent run (its invocation), which every
            run it executes is nested under; "" for none.
    """

    jobs: int | str = 1
    threads: int = 1
    parent: str = ""


SEQUENTIAL = Execution(1, 1)


@dataclass
class SuitePlan:
    """What an executor needs: the runs still to do and where to log them."""

    suite: SuiteConfig
    experiment_id: str
    tracking_uri: str
    pending: list[RunSpec]
    units: dict[tuple[str, str], int]
    cache: DatasetCache
    verbose: int
    execution: Execution = SEQUENTIAL

    def units_of(self, spec: RunSpec) -> int | None:
        """The matched units of a recurrent run; None for a baseline."""
        return self.units.get((spec.dataset.key, spec.model))
