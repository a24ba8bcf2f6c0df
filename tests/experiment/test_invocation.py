"""A `run` command's parent run and the experiment's description and saved views, against a
real sqlite MLflow store (no training)."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from gru_keras import schema
from gru_keras.experiment import invocation, tracking
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.plan import expand
from gru_keras.experiment.run import RunOutcome
from gru_keras.experiment.store import ensure_experiment


@pytest.fixture
def store(tmp_path, tiny_suite, monkeypatch):
    monkeypatch.chdir(tmp_path)  # artifacts go to ./mlartifacts beside the store
    path = tiny_suite(suite="", training="")
    path.write_text("# What this suite is for.\n#\n# A second line.\n" + path.read_text())
    suite = load_suite(path)
    client = tracking.connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return client, ensure_experiment(client, suite.name), suite


def test_suite_comment_is_the_leading_comment_block_only(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("# first\n#\n#  second  \n[suite]\n# not this one\n")
    assert invocation.suite_comment(path) == "first second"
    assert invocation.suite_comment(tmp_path / "missing.toml") == ""


def test_the_all_datasets_view_groups_training_runs_by_dataset_then_model():
    state = invocation.view_state(None)
    keys = [key["groupByData"] for key in state["groupBy"]["groupByKeys"]]
    assert keys == [schema.TAG_DATASET, schema.TAG_MODEL]
    assert state["groupBy"]["aggregateFunction"] == "average"
    # Invocation and report runs have no dataset tag, so this keeps training runs only.
    assert state["searchFilter"] == f"tags.{schema.TAG_DATASET} LIKE '%'"
    assert f"metrics.`{schema.HEADLINE}`" in state["selectedColumns"]


def test_a_dataset_view_filters_on_its_quoted_name_and_groups_by_model():
    state = invocation.view_state("it's")
    assert [key["groupByData"] for key in state["groupBy"]["groupByKeys"]] == [schema.TAG_MODEL]
    assert state["searchFilter"] == f'tags.{schema.TAG_DATASET} = "it\'s"'


def test_a_view_url_names_the_experiment_the_view_and_the_training_mode():
    url = urlparse(invocation.view_url("http://127.0.0.1:5000/", "7", "adding-T100"))
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:5000", "/")
    route, _, query = url.fragment.partition("?")
    assert route == "/experiments/7/runs"
    assert parse_qs(query) == {
        "workflowType": ["machine_learning"],
        "viewStateShareKey": ["dataset-adding-T100"],
    }
    assert invocation.view_url("http://h", "7").endswith("viewStateShareKey=by-dataset-and-model")


def test_describe_experiment_stores_its_description_and_one_view_per_dataset(store):
    client, experiment_id, suite = store
    invocation.describe_experiment(client, experiment_id, suite)
    tags = client.get_experiment(experiment_id).tags
    assert tags[schema.TAG_EXPERIMENT_KIND] == schema.MODEL_TRAINING
    assert "What this suite is for. A second line." in tags[schema.TAG_NOTE]
    assert tags["datasets"] == ", ".join(dataset.key for dataset in suite.datasets)
    assert tags["models"] == ", ".join(suite.models)
    for key in [None, *(dataset.key for dataset in suite.datasets)]:
        stored = tags[schema.TAG_VIEW_PREFIX + invocation.view_key(key)]
        assert json.loads(stored) == invocation.view_state(key)


def test_an_invocation_starts_running_with_its_suite_and_ends_with_its_summary(store):
    client, experiment_id, suite = store
    parent = invocation.start(client, experiment_id, suite)
    run = client.get_run(parent)
    assert run.info.status == schema.RUNNING
    assert run.data.tags[schema.TAG_KIND] == schema.KIND_INVOCATION
    assert run.info.run_name.startswith(f"{suite.name} @ ")
    stored = client.download_artifacts(parent, schema.RESOLVED_FILE)
    assert json.loads(Path(stored).read_text()) == json.loads(
        json.dumps(suite.resolved, sort_keys=True, default=str)
    )
    suite_file = client.download_artifacts(parent, schema.SUITE_FILE)
    assert Path(suite_file).read_text() == suite.path.read_text()

    trained, skipped = expand(suite)[:2]
    child = client.create_run(
        experiment_id, run_name=trained.name, tags={schema.TAG_PARENT: parent}
    ).info.run_id
    outcomes = [
        RunOutcome(trained, schema.FINISHED, seconds=1.26),
        RunOutcome(skipped, schema.SKIPPED),
    ]
    done = {(skipped.name, skipped.config_hash): "earlier-run-id"}
    rows = invocation.summary_rows(client, experiment_id, parent, outcomes, done)
    assert [(row["run"], row["action"], row["run_id"]) for row in rows] == [
        (trained.name, "trained", child),
        (skipped.name, "skipped (FINISHED earlier)", "earlier-run-id"),
    ]
    assert rows[0]["seconds"] == 1.3

    invocation.finish(client, experiment_id, parent, rows, "x" * 8000, schema.FINISHED)
    run = client.get_run(parent)
    assert run.info.status == schema.FINISHED
    # MLflow keeps 8,000 characters of a tag: a long summary is cut, the table is an artifact.
    assert len(run.data.tags[schema.TAG_NOTE]) <= 7500
    table = pd.read_csv(client.download_artifacts(parent, schema.SUMMARY_CSV))
    assert list(table["run"]) == [trained.name, skipped.name]
    links = Path(client.download_artifacts(parent, schema.SUMMARY_MD)).read_text()
    assert f"[{trained.name}](#/experiments/{experiment_id}/runs/{child})" in links
