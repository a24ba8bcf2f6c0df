"""One run, top to bottom: build the model, train it, look inside it, evaluate it.

Everything here happens inside an active MLflow run (`gru_keras.experiment.run` opens and
closes it); a baseline run skips training and scores its forecasts on the same test split.
Each part's wall time goes to the run's `Stopwatch` (`time_*_seconds` metrics).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import keras
import mlflow
import numpy as np
import tensorflow as tf

from gru_keras import schema
from gru_keras.convergence import Convergence, convergence
from gru_keras.experiment import diagnostic_plots, diagnostics, tracking
from gru_keras.experiment.callbacks import EpochLogger
from gru_keras.experiment.config import TrainingConfig
from gru_keras.experiment.identity import flatten, graph_key
from gru_keras.experiment.interrupts import interrupts_deferred
from gru_keras.experiment.optimizers import build_optimizer
from gru_keras.experiment.plan import SEQUENTIAL, Placement, RunSpec
from gru_keras.experiment.reuse import COMPILED
from gru_keras.experiment.timing import Stopwatch
from gru_keras.families import Evaluation, SequenceData, Task
from gru_keras.families.base import untuned
from gru_keras.variants import get_variant

# The same first validation examples for every model and seed, so diagnostics compare.
DIAGNOSTIC_EXAMPLES, GATE_EXAMPLES = 64, 4
MODEL_EXAMPLES = 2  # the logged model's input example


LR_FACTOR = 0.5  # what `reduce_lr_patience` multiplies the learning rate by


def make_optimizer(training: TrainingConfig) -> keras.optimizers.Optimizer:
    clip = {"global_clipnorm": training.clip_norm} if training.clip_norm > 0 else {}
    return build_optimizer(training.optimizer, learning_rate=training.learning_rate, **clip)


@contextmanager
def logging_part(clock: Stopwatch) -> Iterator[None]:
    """A block of store writes: timed as logging, and finished before an interrupt arrives
    (stopped halfway, a write leaves a sqlite store locked; `interrupts_deferred`)."""
    with clock.part("logging"), interrupts_deferred():
        yield


def use_xla(setting: str | bool, task: Task, model: str) -> bool:
    """Whether XLA compiles this run's steps: on "auto" where it was measured faster
    (`Task.xla_variants`), else as set."""
    if setting == "auto":
        return model in task.xla_variants
    return bool(setting)


def train_and_evaluate(
    spec: RunSpec,
    data: SequenceData,
    units: int | None,
    verbose: int,
    placement: Placement = SEQUENTIAL,
    stopwatch: Stopwatch | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> dict[str, float]:
    """Run one model (a recurrent variant or a baseline) inside the active MLflow run and
    return its `test_*` metrics.

    Args:
        spec: The run.
        data: Its dataset.
        units: The matched units of a recurrent variant (None for a baseline).
        verbose: Keras `fit` verbosity.
        placement: Where and how wide the suite executes its runs (logged as params).
        stopwatch: Collects where the time goes.
        callbacks: More Keras callbacks for `fit` (a worker's epoch lines).
    """
    task = spec.dataset.task
    clock = stopwatch or Stopwatch()
    xla = spec.model not in task.baselines and use_xla(
        spec.dataset.training.jit_compile, task, spec.model
    )
    with logging_part(clock):
        mlflow.log_params(
            {
                **flatten(spec.config),
                schema.PARAM_INPUT_DIM: data.input_dim,
                schema.PARAM_DATA_DIGEST: data.digest(),
                schema.PARAM_JOBS: placement.jobs_label,
                schema.PARAM_THREADS: placement.threads,
                schema.PARAM_JIT_COMPILE: str(xla).lower(),
            }
        )
        tracking.log_json(spec.config, schema.CONFIG_FILE)
        tracking.log_dataset(
            spec.dataset.key, data.x_train, data.y_train, loader=spec.dataset.dataset
        )
    if spec.trial is not None:
        return fit_trial(spec, task, data, units, verbose, xla, clock, callbacks or [])
    if spec.model in task.baselines:
        with clock.part("fit"):
            evaluation = run_baseline(spec, task, data)
    else:
        evaluation = fit_recurrent(spec, task, data, units, verbose, xla, clock, callbacks or [])
    with logging_part(clock):
        metrics = tracking.log_evaluation(evaluation)
    headline = metrics.get(task.headline_column, math.nan)
    if not math.isfinite(headline):
        raise tracking.NonFiniteMetricError(
            f"the headline test metric {task.headline_column} is {headline}, not a result"
        )
    with logging_part(clock):
        mlflow.log_metric(schema.HEADLINE, headline)
        mlflow.set_tags(
            {
                schema.TAG_HEADLINE_METRIC: task.headline_column,
                schema.TAG_HEADLINE_DIRECTION: "higher" if task.higher_is_better else "lower",
                schema.TAG_NOTE: describe_run(spec, task, headline),
            }
        )
    return metrics


def describe_run(spec: RunSpec, task: Task, headline: float) -> str:
    """The run's description in the MLflow UI (Markdown): what ran and what came out."""
    direction = "higher" if task.higher_is_better else "lower"
    kind = "a non-neural baseline" if spec.model in task.baselines else "a recurrent variant"
    return (
        f"**{spec.model}** ({kind}) on **{spec.dataset.key}** (loader `{spec.dataset.dataset}`,"
        f" family {spec.dataset.family}, task {task.name}), seed {spec.seed}.\n\n"
        f"Headline: `{task.headline_column}` = {headline:.4g} ({direction} is better). "
        f"Metric groups: `train/` and `val/` per epoch, `test/` once, `best/` the restored "
        f"epoch, `time/` seconds, `diagnostics/`, `system/`."
    )


@dataclass
class Fitted:
    """A trained model and what its training recorded."""

    model: keras.Model
    epochs: EpochLogger
    judged: Convergence
    probe: tuple[Any, Any] | None = None
    initial_norms: Any = None


def fit_model(
    spec: RunSpec,
    task: Task,
    data: SequenceData,
    units: int,
    verbose: int,
    xla: bool,
    clock: Stopwatch,
    extra_callbacks: list[keras.callbacks.Callback],
    stopped_by: Callable[[], str | None] | None = None,
) -> Fitted:
    """Build and train one recurrent variant, logging its params, epochs and convergence.
    `stopped_by` says why a callback stopped the training early, if one did (a pruned
    trial): such a run is not converged, whatever its history looks like."""
    training, options = spec.dataset.training, spec.dataset.model
    with clock.part("build"):
        keras.utils.set_random_seed(spec.seed)
        model = COMPILED.model_for(
            graph_key(spec.config, units, xla),
            task.build_model(get_variant(spec.model), units, data, options),
            lambda: make_optimizer(training),
            lambda fresh: fresh.compile(
                optimizer=make_optimizer(training), jit_compile=xla, **task.compile_kwargs(options)
            ),
        )
    with logging_part(clock):
        mlflow.log_params(
            {
                schema.PARAM_UNITS: units,
                schema.PARAM_RECURRENT_PARAMS: task.recurrent_parameter_count(model),
                schema.PARAM_TOTAL_PARAMS: model.count_params(),
            }
        )

    with clock.part("data"):
        fit_inputs = task.fit_inputs(data, training.batch_size, spec.seed, xla)
        if training.steps_per_epoch:
            fit_inputs = repeated(fit_inputs, training.steps_per_epoch, spec.seed)
    steps_per_epoch = fit_inputs.get("steps_per_epoch") or math.ceil(
        data.train_size / training.batch_size
    )
    epoch_logger = EpochLogger(steps_per_epoch)
    callbacks: list[keras.callbacks.Callback] = [epoch_logger, *extra_callbacks]
    if training.early_stopping_patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                patience=training.early_stopping_patience, restore_best_weights=True
            )
        )
    if training.reduce_lr_patience > 0:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                factor=LR_FACTOR, patience=training.reduce_lr_patience, verbose=0
            )
        )

    probe = diagnostic_batch(data) if task.supports_diagnostics and training.diagnostics else None
    initial_norms = None
    if probe is not None:
        with clock.part("diagnostics"):
            initial_norms = diagnostics.hidden_state_gradient_norms(model, *probe, task.loss)

    with clock.part("fit"):
        model.fit(**fit_inputs, epochs=training.epochs, callbacks=callbacks, verbose=verbose)
    clock.move(epoch_logger.logging_seconds, "fit", "logging")
    clock.move(first_epoch_overhead(epoch_logger.epoch_seconds), "fit", "build")

    epochs_run = max(1, len(epoch_logger.epoch_seconds))
    mean_epoch_seconds = sum(epoch_logger.epoch_seconds) / epochs_run
    judged = convergence(epoch_logger.val_losses, training.epochs, training.early_stopping_patience)
    stopped = stopped_by() if stopped_by is not None else None
    if stopped:
        judged = Convergence(judged.best_epoch, False, stopped)
    best = {}
    if 1 <= judged.best_epoch <= len(epoch_logger.val_losses):
        best[schema.BEST_VAL_LOSS] = epoch_logger.val_losses[judged.best_epoch - 1]
    with logging_part(clock):
        mlflow.log_metrics(
            {
                schema.EPOCHS_RUN: float(len(epoch_logger.epoch_seconds)),
                schema.MEAN_EPOCH_SECONDS: mean_epoch_seconds,
                schema.MEAN_STEP_SECONDS: mean_epoch_seconds / steps_per_epoch,
                schema.BEST_EPOCH: float(judged.best_epoch),
                schema.CONVERGED: float(judged.converged),
                **{name: value for name, value in best.items() if math.isfinite(value)},
            }
        )
        mlflow.set_tags(
            {
                schema.TAG_CONVERGED: str(judged.converged).lower(),
                schema.TAG_CONVERGENCE: judged.why,
            }
        )
    return Fitted(model, epoch_logger, judged, probe, initial_norms)


