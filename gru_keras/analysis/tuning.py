"""What a tuning run found, as pure functions of its trials table.

The trials table has one row per counted trial: `dataset`, `model`, `trial`, `state`
("complete", "pruned", "failed"), `objective` (the best validation loss it reached; for a
pruned trial, at the rung it was stopped), `epochs`, `seconds`, `chosen`, and one column per
tuned parameter. Curves are `dataset, model, trial, epoch, value` (the best validation loss
so far after each epoch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def expected_best(values: np.ndarray, budget: int) -> np.ndarray:
    """The expected lowest value of n = 1..`budget` trials drawn at random (with
    replacement) from `values` (Dodge et al. 2019, "Show Your Work", eq. 1, for a value to
    minimize): whether more trials would still have found a better setting.

    Args:
        values: Every trial's value (finite).
        budget: The largest number of trials to show.

    Returns:
        `budget` expectations, for n = 1 .. budget.
    """
    ordered = np.sort(np.asarray(values, dtype=float))[::-1]  # worst first
    if not len(ordered):
        return np.full(budget, np.nan)
    total = len(ordered)
    # P(min of n draws = the i-th worst) = (i / N)^n - ((i - 1) / N)^n, with i counted from
    # the worst value, as Dodge et al. count from the lowest for a maximum.
    share = np.arange(1, total + 1) / total
    below = np.arange(0, total) / total
    return np.array([float(np.sum(ordered * (share**n - below**n))) for n in range(1, budget + 1)])


def expected_best_curves(trials: pd.DataFrame) -> pd.DataFrame:
    """`dataset, model, n, expected` for every variant: `expected_best` of its complete and
    pruned trials' objectives (a pruned trial's value is an upper bound of what it would
    have reached, which it was judged not to beat)."""
    rows = []
    usable = trials[trials["state"] != "failed"].dropna(subset=["objective"])
    for (dataset, model), group in usable.groupby(["dataset", "model"], sort=False):
        budget = int((trials["dataset"] == dataset).groupby(trials["model"]).sum().max())
        curve = expected_best(group["objective"].to_numpy(), budget)
        rows += [
            {"dataset": dataset, "model": model, "n": n, "expected": value}
            for n, value in enumerate(curve, start=1)
        ]
    return pd.DataFrame(rows, columns=["dataset", "model", "n", "expected"])


def rung_agreement(curves: pd.DataFrame, epochs: list[int]) -> pd.DataFrame:
    """How well each epoch's value ranks the trials as their final values do: Spearman's
    rho between a trial's best validation loss after `epoch` (its final one if it stopped
    earlier) and its final one, per variant. Successive halving at a rung where rho is low
    would prune settings that end up best (short-horizon bias; Wu et al. 2018).

    Returns:
        `dataset, model, epoch, trials, rho`.
    """
    rows = []
    for (dataset, model), group in curves.groupby(["dataset", "model"], sort=False):
        final = group.sort_values("epoch").groupby("trial")["value"].last()
        for epoch in epochs:
            upto = group[group["epoch"] <= epoch].sort_values("epoch").groupby("trial")["value"]
            at = upto.last().reindex(final.index)
            paired = pd.DataFrame({"at": at, "final": final}).dropna()
            rho = (
                float(stats.spearmanr(paired["at"], paired["final"]).statistic)
                if len(paired) >= 3 and paired["at"].nunique() > 1
                else np.nan
            )
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "epoch": epoch,
                    "trials": len(paired),
                    "rho": rho,
                }
            )
    return pd.DataFrame(rows, columns=["dataset", "model", "epoch", "trials", "rho"])


def budget_spent(trials: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and variant: trials by state, and the epochs and seconds they spent."""
    counts = (
        trials.pivot_table(
            index=["dataset", "model"], columns="state", values="trial", aggfunc="count"
        )
        .reindex(columns=["complete", "pruned", "failed"])
        .fillna(0)
        .astype(int)
    )
    spent = trials.groupby(["dataset", "model"])[["epochs", "seconds"]].sum()
    table = counts.join(spent).reset_index()
    table.insert(2, "trials", table[["complete", "pruned", "failed"]].sum(axis=1))
    table["epochs"] = table["epochs"].astype(int)
    table["seconds"] = table["seconds"].round(1)
    return table
