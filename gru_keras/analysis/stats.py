"""Statistics over seeds, as pure functions on arrays (in the style of rliable).

A comparison on one dataset has a handful of seeds per model, so it uses tests that hold
their error rate there: Welch's t interval and test, Holm's adjustment across the
comparisons of one report, and two one-sided tests (TOST) for equivalence. The percentile
bootstrap is for aggregates over many runs (`aggregates`), not for 3 seeds, where it calls
a difference about 19% of the time under the null. With one seed there is no interval, and
the functions say so with NaN rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
# custom_gru and keras_gru compute the same function: they are "equivalent" when the
# difference of their means is within this share of the reference model's mean.
EQUIVALENCE_MARGIN = 0.02
POWER = 0.8  # the chance of detecting a difference that "smallest detectable" refers to

BETTER, WORSE, NO_DIFFERENCE, TOO_FEW = (
    "better",
    "worse",
    "no significant difference",
    "too few seeds to tell",
)
EQUIVALENT = f"equivalent within ±{EQUIVALENCE_MARGIN:.0%}"
NOT_EQUIVALENT = f"not shown equivalent within ±{EQUIVALENCE_MARGIN:.0%}"
NOT_CONVERGED = "not converged: compares early training"


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def t_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean over seeds.

    Returns:
        `(mean, low, high)`; NaN and infinite values are ignored; with fewer than 2 values
        the interval is `(nan, nan)`.

    Example:
    >>> [round(v, 3) for v in t_interval(np.array([1.0, 2.0, 3.0]))]
    [2.0, -0.484, 4.484]
    """
    values = _finite(values)
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) < 2:
        return (mean, np.nan, np.nan)
    half = scipy_stats.t.ppf((1 + confidence) / 2, len(values) - 1) * scipy_stats.sem(values)
    return (mean, mean - float(half), mean + float(half))


@dataclass(frozen=True)
class Comparison:
    """Welch's comparison of two models' seeds (first minus second).

    Attributes:
        difference: mean(first) - mean(second).
        low, high: Welch's 95% t interval of the difference.
        p_value: Welch's two-sided p (unadjusted); NaN with fewer than 2 seeds a side.
        relative: The difference as a share of |mean(second)|.
    """

    difference: float
    low: float
    high: float
    p_value: float
    relative: float


def compare(first: np.ndarray, second: np.ndarray, confidence: float = CONFIDENCE) -> Comparison:
    """Welch's t interval and test for mean(first) - mean(second), over seeds.

    Welch's test does not assume equal variances and holds its nominal rate from 2 seeds a
    side; an exact permutation test cannot decide at 3 against 3 (its smallest two-sided p
    is 0.1). When both sides are constant the difference is known exactly.

    Example:
    >>> result = compare(np.array([1.0, 1.1, 0.9]), np.array([2.0, 2.1, 1.9]))
    >>> round(result.difference, 3), result.p_value < 0.001
    (-1.0, True)
    """
    first, second = _finite(first), _finite(second)
    if len(first) == 0 or len(second) == 0:
        return Comparison(*(np.nan,) * 5)
    difference = float(first.mean() - second.mean())
    reference = abs(float(second.mean()))
    relative = difference / reference if reference > 0 else np.nan
    if len(first) < 2 or len(second) < 2:
        return Comparison(difference, np.nan, np.nan, np.nan, relative)
    if welch_se(first, second) == 0:
        exact = 0.0 if difference != 0 else 1.0
        return Comparison(difference, difference, difference, exact, relative)
    test = scipy_stats.ttest_ind(first, second, equal_var=False)
    interval = test.confidence_interval(confidence)
    return Comparison(
        difference, float(interval.low), float(interval.high), float(test.pvalue), relative
    )


def welch_se(first: np.ndarray, second: np.ndarray) -> float:
    """Standard error of mean(first) - mean(second) without assuming equal variances."""
    return float(np.sqrt(first.var(ddof=1) / len(first) + second.var(ddof=1) / len(second)))


def welch_df(first: np.ndarray, second: np.ndarray) -> float:
    """Welch-Satterthwaite degrees of freedom."""
    a, b = first.var(ddof=1) / len(first), second.var(ddof=1) / len(second)
    return (a + b) ** 2 / (a**2 / (len(first) - 1) + b**2 / (len(second) - 1))


def detectable_difference(
    first: np.ndarray, second: np.ndarray, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest true difference Welch's test at level `alpha` would detect with
    probability `power`, given these seed counts and the observed spread:
    `(t_{1-alpha/2} + t_{power}) * SE` on Welch's degrees of freedom."""
    first, second = _finite(first), _finite(second)
    if len(first) < 2 or len(second) < 2:
        return np.nan
    spread = welch_se(first, second)
    if spread == 0:
        return 0.0
    df = welch_df(first, second)
    quantiles = scipy_stats.t.ppf(1 - alpha / 2, df) + scipy_stats.t.ppf(power, df)
    return float(quantiles * spread)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN, and does not
    count as a comparison). An adjusted p below `ALPHA` is a discovery at family-wise
    error rate `ALPHA`.

    Example:
    >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p_values, np.nan)
    present = np.flatnonzero(np.isfinite(p_values))
    order = present[np.argsort(p_values[present], kind="stable")]
    running, count = 0.0, len(order)
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def equivalent(
    first: np.ndarray, second: np.ndarray, margin: float, alpha: float = ALPHA
) -> tuple[bool, float]:
    """Two one-sided Welch tests (TOST): is |mean(first) - mean(second)| < `margin`?

    Returns:
        `(equivalent, p)`: p is the larger of the two one-sided p-values; equivalence is
        declared when it is below `alpha`.
    """
    first, second = _finite(first), _finite(second)
    if len(first) < 2 or len(second) < 2:
        return (False, np.nan)
    difference = first.mean() - second.mean()
    spread = welch_se(first, second)
    if spread == 0:  # both constant: the difference is known exactly
        inside = abs(difference) < margin or difference == 0
        return (bool(inside), 0.0 if inside else 1.0)
    if not margin > 0:
        return (False, np.nan)
    df = welch_df(first, second)
    p_lower = scipy_stats.t.sf((difference + margin) / spread, df)  # H0: difference <= -margin
    p_upper = scipy_stats.t.cdf((difference - margin) / spread, df)  # H0: difference >= margin
    p_value = float(max(p_lower, p_upper))
    return (p_value < alpha, p_value)


def decide(adjusted_p: float, difference: float, higher_is_better: bool) -> str:
    """The verdict for the first model of a comparison, from its Holm-adjusted p."""
    if not np.isfinite(adjusted_p):
        return TOO_FEW
    if adjusted_p >= ALPHA:
        return NO_DIFFERENCE
    return BETTER if (difference > 0) == higher_is_better else WORSE


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
