"""One tracked run's lifecycle, in process, against a real sqlite store."""

import math
import os
import signal
import threading
import time

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.interrupts import INTERRUPTED, signals_as_interrupt
from gru_keras.experiment.plan import expand, preflight
from gru_keras.experiment.run import execute_run
from gru_keras.experiment.store import ensure_experiment
from gru_keras.families import Evaluation
from gru_keras.families.probes.task import LastStepRegression


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_run_whose_headline_metric_is_not_finite_fails(value, tmp_path, tiny_suite, monkeypatch):
    suite = load_suite(tiny_suite(models=("simple_rnn",), epochs=1))
    cache = DatasetCache(None)
    units = preflight(suite, cache)
    (spec,) = expand(suite)
    # The task scores the test split as `value` (a model gone wrong after a finite loss).
    monkeypatch.setattr(
        LastStepRegression, "evaluate_predictions", lambda self, *_: Evaluation({"mse": value})
    )
    client = tracking.connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = ensure_experiment(client, suite.name)
    outcome = execute_run(spec, experiment_id, cache, units[(spec.dataset.key, spec.model)], 0)
    assert outcome.status == schema.FAILED
    assert f"test/mse is {value}, not a result" in outcome.reason
    (run,) = client.search_runs([experiment_id])
    assert run.info.status == "FAILED"
    assert "NonFiniteMetricError" in run.data.tags[schema.TAG_FAILURE]


def test_an_interrupt_that_c_code_turned_into_another_error_ends_the_run_killed(
    tmp_path, tiny_suite, monkeypatch
):
    # What a SIGTERM inside tf.data looks like: the handler ran (the flag is set), and the
    # error that reaches the run is a ValueError about nested structures.
    suite = load_suite(tiny_suite(models=("simple_rnn",), epochs=1))
    cache = DatasetCache(None)
    units = preflight(suite, cache)
    (spec,) = expand(suite)

    def interrupted(self, *_):
        INTERRUPTED.set()
        raise ValueError("The two structures don't have the same nested structure.")

    monkeypatch.setattr(LastStepRegression, "evaluate_predictions", interrupted)
    client = tracking.connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = ensure_experiment(client, suite.name)
    try:
        with pytest.raises(KeyboardInterrupt):
            execute_run(spec, experiment_id, cache, units[(spec.dataset.key, spec.model)], 0)
    finally:
        INTERRUPTED.clear()
    (run,) = client.search_runs([experiment_id])
    assert run.info.status == "KILLED"
    assert run.data.tags[schema.TAG_FAILURE] == "interrupted by the user"


def test_an_interrupt_inside_an_epochs_metric_write_ends_the_run_killed(tmp_path, tiny_suite):
    # SIGTERM arrives just after SQLAlchemy inserted the first epoch's metric rows. Stopped
    # there, the write kept its connection and sqlite's write lock: ending the run waited out
    # the 20 s busy timeout twice, failed "database is locked" and left the run RUNNING (how a
    # worker's run outlived its SIGKILLed driver). The write now finishes first.
    suite = load_suite(tiny_suite(models=("simple_rnn",), epochs=2))
    cache = DatasetCache(None)
    units = preflight(suite, cache)
    (spec,) = expand(suite)
    client = tracking.connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = ensure_experiment(client, suite.name)
    sent = []

    def interrupt(connection, cursor, statement, *_):
        # The main thread's write: MLflow's system-metrics thread inserts metrics too.
        main = threading.current_thread() is threading.main_thread()
        if main and not sent and statement.startswith("INSERT INTO metrics"):
            sent.append(statement)
            os.kill(os.getpid(), signal.SIGTERM)

    event.listen(Engine, "after_cursor_execute", interrupt)
    started = time.monotonic()
    try:
        with signals_as_interrupt(), pytest.raises(KeyboardInterrupt):
            execute_run(spec, experiment_id, cache, units[(spec.dataset.key, spec.model)], 0)
    finally:
        event.remove(Engine, "after_cursor_execute", interrupt)
        INTERRUPTED.clear()
    assert sent, "no epoch metrics were written"
    (run,) = client.search_runs([experiment_id])
    assert run.info.status == "KILLED"
    assert run.data.tags[schema.TAG_FAILURE] == "interrupted by the user"
    assert client.get_metric_history(run.info.run_id, "train/loss")  # the write completed
    assert time.monotonic() - started < 15  # not the busy timeout
