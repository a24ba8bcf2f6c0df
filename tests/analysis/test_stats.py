import numpy as np
import pytest
from scipy import stats as scipy_stats

from gru_keras.analysis.stats import (
    BETTER,
    NO_DIFFERENCE,
    TOO_FEW,
    WORSE,
    bootstrap_ci,
    bootstrap_difference,
    first_reaching,
    mean_band,
    verdict,
)


def test_bootstrap_ci_of_constant_values_is_the_value():
    assert bootstrap_ci(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0, 2.0)


def test_bootstrap_ci_of_two_values_spans_them():
    # Resampling [0, 1] gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so the
    # 2.5th and 97.5th percentiles are the two values themselves.
    assert bootstrap_ci(np.array([0.0, 1.0])) == (0.5, 0.0, 1.0)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    values = np.array([0.2, 0.5, 0.9, 1.4, 3.0])
    mean, low, high = bootstrap_ci(values, resamples=20_000)
    reference = scipy_stats.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=20_000, rng=np.random.default_rng(1)
    ).confidence_interval
    assert mean == pytest.approx(values.mean())
    assert low == pytest.approx(reference.low, abs=0.03)
    assert high == pytest.approx(reference.high, abs=0.03)


def test_bootstrap_ci_with_one_seed_has_no_interval_and_ignores_nan():
    mean, low, high = bootstrap_ci(np.array([0.5, np.nan]))
    assert mean == 0.5 and np.isnan(low) and np.isnan(high)
    assert all(np.isnan(bootstrap_ci(np.array([]))))


def test_bootstrap_difference_of_constant_sides_is_exact_even_with_unequal_seeds():
    assert bootstrap_difference(np.array([3.0, 3.0, 3.0]), np.array([1.0, 1.0])) == (2.0, 2.0, 2.0)


def test_bootstrap_difference_resamples_each_side_on_its_own():
    # first in {0, 0.5, 1} with p 1/4, 1/2, 1/4; second is constant 0: interval [0, 1].
    assert bootstrap_difference(np.array([0.0, 1.0]), np.array([0.0, 0.0])) == (0.5, 0.0, 1.0)
    difference, low, high = bootstrap_difference(
        np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0, 2.0])
    )
    assert difference == pytest.approx(7 / 3 - 1)
    # The resampled difference can never leave [min(a) - max(b), max(a) - min(b)].
    assert -1.0 <= low < difference < high <= 4.0


def test_bootstrap_difference_with_one_seed_or_none_has_no_interval():
    difference, low, high = bootstrap_difference(np.array([1.0]), np.array([0.0, 0.2]))
    assert difference == pytest.approx(0.9) and np.isnan(low) and np.isnan(high)
    assert all(np.isnan(bootstrap_difference(np.array([np.nan]), np.array([1.0, 2.0]))))


@pytest.mark.parametrize(
    ("low", "high", "higher_is_better", "expected"),
    [
        (0.1, 0.5, True, BETTER),
        (0.1, 0.5, False, WORSE),
        (-0.5, -0.1, True, WORSE),
        (-0.5, -0.1, False, BETTER),
        (-0.1, 0.1, True, NO_DIFFERENCE),
        (0.0, 0.3, True, NO_DIFFERENCE),
        (np.nan, np.nan, True, TOO_FEW),
    ],
)
def test_verdict_reads_the_interval(low, high, higher_is_better, expected):
    assert verdict(low, high, higher_is_better) == expected


def test_verdict_of_a_real_gap_over_three_seeds_is_decided():
    first, second = np.array([0.01, 0.012, 0.011]), np.array([0.16, 0.17, 0.15])
    _, low, high = bootstrap_difference(first, second)
    assert verdict(low, high, higher_is_better=False) == BETTER


def test_mean_band_summarizes_ragged_curves_where_they_exist():
    index, mean, low, high = mean_band([np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0])])
    np.testing.assert_array_equal(index, [0, 1, 2])
    np.testing.assert_allclose(mean, [2.0, 3.0, 3.0])
    np.testing.assert_allclose(low, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(high, [3.0, 4.0, 3.0])
    assert all(len(part) == 0 for part in mean_band([]))


def test_first_reaching_counts_from_one_and_says_never_with_nan():
    assert first_reaching(np.array([5.0, 3.0, 1.0]), 3.0) == 2.0
    assert np.isnan(first_reaching(np.array([5.0, 4.0]), 3.0))
    assert first_reaching(np.array([0.1, 0.6, 0.9]), 0.5, lower_is_better=False) == 2.0
