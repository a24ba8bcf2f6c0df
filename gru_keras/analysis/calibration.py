"""Null simulations of every procedure that gives a verdict: how often it calls a false
"better" or "worse", and how often it finds a true difference, with each candidate test.

Two nulls, in which both models of every cell draw their seeds from one distribution:

- **gaussian**: a normal distribution with a different spread per cell;
- **split**: each seed solves the task with the cell's probability (drawn from 0.1-0.9, or
  fixed) and scores R² in 0.95-0.999, or fails and scores about 0 (sd 0.01): tight
  clusters, as the adding problem's seeds are.

Two effects, each in one cell of an otherwise null map: a Gaussian shift of 3 SD, and solve
rates of 0.9 against 0.1. Two procedures: the suite's head-to-head (every comparison of a
report at once, Holm at 0.05) and the map's stages (`decision.decide_stages`).

    python -m gru_keras.analysis.calibration --maps 2000     # the table in docs/report.md
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gru_keras.analysis.decision import BETTER, WORSE, decide_stages
from gru_keras.analysis.significance import (
    MODERATED_T,
    PERMUTATION,
    WELCH,
    Test,
    solve_rate_test,
)
from gru_keras.analysis.stats import ALPHA, holm

SOLVED = (0.95, 0.999)  # R² of a seed that solved the task
FAILED_SD = 0.01  # and the spread of one that did not, around 0
TARGET = 0.9  # "solved" for the solve-rate test
SPLIT_RATES = (0.1, 0.9)  # the null's solve rates are drawn from this range

Draw = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def gaussian_null(rng: np.random.Generator, cells: int, seeds: int) -> tuple[np.ndarray, ...]:
    """Both sides N(0, s²), s drawn per cell from 0.05-2."""
    scale = rng.uniform(0.05, 2.0, size=(cells, 1))
    return rng.normal(0, 1, (cells, seeds)) * scale, rng.normal(0, 1, (cells, seeds)) * scale


def split_seeds(rng: np.random.Generator, rate: np.ndarray, seeds: int) -> np.ndarray:
    """`(cells, seeds)` R² of seeds that solve with each cell's `rate`, or stay at chance."""
    solved = rng.random((len(rate), seeds)) < rate[:, None]
    high = rng.uniform(*SOLVED, size=solved.shape)
    low = rng.normal(0.0, FAILED_SD, size=solved.shape)
    return np.where(solved, high, low)


def split_null(rate: float | None = None) -> Draw:
    """The split-seed null: solve rate `rate` in every cell, or drawn per cell from
    `SPLIT_RATES` when None."""

    def draw(rng: np.random.Generator, cells: int, seeds: int) -> tuple[np.ndarray, ...]:
        rates = np.full(cells, rate) if rate is not None else rng.uniform(*SPLIT_RATES, cells)
        return split_seeds(rng, rates, seeds), split_seeds(rng, rates, seeds)

    return draw


def gaussian_shift(rng: np.random.Generator, cells: int, seeds: int) -> tuple[np.ndarray, ...]:
    """The Gaussian null with cell 0's first side 3 SD higher."""
    first, second = rng.normal(0, 1, (cells, seeds)), rng.normal(0, 1, (cells, seeds))
    first[0] += 3.0
    return first, second


def solve_shift(rng: np.random.Generator, cells: int, seeds: int) -> tuple[np.ndarray, ...]:
    """The split-seed null (rates drawn per cell) with cell 0 solved at 0.9 against 0.1."""
    rates = rng.uniform(*SPLIT_RATES, cells)
    first, second = split_seeds(rng, rates, seeds), split_seeds(rng, rates, seeds)
    first[0] = split_seeds(rng, np.array([0.9]), seeds)[0]
    second[0] = split_seeds(rng, np.array([0.1]), seeds)[0]
    return first, second


NULLS: dict[str, Draw] = {
    "gaussian": gaussian_null,
    "split 0.1-0.9": split_null(),
    "split 0.5": split_null(0.5),
    "split 0.2": split_null(0.2),
}
EFFECTS: dict[str, Draw] = {"shift 3 SD": gaussian_shift, "solve 0.9 vs 0.1": solve_shift}


