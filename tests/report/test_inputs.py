"""What the report gathers from a real sqlite MLflow store, written here run by run."""

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.experiment.store import ensure_experiment
from gru_keras.families import FAMILIES
from gru_keras.families.forecasting.panels import FORECASTS
from gru_keras.families.forecasting.task import FORECAST_FILE
from gru_keras.report.inputs import gather

ADDING = ("adding", "probes", "last_step_regression")
SUNSPOTS = ("sunspots", "forecasting", "direct_forecast")


def log_run(client, experiment_id, dataset, model, seed, metrics, history=(), tmp_path=None):
    name, family, task = dataset
    run = client.create_run(
        experiment_id,
        run_name=schema.run_name(name, model, seed),
        tags={
            schema.TAG_DATASET: name,
            schema.TAG_FAMILY: family,
            schema.TAG_TASK: task,
            schema.TAG_MODEL: model,
            schema.TAG_SEED: str(seed),
            schema.TAG_CONVERGED: "true",
        },
    )
    run_id = run.info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    for epoch, value in enumerate(history, start=1):
        client.log_metric(run_id, schema.VAL_LOSS, value, step=epoch)
    if tmp_path is not None:
        table = tmp_path / FORECAST_FILE  # a file at the artifact root, as the task logs it
        pd.DataFrame({"window": [0, 0], "truth": [1.0, 2.0], "forecast": [1.5, 2.5]}).to_csv(
            table, index=False
        )
        client.log_artifact(run_id, str(table))
    client.set_terminated(run_id, schema.FINISHED)
    return run_id


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # artifacts go to ./mlartifacts beside the store
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def test_gather_reads_runs_curves_and_family_tables_and_marks_missing_runs(client, tmp_path):
    experiment_id = ensure_experiment(client, "gathered")
    for model, mse in (("custom_gru", 0.02), ("simple_rnn", 0.15)):
        log_run(client, experiment_id, ADDING, model, 0, {"test/mse": mse}, (0.5, 0.3, 0.31))
    log_run(client, experiment_id, SUNSPOTS, "custom_gru", 0, {"test/mase": 0.9}, (), tmp_path)
    # A command's parent run is not a result.
    client.create_run(experiment_id, tags={schema.TAG_KIND: schema.KIND_INVOCATION})
    expected = [(*ADDING, model, seed) for model in ("custom_gru", "simple_rnn") for seed in (0, 1)]

    inputs = gather(client, "gathered", expected)

    runs = inputs.runs.set_index("run_name")
    assert len(runs) == 5  # 3 logged, 2 expected and missing; not the invocation
    assert runs.loc["adding__simple_rnn__1", "status"] == schema.MISSING
    assert runs.loc["adding__custom_gru__0", "test/mse"] == 0.02
    summary = inputs.summary.set_index(["dataset", "model"])
    assert summary.loc[("adding", "custom_gru"), "mean"] == 0.02
    assert summary.loc[("adding", "custom_gru"), "not_finished"] == 1  # the missing seed
    assert summary.loc[("sunspots", "custom_gru"), "metric"] == "test/mase"
    curve = inputs.curves[inputs.curves["model"] == "simple_rnn"]
    assert list(curve["epoch"]) == [1, 2, 3] and list(curve["value"]) == [0.5, 0.3, 0.31]
    assert set(inputs.pairs["dataset"]) == {"adding"}
    # Every family's tables are there; only forecasting's has rows, with the run in front.
    assert set(inputs.tables) == {n for f in FAMILIES.values() for n in f.tables.values()}
    forecasts = inputs.tables[FORECASTS]
    assert list(forecasts.columns[:3]) == ["dataset", "model", "seed"]
    assert list(forecasts["forecast"]) == [1.5, 2.5]
    assert all(not len(table) for name, table in inputs.tables.items() if name != FORECASTS)
    assert inputs.bench is None and inputs.gates == {} and not len(inputs.gradients)
    assert inputs.experiment == "gathered" and inputs.tracking_uri == client.tracking_uri


def test_an_experiment_without_runs_is_a_one_line_error(client):
    ensure_experiment(client, "empty")
    with pytest.raises(ValueError, match="experiment 'empty' has no runs to report"):
        gather(client, "empty")
    with pytest.raises(
        ValueError, match=r"no experiment named 'absent'.*experiments there: .*empty"
    ):
        gather(client, "absent")
