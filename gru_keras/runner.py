"""Expand a suite into runs (dataset x model x seed) and execute them with MLflow tracking.

Resume: a run that already FINISHED with the same config hash is skipped, and runs left
RUNNING by a killed process are marked KILLED at the next start. A run that raises or hits
a non-finite loss ends FAILED with the reason as a tag, and the suite goes on.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import keras
import mlflow
from tqdm import tqdm

from gru_keras import diagnostics, tracking
from gru_keras.config import (
    ConfigError,
    DatasetConfig,
    SuiteConfig,
    TrainingConfig,
    config_hash,
    flatten,
    run_config,
)
from gru_keras.datasets import DataError, SequenceData, get_dataset
from gru_keras.models import get_variant, solve_units
from gru_keras.registry import Registry
from gru_keras.tasks import Evaluation, Task, get_task

EXIT_OK, EXIT_FAILED_RUNS, EXIT_INTERRUPTED = 0, 1, 130


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
        return f"{self.dataset.key}__{self.model}__{self.seed}"


@dataclass
class RunOutcome:
    spec: RunSpec
    status: str  # FINISHED, SKIPPED, FAILED or KILLED
    seconds: float = 0.0
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


def expand(suite: SuiteConfig) -> list[RunSpec]:
    """Every run of the suite, dataset by dataset, then model, then seed. A task's baselines
    are deterministic, so they run once per dataset, with the first seed."""
    specs = []
    for dataset in suite.datasets:
        baselines = get_task(get_dataset(dataset.dataset).task).baselines
        combinations = [(model, seed) for model in suite.models for seed in suite.seeds]
        combinations += [(baseline, suite.seeds[0]) for baseline in baselines]
        for model, seed in combinations:
            config = run_config(suite, dataset, model, seed)
            specs.append(RunSpec(dataset, model, seed, config, config_hash(config)))
    return specs


def expected_runs(suite: SuiteConfig) -> list[tuple[str, str, str, str, int]]:
    """`(dataset, family, task, model, seed)` of every run the suite defines, for the report
    to mark the ones the store does not have."""
    return [
        (
            spec.dataset.key,
            spec.dataset.family,
            get_dataset(spec.dataset.dataset).task,
            spec.model,
            spec.seed,
        )
        for spec in expand(suite)
    ]


OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def make_optimizer(training: TrainingConfig) -> keras.optimizers.Optimizer:
    clip = {"global_clipnorm": training.clip_norm} if training.clip_norm > 0 else {}
    return OPTIMIZERS[training.optimizer](learning_rate=training.learning_rate, **clip)


class DataCache:
    """Load each configured dataset once per process."""

    def __init__(self) -> None:
        self._loaded: dict[str, SequenceData] = {}

    def get(self, dataset: DatasetConfig) -> SequenceData:
        if dataset.key not in self._loaded:
            self._loaded[dataset.key] = get_dataset(dataset.dataset).load(dataset.settings)
        return self._loaded[dataset.key]


def preflight(suite: SuiteConfig, cache: DataCache) -> dict[tuple[str, str], int]:
    """Load every dataset and solve every model's units before any run starts, so an
    unreachable budget is a config error, not a row of FAILED runs.

    Returns:
        `(dataset key, model) -> units`.

    Raises:
        ConfigError: naming the dataset whose budget cannot be matched.
    """
    units = {}
    for dataset in suite.datasets:
        try:
            data = cache.get(dataset)
        except DataError as error:
            raise ConfigError(f"{suite.path}: 'datasets.{dataset.key}': {error}") from None
        task = get_task(get_dataset(dataset.dataset).task)
        try:
            matched = {
                model: solve_units(
                    task.core_parameters(get_variant(model), data), dataset.parameter_budget
                )
                for model in suite.models
            }
        except ValueError as error:
            raise ConfigError(
                f"{suite.path}: 'datasets.{dataset.key}.parameter_budget': {error}"
            ) from None
        units.update({(dataset.key, model): count for model, count in matched.items()})
    return units


def fit_recurrent(
    spec: RunSpec, task: Task, data: SequenceData, units: int, verbose: int
) -> Evaluation:
    """Build, train and evaluate one recurrent variant, logging its params, epochs and model."""
    training = spec.dataset.training
    keras.utils.set_random_seed(spec.seed)
    model = task.build_model(get_variant(spec.model), units, data)
    model.compile(optimizer=make_optimizer(training), **task.compile_kwargs())
    mlflow.log_params(
        {
            "units": units,
            "recurrent_params": task.recurrent_parameter_count(model),
            "total_params": model.count_params(),
        }
    )
    fit_inputs = task.fit_inputs(data, training.batch_size, spec.seed)
    steps_per_epoch = fit_inputs.get("steps_per_epoch") or math.ceil(
        data.train_size / training.batch_size
    )
    epoch_logger = tracking.EpochLogger(steps_per_epoch)
    callbacks: list[keras.callbacks.Callback] = [epoch_logger]
    if training.early_stopping_patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                patience=training.early_stopping_patience, restore_best_weights=True
            )
        )
    probe = _diagnostic_batch(data) if task.supports_diagnostics else None
    initial_norms = None
    if probe is not None:
        initial_norms = diagnostics.hidden_state_gradient_norms(model, *probe, task.loss)
    model.fit(**fit_inputs, epochs=training.epochs, callbacks=callbacks, verbose=verbose)
    epochs_run = max(1, len(epoch_logger.epoch_seconds))
    mean_epoch_seconds = sum(epoch_logger.epoch_seconds) / epochs_run
    mlflow.log_metrics(
        {
            "epochs_run": float(len(epoch_logger.epoch_seconds)),
            "mean_epoch_seconds": mean_epoch_seconds,
            "mean_step_seconds": mean_epoch_seconds / steps_per_epoch,
        }
    )
    tracking.log_model(model)
    if probe is not None:
        log_diagnostics(model, probe, initial_norms, task.loss)
    return task.evaluate(model, data, training.batch_size)


DIAGNOSTIC_EXAMPLES, GATE_EXAMPLES = 64, 4


def _diagnostic_batch(data: SequenceData) -> tuple[Any, Any]:
    """The same first validation examples for every model and seed, so curves compare."""
    return data.x_val[:DIAGNOSTIC_EXAMPLES], data.y_val[:DIAGNOSTIC_EXAMPLES]


def log_diagnostics(
    model: keras.Model, probe: tuple[Any, Any], initial_norms: Any, loss: Any
) -> None:
    """Gradient norms per step (at initialization and trained), and for the custom GRU its
    gate activity and its deviation from `keras.layers.GRU` holding the same weights."""
    trained_norms = diagnostics.hidden_state_gradient_norms(model, *probe, loss)
    table = diagnostics.gradient_table({"initial": initial_norms, "trained": trained_norms})
    mlflow.log_text(table.to_csv(index=False), diagnostics.GRADIENT_FILE)
    mlflow.log_metrics(
        {
            "gradient_decay_initial": diagnostics.decay_ratio(initial_norms),
            "gradient_decay_trained": diagnostics.decay_ratio(trained_norms),
        }
    )
    inputs = probe[0]
    gates = diagnostics.gate_activity(model, inputs[:GATE_EXAMPLES])
    if gates is not None:
        tracking.log_arrays(gates, diagnostics.GATES_FILE)
        mlflow.log_metric(diagnostics.DEVIATION_METRIC, diagnostics.keras_deviation(model, inputs))


def run_baseline(spec: RunSpec, task: Task, data: SequenceData) -> Evaluation:
    """Forecast the test split with a non-neural baseline of the task and score it."""
    started = time.perf_counter()
    predictions = task.baselines[spec.model](data)
    mlflow.log_metric("fit_predict_seconds", time.perf_counter() - started)
    return task.evaluate_predictions(predictions, data)


def train_and_evaluate(
    spec: RunSpec, data: SequenceData, units: int | None, verbose: int
) -> dict[str, float]:
    """Run one model (a recurrent variant or a baseline) inside the active MLflow run."""
    dataset = spec.dataset
    task = get_task(get_dataset(dataset.dataset).task)
    mlflow.log_params(
        {**flatten(spec.config), "input_dim": data.input_dim, "data_digest": data.digest()}
    )
    tracking.log_json(spec.config, "config.json")
    tracking.log_dataset(dataset.key, data.x_train, data.y_train, loader=dataset.dataset)
    if spec.model in task.baselines:
        evaluation = run_baseline(spec, task, data)
    else:
        evaluation = fit_recurrent(spec, task, data, units, verbose)
    tracking.log_evaluation(evaluation)
    return {f"test_{name}": value for name, value in evaluation.metrics.items()}


def execute_run(
    spec: RunSpec,
    experiment_id: str,
    data: SequenceData,
    units: int | None,
    verbose: int,
    extra_tags: dict[str, str] | None = None,
) -> RunOutcome:
    """One tracked run. Exceptions end it FAILED; Ctrl-C ends it KILLED and propagates.

    `extra_tags` say where it ran (the Ray executor tags the worker's host and process)."""
    started = time.perf_counter()
    task_name = get_dataset(spec.dataset.dataset).task
    mlflow.start_run(
        experiment_id=experiment_id,
        run_name=spec.name,
        tags={**tracking.run_tags(spec.config, spec.config_hash, task_name), **(extra_tags or {})},
    )
    try:
        metrics = train_and_evaluate(spec, data, units, verbose)
    except KeyboardInterrupt:
        mlflow.set_tag(tracking.FAILURE_TAG, "interrupted by the user")
        mlflow.end_run("KILLED")
        raise
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        mlflow.set_tag(tracking.FAILURE_TAG, reason[:5000])
        mlflow.log_text(traceback.format_exc(), "failure.txt")
        mlflow.end_run("FAILED")
        return RunOutcome(spec, "FAILED", time.perf_counter() - started, reason)
    mlflow.end_run("FINISHED")
    return RunOutcome(spec, "FINISHED", time.perf_counter() - started, metrics=metrics)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the current run is marked KILLED, not left RUNNING."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class SuiteResult:
    suite: str
    outcomes: list[RunOutcome]
    interrupted: bool
    marked_killed: list[str]
    seconds: float

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED_RUNS if any(o.status == "FAILED" for o in self.outcomes) else EXIT_OK


@dataclass
class SuitePlan:
    """What an executor needs: the runs still to do and where to log them."""

    suite: SuiteConfig
    experiment_id: str
    tracking_uri: str
    pending: list[RunSpec]
    units: dict[tuple[str, str], int]
    cache: DataCache
    verbose: int


def _report_failure(outcome: RunOutcome) -> None:
    if outcome.status == "FAILED":
        tqdm.write(f"FAILED {outcome.spec.name}: {outcome.reason}", file=sys.stderr)


def execute_locally(plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
    """Run after run in this process. Ctrl-C marks the current run KILLED and stops."""
    outcomes = []
    for spec in plan.pending:
        progress.set_postfix_str(spec.name)
        tqdm.write(f"--- {spec.name}", file=sys.stderr)
        try:
            outcome = execute_run(
                spec,
                plan.experiment_id,
                plan.cache.get(spec.dataset),
                plan.units.get((spec.dataset.key, spec.model)),
                plan.verbose,
            )
        except KeyboardInterrupt:
            outcomes.append(RunOutcome(spec, "KILLED", reason="interrupted by the user"))
            raise SuiteInterrupted(outcomes) from None
        _report_failure(outcome)
        outcomes.append(outcome)
        progress.update()
    return outcomes


class SuiteInterrupted(Exception):
    """Ctrl-C or SIGTERM during a suite; carries the outcomes known so far."""

    def __init__(self, outcomes: list[RunOutcome]) -> None:
        super().__init__("interrupted")
        self.outcomes = outcomes


def execute_on_ray(plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
    from gru_keras import ray_executor  # Ray is optional: imported only when asked for

    return ray_executor.execute(plan, progress)


Executor = Callable[[SuitePlan, tqdm], list[RunOutcome]]
EXECUTORS: Registry[Executor] = Registry("executor")
EXECUTORS.register("local", execute_locally)
EXECUTORS.register("ray", execute_on_ray)


def run_suite(
    suite: SuiteConfig,
    force: bool = False,
    tracking_uri: str | None = None,
    verbose: int = 2,
) -> SuiteResult:
    """Execute every run of `suite` that has not FINISHED yet, with the suite's executor.

    Args:
        suite: A validated suite (its `executor` says where the runs execute).
        force: Re-run runs that already FINISHED with the same config.
        tracking_uri: MLflow store; `MLFLOW_TRACKING_URI` or `sqlite:///mlflow.db` by default.
        verbose: Keras `fit` verbosity (2: one line per epoch).

    Returns:
        A `SuiteResult` with one outcome per run, in suite order.

    Raises:
        ConfigError: before any run is created, when a budget cannot be matched or the
            executor cannot work with this tracking store.
    """
    started = time.perf_counter()
    # Each run builds fresh models, which TensorFlow reports as "retracing"; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    executor = EXECUTORS.lookup(suite.executor.name)
    uri = tracking_uri or tracking.tracking_uri()
    if suite.executor.name == "ray":
        from gru_keras.ray_executor import require_ray

        require_ray()
        check_shared_store(uri)
    cache = DataCache()
    units = preflight(suite, cache)
    client = tracking.connect(uri)
    experiment_id = tracking.ensure_experiment(client, suite.name)
    marked = tracking.mark_interrupted(client, experiment_id)
    done = {} if force else tracking.finished_runs(client, experiment_id)
    specs = expand(suite)
    skipped = [spec for spec in specs if (spec.name, spec.config_hash) in done]
    plan = SuitePlan(
        suite,
        experiment_id,
        uri,
        [spec for spec in specs if spec not in skipped],
        units,
        cache,
        verbose,
    )
    outcomes = {spec.name: RunOutcome(spec, "SKIPPED") for spec in skipped}
    interrupted = False
    progress = tqdm(
        total=len(specs),
        initial=len(skipped),
        desc=suite.name,
        unit="run",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    with _sigterm_as_interrupt():
        try:
            # Nothing pending (a finished suite run again): no executor to start.
            finished = executor(plan, progress) if plan.pending else []
        except (KeyboardInterrupt, SuiteInterrupted) as stop:
            interrupted = True
            finished = getattr(stop, "outcomes", [])
        finally:
            progress.close()
    outcomes.update({outcome.spec.name: outcome for outcome in finished})
    ordered = [outcomes[spec.name] for spec in specs if spec.name in outcomes]
    return SuiteResult(suite.name, ordered, interrupted, marked, time.perf_counter() - started)


SHARED_STORE_SCHEMES = ("http", "https", "databricks", "postgresql", "mysql", "mssql")


def check_shared_store(uri: str) -> None:
    """Runs on other processes and machines need one store that is safe for concurrent
    writers: an MLflow server, or a database server. sqlite and local files are not."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0] if ":" in uri else "file"
    if scheme not in SHARED_STORE_SCHEMES:
        raise ConfigError(
            f"the Ray executor needs a tracking store every worker can write to at once, not "
            f"{uri!r} (sqlite and local files are unsafe for concurrent writers); start "
            "`mlflow server --backend-store-uri postgresql://... --artifacts-destination "
            "s3://...` (or, on one machine, `mlflow server --backend-store-uri "
            "sqlite:///mlflow.db --host 127.0.0.1`) and pass --tracking-uri "
            "http://HOST:5000 or set MLFLOW_TRACKING_URI"
        )


def summary(result: SuiteResult) -> str:
    """Counts by status, time per task family, and the reason of every failed run."""
    counts: dict[str, int] = defaultdict(int)
    family_seconds: dict[str, float] = defaultdict(float)
    for outcome in result.outcomes:
        counts[outcome.status] += 1
        family_seconds[outcome.spec.dataset.family] += outcome.seconds
    lines = [f"suite {result.suite!r}: {len(result.outcomes)} runs in {result.seconds:.1f}s"]
    lines.append(
        "  "
        + ", ".join(
            f"{status.lower()} {counts[status]}"
            for status in ("FINISHED", "SKIPPED", "FAILED", "KILLED")
        )
    )
    for family, seconds in sorted(family_seconds.items()):
        lines.append(f"  family {family}: {seconds:.1f}s of training and evaluation")
    if result.marked_killed:
        lines.append(
            f"  marked KILLED (left RUNNING by an earlier process): {', '.join(result.marked_killed)}"
        )
    for outcome in result.outcomes:
        if outcome.status == "FAILED":
            lines.append(f"  FAILED {outcome.spec.name}: {outcome.reason}")
    if result.interrupted:
        lines.append("  interrupted: the current run was marked KILLED; re-run to continue")
    return "\n".join(lines)
