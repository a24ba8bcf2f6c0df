"""What the MLflow UI shows around the runs: the experiment's kind, description and saved
views, and one parent run per `run` command.

The parent run (tag `kind` = `invocation`) holds the suite file as given and as resolved,
the commit, the summary table of every run it trained, skipped or lost, and later the
report. The runs it trains are nested under it (`mlflow.parentRunId`); a run that FINISHED
in an earlier invocation keeps its own parent and is linked from this one's summary, so a
resumed suite never duplicates a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.tracking import MlflowClient

from gru_keras import schema, searches
from gru_keras.experiment import tracking
from gru_keras.names import quoted

if TYPE_CHECKING:
    from gru_keras.experiment.config import SuiteConfig
    from gru_keras.experiment.run import RunOutcome

QUESTION = (
    "When is a GRU worth using? A GRU written from its equations (custom_gru) against "
    "Keras's SimpleRNN, LSTM and GRU, parameter-matched, over several seeds."
)
# What a finished, failed, killed or skipped run counts as in an invocation's summary.
ACTIONS = {
    schema.FINISHED: "trained",
    schema.FAILED: "failed",
    schema.KILLED: "killed",
    schema.SKIPPED: "skipped (FINISHED earlier)",
}
# The runs table's columns in the saved views (MLflow's column ids: type.`name`).
VIEW_COLUMNS = (
    f"metrics.`{schema.HEADLINE}`",
    f"tags.`{schema.TAG_HEADLINE_METRIC}`",
    f"metrics.`{schema.BEST_VAL_LOSS}`",
    f"metrics.`{schema.BEST_EPOCH}`",
    f"tags.`{schema.TAG_CONVERGED}`",
    f"metrics.`{schema.MEAN_EPOCH_SECONDS}`",
    f"params.`{schema.PARAM_UNITS}`",
)
ALL_DATASETS_VIEW = "by-dataset-and-model"
WORKFLOW = "workflowType=machine_learning"  # the UI's model-training mode


def suite_comment(path: Path) -> str:
    """The comment lines at the top of a suite file, joined (what the suite is for)."""
    lines = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(line for line in lines if line)


def view_key(dataset: str | None) -> str:
    """The saved view of one dataset's runs, or of all of them."""
    return ALL_DATASETS_VIEW if dataset is None else f"dataset-{dataset}"


def view_state(dataset: str | None) -> dict[str, Any]:
    """An MLflow runs-view state: the training runs (of one dataset) grouped by dataset and
    model, so each variant's seeds are one row and the four variants of a dataset sit
    together; charts draw the groups' means."""
    keys = [] if dataset is not None else [{"mode": "tag", "groupByData": schema.TAG_DATASET}]
    keys.append({"mode": "tag", "groupByData": schema.TAG_MODEL})
    search = f"tags.{schema.TAG_DATASET} = {quoted(dataset)}" if dataset else ""
    return {
        # Training runs only: invocation and report runs have no dataset tag.
        "searchFilter": search or f"tags.{schema.TAG_DATASET} LIKE '%'",
        "groupBy": {"aggregateFunction": "average", "groupByKeys": keys},
        "selectedColumns": list(VIEW_COLUMNS),
        "runsHiddenMode": "SHOW_ALL",
        "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True,
    }


def view_url(base: str, experiment_id: str, dataset: str | None = None) -> str:
    """The UI address of a saved view (`describe_experiment` stores them). The UI opens an
    address in whichever mode (GenAI or model training) the browser last used, so the
    address names the mode."""
    return (
        f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"
        f"?{WORKFLOW}&viewStateShareKey={view_key(dataset)}"
    )


def describe_experiment(client: MlflowClient, experiment_id: str, suite: SuiteConfig) -> None:
    """Mark the experiment as model training (not GenAI), describe it, and store one saved
    runs view for all datasets and one per dataset."""
    datasets = [dataset.key for dataset in suite.datasets]
    comment = suite_comment(suite.path)
    description = "\n\n".join(
        part
        for part in (
            f"**{QUESTION}**",
            f"Suite `{suite.name}` from `{suite.path}`" + (f": {comment}" if comment else "."),
            f"Datasets: {', '.join(datasets)}. Models: {', '.join(suite.models)}. "
            f"Seeds: {', '.join(map(str, suite.seeds))}.",
            "Each `run` command is a parent run (`kind` = invocation) with the suite file, "
            "the summary and the report PDF; the runs it trained are nested under it. "
            "Metric groups: `train/`, `val/` per epoch (step = epoch, from 1), `test/` once, "
            "`best/` the restored epoch, `headline` (the dataset's headline test metric, "
            "named in the tag `headline_metric`), `time/`, `diagnostics/`, `system/`.",
        )
        if part
    )
    tags = {
        schema.TAG_EXPERIMENT_KIND: schema.MODEL_TRAINING,
        schema.TAG_NOTE: description,
        schema.TAG_SUITE_FILE: str(suite.path),
        "question": QUESTION,
        "models": ", ".join(suite.models),
        "datasets": ", ".join(datasets),
    }
    tags.update({schema.TAG_VIEW_PREFIX + view_key(None): json.dumps(view_state(None))})
    tags.update(
        {schema.TAG_VIEW_PREFIX + view_key(key): json.dumps(view_state(key)) for key in datasets}
    )
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


