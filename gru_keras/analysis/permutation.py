"""The Fisher-Pitman permutation test of a difference in means, exact, row by row.

Why exact: with a handful of seeds a side, the outcomes this project produces are not
Gaussian. On the adding problem a seed solves the task (R² ≈ 0.95-0.999) or stays at chance
(R² ≈ 0), and 3 solved seeds against 3 failed ones give each side a tight cluster, so Welch's
t divides by a standard error near zero and calls a difference whatever the solve rates.
The permutation test conditions on the pooled values and counts, over every way to split
them into the two sides, how often the split's difference in means is at least as extreme as
the observed one. When both models draw their seeds from one distribution (the null), every
split is equally likely, so P(p ≤ a) ≤ a for every a, whatever that distribution is:
Gaussian, bimodal or anything else.

The price is a floor on p: with n seeds a side there are C(2n, n) splits, so the smallest
two-sided p is 2 / C(2n, n) (0.1 at 3 against 3, 0.0079 at 5, 0.0022 at 6, 0.00016 at 8).
No test can do better at a level that holds for every distribution of the seeds: a test
whose level holds under every distribution common to both sides is a permutation test
(Lehmann & Romano, Testing Statistical Hypotheses, §5.8).
`gru_keras.analysis.significance.fewest_seeds` says how many seeds a verdict needs.

Equivalence (TOST) uses the same test on shifted samples: "first - second ≥ margin" is
rejected when first - margin is significantly below second, and symmetrically; this is
exact under a location shift, as Welch's TOST is under normality.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from math import comb

import numpy as np

EXACT_SPLITS = 200_000  # enumerate every split up to this many (10 against 10 is 184,756)
RANDOM_SPLITS = 20_000  # otherwise this many random ones, with the (b + 1) / (m + 1) p-value
CELLS_AT_ONCE = 20_000_000  # rows x splits held in memory at a time
ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class Splits:
    """The splits a test counts over.

    Attributes:
        first: `(splits, first + second)` indicators of the pooled values on the first side;
            row 0 is the observed split (the first `first` columns).
        moved: Per split, how many of the observed first side's values it keeps there.
        mirrored: Only the splits with value 0 on the first side are listed; each stands
            for itself and its complement, whose difference is its negative (equal sides).
    """

    first: np.ndarray
    moved: np.ndarray
    mirrored: bool


@functools.lru_cache(maxsize=64)
def splits(first: int, second: int) -> Splits:
    """Every one of the C(first + second, first) splits when there are at most
    `EXACT_SPLITS` (half of them, mirrored, when the sides are equal), else the observed
    split and `RANDOM_SPLITS` random ones."""
    total = first + second
    count = comb(total, first)
    if count <= EXACT_SPLITS:
        mirrored = first == second
        members = [
            combination
            for combination in itertools.combinations(range(total), first)
            if not mirrored or combination[0] == 0
        ]
        chosen = np.zeros((len(members), total))
        for row, member in enumerate(members):
            chosen[row, list(member)] = 1.0
    else:
        mirrored = False
        rng = np.random.default_rng(count)  # fixed: the same data, the same p
        order = np.argsort(rng.random((RANDOM_SPLITS, total)), axis=1)
        observed = np.zeros((1, total))
        observed[0, :first] = 1.0
        chosen = np.vstack([observed, (order < first).astype(np.float64)])
    return Splits(chosen, chosen[:, :first].sum(axis=1), mirrored)


def smallest_p(first: int, second: int, alternative: str = "two-sided") -> float:
    """The smallest p the test can give with these seed counts (1 below 1 seed a side).

    Example:
    >>> round(smallest_p(3, 3), 3), round(smallest_p(6, 6), 4)
    (0.1, 0.0022)
    """
    if first < 1 or second < 1:
        return 1.0
    count = comb(first + second, first)
    if count > EXACT_SPLITS:
        return 1 / (RANDOM_SPLITS + 1)
    mirrored = alternative == "two-sided" and first == second
    return (2 if mirrored else 1) / count


def _compact(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's finite values first (order does not matter to the test), and their count."""
    present = np.isfinite(values)
    order = np.argsort(~present, axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1), present.sum(axis=1)


