"""Registry of the recurrent variants under comparison, and parameter-matched sizing.

Comparisons are parameter-matched (Chung et al. 2014: about 100 tanh / 46 GRU / 36 LSTM
units for ~19K parameters): a task gives a budget for its recurrent core and `solve_units`
finds, for each variant, the units whose parameter count lands closest to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gru_keras import schema
from gru_keras.registry import Registry

if TYPE_CHECKING:
    import keras

# Relative tolerance a matched parameter count must land within.
PARAMETER_TOLERANCE = 0.03


@dataclass(frozen=True)
class RecurrentVariant:
    """One recurrent layer type: how to build it and how many parameters it has.

    Attributes:
        name: Registry name (`simple_rnn`, `lstm`, `keras_gru`, `custom_gru`).
        description: One line for tables and reports.
        gate_blocks: How many `(input_dim + units + 1) x units` blocks one layer holds
            (1 for SimpleRNN, 3 for a GRU, 4 for an LSTM).
        state_count: How many state tensors the layer carries (LSTM: h and c).
        factory: Builds the Keras layer from `units` and layer keyword arguments.
    """

    name: str
    description: str
    gate_blocks: int
    state_count: int
    factory: Callable[..., keras.layers.Layer]

    def build(self, units: int, **layer_kwargs: Any) -> keras.layers.Layer:
        """A new layer with `units` units (layer_kwargs: return_sequences, name, ...)."""
        return self.factory(units, **layer_kwargs)

    def count_params(self, input_dim: int, units: int) -> int:
        """Trainable parameters of one layer fed `input_dim` features."""
        return self.gate_blocks * units * (input_dim + units + 1)


# The factories import Keras when a layer is built, so that reading a suite does not.
def _simple_rnn(units: int, **kwargs: Any) -> keras.layers.Layer:
    import keras

    return keras.layers.SimpleRNN(units, **kwargs)


def _lstm(units: int, **kwargs: Any) -> keras.layers.Layer:
    import keras

    return keras.layers.LSTM(units, **kwargs)


def _keras_gru(units: int, **kwargs: Any) -> keras.layers.Layer:
    import keras

    return keras.layers.GRU(units, reset_after=False, **kwargs)


def _custom_gru(units: int, **kwargs: Any) -> keras.layers.Layer:
    from gru_keras.layer import GRU

    return GRU(units, **kwargs)


VARIANTS: Registry[RecurrentVariant] = Registry("model")
for _variant in (
    RecurrentVariant(
        schema.SIMPLE_RNN,
        "keras.layers.SimpleRNN (ungated tanh baseline)",
        gate_blocks=1,
        state_count=1,
        factory=_simple_rnn,
    ),
    RecurrentVariant(
        schema.LSTM,
        "keras.layers.LSTM",
        gate_blocks=4,
        state_count=2,
        factory=_lstm,
    ),
    RecurrentVariant(
        schema.KERAS_GRU,
        "keras.layers.GRU(reset_after=False)",
        gate_blocks=3,
        state_count=1,
        factory=_keras_gru,
    ),
    RecurrentVariant(
        schema.CUSTOM_GRU,
        "gru_keras.GRU (this project's layer)",
        gate_blocks=3,
        state_count=1,
        factory=_custom_gru,
    ),
):
    VARIANTS.register(_variant.name, _variant)


def get_variant(name: str) -> RecurrentVariant:
    """The registered variant called `name`; ValueError naming the valid choices otherwise."""
    return VARIANTS.lookup(name)


def model_order(models) -> list[str]:
    """The recurrent variants in registry order, then baselines alphabetically."""
    variants = [name for name in VARIANTS if name in set(models)]
    return variants + sorted(set(models) - set(variants))


def solve_units(
    count_params: Callable[[int], int],
    budget: int,
    tolerance: float = PARAMETER_TOLERANCE,
) -> int:
    """The units whose parameter count is closest to `budget`.

    Args:
        count_params: Parameters of the whole recurrent core as a function of units
            (increasing in units), so stacked or encoder-decoder cores match as one.
        budget: Target parameter count.
        tolerance: Maximum relative deviation allowed from the budget.

    Returns:
        The best number of units (at least 1).

    Raises:
        ValueError: if no number of units lands within `tolerance` of `budget`.
    """
    if budget <= 0:
        raise ValueError(f"The parameter budget must be positive, got {budget}.")
    low, high = 1, 1
    while count_params(high) < budget:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if count_params(middle) < budget:
            low = middle
        else:
            high = middle
    units = min((low, high), key=lambda u: abs(count_params(u) - budget))
    deviation = abs(count_params(units) - budget) / budget
    if deviation > tolerance:
        raise ValueError(
            f"No unit count lands within {tolerance:.0%} of a {budget}-parameter budget "
            f"(closest: {units} units with {count_params(units)} parameters); "
            "raise the budget or loosen the tolerance."
        )
    return units


def stacked_core_params(
    variant: RecurrentVariant, input_dim: int, layers: int = 1
) -> Callable[[int], int]:
    """Parameters of `layers` stacked layers of `variant` fed `input_dim` features, as a
    function of units."""

    def count(units: int) -> int:
        first = variant.count_params(input_dim, units)
        return first + (layers - 1) * variant.count_params(units, units)

    return count


def matched_units(names: list[str], input_dim: int, budget: int, layers: int = 1) -> dict[str, int]:
    """Units per variant for a core of `layers` stacked layers fed `input_dim` features."""
    return {
        name: solve_units(stacked_core_params(get_variant(name), input_dim, layers), budget)
        for name in names
    }
