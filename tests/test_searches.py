"""Every search pages to the end: with pages of 2, a store of 7 runs and 5 experiments reads
whole through each reader (a single search call would return 2)."""

import pytest
from mlflow.tracking import MlflowClient

from gru_keras import schema, searches
from gru_keras.analysis.runs import find_experiment, load_runs
from gru_keras.experiment import tracking

RUNS = 7


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setattr(searches, "PAGE_SIZE", 2)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = client.create_experiment("paged", artifact_location=str(tmp_path / "a"))
    for extra in range(4):
        client.create_experiment(f"other-{extra}", artifact_location=str(tmp_path / "a"))
    for seed in range(RUNS):
        tags = {schema.TAG_MODEL: "lstm", schema.TAG_DATASET: "d", schema.TAG_SEED: str(seed)}
        tags[schema.TAG_CONFIG_HASH] = f"h{seed}"
        run = client.create_run(experiment_id, run_name=f"d__lstm__{seed}", tags=tags)
        client.set_terminated(run.info.run_id, schema.FINISHED)
    return client, experiment_id


def test_a_single_call_sees_one_page_and_the_pager_sees_all(store):
    client, experiment_id = store
    assert len(client.search_runs([experiment_id], max_results=searches.PAGE_SIZE)) == 2
    runs = searches.all_runs(client, [experiment_id], order_by=["attributes.run_name ASC"])
    assert [run.info.run_name for run in runs] == [f"d__lstm__{seed}" for seed in range(RUNS)]
    names = {experiment.name for experiment in searches.all_experiments(client)}
    assert {"paged", "Default", *(f"other-{extra}" for extra in range(4))} == names


def test_the_readers_of_the_store_read_every_page(store):
    client, experiment_id = store
    assert len(load_runs(client, "paged")) == RUNS
    assert len(tracking.finished_runs(client, experiment_id)) == RUNS
    with pytest.raises(ValueError, match="other-3"):  # the list of names is every page's
        find_experiment(client, "absent")