def fit_recurrent(
    spec: RunSpec,
    task: Task,
    data: SequenceData,
    units: int,
    verbose: int,
    xla: bool,
    clock: Stopwatch,
    extra_callbacks: list[keras.callbacks.Callback],
) -> Evaluation:
    """Build, train and evaluate one recurrent variant, logging its params, epochs and model."""
    fitted = fit_model(spec, task, data, units, verbose, xla, clock, extra_callbacks)
    model = fitted.model
    # One pass over the test split: compiling a second XLA graph for it costs more than it
    # saves, so evaluation runs the plain graph (the XLA agreement test bounds the difference).
    model.jit_compile = False
    with logging_part(clock):
        tracking.log_model(model, first(data.x_val, MODEL_EXAMPLES), name=spec.name)
    if fitted.probe is not None:
        with clock.part("diagnostics"):
            log_diagnostics(model, fitted.probe, fitted.initial_norms, task.loss)
    with clock.part("evaluate"):
        return task.evaluate(model, data, spec.dataset.training.batch_size, spec.dataset.model)


def fit_trial(
    spec: RunSpec,
    task: Task,
    data: SequenceData,
    units: int,
    verbose: int,
    xla: bool,
    clock: Stopwatch,
    extra_callbacks: list[keras.callbacks.Callback],
) -> dict[str, float]:
    """Train one tuning trial, reporting every epoch to its study, and log its objective:
    the best validation loss it reached. Its test split is sealed (`trial.sealed`): it is
    never evaluated, and a read of it fails the run."""
    from gru_keras.experiment import trial  # Optuna, only where a trial runs

    reporter = trial.TrialReporter(spec.trial)
    fit_model(
        spec,
        task,
        trial.sealed(data),
        units,
        verbose,
        xla,
        clock,
        [*extra_callbacks, reporter],
        stopped_by=lambda: (
            f"pruned at epoch {reporter.pruned_at} (successive halving)"
            if reporter.pruned_at
            else None
        ),
    )
    if not math.isfinite(reporter.best):
        raise tracking.NonFiniteMetricError("no epoch reached a finite validation loss")
    state = schema.TRIAL_PRUNED if reporter.pruned_at else schema.TRIAL_COMPLETE
    metrics = {schema.TUNING_OBJECTIVE: reporter.best}
    if reporter.pruned_at:
        metrics[schema.TUNING_PRUNED_EPOCH] = float(reporter.pruned_at)
    with logging_part(clock):
        mlflow.log_metrics(metrics)
        mlflow.set_tags(
            {
                schema.TAG_TRIAL_STATE: state,
                schema.TAG_NOTE: (
                    f"Tuning trial {spec.trial.number} of **{spec.model}** on "
                    f"**{spec.dataset.key}** (study `{spec.trial.study}`): {state}, best "
                    f"validation loss {reporter.best:.4g}. Trained on the training split, "
                    "judged on validation; the test split is never read."
                ),
            }
        )
    return metrics


