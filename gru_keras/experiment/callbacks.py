"""The Keras callbacks every run trains with: one logs each epoch to MLflow, one reports it
to the driver. Apart from `tracking` and `workers` so that planning a suite never imports
Keras."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import mlflow

from gru_keras import schema
from gru_keras.experiment.interrupts import interrupts_deferred
from gru_keras.experiment.tracking import NonFiniteLossError


class EpochLogger(keras.callbacks.Callback):
    """Log every epoch's train and validation metrics (step = epoch, from 1) and its timing, and
    stop the run with `NonFiniteLossError` as soon as the loss is not finite."""

    def __init__(self, steps_per_epoch: int) -> None:
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.epoch_seconds: list[float] = []
        self.val_losses: list[float] = []
        self.logging_seconds = 0.0  # spent writing to MLflow, inside `fit`'s time
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = time.perf_counter() - self._started
        self.epoch_seconds.append(seconds)
        logs = {name: float(value) for name, value in (logs or {}).items()}
        self.val_losses.append(logs.get("val_loss", math.nan))
        metrics = {
            schema.epoch_metric(name): value
            for name, value in logs.items()
            if name != "learning_rate"
        }
        metrics[schema.EPOCH_SECONDS] = seconds
        metrics[schema.STEP_SECONDS] = seconds / max(1, self.steps_per_epoch)
        started = time.perf_counter()
        # Steps count epochs from 1, as the report does. Most of a run's writes happen here,
        # so this is where an interrupt would most often land inside one.
        with interrupts_deferred():
            mlflow.log_metrics(
                {name: value for name, value in metrics.items() if math.isfinite(value)},
                step=epoch + 1,
            )
        self.logging_seconds += time.perf_counter() - started
        loss = logs.get("loss", 0.0)
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"training loss became {loss} in epoch {epoch + 1}")


class EpochLines(keras.callbacks.Callback):
    """Sends one line per epoch, prefixed with the run name, to `emit`."""

    def __init__(self, name: str, emit: Callable[[str], None]) -> None:
        super().__init__()
        self.name, self.emit = name, emit
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = " ".join(
            f"{key} {float(value):.4g}"
            for key, value in (logs or {}).items()
            if key != "learning_rate"
        )
        seconds = time.perf_counter() - self._started
        total = self.params.get("epochs", "?")
        self.emit(f"[{self.name}] epoch {epoch + 1}/{total} {seconds:.1f}s {values}")
