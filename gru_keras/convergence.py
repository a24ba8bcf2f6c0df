"""When a run counts as converged: the one rule training logs and the report reads.

A run is converged when either

- early stopping ended it, with a patience of at least `MIN_PATIENCE` epochs; or
- its validation loss had plateaued: the best value of its last quarter of epochs improves
  on the best of its first three quarters by less than `PLATEAU_GAIN` (relative), which
  includes a best epoch inside the first three quarters.

Otherwise it is not converged, and comparing it says how fast a model starts, not what it
can do. Shared by `gru_keras.experiment.train` (which logs it) and `gru_keras.analysis`
(which recomputes it for runs logged before it existed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_PATIENCE = 3
PLATEAU_SHARE, PLATEAU_GAIN = 0.75, 0.01
MIN_EPOCHS = 4  # fewer epochs have no last quarter to judge a plateau by


@dataclass(frozen=True)
class Convergence:
    """Attributes:
    best_epoch: 1-based epoch of the lowest validation loss (0 without one).
    converged: Whether the rule above holds.
    why: The rule that decided, in words.
    """

    best_epoch: int
    converged: bool
    why: str


def convergence(val_loss: Sequence[float], max_epochs: int, patience: int) -> Convergence:
    """Judge one run from its per-epoch validation losses.

    Args:
        val_loss: Validation loss after each epoch, in order (non-finite values never count
            as the best).
        max_epochs: The epochs the run was allowed.
        patience: Its early-stopping patience (0: off).

    Example:
    >>> convergence([1.0, 0.5, 0.49, 0.49, 0.49, 0.49, 0.49, 0.49], 8, 0).converged
    True
    >>> convergence([1.0, 0.8, 0.6, 0.4], 4, 0).converged
    False
    """
    losses = [float(value) for value in val_loss]
    finite = [(value, epoch) for epoch, value in enumerate(losses, start=1) if math.isfinite(value)]
    if not finite:
        return Convergence(0, False, "no finite validation loss")
    best_epoch = min(finite)[1]
    if patience >= MIN_PATIENCE and len(losses) < max_epochs:
        return Convergence(best_epoch, True, f"early stopping (patience {patience})")
    if len(losses) < MIN_EPOCHS:
        epochs = f"{len(losses)} epoch" + ("s" if len(losses) != 1 else "")
        return Convergence(best_epoch, False, f"only {epochs}")
    cut = math.ceil(PLATEAU_SHARE * len(losses))
    early = [value for value in losses[:cut] if math.isfinite(value)]
    late = [value for value in losses[cut:] if math.isfinite(value)]
    if not early:
        return Convergence(best_epoch, False, "no finite loss in the first three quarters")
    before, after = min(early), min(late, default=math.inf)
    gain = (before - after) / abs(before) if before != 0 else (0.0 if after >= before else 1.0)
    if gain < PLATEAU_GAIN:
        return Convergence(best_epoch, True, f"plateau (last quarter gained {max(gain, 0):.1%})")
    return Convergence(best_epoch, False, f"still improving ({gain:.1%} in the last quarter)")
