"""Result tables as pure functions of the runs frame: the summary per (dataset, model), the
head-to-head comparisons, the best model per dataset, the correctness table."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.significance import DEFAULT, Test, fewest_seeds
from gru_keras.analysis.stats import (
    ALPHA,
    EQUIVALENCE_MARGIN,
    EQUIVALENT,
    NOT_CONVERGED,
    NOT_EQUIVALENT,
    TOO_FEW,
    compare,
    decide,
    detectable_difference,
    holm,
    t_interval,
)
from gru_keras.analysis.tasks import TaskFacts
from gru_keras.convergence import convergence
from gru_keras.variants import VARIANTS, model_order


def with_convergence(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """`runs` with `converged` filled in for recurrent runs that did not record it (logged
    before schema v3), by the same rule, from their validation-loss curves."""
    runs = runs.copy()
    if "converged" not in runs:
        runs["converged"] = None
    missing = (
        runs["converged"].isna()
        & (runs["status"] == schema.FINISHED)
        & runs["model"].isin(list(VARIANTS))
    )
    for index in runs.index[missing]:
        row = runs.loc[index]
        curve = curves[
            (curves["dataset"] == row["dataset"])
            & (curves["model"] == row["model"])
            & (curves["seed"] == row["seed"])
        ].sort_values("epoch")
        if len(curve) and np.isfinite(row.get("max_epochs", np.nan)):
            judged = convergence(
                curve["value"].to_numpy(float),
                int(row["max_epochs"]),
                int(row["patience"]) if np.isfinite(row["patience"]) else 0,
            )
            runs.at[index, "converged"] = judged.converged
            runs.at[index, "convergence"] = judged.why
    return runs


def unconverged_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The finished recurrent runs known not to have converged (`dataset`, `model`, `seed`
    and `convergence`, why not), in dataset, model and seed order."""
    columns = ["dataset", "model", "seed", "convergence"]
    if "converged" not in runs or not len(runs):
        return pd.DataFrame(columns=columns)
    recurrent = runs[(runs["status"] == schema.FINISHED) & runs["model"].isin(list(VARIANTS))]
    failed = recurrent[recurrent["converged"] == False]  # noqa: E712 - None: not recorded
    return failed.reindex(columns=columns).sort_values(columns[:3]).reset_index(drop=True)


def _not_converged(runs: pd.DataFrame) -> int:
    """Recurrent runs among `runs` that are known not to have converged."""
    if "converged" not in runs:
        return 0
    return int((runs["converged"] == False).sum())  # noqa: E712 - None means "not recorded"


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


