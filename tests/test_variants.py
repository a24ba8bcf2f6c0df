import keras
import pytest

from gru_keras import GRU
from gru_keras.variants import (
    PARAMETER_TOLERANCE,
    VARIANTS,
    get_variant,
    matched_units,
    solve_units,
)


def test_registry_holds_the_four_variants():
    assert set(VARIANTS) == {"simple_rnn", "lstm", "keras_gru", "custom_gru"}
    assert isinstance(get_variant("custom_gru").build(3), GRU)
    built = get_variant("keras_gru").build(3)
    assert type(built) is keras.layers.GRU and built.reset_after is False


def test_unknown_variant_names_the_valid_choices():
    with pytest.raises(ValueError, match="custom_gru, keras_gru, lstm, simple_rnn"):
        get_variant("transformer")


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("input_dim, units", [(1, 1), (3, 7), (32, 64)])
def test_parameter_formula_matches_keras_count(name, input_dim, units):
    variant = get_variant(name)
    layer = variant.build(units)
    layer.build((None, None, input_dim))
    assert variant.count_params(input_dim, units) == layer.count_params()


@pytest.mark.parametrize("budget", [19_000, 50_000, 250_000])
@pytest.mark.parametrize("input_dim", [1, 12, 88])
@pytest.mark.parametrize("layers", [1, 2])
def test_matched_units_land_within_tolerance(budget, input_dim, layers):
    units = matched_units(sorted(VARIANTS), input_dim, budget, layers=layers)
    for name, count in units.items():
        variant = get_variant(name)
        total = variant.count_params(input_dim, count) + (layers - 1) * variant.count_params(
            count, count
        )
        assert abs(total - budget) / budget <= PARAMETER_TOLERANCE, (name, count, total)
    # Fewer units for more gates: the whole point of parameter matching.
    assert units["simple_rnn"] > units["custom_gru"] == units["keras_gru"] > units["lstm"]


def test_chung_et_al_sizes_are_recovered():
    # Chung et al. 2014, music datasets (88 inputs): ~19K parameters give 100 tanh, 46 GRU, 36 LSTM units.
    units = matched_units(["simple_rnn", "custom_gru", "lstm"], 88, 19_000)
    assert abs(units["simple_rnn"] - 100) <= 2
    assert abs(units["custom_gru"] - 46) <= 2
    assert abs(units["lstm"] - 36) <= 2


def test_unreachable_budget_is_a_clear_error():
    # Units 1 -> 4 parameters... the jump between neighbours is too big for a tiny budget.
    with pytest.raises(ValueError, match="within 3%"):
        solve_units(lambda units: 10 * units * units, 55)
    with pytest.raises(ValueError, match="positive"):
        solve_units(lambda units: units, 0)
