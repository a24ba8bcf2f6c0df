"""MLflow -> DataFrames: one experiment's runs, curves and artifacts, read back by the names in
`gru_keras.schema`. The only analysis module that talks to the store; everything after it
is a pure function of the frames it returns."""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from gru_keras import schema, searches

RUN_COLUMNS = (
    "run_id",
    "run_name",
    "status",
    "dataset",
    "family",
    "task",
    "model",
    "seed",
    "units",
    "recurrent_params",
    "mean_epoch_seconds",
    "epochs_run",
    "train_seconds",
    "start_time",
    "end_time",
    "git_commit",
    "machine",
    "device",
    "versions",
    "failure_reason",
    "tuned",
    "converged",
    "convergence",
    "best_epoch",
    "max_epochs",
    "patience",
)

NOT_RECORDED = "not recorded"  # a tag the run's schema version did not write yet

EXTRA_METRICS = (
    schema.GRADIENT_REACH_INITIAL,
    schema.GRADIENT_REACH_TRAINED,
    schema.KERAS_DEVIATION,
)


def find_experiment(client: MlflowClient, experiment: str) -> str:
    """The id of `experiment`.

    Raises:
        ValueError: naming the experiments the store has, if it does not exist.
    """
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in searches.all_experiments(client))
        raise ValueError(
            f"no experiment named {experiment!r} in {client.tracking_uri}; "
            f"experiments there: {', '.join(names) or '(none)'}"
        )
    return found.experiment_id


def _number(params: dict[str, str], name: str) -> float:
    return float(params[name]) if name in params else np.nan


def _run_row(run) -> dict:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    epochs_run = metrics.get(schema.EPOCHS_RUN, np.nan)
    # Training time: epochs x seconds per epoch for a network, fit + predict for a baseline.
    train_seconds = metrics.get(
        schema.FIT_PREDICT_SECONDS, epochs_run * metrics.get(schema.MEAN_EPOCH_SECONDS, np.nan)
    )
    row = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "dataset": tags.get(schema.TAG_DATASET, ""),
        "family": tags.get(schema.TAG_FAMILY, ""),
        "task": tags.get(schema.TAG_TASK, ""),
        "model": tags.get(schema.TAG_MODEL, ""),
        "seed": int(tags.get(schema.TAG_SEED, -1)),
        "units": _number(params, schema.PARAM_UNITS),
        "recurrent_params": _number(params, schema.PARAM_RECURRENT_PARAMS),
        "mean_epoch_seconds": metrics.get(schema.MEAN_EPOCH_SECONDS, np.nan),
        "epochs_run": epochs_run,
        "train_seconds": train_seconds,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "git_commit": tags.get(schema.TAG_GIT_COMMIT, "unknown"),
        "machine": tags.get(schema.TAG_MACHINE, NOT_RECORDED),
        "device": tags.get(schema.TAG_DEVICE, NOT_RECORDED),
        "versions": ", ".join(
            f"{name.removeprefix(schema.TAG_VERSION_PREFIX)} {value}"
            for name, value in sorted(tags.items())
            if name.startswith(schema.TAG_VERSION_PREFIX)
        ),
        "failure_reason": tags.get(schema.TAG_FAILURE, ""),
        "tuned": tags.get(schema.TAG_TUNED, ""),  # "" at the suite's own settings
        # None where the run did not record it (baselines, runs before schema v3).
        "converged": {"true": True, "false": False}.get(tags.get(schema.TAG_CONVERGED, "")),
        "convergence": tags.get(schema.TAG_CONVERGENCE, ""),  # the rule that decided, in words
        "best_epoch": metrics.get(schema.BEST_EPOCH, np.nan),
        "max_epochs": _number(params, schema.PARAM_MAX_EPOCHS),
        "patience": _number(params, schema.PARAM_PATIENCE),
    }
    row.update({name: metrics.get(name, np.nan) for name in EXTRA_METRICS})
    row.update(
        {name: value for name, value in metrics.items() if name.startswith(schema.TEST_PREFIX)}
    )
    return row