@dataclass(frozen=True)
class Procedure:
    """A procedure that judges `cells` comparisons at once.

    Attributes:
        name: How the table names it.
        cells: Comparisons judged together.
        seeds: Seeds a side (the last stage's, for the map).
        judge: `(first, second, test) -> (cells,)` verdicts.
    """

    name: str
    cells: int
    seeds: int
    judge: Callable[[np.ndarray, np.ndarray, Test], np.ndarray]


def head_to_head(cells: int, seeds: int, alpha: float = ALPHA) -> Procedure:
    """The suite's head-to-head: every difference of a report, Holm at `alpha`."""

    def judge(first: np.ndarray, second: np.ndarray, test: Test) -> np.ndarray:
        adjusted = holm(test.difference(first, second))
        ahead = first.mean(axis=1) > second.mean(axis=1)
        return np.where(adjusted < alpha, np.where(ahead, BETTER, WORSE), "")

    return Procedure(f"head-to-head, {cells} comparisons, {seeds} seeds", cells, seeds, judge)


def staged_map(
    cells: int, seeds: tuple[int, ...], alphas: tuple[float, ...], margin: float = 0.05
) -> Procedure:
    """The map's stages on one family of `cells` (margin in the metric's units)."""

    def judge(first: np.ndarray, second: np.ndarray, test: Test) -> np.ndarray:
        return decide_stages(first, second, seeds, alphas, margin, True, test=test).verdict

    stages = ", ".join(map(str, seeds))
    rates = ", ".join(f"{a:g}" for a in alphas)
    return Procedure(f"map, {cells} cells, seeds ({stages}) at ({rates})", cells, seeds[-1], judge)


@dataclass(frozen=True)
class Rate:
    """A simulated rate with its Monte Carlo standard error."""

    rate: float
    error: float
    maps: int

    def __str__(self) -> str:
        return f"{self.rate:.3f} ± {self.error:.3f}"


def _rate(hits: int, maps: int) -> Rate:
    rate = hits / maps
    return Rate(rate, float(np.sqrt(max(rate * (1 - rate), 1 / maps) / maps)), maps)


def false_rate(procedure: Procedure, test: Test, null: Draw, maps: int, seed: int = 0) -> Rate:
    """The share of null maps with any "better" or "worse" (the family-wise error)."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(maps):
        first, second = null(rng, procedure.cells, procedure.seeds)
        verdicts = procedure.judge(first, second, test)
        hits += bool(np.isin(verdicts, [BETTER, WORSE]).any())
    return _rate(hits, maps)


def power(procedure: Procedure, test: Test, effect: Draw, maps: int, seed: int = 1) -> Rate:
    """The share of maps in which the one true difference (cell 0) is found "better"."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(maps):
        first, second = effect(rng, procedure.cells, procedure.seeds)
        hits += procedure.judge(first, second, test)[0] == BETTER
    return _rate(hits, maps)


def candidates() -> dict[str, Test]:
    """The tests compared: the permutation test, Welch, the moderated t, and Boschloo's
    solve-rate test at R² ≥ 0.9 (meaningful on split seeds only)."""
    return {
        "permutation": PERMUTATION,
        "welch": WELCH,
        "moderated t": MODERATED_T,
        "solve rate": solve_rate_test(TARGET),
    }


def table(procedures: list[Procedure], maps: int, tests: dict[str, Test] | None = None):
    """Every test x procedure: the false-call rate under each null and the power under each
    effect, as `rate ± Monte Carlo error`."""
    rows = []
    for procedure in procedures:
        for name, test in (tests or candidates()).items():
            row = {"procedure": procedure.name, "test": name}
            for null, draw in NULLS.items():
                row[f"false, {null}"] = str(false_rate(procedure, test, draw, maps))
            for effect, draw in EFFECTS.items():
                row[f"power, {effect}"] = str(power(procedure, test, draw, maps))
            rows.append(row)
    return pd.DataFrame(rows)


DEFAULT_PROCEDURES = (
    head_to_head(16, 3),
    head_to_head(16, 6),
    staged_map(16, (3, 5), (0.03, 0.02)),
    staged_map(8, (6, 8), (0.03, 0.02)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gru_keras.analysis.calibration",
        description="Simulate every verdict procedure under Gaussian and split-seed nulls.",
    )
    parser.add_argument("--maps", type=int, default=2000, help="simulated maps per entry")
    arguments = parser.parse_args(argv)
    print(table(list(DEFAULT_PROCEDURES), arguments.maps).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
