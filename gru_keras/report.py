"""MLflow runs -> tables. Built from the tracking store alone, never from in-memory results,
so a report can be rebuilt later or from a remote server.

The pipeline is a chain of small pure functions (runs -> DataFrame -> summary), in the style
of rliable; `write_summary` is the only one that writes files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from gru_keras import tracking
from gru_keras.tasks import get_task

RUN_COLUMNS = (
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
    "failure_reason",
)


def load_runs(client: MlflowClient, experiment: str) -> pd.DataFrame:
    """One row per run of `experiment`: identity, status, sizes, timing and `test_*` metrics.

    Raises:
        ValueError: if the experiment does not exist in the store.
    """
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise ValueError(
            f"no experiment named {experiment!r} in {client.tracking_uri}; "
            f"experiments there: {', '.join(names) or '(none)'}"
        )
    rows = []
    for run in client.search_runs([found.experiment_id], max_results=50_000):
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        row = {
            "run_name": run.info.run_name,
            "status": run.info.status,
            "dataset": tags.get("dataset", ""),
            "family": tags.get("family", ""),
            "task": tags.get("task", ""),
            "model": tags.get("model", ""),
            "seed": int(tags.get("seed", -1)),
            "units": int(params["units"]) if "units" in params else np.nan,
            "recurrent_params": int(params["recurrent_params"])
            if "recurrent_params" in params
            else np.nan,
            "mean_epoch_seconds": metrics.get("mean_epoch_seconds", np.nan),
            "failure_reason": tags.get(tracking.FAILURE_TAG, ""),
        }
        row.update({name: value for name, value in metrics.items() if name.startswith("test_")})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else list(RUN_COLUMNS))


def bootstrap_ci(
    values: np.ndarray, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap confidence interval of the mean over seeds.

    Returns:
        `(mean, low, high)`; with fewer than 2 values the interval is `(nan, nan)`, since
        one seed says nothing about spread.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) < 2:
        return (mean, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(resamples, len(values)), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return (mean, float(low), float(high))


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model): the headline test metric as mean and 95% CI over FINISHED seeds,
    the units, parameter count and seconds per epoch, and how many runs failed or are missing."""
    rows = []
    for (dataset, model), group in runs.groupby(["dataset", "model"], sort=True):
        task = get_task(group["task"].iloc[0])
        column = f"test_{task.headline_metric}"
        finished = group[group["status"] == "FINISHED"]
        values = finished[column].to_numpy() if column in finished else np.array([])
        mean, low, high = bootstrap_ci(values)
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "metric": column,
                "higher_is_better": task.higher_is_better,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "seeds": len(finished),
                "not_finished": len(group) - len(finished),
                "units": finished["units"].median() if len(finished) else np.nan,
                "recurrent_params": finished["recurrent_params"].median()
                if len(finished)
                else np.nan,
                "seconds_per_epoch": finished["mean_epoch_seconds"].mean()
                if len(finished)
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def best_models(summary: pd.DataFrame) -> pd.Series:
    """Per dataset, the model with the best mean headline metric."""
    best = {}
    for dataset, group in summary.dropna(subset=["mean"]).groupby("dataset"):
        index = (
            group["mean"].idxmax() if group["higher_is_better"].iloc[0] else group["mean"].idxmin()
        )
        best[dataset] = group.loc[index, "model"]
    return pd.Series(best, dtype=object)


def _format_value(row: pd.Series) -> str:
    if not np.isfinite(row["mean"]):
        return "—"
    if np.isfinite(row["ci_low"]):
        return f"{row['mean']:.4g} [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
    return f"{row['mean']:.4g} (1 seed, no CI)"


def to_markdown(summary: pd.DataFrame) -> str:
    """A Markdown table; the best model per dataset in bold, missing runs counted."""
    best = best_models(summary)
    lines = [
        "| dataset | model | test metric: mean [95% CI] | seeds | units | recurrent params | s / epoch |",
        "|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        value = _format_value(row)
        if best.get(row["dataset"]) == row["model"]:
            value = f"**{value}**"
        seeds = f"{row['seeds']}" + (
            f" ({row['not_finished']} not finished)" if row["not_finished"] else ""
        )
        units = "—" if not np.isfinite(row["units"]) else f"{row['units']:.0f}"
        params = (
            "—" if not np.isfinite(row["recurrent_params"]) else f"{row['recurrent_params']:.0f}"
        )
        seconds = (
            "—" if not np.isfinite(row["seconds_per_epoch"]) else f"{row['seconds_per_epoch']:.2f}"
        )
        metric = row["metric"].removeprefix("test_") + (" ↑" if row["higher_is_better"] else " ↓")
        lines.append(
            f"| {row['dataset']} | {row['model']} | {metric}: {value} | {seeds} | {units} | {params} | {seconds} |"
        )
    return "\n".join(lines)


def write_summary(summary: pd.DataFrame, directory: Path, stem: str) -> list[Path]:
    """Write `<stem>-summary.csv` and `<stem>-summary.md` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / f"{stem}-summary.csv"
    markdown_path = directory / f"{stem}-summary.md"
    summary.to_csv(csv_path, index=False)
    markdown_path.write_text(to_markdown(summary) + "\n")
    return [csv_path, markdown_path]
