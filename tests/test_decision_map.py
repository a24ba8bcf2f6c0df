"""`python -m gru_keras map`: a tiny map end to end through the real CLI on a local Ray
cluster against an MLflow server, as experiments/map-large.toml runs; its stages, CSV, PDF
and the files on the parent run; and bad input."""

import pandas as pd
import pytest
from cli import TINY_MAP, gru_keras, here, pdf_text, runs_of

from gru_keras import schema
from gru_keras.analysis.decision import COLUMNS, VERDICTS

pytestmark = pytest.mark.slow


def test_a_tiny_map_runs_its_stages_on_ray_and_writes_the_csv_and_the_heatmaps(
    server, tmp_path, tiny_suite
):
    # The suite file chooses Ray, as map-large.toml does; the CLI starts a local Ray.
    suite = tiny_suite(
        "tinymap",
        models=None,
        seeds=None,
        suite='executor = "ray"\ncpus_per_run = 1.0',
        datasets=TINY_MAP,
    )
    result = gru_keras(tmp_path, "map", suite, tracking_uri=server)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stage 1 of 2: 2 cells, seeds 0-1" in result.stderr
    # One Ray for both stages: a second start would bring up new workers importing TensorFlow.
    assert result.stderr.count("Started a local Ray instance") == 1, result.stderr[-3000:]

    table = pd.read_csv(tmp_path / "reports" / "tinymap-map.csv")
    assert list(table.columns) == [
        "task",
        "sequence_length",
        "train_size",
        "parameter_budget",
        "dataset",
        *COLUMNS,
    ]
    assert len(table) == 2 and set(table["verdict"]) <= set(VERDICTS)
    assert (table["first"] == "custom_gru").all() and (table["metric"] == "r2").all()
    # Achieved parameters are reported beside the budgets they were matched to.
    assert (abs(table["first_params"] / table["parameter_budget"] - 1) < 0.2).all()

    client, runs = runs_of(server, "tinymap")
    assert {run.data.tags[schema.TAG_EXECUTOR] for run in runs} == {"ray"}
    names = {run.info.run_name for run in runs}
    undecided = table.loc[table["verdict"] == "undecided", "dataset"]
    # Stage 2 gave a third seed to the undecided cells only.
    for cell in table["dataset"]:
        assert (f"{cell}__custom_gru__2" in names) == (cell in set(undecided))
    for run in runs:  # every run trained 40 updates in 2 validated epochs
        assert run.data.metrics[schema.EPOCHS_RUN] == 2
        assert run.data.params["training.steps_per_epoch"] == "20"

    pages, text = pdf_text(tmp_path / "reports" / "tinymap-map.pdf")
    assert pages >= 3  # findings, the pair's heatmaps, its time to target
    assert "Decision map 'tinymap'" in text
    assert "adding: custom_gru against simple_rnn on r2" in text
    assert "parameter_budget 460" in text and "at 40 updates" in text
    (parent,) = runs_of(server, "tinymap", kind=schema.KIND_INVOCATION)[1][:1]
    logged = {item.path for item in client.list_artifacts(parent.info.run_id, schema.REPORT_DIR)}
    assert {
        f"{schema.REPORT_DIR}/tinymap-map.pdf",
        f"{schema.REPORT_DIR}/tinymap-map.csv",
    } <= logged

    # Again, here and without Ray: every run is found finished, the same table comes out.
    again = here(tmp_path, "map", suite, "--no-log", "--executor", "local", tracking_uri=server)
    assert again.returncode == 0, again.stderr[-2000:]
    counts = [line.strip() for line in again.stdout.splitlines() if "finished " in line]
    assert counts and all(line.startswith("finished 0, skipped") for line in counts)
    assert pd.read_csv(tmp_path / "reports" / "tinymap-map.csv").equals(table)
    only = here(tmp_path, "map", suite, "--report-only", "--no-log", "--output-dir", "again",
                tracking_uri=server)  # fmt: skip
    assert only.returncode == 0 and "finished" not in only.stdout
    assert pd.read_csv(tmp_path / "again" / "tinymap-map.csv").equals(table)


def test_map_refuses_a_suite_that_is_not_a_map_and_a_store_without_it(tmp_path, tiny_suite):
    result = here(tmp_path, "map", tiny_suite())
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "not a map" in result.stderr
    assert result.stderr.count("\n") == 1
    suite = tiny_suite("nomap", models=None, seeds=None, datasets=TINY_MAP)
    empty = here(tmp_path, "map", suite, "--report-only")
    assert empty.returncode == 2 and "no tracking store at" in empty.stderr
    assert empty.stderr.count("\n") == 1