def start(
    client: MlflowClient, experiment_id: str, suite: SuiteConfig, command: str = "run"
) -> str:
    """Create this command's parent run (RUNNING) with the suite files; returns its id."""
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    run = client.create_run(
        experiment_id,
        run_name=schema.invocation_name(suite.name, started),
        tags={
            schema.TAG_KIND: schema.KIND_INVOCATION,
            schema.TAG_SUITE_FILE: str(suite.path),
            schema.TAG_GIT_COMMIT: tracking.git_commit(),
            schema.TAG_MACHINE: tracking.machine(),
            schema.TAG_HOST: socket.gethostname(),
            schema.TAG_PID: str(os.getpid()),
            schema.TAG_NOTE: f"`{command} {suite.path}` started {started}; running.",
        },
    )
    run_id = run.info.run_id
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        with contextlib.suppress(OSError):  # a suite given as text has no file to keep
            (folder / schema.SUITE_FILE).write_text(suite.path.read_text(encoding="utf-8"))
        (folder / schema.RESOLVED_FILE).write_text(
            json.dumps(suite.resolved, indent=2, sort_keys=True, default=str)
        )
        for path in sorted(folder.iterdir()):
            client.log_artifact(run_id, str(path))
    return run_id


def summary_rows(
    client: MlflowClient,
    experiment_id: str,
    parent: str,
    outcomes: list[RunOutcome],
    done: dict[tuple[str, str], str],
) -> list[dict[str, Any]]:
    """One row per run of the invocation: its action, status, seconds and run id (a skipped
    run's id is the earlier FINISHED run's)."""
    children = {
        run.info.run_name: run.info.run_id
        for run in searches.all_runs(
            client, [experiment_id], f"tags.`{schema.TAG_PARENT}` = {quoted(parent)}"
        )
    }
    rows = []
    for outcome in outcomes:
        spec = outcome.spec
        run_id = children.get(spec.name, "")
        if outcome.status == schema.SKIPPED:
            run_id = done.get((spec.name, spec.config_hash), "")
        rows.append(
            {
                "run": spec.name,
                "dataset": spec.dataset.key,
                "model": spec.model,
                "seed": spec.seed,
                "action": ACTIONS.get(outcome.status, outcome.status.lower()),
                "seconds": round(outcome.seconds, 1),
                "run_id": run_id,
                "reason": outcome.reason,
            }
        )
    return rows


def finish(
    client: MlflowClient,
    experiment_id: str,
    parent: str,
    rows: list[dict[str, Any]],
    summary_text: str,
    status: str,
) -> None:
    """Log the summary table (CSV and Markdown with links), describe the parent run with
    it, and end it with `status`."""
    import pandas as pd

    table = pd.DataFrame(
        rows, columns=["run", "dataset", "model", "seed", "action", "seconds", "run_id", "reason"]
    )
    links = [
        "| run | action | seconds |",
        "|---|---|---|",
        *(
            f"| [{row['run']}](#/experiments/{experiment_id}/runs/{row['run_id']}) "
            f"| {row['action']} | {row['seconds']} |"
            if row["run_id"]
            else f"| {row['run']} | {row['action']} | {row['seconds']} |"
            for row in rows
        ),
    ]
    markdown = "\n".join(links)
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        table.to_csv(folder / schema.SUMMARY_CSV, index=False)
        (folder / schema.SUMMARY_MD).write_text(markdown + "\n")
        for name in (schema.SUMMARY_CSV, schema.SUMMARY_MD):
            client.log_artifact(parent, str(folder / name))
    note = f"```\n{summary_text}\n```\n\n{markdown}"
    # MLflow keeps at most 8,000 characters in a tag: the full table is in the artifacts.
    if len(note) > 7500:
        note = f"```\n{summary_text[:6000]}\n```\n\nEvery run: `{schema.SUMMARY_MD}`."
    client.set_tag(parent, schema.TAG_NOTE, note)
    client.set_terminated(parent, status=status)
