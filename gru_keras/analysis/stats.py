"""Statistics over seeds, as pure functions on arrays (in the style of rliable).

Every comparison in the suite is over a handful of seeds, so intervals come from the
bootstrap: resample the seeds with replacement, recompute the statistic, take percentiles.
With one seed there is no interval, and the functions say so with NaN rather than guess.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 10_000

BETTER, WORSE, NO_DIFFERENCE, TOO_FEW = (
    "better",
    "worse",
    "no significant difference",
    "too few seeds to tell",
)


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(
    values: np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap confidence interval of the mean over seeds.

    Returns:
        `(mean, low, high)`; NaN and infinite values are ignored; with fewer than 2 values
        the interval is `(nan, nan)`, since one seed says nothing about spread.

    Example:
    >>> bootstrap_ci(np.array([1.0, 2.0, 3.0]))[0]
    2.0
    """
    values = _finite(values)
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) < 2:
        return (mean, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(resamples, len(values)), replace=True).mean(axis=1)
    return (mean, *_percentiles(means, confidence))


def bootstrap_difference(
    first: np.ndarray,
    second: np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """mean(first) - mean(second) and its stratified bootstrap interval.

    The strata are the two models: each one's seeds are resampled on their own, with their
    own count, so an unequal number of finished seeds is handled, as rliable does per task.

    Returns:
        `(difference, low, high)`; the interval is NaN unless both sides have 2+ values.
    """
    first, second = _finite(first), _finite(second)
    if len(first) == 0 or len(second) == 0:
        return (np.nan, np.nan, np.nan)
    difference = float(first.mean() - second.mean())
    if len(first) < 2 or len(second) < 2:
        return (difference, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    first_means = rng.choice(first, size=(resamples, len(first)), replace=True).mean(axis=1)
    second_means = rng.choice(second, size=(resamples, len(second)), replace=True).mean(axis=1)
    return (difference, *_percentiles(first_means - second_means, confidence))


def verdict(low: float, high: float, higher_is_better: bool) -> str:
    """Plain words for a difference interval (first minus second): is the first model
    better, worse, or not distinguishable at this confidence?"""
    if not (np.isfinite(low) and np.isfinite(high)):
        return TOO_FEW
    if low > 0:
        return BETTER if higher_is_better else WORSE
    if high < 0:
        return WORSE if higher_is_better else BETTER
    return NO_DIFFERENCE


def mean_band(
    curves: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean and min-max band of curves that may differ in length (early stopping).

    Returns:
        `(index, mean, low, high)`, one entry per position reached by at least one curve;
        each position is summarized over the curves that reached it.
    """
    if not curves:
        empty = np.array([])
        return empty, empty, empty, empty
    length = max(len(curve) for curve in curves)
    padded = np.full((len(curves), length), np.nan)
    for row, curve in enumerate(curves):
        padded[row, : len(curve)] = curve
    with np.errstate(all="ignore"):
        return (
            np.arange(length),
            np.nanmean(padded, axis=0),
            np.nanmin(padded, axis=0),
            np.nanmax(padded, axis=0),
        )


def first_reaching(curve: np.ndarray, target: float, lower_is_better: bool = True) -> float:
    """1-based index of the first value at or past `target`; NaN if the curve never gets there."""
    curve = np.asarray(curve, dtype=float)
    reached = curve <= target if lower_is_better else curve >= target
    hits = np.flatnonzero(reached)
    return float(hits[0] + 1) if len(hits) else np.nan
