"""The decision map's verdicts, as pure functions on arrays and frames.

Each (task, metric, pair) is one family of comparisons across the map's cells, and so is the
equivalence strip. A family's cells are judged in stages: at stage s, on the seeds a cell has
by then (`MapSpec.seeds[s]`), with a test from `gru_keras.analysis.significance` (the exact
permutation test by default),

- **better / worse**: the test's two-sided p, Holm-adjusted across the family's cells still
  open, below the stage's error rate `alphas[s]`;
- **equivalent**: the test's TOST within the task's margin, at `alphas[s]`;
- **undecided**: neither; such a cell gets more seeds and is judged again at the next stage.

A verdict, once given, stands. The family-wise rate of a false "better" or "worse" is then at
most the sum of the stages' rates (Bonferroni across stages, Holm within one), for any
distribution of the seeds under the permutation test: the null simulations of
`gru_keras.analysis.calibration` (Gaussian and split-seed) measure it in
tests/analysis/test_calibration.py. Equivalence is tested per cell at the stage's rate; it
makes no claim of a difference, so it is outside that guarantee. Under the convergence rule,
a cell with an unconverged run is "not converged" and never staged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import special

from gru_keras import schema
from gru_keras.analysis.significance import (
    DEFAULT,
    MOST_SEEDS,
    Test,
    fewest_seeds,
    row_mean,
    welch,
)
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
PAIR, STRIP = "pair", "strip"  # the kinds of a family

# One row per cell, pair and metric (`reports/<suite>-map.csv`), after the task and its axes.
COLUMNS = (
    "family",
    "family_kind",
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
    "why",
    "stage",
    "seeds",
    "needs",
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
    """The comparisons one Holm adjustment covers: one pair on one metric of one task, or
    the equivalence strip on one metric.

    Attributes:
        task, metric: What is compared.
        first, second: The models, the verdict from the first's side.
        margin: The equivalence margin.
        higher_is_better: The metric's direction.
        cells: The cells' keys.
        kind: `PAIR` (a pair of `[map] pairs`) or `STRIP` (the equivalence strip).
    """

    task: str
    metric: str
    first: str
    second: str
    margin: float
    higher_is_better: bool
    cells: tuple[str, ...]
    kind: str = PAIR

    @property
    def id(self) -> str:
        """Its identity, as the CSV's `family` column writes it: `adding/r2/custom_gru-lstm`,
        with `/strip` after the strip's."""
        name = f"{self.task}/{self.metric}/{self.first}-{self.second}"
        return f"{name}/{STRIP}" if self.kind == STRIP else name


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
                        STRIP,
                    )
                )
    return found


# --- the staged procedure ---------------------------------------------------------------------


