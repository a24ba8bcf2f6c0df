"""Result tables as pure functions of the runs frame: the summary per (dataset, model), the
head-to-head comparisons, the best model per dataset, the correctness table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.stats import bootstrap_ci, bootstrap_difference, verdict
from gru_keras.families import get_task
from gru_keras.variants import model_order


def _results(group: pd.DataFrame, column: str) -> pd.DataFrame:
    """The runs that count as results: FINISHED with a finite headline metric. (A store
    written before non-finite metrics failed their run can hold FINISHED runs with NaN.)"""
    if column not in group:
        return group.iloc[0:0]
    values = pd.to_numeric(group[column], errors="coerce").to_numpy(float)
    return group[(group["status"] == schema.FINISHED).to_numpy() & np.isfinite(values)]


def _why_not_finished(group: pd.DataFrame, counted: pd.DataFrame) -> str:
    reasons = []
    non_finite = group[(group["status"] == schema.FINISHED) & ~group.index.isin(counted.index)]
    if len(non_finite):
        reasons.append(f"{len(non_finite)} FINISHED with a non-finite result")
    for status, rows in group[group["status"] != schema.FINISHED].groupby("status"):
        first = str(rows["failure_reason"].iloc[0] or "").splitlines()
        detail = f": {first[0][:80]}" if first and first[0] else ""
        reasons.append(f"{len(rows)} {status}{detail}")
    return "; ".join(reasons)


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model): the headline test metric as mean and 95% CI over FINISHED seeds,
    the units, parameter count and seconds per epoch, and how many runs did not finish, why."""
    rows = []
    for dataset, by_dataset in runs.groupby("dataset", sort=True):
        task = get_task(by_dataset["task"].iloc[0])
        column = task.headline_column
        for model in model_order(by_dataset["model"].unique()):
            group = by_dataset[by_dataset["model"] == model]
            finished = _results(group, column)
            values = finished[column].to_numpy(float) if len(finished) else np.array([])
            mean, low, high = bootstrap_ci(values)
            rows.append(
                {
                    "dataset": dataset,
                    "family": group["family"].iloc[0],
                    "model": model,
                    "baseline": model in task.baselines,
                    "metric": column,
                    "higher_is_better": task.higher_is_better,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "seeds": len(finished),
                    "not_finished": len(group) - len(finished),
                    "why_not_finished": _why_not_finished(group, finished),
                    "units": finished["units"].median() if len(finished) else np.nan,
                    "recurrent_params": finished["recurrent_params"].median()
                    if len(finished)
                    else np.nan,
                    "seconds_per_epoch": finished["mean_epoch_seconds"].mean()
                    if len(finished)
                    else np.nan,
                    "train_seconds": finished["train_seconds"].mean()
                    if len(finished) and "train_seconds" in finished
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


HEAD_TO_HEAD_PAIRS = (
    (schema.SUBJECT, schema.LSTM),
    (schema.SUBJECT, schema.SIMPLE_RNN),
    (schema.SUBJECT, schema.REFERENCE),
)


def head_to_head(
    runs: pd.DataFrame, pairs: tuple[tuple[str, str], ...] = HEAD_TO_HEAD_PAIRS
) -> pd.DataFrame:
    """Per dataset and pair: the difference of the headline metric (first minus second) with
    its stratified bootstrap 95% CI over seeds, and the verdict for the first model."""
    rows = []
    for dataset, group in runs.groupby("dataset", sort=True):
        task = get_task(group["task"].iloc[0])
        column = task.headline_column
        finished = _results(group, column)
        if column not in finished:
            # No run of this dataset has finished yet: every pair is "missing runs".
            finished = finished.assign(**{column: np.nan})
        for first, second in pairs:
            if first not in set(group["model"]) or second not in set(group["model"]):
                continue
            first_values = finished.loc[finished["model"] == first, column].to_numpy(float)
            second_values = finished.loc[finished["model"] == second, column].to_numpy(float)
            difference, low, high = bootstrap_difference(first_values, second_values)
            rows.append(
                {
                    "dataset": dataset,
                    "first": first,
                    "second": second,
                    "metric": column,
                    "higher_is_better": task.higher_is_better,
                    "difference": difference,
                    "ci_low": low,
                    "ci_high": high,
                    "seeds": f"{np.isfinite(first_values).sum()} vs {np.isfinite(second_values).sum()}",
                    "verdict": verdict(low, high, task.higher_is_better)
                    if np.isfinite(difference)
                    else "missing runs",
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


def deviation_table(runs: pd.DataFrame) -> pd.DataFrame:
    deviation = schema.KERAS_DEVIATION
    measured = runs[runs[deviation].notna()] if len(runs) else runs
    rows = [
        {
            "dataset": dataset,
            "custom_gru runs": len(group),
            "max |custom_gru - keras.layers.GRU|": f"{group[deviation].max():.2e}",
        }
        for dataset, group in measured.groupby("dataset")
    ]
    return pd.DataFrame(
        rows, columns=["dataset", "custom_gru runs", "max |custom_gru - keras.layers.GRU|"]
    )