def permutation_p(
    first: np.ndarray,
    second: np.ndarray,
    alternative: str = "two-sided",
    shift: float = 0.0,
) -> np.ndarray:
    """Row by row, the exact permutation p of mean(first) - shift - mean(second).

    Args:
        first, second: `(rows, seeds)` values, NaN where a seed is absent; each row is one
            comparison, on its own seeds.
        alternative: "two-sided", "greater" (first - shift above second) or "less".
        shift: Subtracted from every first value: the difference the null states.

    Returns:
        `(rows,)` p-values; NaN where a side has no seed.

    Example:
    >>> permutation_p(np.array([[3.0, 4.0, 5.0]]), np.array([[0.0, 1.0, 2.0]])).round(3)
    array([0.1])
    """
    return permutation_ps(first, second, [(alternative, shift)])[0]


def permutation_ps(
    first: np.ndarray, second: np.ndarray, queries: list[tuple[str, float]]
) -> np.ndarray:
    """`permutation_p` for several `(alternative, shift)` queries at once, from one pass
    over the splits: `(queries, rows)`."""
    for alternative, _shift in queries:
        if alternative not in ALTERNATIVES:
            raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    a, n1 = _compact(np.atleast_2d(np.asarray(first, dtype=float)))
    b, n2 = _compact(np.atleast_2d(np.asarray(second, dtype=float)))
    result = np.full((len(queries), len(a)), np.nan)
    for count1, count2 in set(zip(n1.tolist(), n2.tolist(), strict=True)):
        if count1 == 0 or count2 == 0:
            continue
        rows = np.flatnonzero((n1 == count1) & (n2 == count2))
        pooled = np.hstack([a[rows, :count1], b[rows, :count2]])
        result[:, rows] = _split_p(pooled, count1, count2, queries)
    return result


def _split_p(
    pooled: np.ndarray, count1: int, count2: int, queries: list[tuple[str, float]]
) -> np.ndarray:
    chosen = splits(count1, count2)
    # The test is shift-invariant: centred rows keep the sums' rounding small.
    pooled = pooled - pooled.mean(axis=1, keepdims=True)
    total = pooled.sum(axis=1, keepdims=True)
    # A shift s of the first side moves a split's difference by -s * weight.
    weight = chosen.moved / count1 - (count1 - chosen.moved) / count2
    found = np.empty((len(queries), len(pooled)))
    step = max(1, CELLS_AT_ONCE // len(chosen.first))
    for start in range(0, len(pooled), step):
        part = pooled[start : start + step]
        sums = part @ chosen.first.T
        plain = sums / count1 - (total[start : start + step] - sums) / count2
        scale = np.abs(part).max(axis=1, keepdims=True)
        for index, (alternative, shift) in enumerate(queries):
            difference = plain - shift * weight
            observed = difference[:, :1]
            tolerance = 1e-9 * (scale + abs(shift) + 1e-300)
            if alternative == "two-sided":
                hits = (np.abs(difference) >= np.abs(observed) - tolerance).mean(axis=1)
            elif alternative == "greater":
                hits = _tail(
                    difference >= observed - tolerance, -difference >= observed - tolerance, chosen
                )
            else:
                hits = _tail(
                    difference <= observed + tolerance, -difference <= observed + tolerance, chosen
                )
            # Random splits include the observed one as row 0: this is (b + 1) / (m + 1).
            found[index, start : start + step] = hits
    return found


def _tail(listed: np.ndarray, complements: np.ndarray, chosen: Splits) -> np.ndarray:
    """The share of splits in a one-sided tail, counting the complements of mirrored ones."""
    if not chosen.mirrored:
        return listed.mean(axis=1)
    return (listed.sum(axis=1) + complements.sum(axis=1)) / (2 * len(chosen.first))


def permutation_tost_p(first: np.ndarray, second: np.ndarray, margin: float) -> np.ndarray:
    """Row by row, the larger one-sided p of the permutation TOST within ±`margin`: below a
    level, |mean(first) - mean(second)| < margin at that level (under a location shift).

    Example:
    >>> same = np.array([[0.50, 0.51, 0.49, 0.50, 0.52]])
    >>> float(permutation_tost_p(same, same + 0.001, 0.1)[0]) < 0.01
    True
    """
    # H0: difference <= -margin (first + margin not above second); H0: difference >= margin.
    lower, upper = permutation_ps(first, second, [("greater", -margin), ("less", margin)])
    return np.maximum(lower, upper)
