"""One run, top to bottom: build the model, train it, look inside it, evaluate it.

Everything here happens inside an active MLflow run (`gru_keras.experiment.run` opens and
closes it); a baseline run skips training and scores its forecasts on the same test split.
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import mlflow

from gru_keras import schema
from gru_keras.convergence import convergence
from gru_keras.experiment import diagnostics, tracking
from gru_keras.experiment.config import OPTIMIZERS, TrainingConfig, flatten
from gru_keras.experiment.plan import RunSpec
from gru_keras.families import Evaluation, SequenceData, Task
from gru_keras.variants import get_variant

# The same first validation examples for every model and seed, so diagnostics compare.
DIAGNOSTIC_EXAMPLES, GATE_EXAMPLES = 64, 4


def make_optimizer(training: TrainingConfig) -> keras.optimizers.Optimizer:
    clip = {"global_clipnorm": training.clip_norm} if training.clip_norm > 0 else {}
    return OPTIMIZERS.lookup(training.optimizer)(learning_rate=training.learning_rate, **clip)


def train_and_evaluate(
    spec: RunSpec, data: SequenceData, units: int | None, verbose: int
) -> dict[str, float]:
    """Run one model (a recurrent variant or a baseline) inside the active MLflow run and
    return its `test_*` metrics."""
    task = spec.dataset.task
    mlflow.log_params(
        {
            **flatten(spec.config),
            schema.PARAM_INPUT_DIM: data.input_dim,
            schema.PARAM_DATA_DIGEST: data.digest(),
        }
    )
    tracking.log_json(spec.config, schema.CONFIG_FILE)
    tracking.log_dataset(spec.dataset.key, data.x_train, data.y_train, loader=spec.dataset.dataset)
    if spec.model in task.baselines:
        evaluation = run_baseline(spec, task, data)
    else:
        evaluation = fit_recurrent(spec, task, data, units, verbose)
    metrics = tracking.log_evaluation(evaluation)
    headline = metrics.get(task.headline_column, math.nan)
    if not math.isfinite(headline):
        raise tracking.NonFiniteMetricError(
            f"the headline test metric {task.headline_column} is {headline}, not a result"
        )
    return metrics


def fit_recurrent(
    spec: RunSpec, task: Task, data: SequenceData, units: int, verbose: int
) -> Evaluation:
    """Build, train and evaluate one recurrent variant, logging its params, epochs and model."""
    training, options = spec.dataset.training, spec.dataset.model
    keras.utils.set_random_seed(spec.seed)
    model = task.build_model(get_variant(spec.model), units, data, options)
    model.compile(optimizer=make_optimizer(training), **task.compile_kwargs())
    mlflow.log_params(
        {
            schema.PARAM_UNITS: units,
            schema.PARAM_RECURRENT_PARAMS: task.recurrent_parameter_count(model),
            schema.PARAM_TOTAL_PARAMS: model.count_params(),
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

    probe = diagnostic_batch(data) if task.supports_diagnostics else None
    initial_norms = None
    if probe is not None:
        initial_norms = diagnostics.hidden_state_gradient_norms(model, *probe, task.loss)

    model.fit(**fit_inputs, epochs=training.epochs, callbacks=callbacks, verbose=verbose)

    epochs_run = max(1, len(epoch_logger.epoch_seconds))
    mean_epoch_seconds = sum(epoch_logger.epoch_seconds) / epochs_run
    judged = convergence(epoch_logger.val_losses, training.epochs, training.early_stopping_patience)
    mlflow.log_metrics(
        {
            schema.EPOCHS_RUN: float(len(epoch_logger.epoch_seconds)),
            schema.MEAN_EPOCH_SECONDS: mean_epoch_seconds,
            schema.MEAN_STEP_SECONDS: mean_epoch_seconds / steps_per_epoch,
            schema.BEST_EPOCH: float(judged.best_epoch),
            schema.CONVERGED: float(judged.converged),
        }
    )
    mlflow.set_tags(
        {
            schema.TAG_CONVERGED: str(judged.converged).lower(),
            schema.TAG_CONVERGENCE: judged.why,
        }
    )
    tracking.log_model(model)
    if probe is not None:
        log_diagnostics(model, probe, initial_norms, task.loss)
    return task.evaluate(model, data, training.batch_size, options)


def diagnostic_batch(data: SequenceData) -> tuple[Any, Any]:
    return data.x_val[:DIAGNOSTIC_EXAMPLES], data.y_val[:DIAGNOSTIC_EXAMPLES]


def log_diagnostics(
    model: keras.Model, probe: tuple[Any, Any], initial_norms: Any, loss: Any
) -> None:
    """Gradient norms per step (at initialization and trained), and for the custom GRU its
    gate activity and its deviation from `keras.layers.GRU` holding the same weights."""
    trained_norms = diagnostics.hidden_state_gradient_norms(model, *probe, loss)
    table = diagnostics.gradient_table({"initial": initial_norms, "trained": trained_norms})
    mlflow.log_text(table.to_csv(index=False), schema.GRADIENT_FILE)
    mlflow.log_metrics(
        {
            schema.GRADIENT_DECAY_INITIAL: diagnostics.decay_ratio(initial_norms),
            schema.GRADIENT_DECAY_TRAINED: diagnostics.decay_ratio(trained_norms),
        }
    )
    inputs = probe[0]
    gates = diagnostics.gate_activity(model, inputs[:GATE_EXAMPLES])
    if gates is not None:
        tracking.log_arrays(gates, schema.GATES_FILE)
        mlflow.log_metric(schema.KERAS_DEVIATION, diagnostics.keras_deviation(model, inputs))


def run_baseline(spec: RunSpec, task: Task, data: SequenceData) -> Evaluation:
    """Forecast the test split with a non-neural baseline of the task and score it."""
    started = time.perf_counter()
    predictions = task.baselines[spec.model](data)
    mlflow.log_metric(schema.FIT_PREDICT_SECONDS, time.perf_counter() - started)
    return task.evaluate_predictions(predictions, data)