def load_runs(client: MlflowClient, experiment: str) -> pd.DataFrame:
    """One row per run of `experiment`: identity, status, sizes, timing, provenance, the
    diagnostics' summary numbers and every `test_*` metric.

    Raises:
        ValueError: if the experiment does not exist in the store.
    """
    experiment_id = find_experiment(client, experiment)
    rows = [
        _run_row(run)
        for run in searches.all_runs(client, [experiment_id])
        # Invocation and report runs are not results.
        if schema.TAG_KIND not in run.data.tags
    ]
    frame = pd.DataFrame(rows, columns=None if rows else list(RUN_COLUMNS))
    return latest_runs(frame)


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest run of each `(dataset, model, seed)`, sorted by them.

    Changing a dataset's settings and running the suite again adds new runs next to the old
    ones (the config hash differs); the report describes the suite as it was last run, so a
    seed is never counted twice and old settings never mix with new ones.
    """
    newest = runs.sort_values("start_time", kind="stable").drop_duplicates(
        ["dataset", "model", "seed"], keep="last"
    )
    return newest.sort_values(["dataset", "model", "seed"], kind="stable").reset_index(drop=True)


def platforms(runs: pd.DataFrame, bench: pd.DataFrame | None = None) -> tuple[list[str], list[str]]:
    """The distinct machines and devices the store's runs (and its benchmark) recorded; more
    than one of either means their times are not comparable. Runs written before schema 5
    did not record a device, and are counted by their machine alone."""
    machines, devices = set(), set()
    columns = [runs.get(name, pd.Series(dtype=object)) for name in ("machine", "device")]
    if bench is not None:
        columns = [
            [*column, bench.attrs.get(name)]
            for column, name in zip(columns, ("machine", "device"), strict=True)
        ]
    for found, values in zip((machines, devices), columns, strict=True):
        found |= {value for value in values if isinstance(value, str)} - {NOT_RECORDED}
    return sorted(machines), sorted(devices)


def add_missing(runs: pd.DataFrame, expected: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    """Add a MISSING row for every expected `(dataset, family, task, model, seed)` that has no
    run in the store (a suite stopped before it, or runs deleted), so tables can show it."""
    present = set(zip(runs["dataset"], runs["model"], runs["seed"], strict=True))
    missing = [
        {
            "run_name": schema.run_name(dataset, model, seed),
            "status": schema.MISSING,
            "dataset": dataset,
            "family": family,
            "task": task,
            "model": model,
            "seed": seed,
            "failure_reason": "no run in the tracking store",
        }
        for dataset, family, task, model, seed in expected
        if (dataset, model, seed) not in present
    ]
    if not missing:
        return runs
    combined = pd.concat([runs, pd.DataFrame(missing)], ignore_index=True)
    return combined.sort_values(["dataset", "model", "seed"], kind="stable").reset_index(drop=True)


def load_curves(
    client: MlflowClient, runs: pd.DataFrame, metric: str = schema.VAL_LOSS
) -> pd.DataFrame:
    """Per-epoch history of `metric` for every finished run: `dataset, model, seed, epoch, value`."""
    frames = []
    for run in runs[runs["status"] == schema.FINISHED].itertuples():
        history = client.get_metric_history(run.run_id, metric)
        if history:
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": run.dataset,
                        "model": run.model,
                        "seed": run.seed,
                        "epoch": [point.step for point in history],
                        "value": [point.value for point in history],
                    }
                ).sort_values("epoch")
            )
    columns = ["dataset", "model", "seed", "epoch", "value"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _download(client: MlflowClient, run_id: str, path: str, directory: str) -> Path | None:
    try:
        return Path(client.download_artifacts(run_id, path, directory))
    except Exception:
        return None


def load_table_artifacts(client: MlflowClient, runs: pd.DataFrame, path: str) -> pd.DataFrame:
    """The CSV artifact `path` of every finished run that has it, stacked, with `dataset,
    model, seed` columns in front."""
    frames = []
    with tempfile.TemporaryDirectory() as directory:
        for run in runs[runs["status"] == schema.FINISHED].itertuples():
            local = _download(client, run.run_id, path, directory)
            if local is not None:
                table = pd.read_csv(local)
                table.insert(0, "seed", run.seed)
                table.insert(0, "model", run.model)
                table.insert(0, "dataset", run.dataset)
                frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_array_artifact(client: MlflowClient, run_id: str, path: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` artifact, or an empty dict if the run has none."""
    with tempfile.TemporaryDirectory() as directory:
        local = _download(client, run_id, path, directory)
        if local is None:
            return {}
        with np.load(local) as arrays:
            return {name: arrays[name] for name in arrays.files}


