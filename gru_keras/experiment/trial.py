"""A tuning trial's side of the run: report each epoch to its Optuna study, stop when
successive halving prunes it, and never touch the test split.

The driver (`gru_keras.tuning`) asks the study for the trial and tells it the outcome; the
run, wherever it executes (in the driver, a local worker or a Ray task), opens the same
study from its storage and reports its best validation loss so far after every epoch.
Optuna's successive-halving pruner compares that value, at each rung, with every other
trial of the study that reached the rung.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import keras
import optuna

from gru_keras.experiment.plan import TrialRef
from gru_keras.families import SequenceData

optuna.logging.set_verbosity(optuna.logging.WARNING)


def open_storage(storage: str) -> optuna.storages.BaseStorage:
    """A journal file (a path: one machine, its processes lock the file) or a database
    (a URL: every node of a cluster reaches it)."""
    if "://" in storage:
        return optuna.storages.RDBStorage(storage)
    path = Path(storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))


def make_pruner(min_epochs: int, reduction_factor: int) -> optuna.pruners.BasePruner:
    """Successive halving with rungs at min_epochs x factor^k epochs, the same for every
    variant; `NopPruner` when `min_epochs` is 0."""
    if min_epochs <= 0:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=min_epochs, reduction_factor=reduction_factor, min_early_stopping_rate=0
    )


class SealedSplitError(RuntimeError):
    """A tuning trial read the test split: selection must use validation only."""


class _Sealed:
    """Stands for a split a trial may not read: any use raises `SealedSplitError`."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise SealedSplitError("a tuning trial read the test split; it may use validation only")

    __getattr__ = __getitem__ = __len__ = __iter__ = __array__ = _refuse


def sealed(data: SequenceData) -> SequenceData:
    """The dataset with its test split replaced by `_Sealed`: a trial that reads it fails."""
    return dataclasses.replace(data, x_test=_Sealed(), y_test=_Sealed())


class TrialReporter(keras.callbacks.Callback):
    """After each epoch, report the best validation loss so far to the trial (step = epoch,
    from 1) and stop training if the pruner says so.

    Reporting the best so far, not the epoch's own value, makes the curve monotone: a run
    restores its best weights, so that is what it would deliver if stopped there.
    """

    def __init__(self, ref: TrialRef) -> None:
        super().__init__()
        self.ref = ref
        study = optuna.load_study(
            study_name=ref.study,
            storage=open_storage(ref.storage),
            pruner=make_pruner(ref.min_epochs, ref.reduction_factor),
        )
        self.trial = optuna.trial.Trial(study, ref.trial_id)
        self.best = math.inf
        self.pruned_at = 0  # the epoch it was pruned at; 0 if it was not

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = float((logs or {}).get("val_loss", math.nan))
        if math.isfinite(value):
            self.best = min(self.best, value)
        if not math.isfinite(self.best):
            return  # nothing to report yet; a loss that never turns finite fails the run
        self.trial.report(self.best, epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True
