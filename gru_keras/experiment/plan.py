"""From a validated suite to the runs it defines, with every dataset loaded once.

`expand` lists the runs (dataset x model x seed, plus a task's baselines once per dataset);
`preflight` loads every dataset (through `gru_keras.experiment.cache`) and solves every
model's units before any run starts, so a bad dataset or an unreachable budget is a config
error, not a row of FAILED runs; `SuitePlan` is what an executor is handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import DatasetConfig, SuiteConfig
from gru_keras.experiment.executors import LOCAL
from gru_keras.experiment.identity import config_hash, run_config
from gru_keras.families import DataError
from gru_keras.variants import get_variant, solve_units


@dataclass(frozen=True)
class TrialRef:
    """The tuning trial a run is (`gru_keras.tuning`): where its Optuna study is stored, and
    how successive halving judges it, so that a worker anywhere can report to it.

    Attributes:
        storage: The study's storage: a journal file path or a database URL.
        study: The study's name.
        trial_id: The trial's id in the storage.
        number: Its number in the study (in its run name).
        min_epochs, reduction_factor: The successive-halving rungs; min_epochs 0 means no
            pruning.
    """

    storage: str
    study: str
    trial_id: int
    number: int
    min_epochs: int = 0
    reduction_factor: int = 3


@dataclass(frozen=True)
class RunSpec:
    """One (dataset, model, seed) combination and its full config; a tuning trial also
    says which trial it is."""

    dataset: DatasetConfig
    model: str
    seed: int
    config: dict[str, Any]
    config_hash: str
    trial: TrialRef | None = None

    @property
    def name(self) -> str:
        if self.trial is not None:
            return schema.trial_name(self.dataset.key, self.model, self.trial.number)
        return schema.run_name(self.dataset.key, self.model, self.seed)


def expand(suite: SuiteConfig) -> list[RunSpec]:
    """Every run of the suite, dataset by dataset, then model, then seed. A task's baselines
    are deterministic, so they run once per dataset, with the first seed. A decision map's
    strip cells also run the strip's model."""
    specs = []
    for dataset in suite.datasets:
        models = models_of(suite, dataset.key)
        combinations = [(model, seed) for model in models for seed in suite.seeds]
        combinations += [(baseline, suite.seeds[0]) for baseline in dataset.task.baselines]
        for model, seed in combinations:
            trained = dataset.for_model(model)
            config = run_config(suite, trained, model, seed)
            specs.append(RunSpec(trained, model, seed, config, config_hash(config)))
    return specs


def models_of(suite: SuiteConfig, dataset: str) -> tuple[str, ...]:
    """The models a dataset runs: the suite's, and on a decision map's strip cells the
    strip's model too."""
    spec = suite.map
    if spec is not None and spec.strip and dataset in {c.key for c in spec.strip_cells()}:
        return tuple(dict.fromkeys((*suite.models, spec.strip.model)))
    return suite.models


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
                for model in models_of(suite, dataset.key)
            }
        except ValueError as error:
            raise ConfigError(
                f"{suite.path}: 'datasets.{dataset.key}.parameter_budget': {error}"
            ) from None
        units.update({(dataset.key, model): count for model, count in matched.items()})
    return units


@dataclass(frozen=True)
class Placement:
    """Where and how wide the runs execute: logged with each run, never part of its config
    hash (a run is the same run wherever it executes).

    Attributes:
        executor: The executor's name (a module of `gru_keras.experiment.executors`).
        jobs: Runs at once on this machine (worker processes); 1 for Ray, whose tasks the
            cluster places.
        threads: TensorFlow threads of each run.
        parent: The run id of the `run` command's parent run (its invocation), which every
            run it executes is nested under; "" for none.
    """

    executor: str = LOCAL
    jobs: int = 1
    threads: int = 1
    parent: str = ""

    @property
    def jobs_label(self) -> int | str:
        """The `jobs` param as logged: the count, or the executor's name where the cluster
        decides (Ray)."""
        return self.jobs if self.executor == LOCAL else self.executor

    @property
    def parallel(self) -> bool:
        """Whether runs overlap (several local jobs, or a cluster's tasks)."""
        return self.executor != LOCAL or self.jobs != 1


SEQUENTIAL = Placement(LOCAL, 1, 1)


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
    placement: Placement = SEQUENTIAL

    def units_of(self, spec: RunSpec) -> int | None:
        """The matched units of a recurrent run; None for a baseline."""
        return self.units.get((spec.dataset.key, spec.model))
