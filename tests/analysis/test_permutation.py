"""The exact permutation test against scipy's `permutation_test` (every split enumerated),
its floor, and the tests a verdict can take (`significance`) against scipy's own."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from gru_keras.analysis.permutation import (
    permutation_p,
    permutation_tost_p,
    smallest_p,
)
from gru_keras.analysis.significance import (
    MODERATED_T,
    PERMUTATION,
    WELCH,
    boschloo,
    fewest_seeds,
    prior_variance,
    solve_rate_test,
)

RNG = np.random.default_rng(45)


def scipy_p(first, second, alternative="two-sided"):
    def statistic(x, y, axis):
        return x.mean(axis=axis) - y.mean(axis=axis)

    return scipy_stats.permutation_test(
        (first, second),
        statistic,
        permutation_type="independent",
        n_resamples=np.inf,
        alternative=alternative,
        vectorized=True,
    ).pvalue


@pytest.mark.parametrize("sizes", [(3, 3), (5, 5), (8, 8), (5, 4), (2, 6)])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_every_split_counts_as_scipy_counts_it(sizes, alternative, shift):
    if alternative == "two-sided" and sizes[0] != sizes[1]:
        # scipy doubles the smaller tail; this test counts |difference|, the same only when
        # the two extreme splits mirror each other.
        pytest.skip("two-sided p is defined differently for unequal sides")
    first = RNG.normal(0.5, 1, (4, sizes[0]))
    second = RNG.normal(0, 1, (4, sizes[1]))
    first[0], second[0] = 1.0, 1.0  # ties: every split alike
    ours = permutation_p(first, second, alternative, shift)
    theirs = [scipy_p(a - shift, b, alternative) for a, b in zip(first, second, strict=True)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    if shift == 0 and alternative == "two-sided":
        assert ours[0] == 1.0


def test_absent_seeds_are_left_out_and_a_row_without_any_is_nan():
    first = np.array([[1.0, 2.0, 3.0, np.nan], [np.nan] * 4])
    second = np.array([[4.0, np.nan, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0]])
    p = permutation_p(first, second)
    assert p[0] == pytest.approx(scipy_p(np.array([1.0, 2, 3]), np.array([4.0, 5, 6])))
    assert np.isnan(p[1])


def test_the_floor_is_two_over_the_number_of_splits():
    assert smallest_p(3, 3) == pytest.approx(0.1)
    assert smallest_p(6, 6) == pytest.approx(2 / 924)
    assert smallest_p(8, 8) == pytest.approx(2 / 12870)
    assert smallest_p(3, 3, "greater") == pytest.approx(0.05)
    # Reached: 3 seeds wholly above 3 others.
    assert permutation_p(np.array([[3.0, 4, 5]]), np.array([[0.0, 1, 2]]))[0] == pytest.approx(0.1)
    assert fewest_seeds(PERMUTATION, 0.05) == 4 and fewest_seeds(PERMUTATION, 0.05 / 16) == 6
    assert fewest_seeds(PERMUTATION, 0.03 / 12) == 6 and fewest_seeds(PERMUTATION, 0.05 / 24) == 7
    assert fewest_seeds(PERMUTATION, 0.05 / 8, tost=True) == 5 and fewest_seeds(WELCH, 1e-9) == 2


def test_tost_says_equivalent_inside_the_margin_and_not_outside():
    same = RNG.normal(0, 0.01, (1, 8))
    near = same + RNG.normal(0, 0.001, (1, 8))
    assert permutation_tost_p(same, near, 0.1)[0] == pytest.approx(1 / 12870)
    assert permutation_tost_p(same, near + 0.5, 0.1)[0] == 1.0
    # Its two tails are scipy's one-sided tests of the shifted samples.
    a, b = RNG.normal(0, 1, (1, 5)), RNG.normal(0.2, 1, (1, 5))
    expected = max(scipy_p(a[0] + 1.0, b[0], "greater"), scipy_p(a[0] - 1.0, b[0], "less"))
    assert permutation_tost_p(a, b, 1.0)[0] == pytest.approx(expected)


def test_the_tests_a_verdict_can_take_agree_with_scipy():
    first, second = RNG.normal(0, 1, (6, 5)), RNG.normal(1, 2, (6, 5))
    welch = [
        scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
        for a, b in zip(first, second, strict=True)
    ]
    np.testing.assert_allclose(WELCH.difference(first, second), welch, rtol=1e-9)
    np.testing.assert_allclose(PERMUTATION.difference(first, second), permutation_p(first, second))
    assert PERMUTATION.floor(3, 3) == pytest.approx(0.1) and WELCH.floor(3, 3) == 0.0
    assert PERMUTATION.tost_floor(4, 4) == pytest.approx(1 / 70)
    table = [[5, 0], [0, 5]]
    assert boschloo(5, 5, 0, 5) == pytest.approx(scipy_stats.boschloo_exact(table).pvalue)
    solve = solve_rate_test(0.9)
    p = solve.difference(np.array([[0.95] * 5]), np.array([[0.0] * 5]))
    assert p[0] == pytest.approx(boschloo(5, 5, 0, 5))
    assert np.isnan(solve.equivalence(np.ones((1, 5)), np.ones((1, 5)), 0.1)[0])


def test_the_moderated_t_shrinks_a_tight_cell_toward_the_family():
    # Variances drawn from a scaled chi-square with a known prior: the moments estimator
    # finds its scale (s0² = 1) within sampling error.
    d0, d = 10.0, 4.0
    truth = d0 / RNG.chisquare(d0, 4000)  # each row's true variance, around 1
    variances = truth * RNG.chisquare(d, 4000) / d
    found_d0, found_s0 = prior_variance(variances, np.full(4000, d))
    assert 6 < found_d0 < 16 and 0.9 < found_s0 < 1.2
    # 3 seeds at 0.999 against 3 at 0.0: Welch divides by almost nothing; with a family of
    # noisy cells, the moderated t does not.
    tight = np.array([[0.999, 0.998, 0.9985]]), np.array([[0.0, 0.001, 0.0005]])
    noisy = RNG.uniform(0, 1, (10, 3)), RNG.uniform(0, 1, (10, 3))
    first, second = np.vstack([tight[0], noisy[0]]), np.vstack([tight[1], noisy[1]])
    assert WELCH.difference(first, second)[0] < 1e-4
    assert MODERATED_T.difference(first, second)[0] > WELCH.difference(first, second)[0] * 10
