"""The decision map's verdicts, as pure functions on arrays and frames.

Each (task, metric, pair) is one family of comparisons across the map's cells. Its cells are
judged in stages: at stage s, on the seeds a cell has by then (`MapSpec.seeds[s]`),

- **better / worse**: Welch's test, Holm-adjusted across the family's cells still open,
  at the stage's error rate `alphas[s]`;
- **equivalent**: two one-sided Welch tests (TOST) within the task's margin, at `alphas[s]`;
- **undecided**: neither; such a cell gets more seeds and is judged again at the next stage.

A verdict, once given, stands. The family-wise rate of a false "better" or "worse" is then at
most the sum of the stages' rates (Bonferroni across stages, Holm within one): the null
simulation in tests/analysis/test_decision.py measures it. Equivalence is tested per cell at
the stage's rate; it makes no claim of a difference, so it is outside that guarantee.
Under the convergence rule, a cell with an unconverged run is "not converged" and never staged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from gru_keras import schema
from gru_keras.analysis.stats import holm
from gru_keras.grid import CONVERGED, MapSpec

BETTER, WORSE, EQUIVALENT, UNDECIDED, NOT_CONVERGED = (
    "better",
    "worse",
    "equivalent",
    "undecided",
    "not converged",
)
VERDICTS = (BETTER, WORSE, EQUIVALENT, UNDECIDED, NOT_CONVERGED)
POWER = 0.8  # the detection probability the smallest detectable difference refers to

# One row per cell, pair and metric (`reports/<suite>-map.csv`), after the task and its axes.
COLUMNS = (
    "first",
    "second",
    "metric",
    "first_mean",
    "second_mean",
    "difference",
    "low",
    "high",
    "p_adjusted",
    "verdict",
    "stage",
    "seeds",
    "alpha",
    "detectable",
    "margin",
    "first_params",
    "second_params",
    "first_solved",
    "second_solved",
    "first_seconds",
    "second_seconds",
    "cost_verdict",
)


@dataclass(frozen=True)
class ComparisonFamily:
    """The comparisons one Holm adjustment covers: one pair on one metric of one task.

    Attributes:
        task, metric: What is compared.
        first, second: The models, the verdict from the first's side.
        margin: The equivalence margin.
        higher_is_better: The metric's direction.
        cells: The cells' keys.
    """

    task: str
    metric: str
    first: str
    second: str
    margin: float
    higher_is_better: bool
    cells: tuple[str, ...]


def families(spec: MapSpec) -> list[ComparisonFamily]:
    """Every family of a map: each task x metric x pair over all its cells, and the strip's
    pair on the strip's cells (at the strip's margin)."""
    found = []
    for task in spec.tasks:
        keys = tuple(cell.key for cell in spec.cells(task.name))
        for metric in task.metrics:
            for first, second in spec.pairs:
                found.append(
                    ComparisonFamily(
                        task.name,
                        metric,
                        first,
                        second,
                        task.margin,
                        task.higher_is_better,
                        keys,
                    )
                )
            strip = spec.strip
            if strip is not None and strip.task == task.name:
                found.append(
                    ComparisonFamily(
                        task.name,
                        metric,
                        strip.against,
                        strip.model,
                        strip.margin,
                        task.higher_is_better,
                        tuple(cell.key for cell in spec.strip_cells()),
                    )
                )
    return found


# --- vectorized Welch -------------------------------------------------------------------------


def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `(rows, seeds)` with NaN for absent seeds: count, mean, variance / count."""
    present = np.isfinite(values)
    count = present.sum(axis=1).astype(float)
    mean = row_mean(values)
    with np.errstate(all="ignore"):
        squares = np.where(present, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
        return count, mean, squares / (count - 1) / count


def row_mean(values: np.ndarray) -> np.ndarray:
    """Each row's mean over its finite values (NaN for a row without any), quietly."""
    present = np.isfinite(values)
    with np.errstate(all="ignore"):
        return np.where(present, values, 0.0).sum(axis=1) / present.sum(axis=1)


def welch(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row by row, Welch's difference of means, its standard error and degrees of freedom
    (NaN where a side has fewer than 2 seeds)."""
    n1, m1, v1 = _moments(first)
    n2, m2, v2 = _moments(second)
    se = np.sqrt(v1 + v2)
    with np.errstate(all="ignore"):
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    few = (n1 < 2) | (n2 < 2)
    return m1 - m2, np.where(few, np.nan, se), np.where(few, np.nan, df)


def welch_p(difference: np.ndarray, se: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided Welch p; a difference known exactly (both sides constant) has p 0, or 1
    when it is 0."""
    with np.errstate(all="ignore"):
        p = 2 * special.stdtr(df, -np.abs(difference) / se)  # Student's t CDF, no overhead
    exact = se == 0
    return np.where(exact, np.where(difference == 0, 1.0, 0.0), p)


def tost_p(difference: np.ndarray, se: np.ndarray, df: np.ndarray, margin: float) -> np.ndarray:
    """The larger one-sided p of TOST within ±`margin` (exact when se is 0)."""
    with np.errstate(all="ignore"):
        lower = special.stdtr(df, -(difference + margin) / se)  # H0: difference <= -margin
        upper = special.stdtr(df, (difference - margin) / se)  # H0: difference >= margin
    exact = np.where(np.abs(difference) < margin, 0.0, 1.0)
    return np.where(se == 0, exact, np.maximum(lower, upper))


# --- the staged procedure ---------------------------------------------------------------------


def decide_stages(
    first: np.ndarray,
    second: np.ndarray,
    seeds: Sequence[int],
    alphas: Sequence[float],
    margin: float,
    higher_is_better: bool,
    unconverged: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Judge one family's cells stage by stage.

    Args:
        first, second: `(cells, seeds)` metric values in seed order (seed k in column k),
            NaN where a run is absent.
        seeds: Seeds a cell has after each stage.
        alphas: The error rate of each stage.
        margin: The equivalence margin.
        higher_is_better: The metric's direction.
        unconverged: `(cells,)` True where a cell has an unconverged run.

    Returns:
        Per cell (arrays by name): `verdict`, `stage` (1-based; 0 when not judged), `p_adjusted`,
        `alpha` (the deciding stage's), `seeds` (per side, at the last stage it was judged),
        `difference`, `low`, `high` (Welch's 95% interval) and `detectable` (the smallest
        difference detected with 80% power at the strictest level Holm used on the cell:
        its stage's rate over the cells judged in that stage).
    """
    cells = first.shape[0]
    verdict = np.full(cells, UNDECIDED, dtype=object)
    stage_of = np.zeros(cells, dtype=int)
    p_adjusted = np.full(cells, np.nan)
    alpha_of = np.full(cells, np.nan)
    strictest = np.full(cells, alphas[-1] / max(1, cells))  # Holm's first threshold
    used = np.zeros(cells, dtype=int)  # seeds a side had when last judged
    columns = np.full(cells, seeds[0])  # seed columns of that stage
    if unconverged is not None:
        verdict[unconverged] = NOT_CONVERGED
    open_cells = verdict == UNDECIDED
    for stage, (count, alpha) in enumerate(zip(seeds, alphas, strict=True), start=1):
        if not open_cells.any():
            break
        difference, se, df = welch(first[:, :count], second[:, :count])
        present = np.minimum(
            np.isfinite(first[:, :count]).sum(axis=1), np.isfinite(second[:, :count]).sum(axis=1)
        )
        # A later stage judges only the cells it gave seeds to: the same data twice would
        # spend a second error rate on it.
        fresh = present > used
        p = np.where(open_cells & fresh, welch_p(difference, se, df), np.nan)
        adjusted = holm(p)
        judged = open_cells & np.isfinite(adjusted)
        significant = judged & (adjusted < alpha)
        ahead = (difference > 0) == higher_is_better
        verdict[significant & ahead] = BETTER
        verdict[significant & ~ahead] = WORSE
        same = judged & ~significant & (tost_p(difference, se, df, margin) < alpha)
        verdict[same] = EQUIVALENT
        stage_of[judged] = stage
        p_adjusted[judged] = adjusted[judged]
        alpha_of[judged] = alpha
        strictest[judged] = alpha / max(1, judged.sum())
        used[judged] = present[judged]
        columns[judged] = count
        open_cells = open_cells & ~significant & ~same
    # Each cell described on the seeds of the stage that last judged it.
    kept = np.arange(first.shape[1])[None, :] < columns[:, None]
    a, b = np.where(kept, first, np.nan), np.where(kept, second, np.nan)
    difference, se, df = welch(a, b)
    alpha = np.where(np.isfinite(alpha_of), alpha_of, alphas[-1])
    with np.errstate(all="ignore"):
        half = special.stdtrit(df, 0.975) * se
        level = 1 - strictest / 2
        detectable = (special.stdtrit(df, level) + special.stdtrit(df, POWER)) * se
    return {
        "verdict": verdict,
        "stage": stage_of,
        "p_adjusted": p_adjusted,
        "alpha": alpha,
        "seeds": np.minimum(np.isfinite(a).sum(axis=1), np.isfinite(b).sum(axis=1)),
        "difference": difference,
        "low": difference - half,
        "high": difference + half,
        "detectable": detectable,
    }


def staged_verdicts(*args, **kwargs) -> pd.DataFrame:
    """`decide_stages` (same arguments) as a frame, one row per cell."""
    return pd.DataFrame(decide_stages(*args, **kwargs))


def seed_matrix(
    values: Mapping[tuple[str, str, int], float], cells: Sequence[str], model: str, seeds: int
) -> np.ndarray:
    """`(cells, seeds)` of `values[(cell, model, seed)]`, NaN where absent."""
    return np.array(
        [[values.get((cell, model, seed), np.nan) for seed in range(seeds)] for cell in cells],
        dtype=float,
    )


# --- time to target ---------------------------------------------------------------------------


def time_to_target(curves: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per run, the training seconds until its validation headline first reached `target`.

    Args:
        curves: `dataset, model, seed, epoch, value, seconds`: per epoch, the validation
            value and that epoch's wall seconds.

    Returns:
        `dataset, model, seed, seconds`: the epochs' seconds summed up to the first epoch at
        or above the target; infinite for a run that never reached it.
    """
    rows = []
    for (dataset, model, seed), run in curves.groupby(["dataset", "model", "seed"], sort=True):
        run = run.sort_values("epoch")
        reached = np.flatnonzero(run["value"].to_numpy() >= target)
        elapsed = np.cumsum(run["seconds"].to_numpy())
        seconds = float(elapsed[reached[0]]) if len(reached) else np.inf
        rows.append({"dataset": dataset, "model": model, "seed": seed, "seconds": seconds})
    return pd.DataFrame(rows, columns=["dataset", "model", "seed", "seconds"])


def cost_verdicts(
    first: np.ndarray,
    second: np.ndarray,
    alpha: float = 0.05,
    names: tuple[str, str] = ("first", "second"),
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Which model of a pair reaches the target sooner, per cell.

    Args:
        first, second: `(cells, seeds)` seconds to the target (inf: never reached; NaN:
            no run).
        alpha: The family-wise error rate of the faster / slower verdicts.
        names: The two models, as the verdicts name them.

    Returns:
        `(verdicts, first_median, second_median)`. Where both reach it in every run, Welch's
        test on log seconds, Holm-adjusted across the cells: "faster", "slower" or "no
        significant difference". Otherwise it says who reached it ("only <first>",
        "only <second>", "neither", "not every seed").
    """

    def reach(values: np.ndarray) -> np.ndarray:
        present = ~np.isnan(values)
        with np.errstate(all="ignore"):
            return np.where(
                present.any(axis=1), np.isfinite(values).sum(axis=1) / present.sum(axis=1), np.nan
            )

    r1, r2 = reach(first), reach(second)
    both = (r1 == 1) & (r2 == 1)
    with np.errstate(all="ignore"):
        difference, se, df = welch(np.log(first), np.log(second))
    p = holm(np.where(both, welch_p(difference, se, df), np.nan))
    verdicts = []
    for index in range(len(first)):
        if both[index]:
            if np.isfinite(p[index]) and p[index] < alpha:
                verdicts.append("faster" if difference[index] < 0 else "slower")
            else:
                verdicts.append("no significant difference")
        elif r1[index] == 1 and r2[index] == 0:
            verdicts.append(f"only {names[0]} reaches")
        elif r2[index] == 1 and r1[index] == 0:
            verdicts.append(f"only {names[1]} reaches")
        elif r1[index] == 0 and r2[index] == 0:
            verdicts.append("neither reaches")
        else:
            verdicts.append("not every seed reaches")

    def median(values: np.ndarray) -> np.ndarray:
        finite = np.where(np.isfinite(values), values, np.nan)
        with np.errstate(all="ignore"):
            return np.array(
                [np.nanmedian(row) if np.isfinite(row).any() else np.nan for row in finite]
            )

    return verdicts, median(first), median(second)


# --- the whole map ----------------------------------------------------------------------------


def _lookup(runs: pd.DataFrame, column: str) -> dict[tuple[str, str, int], float]:
    if column not in runs:
        return {}
    rows = runs[runs["status"] == schema.FINISHED]
    return {
        (dataset, model, int(seed)): float(value)
        for dataset, model, seed, value in zip(
            rows["dataset"], rows["model"], rows["seed"], rows[column], strict=True
        )
    }


def map_table(
    spec: MapSpec,
    runs: pd.DataFrame,
    seconds: pd.DataFrame | None = None,
    stages: int | None = None,
) -> pd.DataFrame:
    """One row per cell, pair and metric: `task`, the axes, then `COLUMNS`.

    Args:
        spec: The map.
        stages: Judge as of this many stages (default all of them).
        runs: The map's runs (`gru_keras.analysis.runs.load_runs`): `dataset, model, seed,
            status, converged, recurrent_params` and the `test/<metric>` columns.
        seconds: `time_to_target` of the runs, or None.
    """
    seeds = spec.seeds[-1]
    params = _lookup(runs, "recurrent_params")
    unconverged: set[tuple[str, str]] = set()
    if spec.rule == CONVERGED and "converged" in runs:
        done = runs[runs["status"] == schema.FINISHED]
        unconverged = {
            (row.dataset, row.model) for row in done.itertuples() if row.converged is False
        }
    to_target = (
        {(r.dataset, r.model, int(r.seed)): r.seconds for r in seconds.itertuples()}
        if seconds is not None
        else {}
    )
    cells = {cell.key: cell for cell in spec.cells()}
    count = stages or len(spec.seeds)
    frames = []
    for family in families(spec):
        task = spec.task(family.task)
        values = _lookup(runs, schema.as_test_metric(family.metric))
        a = seed_matrix(values, family.cells, family.first, seeds)
        b = seed_matrix(values, family.cells, family.second, seeds)
        stuck = np.array(
            [
                (cell, family.first) in unconverged or (cell, family.second) in unconverged
                for cell in family.cells
            ]
        )
        judged = staged_verdicts(
            a,
            b,
            spec.seeds[:count],
            spec.alphas[:count],
            family.margin,
            family.higher_is_better,
            stuck,
        )
        cost, first_seconds, second_seconds = cost_verdicts(
            seed_matrix(to_target, family.cells, family.first, seeds),
            seed_matrix(to_target, family.cells, family.second, seeds),
            names=(family.first, family.second),
        )
        with np.errstate(all="ignore"):
            frame = pd.DataFrame(
                {
                    "task": family.task,
                    **{
                        axis: [cells[key].value(axis) for key in family.cells]
                        for axis, _ in task.axes
                    },
                    "dataset": family.cells,
                    "first": family.first,
                    "second": family.second,
                    "metric": family.metric,
                    "first_mean": row_mean(a),
                    "second_mean": row_mean(b),
                    **judged.to_dict(orient="list"),
                    "margin": family.margin,
                    "first_params": _mean_of(params, family.cells, family.first, seeds),
                    "second_params": _mean_of(params, family.cells, family.second, seeds),
                    "first_solved": _solved(a, task.target, task.higher_is_better),
                    "second_solved": _solved(b, task.target, task.higher_is_better),
                    "first_seconds": first_seconds,
                    "second_seconds": second_seconds,
                    "cost_verdict": cost,
                }
            )
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    axes = list(dict.fromkeys(axis for task in spec.tasks for axis, _ in task.axes))
    return table[["task", *axes, "dataset", *COLUMNS]]


def _mean_of(values: dict, cells: Sequence[str], model: str, seeds: int) -> np.ndarray:
    return row_mean(seed_matrix(values, cells, model, seeds))


def _solved(values: np.ndarray, target: float, higher_is_better: bool) -> np.ndarray:
    """The share of a cell's runs whose test headline reached the target (NaN: no runs)."""
    present = np.isfinite(values)
    hit = (values >= target) if higher_is_better else (values <= target)
    with np.errstate(all="ignore"):
        return np.where(
            present.any(axis=1), (hit & present).sum(axis=1) / present.sum(axis=1), np.nan
        )


def undecided_cells(table: pd.DataFrame) -> list[str]:
    """The cells some comparison leaves undecided: the next stage adds seeds to them."""
    return sorted(set(table.loc[table["verdict"] == UNDECIDED, "dataset"]))
