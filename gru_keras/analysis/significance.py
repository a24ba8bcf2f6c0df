"""The tests a verdict can use, each one function of a family's `(rows, seeds)` arrays, so a
procedure takes its test as an argument (as rliable passes its statistic in).

- `PERMUTATION` (the project's test): the exact Fisher-Pitman permutation test and its TOST
  (`gru_keras.analysis.permutation`). Its level holds for any distribution of the seeds.
- `WELCH`: Welch's t and TOST, the test of earlier versions; its level rests on normality.
- `MODERATED_T`: Welch's t with each row's variance shrunk toward one pooled over the rows
  of the same side (Smyth 2004, limma's empirical Bayes), for many comparisons of tiny samples.
- `solve_rate_test`: Boschloo's exact test of the share of seeds that reached a target.

`gru_keras.analysis.calibration` simulates each under Gaussian and split-seed nulls;
docs/report.md gives the table and why the permutation test was chosen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy import stats as scipy_stats

from gru_keras.analysis.permutation import permutation_p, permutation_tost_p, smallest_p

Rows = np.ndarray  # (rows, seeds), NaN where a seed is absent


@dataclass(frozen=True)
class Test:
    """A two-sample test, row by row.

    Attributes:
        name: Its key in `TESTS`.
        words: How a report names it.
        difference: `(first, second) -> (rows,)` two-sided p of "the means differ".
        equivalence: `(first, second, margin) -> (rows,)` TOST p of "|difference| < margin"
            (NaN: the test has none).
        floor: `(seeds, seeds) -> p`, the smallest two-sided p it can give at those seed
            counts (0 for a test that can give any p).
    """

    name: str
    words: str
    difference: Callable[[Rows, Rows], np.ndarray]
    equivalence: Callable[[Rows, Rows, float], np.ndarray]
    floor: Callable[[int, int], float]

    def tost_floor(self, first: int, second: int) -> float:
        """The smallest TOST p at these seed counts: a one-sided test's floor, half the
        two-sided one where the two extreme splits mirror each other (equal seeds)."""
        return self.floor(first, second) / (2 if first == second else 1)

    def smallest(self, first: int, second: int, tost: bool = False) -> float:
        """The smallest p of a difference, or with `tost` of equivalence, at these seeds."""
        return self.tost_floor(first, second) if tost else self.floor(first, second)


# --- Welch, vectorized ------------------------------------------------------------------------


def row_mean(values: Rows) -> np.ndarray:
    """Each row's mean over its finite values (NaN for a row without any), quietly."""
    present = np.isfinite(values)
    with np.errstate(all="ignore"):
        return np.where(present, values, 0.0).sum(axis=1) / present.sum(axis=1)