@dataclass(frozen=True)
class StagedVerdicts:
    """One family's cells, judged stage by stage (arrays of one entry a cell).

    Attributes:
        verdict: `BETTER`, `WORSE`, `EQUIVALENT`, `UNDECIDED` or `NOT_CONVERGED`.
        stage: The stage that last judged the cell (1-based; 0 when never judged).
        p_adjusted: Holm's adjusted p of a difference, at that stage.
        alpha: That stage's error rate.
        seeds: Seeds a side, at the last stage that judged it.
        needs: The fewest seeds a side at which the test could call the cell better or worse
            at the strictest threshold Holm used on it (0: none up to `significance.MOST_SEEDS`).
        difference: mean(first) - mean(second) on those seeds.
        low, high: Welch's 95% interval of the difference (a description, not the test).
        detectable: The smallest difference detected with 80% power at that strictest
            threshold, by Welch's normal approximation; infinite where the test cannot reach
            the threshold at these seeds.
    """

    verdict: np.ndarray
    stage: np.ndarray
    p_adjusted: np.ndarray
    alpha: np.ndarray
    seeds: np.ndarray
    needs: np.ndarray
    difference: np.ndarray
    low: np.ndarray
    high: np.ndarray
    detectable: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The verdicts as a frame, one row a cell, one column a field."""
        return pd.DataFrame({item.name: getattr(self, item.name) for item in fields(self)})


def decide_stages(
    first: np.ndarray,
    second: np.ndarray,
    seeds: Sequence[int],
    alphas: Sequence[float],
    margin: float,
    higher_is_better: bool,
    unconverged: np.ndarray | None = None,
    test: Test = DEFAULT,
) -> StagedVerdicts:
    """Judge one family's cells stage by stage.

    Args:
        first, second: `(cells, seeds)` metric values in seed order (seed k in column k),
            NaN where a run is absent.
        seeds: Seeds a cell has after each stage.
        alphas: The error rate of each stage.
        margin: The equivalence margin.
        higher_is_better: The metric's direction.
        unconverged: `(cells,)` True where a cell has an unconverged run.
        test: The test of a difference and of equivalence (`significance.TESTS`).

    Returns:
        The cells' `StagedVerdicts`.
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
        a, b = first[:, :count], second[:, :count]
        present = np.minimum(np.isfinite(a).sum(axis=1), np.isfinite(b).sum(axis=1))
        # A later stage judges only the cells it gave seeds to: the same data twice would
        # spend a second error rate on it.
        judged = open_cells & (present > used) & (present >= 1)
        if not judged.any():
            continue
        p = np.full(cells, np.nan)
        p[judged] = test.difference(a[judged], b[judged])
        adjusted = holm(p)
        judged &= np.isfinite(adjusted)
        significant = judged & (adjusted < alpha)
        difference = row_mean(a) - row_mean(b)
        ahead = (difference > 0) == higher_is_better
        verdict[significant & ahead] = BETTER
        verdict[significant & ~ahead] = WORSE
        tost = np.full(cells, np.nan)
        rest = judged & ~significant
        if rest.any():
            tost[rest] = test.equivalence(a[rest], b[rest], margin)
        same = rest & (tost < alpha)
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
    sides = np.minimum(np.isfinite(a).sum(axis=1), np.isfinite(b).sum(axis=1))
    reachable = np.array(
        [test.floor(int(n), int(n)) < limit for n, limit in zip(sides, strictest, strict=True)]
    )
    with np.errstate(all="ignore"):
        half = special.stdtrit(df, 0.975) * se
        level = 1 - strictest / 2
        detectable = (special.stdtrit(df, level) + special.stdtrit(df, POWER)) * se
    return StagedVerdicts(
        verdict=verdict,
        stage=stage_of,
        p_adjusted=p_adjusted,
        alpha=alpha,
        seeds=sides,
        needs=np.array([fewest_seeds(test, limit) for limit in strictest]),
        difference=difference,
        low=difference - half,
        high=difference + half,
        detectable=np.where(reachable, detectable, np.inf),
    )


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
        `(verdicts, first_median, second_median)`. Where both reach it in every run, the
        default test (`significance.DEFAULT`) on log seconds, Holm-adjusted across the
        cells: "faster", "slower" or "no significant difference". Otherwise it says who
        reached it ("only <first>", "only <second>", "neither", "not every seed").
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
        logs = np.log(first), np.log(second)
    difference = row_mean(logs[0]) - row_mean(logs[1])
    p = np.full(len(first), np.nan)
    if both.any():
        p[both] = DEFAULT.difference(logs[0][both], logs[1][both])
    p = holm(p)
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


@dataclass(frozen=True)
class MapRuns:
    """What a map's judgement reads from its runs, keyed `(cell, model, seed)`.

    Attributes:
        values: Per test metric (without `test/`), the FINISHED runs' values.
        params: Recurrent parameter counts.
        unconverged: `(cell, model)` with an unconverged run (under the convergence rule).
        to_target: Seconds of training until the validation headline reached the target.
        seeds: Columns of a seed matrix (the map's last stage's seeds).
    """

    values: dict[str, dict[tuple[str, str, int], float]]
    params: dict[tuple[str, str, int], float]
    unconverged: set[tuple[str, str]]
    to_target: dict[tuple[str, str, int], float]
    seeds: int


def map_runs(spec: MapSpec, runs: pd.DataFrame, seconds: pd.DataFrame | None) -> MapRuns:
    """Read `runs` (`gru_keras.analysis.runs.load_runs`) and `seconds` (`time_to_target`)
    into lookups."""
    unconverged: set[tuple[str, str]] = set()
    if spec.rule == CONVERGED and "converged" in runs:
        done = runs[runs["status"] == schema.FINISHED]
        unconverged = {
            (row.dataset, row.model) for row in done.itertuples() if row.converged is False
        }
    metrics = {metric for task in spec.tasks for metric in task.metrics}
    return MapRuns(
        values={m: _lookup(runs, schema.as_test_metric(m)) for m in sorted(metrics)},
        params=_lookup(runs, "recurrent_params"),
        unconverged=unconverged,
        to_target=(
            {(r.dataset, r.model, int(r.seed)): r.seconds for r in seconds.itertuples()}
            if seconds is not None
            else {}
        ),
        seeds=spec.seeds[-1],
    )