def summary_table(runs: pd.DataFrame, tasks: Mapping[str, TaskFacts]) -> pd.DataFrame:
    """Per (dataset, model): the headline test metric as mean and 95% CI over FINISHED seeds,
    the units, parameter count and seconds per epoch, and how many runs did not finish, why."""
    rows = []
    for dataset, by_dataset in runs.groupby("dataset", sort=True):
        task = tasks[by_dataset["task"].iloc[0]]
        column = task.headline_column
        for model in model_order(by_dataset["model"].unique()):
            group = by_dataset[by_dataset["model"] == model]
            finished = _results(group, column)
            values = finished[column].to_numpy(float) if len(finished) else np.array([])
            mean, low, high = t_interval(values)
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
                    "not_converged": _not_converged(finished),
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
    runs: pd.DataFrame,
    tasks: Mapping[str, TaskFacts],
    pairs: tuple[tuple[str, str], ...] = HEAD_TO_HEAD_PAIRS,
    test: Test = DEFAULT,
) -> pd.DataFrame:
    """Per dataset and pair (`pairs`, or the task's own `compared_pairs`): the difference of
    the headline metric (first minus second), Welch's 95% interval (a description), the
    test's p (the exact permutation test by default), Holm's adjustment over the report, and
    the verdict.

    Two families of tests, each Holm-adjusted on its own: differences (between models that
    compute different functions), and equivalence within `EQUIVALENCE_MARGIN` of
    the reference's mean (custom_gru against keras_gru, which computes the same function).
    A comparison with a run that did not converge gets no verdict and is left out of the
    family. `needs` is the fewest seeds a side at which the test could give a verdict at
    the strictest level Holm uses here (`ALPHA / comparisons`); below it the verdict is "too
    few seeds to tell". `detectable` is the smallest difference the seeds and their spread
    would detect with 80% power at that level, by Welch's normal approximation (infinite
    where the test cannot reach the level at these seeds).
    """
    rows = []
    for dataset, group in runs.groupby("dataset", sort=True):
        task = tasks[group["task"].iloc[0]]
        column = task.headline_column
        finished = _results(group, column)
        if column not in finished:
            # No run of this dataset has finished yet: every pair is "missing runs".
            finished = finished.assign(**{column: np.nan})
        for first, second in task.compared_pairs or pairs:
            if first not in set(group["model"]) or second not in set(group["model"]):
                continue
            sides = [finished[finished["model"] == model] for model in (first, second)]
            values = [side[column].to_numpy(float) for side in sides]
            result = compare(*values)
            reference = (first, second) == (schema.SUBJECT, schema.REFERENCE)
            margin = EQUIVALENCE_MARGIN * abs(float(np.mean(values[1]))) if len(values[1]) else 0
            p_value = _p_value(test, values, margin if reference else None)
            rows.append(
                {
                    "dataset": dataset,
                    "first": first,
                    "second": second,
                    "metric": column,
                    "higher_is_better": task.higher_is_better,
                    "difference": result.difference,
                    "ci_low": result.low,
                    "ci_high": result.high,
                    "relative": result.relative,
                    "p_value": p_value,
                    "test": "equivalence" if reference else "difference",
                    "margin": margin if reference else np.nan,
                    "seeds": f"{len(values[0])} vs {len(values[1])}",
                    "converged": not any(_not_converged(side) for side in sides),
                    "first_values": values[0],
                    "second_values": values[1],
                }
            )
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    table["p_adjusted"] = np.nan
    for _test, members in table.groupby("test"):
        judged = members[members["converged"]]
        table.loc[judged.index, "p_adjusted"] = holm(judged["p_value"].to_numpy(float))
    decided = table[table["converged"] & table["p_value"].notna()]
    family_size = {kind: max(1, len(members)) for kind, members in decided.groupby("test")}
    strictest = [ALPHA / family_size.get(row.test, 1) for row in table.itertuples()]
    table["needs"] = [
        fewest_seeds(test, level, tost=row.test == "equivalence")
        for row, level in zip(table.itertuples(), strictest, strict=True)
    ]
    table["detectable"] = [
        detectable_difference(row.first_values, row.second_values, level)
        if _reachable(test, row, level)
        else np.inf
        for row, level in zip(table.itertuples(), strictest, strict=True)
    ]
    table["verdict"] = [_verdict(row, test) for row in table.itertuples()]
    return table.drop(columns=["first_values", "second_values"])


def _p_value(test: Test, values: list[np.ndarray], margin: float | None) -> float:
    """The test's p of one comparison (TOST's when `margin` is given); NaN with fewer than
    2 seeds a side, where no spread is seen."""
    if min(len(values[0]), len(values[1])) < 2:
        return np.nan
    first, second = values[0][None, :], values[1][None, :]
    if margin is None:
        return float(test.difference(first, second)[0])
    if not margin > 0:
        return np.nan
    return float(test.equivalence(first, second, margin)[0])


def _reachable(test: Test, row, level: float) -> bool:
    first, second = len(row.first_values), len(row.second_values)
    tost = row.test == "equivalence"
    return first >= 2 and second >= 2 and test.smallest(first, second, tost) < level


def _verdict(row, test: Test = DEFAULT) -> str:
    if not np.isfinite(row.difference):
        return "missing runs"
    if not row.converged:
        return NOT_CONVERGED
    if not np.isfinite(row.p_value):
        return TOO_FEW
    if row.test == "equivalence":
        if row.p_adjusted < ALPHA:
            return EQUIVALENT
        return TOO_FEW if not np.isfinite(row.detectable) else NOT_EQUIVALENT
    if row.p_adjusted >= ALPHA and not np.isfinite(row.detectable):
        return TOO_FEW  # the test could not have called it at these seeds
    return decide(row.p_adjusted, row.difference, row.higher_is_better)


SIGNIFICANT = 3  # significant figures of the largest mean of a dataset; the rest align to it


def decimals_for(values: pd.Series) -> int:
    """Decimal places that give the largest finite |value| `SIGNIFICANT` significant figures;
    every value of one dataset and metric is then printed with the same places
    (0.153 / 0.009 / 0.010, not 0.153 / 0.009413 / 0.01035)."""
    finite = np.abs(values[np.isfinite(values)])
    finite = finite[finite > 0]
    if not len(finite):
        return SIGNIFICANT
    return int(max(0, min(8, SIGNIFICANT - 1 - np.floor(np.log10(finite.max())))))


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
