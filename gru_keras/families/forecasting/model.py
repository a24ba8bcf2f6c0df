"""The forecasting model: the window -> one recurrent layer -> Dense(horizon) (no options)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gru_keras.families.base import SequenceData, recurrent_model
from gru_keras.variants import RecurrentVariant

if TYPE_CHECKING:
    import keras


def forecast_model(variant: RecurrentVariant, units: int, data: SequenceData) -> keras.Model:
    """All `horizon` steps at once from the last state (direct multi-step, no feedback)."""
    import keras

    head = keras.layers.Dense(data.y_train.shape[-1], name="forecast_head")
    return recurrent_model(variant, units, data, head)
