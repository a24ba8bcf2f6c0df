"""A trial's side: its test split is sealed, and its reporter speaks to the study."""

import numpy as np
import optuna
import pytest

from gru_keras.experiment.plan import TrialRef
from gru_keras.experiment.trial import (
    SealedSplitError,
    TrialReporter,
    make_pruner,
    open_storage,
    sealed,
)
from gru_keras.families import SequenceData


def test_a_sealed_test_split_refuses_every_read_and_leaves_the_rest():
    data = SequenceData("x", np.ones((4, 3, 1)), np.ones(4), np.ones((2, 3, 1)), np.ones(2),
                        {"source": np.ones((2, 3))}, np.ones(2))  # fmt: skip
    closed = sealed(data)
    for read in (
        lambda: np.asarray(closed.x_test),
        lambda: closed.x_test["source"],
        lambda: len(closed.y_test),
        lambda: closed.y_test.shape,
        lambda: list(closed.y_test),
    ):
        with pytest.raises(SealedSplitError, match="validation only"):
            read()
    assert closed.x_val is data.x_val and closed.y_train is data.y_train


def test_the_reporter_reports_the_best_so_far_and_stops_when_pruned(tmp_path):
    storage = str(tmp_path / "study.journal")
    study = optuna.create_study(
        study_name="s", storage=open_storage(storage), pruner=make_pruner(1, 3)
    )
    leader = study.ask()
    for epoch, value in enumerate([0.5, 0.3, 0.2], start=1):
        leader.report(value, epoch)
        assert not leader.should_prune()  # alone at its rungs: it goes on
    study.tell(leader, 0.2)
    trial = study.ask()

    class Model:
        stop_training = False

    reporter = TrialReporter(TrialRef(storage, "s", trial._trial_id, trial.number, 1, 3))
    reporter.set_model(Model())
    reporter.on_epoch_end(0, {"val_loss": 0.9})  # worse than the leader at rung 1: pruned
    assert reporter.pruned_at == 1 and reporter.model.stop_training
    reporter.on_epoch_end(1, {"val_loss": 1.5})  # a worse epoch keeps the best so far
    assert optuna.load_study(study_name="s", storage=open_storage(storage)).trials[
        1
    ].intermediate_values == {1: 0.9, 2: 0.9}