def moments(values: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: count, mean and sample variance (ddof 1) of the finite values."""
    present = np.isfinite(values)
    count = present.sum(axis=1).astype(float)
    mean = row_mean(values)
    with np.errstate(all="ignore"):
        squares = np.where(present, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
        return count, mean, squares / (count - 1)


def welch(first: Rows, second: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row by row, Welch's difference of means, its standard error and degrees of freedom
    (NaN where a side has fewer than 2 seeds)."""
    n1, m1, s1 = moments(first)
    n2, m2, s2 = moments(second)
    return _welch(m1 - m2, s1 / n1, s2 / n2, n1 - 1, n2 - 1)


def _welch(difference, v1, v2, d1, d2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    se = np.sqrt(v1 + v2)
    with np.errstate(all="ignore"):
        df = (v1 + v2) ** 2 / (v1**2 / d1 + v2**2 / d2)
    few = (d1 < 1) | (d2 < 1)
    return difference, np.where(few, np.nan, se), np.where(few, np.nan, df)


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


MOST_SEEDS = 64  # `fewest_seeds` looks no further


@functools.lru_cache(maxsize=4096)
def fewest_seeds(test: Test, threshold: float, tost: bool = False) -> int:
    """The fewest seeds a side (equal on both) at which `test` can give a p below
    `threshold`, for a difference or, with `tost`, for equivalence (0 when no count up to
    `MOST_SEEDS` can).

    Example:
    >>> fewest_seeds(PERMUTATION, 0.05 / 16), fewest_seeds(PERMUTATION, 0.05 / 8, tost=True)
    (6, 5)
    """
    return next((n for n in range(2, MOST_SEEDS + 1) if test.smallest(n, n, tost) < threshold), 0)


def _no_floor(_first: int, _second: int) -> float:
    return 0.0


WELCH = Test(
    "welch",
    "Welch's t",
    lambda a, b: welch_p(*welch(a, b)),
    lambda a, b, margin: tost_p(*welch(a, b), margin),
    _no_floor,
)

PERMUTATION = Test(
    "permutation",
    "an exact permutation test (Fisher-Pitman, every split of the seeds)",
    lambda a, b: permutation_p(a, b),
    permutation_tost_p,
    smallest_p,
)


# --- the moderated t (limma) ------------------------------------------------------------------


def prior_variance(variances: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """limma's `fitFDist` by moments: the prior `(d0, s0²)` of sample variances with `df`
    degrees of freedom each (d0 = inf when they vary no more than chance allows)."""
    keep = np.isfinite(variances) & (variances > 0) & (df > 0)
    if keep.sum() < 2:
        return np.inf, float(np.nanmean(variances)) if np.isfinite(variances).any() else np.nan
    s2, d = variances[keep], df[keep]
    z = np.log(s2)
    e = z - special.digamma(d / 2) + np.log(d / 2)
    excess = np.mean((e - e.mean()) ** 2) * len(e) / (len(e) - 1) - np.mean(
        special.polygamma(1, d / 2)
    )
    if excess <= 0:
        return np.inf, float(np.exp(e.mean()))
    d0 = 2 * optimize.brentq(lambda x: special.polygamma(1, x) - excess, 1e-8, 1e8)
    s0 = np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2))
    return float(d0), float(s0)


def moderated(values: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: count, mean, and the variance shrunk toward the prior of all rows, with its
    degrees of freedom (the row's plus the prior's)."""
    count, mean, variance = moments(values)
    d0, s0 = prior_variance(variance, count - 1)
    d = np.maximum(count - 1, 0)
    if np.isinf(d0):
        return count, mean, np.where(count >= 1, s0, np.nan), np.full_like(count, 1e6)
    with np.errstate(all="ignore"):
        shrunk = (d0 * s0 + d * np.nan_to_num(variance)) / (d0 + d)
    return count, mean, shrunk, d + d0


def moderated_p(first: Rows, second: Rows) -> np.ndarray:
    """Two-sided p of the moderated Welch t, each side's variances shrunk across the rows."""
    n1, m1, s1, d1 = moderated(first)
    n2, m2, s2, d2 = moderated(second)
    return welch_p(*_welch(m1 - m2, s1 / n1, s2 / n2, d1, d2))


def moderated_tost(first: Rows, second: Rows, margin: float) -> np.ndarray:
    n1, m1, s1, d1 = moderated(first)
    n2, m2, s2, d2 = moderated(second)
    return tost_p(*_welch(m1 - m2, s1 / n1, s2 / n2, d1, d2), margin)


MODERATED_T = Test(
    "moderated-t",
    "a moderated t (variances shrunk across the family, as limma does)",
    moderated_p,
    moderated_tost,
    _no_floor,
)


# --- the solve rate (Boschloo) ----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def boschloo(solved1: int, seeds1: int, solved2: int, seeds2: int) -> float:
    """Boschloo's exact two-sided p of solved1 / seeds1 against solved2 / seeds2."""
    table = [[solved1, solved2], [seeds1 - solved1, seeds2 - solved2]]
    if solved1 + solved2 in (0, seeds1 + seeds2):
        return 1.0  # all solved or none: nothing to compare
    return float(scipy_stats.boschloo_exact(table, alternative="two-sided").pvalue)


def solve_rate_test(target: float, higher_is_better: bool = True) -> Test:
    """Boschloo's test of the share of seeds whose value reached `target` (no equivalence)."""

    def solved(values: Rows) -> tuple[np.ndarray, np.ndarray]:
        present = np.isfinite(values)
        hit = (values >= target) if higher_is_better else (values <= target)
        return (hit & present).sum(axis=1), present.sum(axis=1)

    def difference(first: Rows, second: Rows) -> np.ndarray:
        (k1, n1), (k2, n2) = solved(first), solved(second)
        return np.array(
            [
                boschloo(int(a), int(b), int(c), int(d)) if b and d else np.nan
                for a, b, c, d in zip(k1, n1, k2, n2, strict=True)
            ]
        )

    def none(first: Rows, _second: Rows, _margin: float) -> np.ndarray:
        return np.full(len(first), np.nan)

    return Test(
        "solve-rate",
        f"Boschloo's exact test of the share of seeds reaching {target:g}",
        difference,
        none,
        lambda n1, n2: boschloo(n1, n1, 0, n2),
    )


TESTS: dict[str, Test] = {test.name: test for test in (PERMUTATION, WELCH, MODERATED_T)}
DEFAULT = PERMUTATION