def repeated(fit_inputs: dict[str, Any], steps: int, seed: int) -> dict[str, Any]:
    """`model.fit` arguments that train `steps` updates an epoch: a task's own endless
    stream as it is, else its arrays reshuffled (from `seed`) every pass and repeated, in
    batches of one size that run on across passes (so XLA compiles one shape)."""
    if "steps_per_epoch" in fit_inputs:
        return {**fit_inputs, "steps_per_epoch": steps}
    batch_size = fit_inputs["batch_size"]
    stream = untuned(
        tf.data.Dataset.from_tensor_slices((fit_inputs["x"], fit_inputs["y"]))
        .shuffle(len(fit_inputs["y"]), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(min(batch_size, len(fit_inputs["y"])), drop_remainder=True)
        .prefetch(2)
    )
    rest = {k: v for k, v in fit_inputs.items() if k not in ("x", "y", "batch_size")}
    return {
        **rest,
        "x": stream,
        "steps_per_epoch": steps,
        "validation_batch_size": batch_size,
        "shuffle": False,  # the stream is shuffled already (Keras warns otherwise)
    }


def first_epoch_overhead(epoch_seconds: list[float]) -> float:
    """How much longer the first epoch took than a steady one (the median of the rest): the
    tracing and compiling of the train and test steps. 0 with fewer than 2 epochs."""
    if len(epoch_seconds) < 2:
        return 0.0
    return max(0.0, epoch_seconds[0] - float(np.median(epoch_seconds[1:])))


def first(inputs: Any, count: int) -> Any:
    """The first `count` examples of an input array or a dict of them."""
    if isinstance(inputs, dict):
        return {name: array[:count] for name, array in inputs.items()}
    return inputs[:count]


def diagnostic_batch(data: SequenceData) -> tuple[Any, Any]:
    return data.x_val[:DIAGNOSTIC_EXAMPLES], data.y_val[:DIAGNOSTIC_EXAMPLES]


def log_diagnostics(
    model: keras.Model, probe: tuple[Any, Any], initial_norms: Any, loss: Any
) -> None:
    """Gradient norms per step (at initialization and trained) as a table, a plot and two
    ratios, and for the custom GRU its gate activity (arrays and a plot) and its deviation
    from `keras.layers.GRU` holding the same weights."""
    trained_norms = diagnostics.hidden_state_gradient_norms(model, *probe, loss)
    table = diagnostics.gradient_table({"initial": initial_norms, "trained": trained_norms})
    mlflow.log_text(table.to_csv(index=False), schema.GRADIENT_FILE)
    mlflow.log_figure(diagnostic_plots.gradient_reach_figure(table), schema.GRADIENT_PLOT)
    for name, norms in (
        (schema.GRADIENT_REACH_INITIAL, initial_norms),
        (schema.GRADIENT_REACH_TRAINED, trained_norms),
    ):
        ratio = diagnostics.decay_ratio(norms)
        if ratio == 0.0:  # below float32's range: say so rather than log a 0
            mlflow.set_tag(name, schema.UNDERFLOW)
            ratio = schema.GRADIENT_FLOOR
        mlflow.log_metric(name, ratio)
    inputs = probe[0]
    gates = diagnostics.gate_activity(model, inputs[:GATE_EXAMPLES])
    if gates is not None:
        tracking.log_arrays(gates, schema.GATES_FILE)
        mlflow.log_figure(diagnostic_plots.gates_figure(gates), schema.GATES_PLOT)
        mlflow.log_metric(schema.KERAS_DEVIATION, diagnostics.keras_deviation(model, inputs))


def run_baseline(spec: RunSpec, task: Task, data: SequenceData) -> Evaluation:
    """Forecast the test split with a non-neural baseline of the task and score it."""
    started = time.perf_counter()
    predictions = task.baselines[spec.model](data)
    mlflow.log_metric(schema.FIT_PREDICT_SECONDS, time.perf_counter() - started)
    return task.evaluate_predictions(predictions, data)
