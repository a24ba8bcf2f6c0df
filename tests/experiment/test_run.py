"""One tracked run's lifecycle, in process, against a real sqlite store."""

import math

import pytest

from gru_keras import schema
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.interrupts import INTERRUPTED
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