def why_undecided(
    verdicts: StagedVerdicts, first_solved: np.ndarray, second_solved: np.ndarray
) -> list[str]:
    """Per cell, why an undecided cell is undecided, in the report's words: its seeds split
    into solved and failed ("seeds split (2 of 5 solved against 5 of 5)"), or too few
    seeds for the test ("too few seeds: 3 a side, a difference needs 6"); "" otherwise."""
    reasons = []
    for index, verdict in enumerate(verdicts.verdict):
        seeds, needs = int(verdicts.seeds[index]), int(verdicts.needs[index])
        shares = first_solved[index], second_solved[index]
        if verdict != UNDECIDED:
            reasons.append("")
        elif all(np.isfinite(shares)) and any(0 < share < 1 for share in shares):
            a, b = (round(share * seeds) for share in shares)
            reasons.append(f"seeds split ({a} of {seeds} solved against {b} of {seeds})")
        elif needs == 0 or seeds < needs:
            wanted = (
                f"a difference needs {needs}" if needs else f"no count up to {MOST_SEEDS} decides"
            )
            reasons.append(f"too few seeds: {seeds} a side, {wanted}")
        else:
            reasons.append("")
    return reasons


def family_table(
    family: ComparisonFamily,
    spec: MapSpec,
    read: MapRuns,
    stages: int,
    test: Test = DEFAULT,
) -> pd.DataFrame:
    """One family's rows of the map table: `task`, the axes, `dataset`, then `COLUMNS`."""
    task = spec.task(family.task)
    values = read.values[family.metric]
    a = seed_matrix(values, family.cells, family.first, read.seeds)
    b = seed_matrix(values, family.cells, family.second, read.seeds)
    stuck = np.array(
        [
            (cell, family.first) in read.unconverged or (cell, family.second) in read.unconverged
            for cell in family.cells
        ],
        dtype=bool,
    )
    judged = decide_stages(
        a,
        b,
        spec.seeds[:stages],
        spec.alphas[:stages],
        family.margin,
        family.higher_is_better,
        stuck,
        test,
    )
    # Solve rates on the seeds the verdict was judged on, so "k of n" matches its count.
    kept = np.arange(a.shape[1])[None, :] < np.array(spec.seeds)[judged.stage - 1][:, None]
    kept |= (judged.stage == 0)[:, None]
    solved = [
        _solved(np.where(kept, side, np.nan), task.target, task.higher_is_better) for side in (a, b)
    ]
    cost, first_seconds, second_seconds = cost_verdicts(
        seed_matrix(read.to_target, family.cells, family.first, read.seeds),
        seed_matrix(read.to_target, family.cells, family.second, read.seeds),
        names=(family.first, family.second),
    )
    cells = {cell.key: cell for cell in spec.cells(family.task)}
    columns = judged.frame().to_dict(orient="list")
    with np.errstate(all="ignore"):
        return pd.DataFrame(
            {
                "task": family.task,
                **{axis: [cells[key].value(axis) for key in family.cells] for axis, _ in task.axes},
                "dataset": family.cells,
                "family": family.id,
                "family_kind": family.kind,
                "first": family.first,
                "second": family.second,
                "metric": family.metric,
                "first_mean": row_mean(a),
                "second_mean": row_mean(b),
                **columns,
                "why": why_undecided(judged, *solved),
                "margin": family.margin,
                "first_params": _mean_of(read.params, family.cells, family.first, read.seeds),
                "second_params": _mean_of(read.params, family.cells, family.second, read.seeds),
                "first_solved": _solved(a, task.target, task.higher_is_better),
                "second_solved": _solved(b, task.target, task.higher_is_better),
                "first_seconds": first_seconds,
                "second_seconds": second_seconds,
                "cost_verdict": cost,
            }
        )


def map_table(
    spec: MapSpec,
    runs: pd.DataFrame,
    seconds: pd.DataFrame | None = None,
    stages: int | None = None,
    test: Test = DEFAULT,
) -> pd.DataFrame:
    """One row per cell, family and metric: `task`, the axes, `dataset`, then `COLUMNS`.

    Args:
        spec: The map.
        runs: The map's runs (`gru_keras.analysis.runs.load_runs`): `dataset, model, seed,
            status, converged, recurrent_params` and the `test/<metric>` columns.
        seconds: `time_to_target` of the runs, or None.
        stages: Judge as of this many stages (default all of them).
        test: The test of every verdict (`significance.TESTS`).
    """
    read = map_runs(spec, runs, seconds)
    count = stages or len(spec.seeds)
    table = pd.concat(
        [family_table(family, spec, read, count, test) for family in families(spec)],
        ignore_index=True,
    )
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
