"""The convergence rule on synthetic validation curves."""

import numpy as np
import pytest

from gru_keras.convergence import convergence

FALLING = 1.0 / np.arange(1, 21)  # still improving: the last quarter gains ~20%
PLATEAU = np.r_[np.linspace(1.0, 0.3, 8), np.full(12, 0.3) + 0.001 * np.sin(np.arange(12))]


@pytest.mark.parametrize(
    ("curve", "max_epochs", "patience", "converged", "why"),
    [
        (FALLING, 20, 0, False, "still improving"),
        (PLATEAU, 20, 0, True, "plateau"),
        # Early stopping ended it (fewer epochs than allowed, patience >= 3).
        (np.r_[1.0, 0.5, 0.4, 0.41, 0.42, 0.43], 30, 3, True, "early stopping"),
        # Patience too short to count, and the curve too short to judge a plateau.
        (np.r_[1.0, 0.5, 0.6], 30, 1, False, "only 3 epochs"),
        # All epochs used with patience on: judged by the curve.
        (FALLING, 20, 5, False, "still improving"),
        # A best epoch in the last quarter that gains under 1% is still a plateau.
        (np.r_[np.full(6, 0.5), 0.499, 0.4985], 8, 0, True, "plateau"),
        (np.r_[np.nan, np.nan], 2, 0, False, "no finite validation loss"),
    ],
)
def test_the_rule_on_synthetic_curves(curve, max_epochs, patience, converged, why):
    judged = convergence(curve, max_epochs, patience)
    assert judged.converged is converged and why in judged.why


def test_best_epoch_is_one_based_and_ignores_nan():
    assert convergence([0.9, np.nan, 0.4, 0.5], 4, 0).best_epoch == 3