BENCH_NUMBERS = ("batch", "timesteps", "features", "units", "train_ms", "infer_ms")


def read_bench_table(path: Path) -> pd.DataFrame:
    """A benchmark table (`bench.csv`) as the report uses it, checked: a sizing rule and a
    model name on every row, positive finite shapes and times, True/False for XLA.

    Raises:
        ValueError: one line saying what is wrong with the file.
    """
    try:
        table = pd.read_csv(path)
    except (ValueError, csv.Error) as error:  # pandas' parser and decoding errors
        raise ValueError(f"not a CSV table: {str(error).splitlines()[0][:200]}") from None
    missing = [c for c in ("sizing", "model", "jit_compile", *BENCH_NUMBERS) if c not in table]
    if missing or not len(table):
        raise ValueError(f"no column {missing[0]!r}" if missing else "no rows")
    if not table["sizing"].isin(schema.BENCH_SIZINGS).all():
        raise ValueError(f"a sizing other than {' or '.join(schema.BENCH_SIZINGS)}")
    if not table["model"].map(lambda name: isinstance(name, str) and name != "").all():
        raise ValueError("a row without a model name")
    if not table["jit_compile"].map(lambda value: isinstance(value, bool | np.bool_)).all():
        raise ValueError("jit_compile is not True or False on every row")
    for column in BENCH_NUMBERS:
        values = pd.to_numeric(table[column], errors="coerce")
        if not (np.isfinite(values) & (values > 0)).all():
            raise ValueError(f"{column} is not a positive number on every row")
        table[column] = values
    shape = ["sizing", "jit_compile", "batch", "timesteps", "features", "units", "model"]
    if table.duplicated(shape).any():
        raise ValueError("a model timed twice at one shape")
    for column in ("train_ratio", "infer_ratio"):
        table[column] = pd.to_numeric(table.get(column, np.nan), errors="coerce")
    return table


def load_bench(client: MlflowClient, suite: str = "") -> pd.DataFrame | None:
    """The table of the latest benchmark at `suite`'s own shapes (`bench --suite`, which
    `make experiment` runs), else of the latest full `make bench`, else of a quick one; None
    when the benchmark never ran against this store."""
    found = client.get_experiment_by_name(schema.BENCH_EXPERIMENT)
    if found is None:
        return None
    runs = searches.all_runs(
        client,
        [found.experiment_id],
        "attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
    )
    runs = sorted(
        runs,
        key=lambda run: (
            not suite or run.data.params.get(schema.PARAM_BENCH_SUITE) != suite,
            run.data.params.get("quick") == "True",
        ),
    )
    with tempfile.TemporaryDirectory() as directory:
        for run in runs:
            local = _download(client, run.info.run_id, schema.BENCH_FILE, directory)
            if local is None:
                continue
            try:
                table = read_bench_table(local)
            except ValueError as error:  # noted, and an older benchmark is used
                print(
                    f"report: the benchmark table of run {run.info.run_id} is unusable "
                    f"({error}); skipped",
                    file=sys.stderr,
                )
                continue
            table.attrs["quick"] = run.data.params.get("quick") == "True"
            table.attrs["machine"] = run.data.tags.get(schema.TAG_MACHINE, NOT_RECORDED)
            table.attrs["device"] = run.data.tags.get(schema.TAG_DEVICE, NOT_RECORDED)
            table.attrs["suite"] = run.data.params.get(schema.PARAM_BENCH_SUITE, "")
            return table
    return None


def load_gate_arrays(client: MlflowClient, runs: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per dataset, the custom GRU's gate activity from its first finished seed."""
    gates = {}
    chosen = runs[(runs["model"] == schema.SUBJECT) & (runs["status"] == schema.FINISHED)]
    for dataset, group in chosen.groupby("dataset"):
        arrays = load_array_artifact(
            client, group.sort_values("seed")["run_id"].iloc[0], schema.GATES_FILE
        )
        if arrays:
            gates[dataset] = arrays
    return gates
