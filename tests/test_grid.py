"""The decision map's grid: cells, keys, the strip, and one-line errors for bad `[map]` tables."""

import copy

import pytest

from gru_keras.errors import ConfigError
from gru_keras.grid import parse_map

MODELS = ("simple_rnn", "lstm", "keras_gru", "custom_gru")
MAP = {
    "updates": 1000,
    "evaluations": 10,
    "seeds": [3, 6],
    "alpha": [0.03, 0.02],
    "pairs": [["custom_gru", "lstm"], ["custom_gru", "simple_rnn"]],
    "strip": {"task": "adding", "where": {"train_size": 400, "parameter_budget": 500}},
    "tasks": {
        "adding": {
            "dataset": "adding",
            "metrics": ["r2"],
            "axes": {
                "parameter_budget": [2000, 500],
                "sequence_length": [40, 10, 20],
                "train_size": [400, 100],
            },
        },
        "counting": {
            "dataset": "counting",
            "metrics": ["accuracy", "accuracy_long"],
            "margin": 0.03,
            "axes": {"max_n": [4, 8], "train_size": [100], "parameter_budget": [500]},
        },
    },
}


def test_cells_cross_the_axes_in_order_length_size_budget():
    spec = parse_map(MAP, MODELS)
    adding = spec.cells("adding")
    assert len(adding) == 3 * 2 * 2 and len(spec.cells()) == 12 + 2
    assert adding[0].key == "adding-T10-n100-p500"
    assert [axis for axis, _ in spec.task("adding").axes] == [
        "sequence_length",
        "train_size",
        "parameter_budget",
    ]
    assert spec.task("counting").length_axis == "max_n"
    assert spec.models == ("custom_gru", "lstm", "simple_rnn")
    assert spec.steps_per_epoch() == 100 and spec.rule == "updates"


def test_the_strip_runs_along_the_axis_it_does_not_fix():
    spec = parse_map(MAP, MODELS)
    strip = spec.strip_cells()
    assert [cell.value("sequence_length") for cell in strip] == [10, 20, 40]
    assert {cell.value("train_size") for cell in strip} == {400}


def broken(path: str, value):
    table = copy.deepcopy(MAP)
    *parents, last = path.split(".")
    node = table
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return table


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("seeds", [3, 6, 7, 8], "at most 3"),
        ("seeds", [6, 3], "must grow"),
        ("seeds", [3, 9], "at most 8 seeds"),
        ("alpha", [0.05], "one error rate a stage"),
        ("alpha", [0.04, 0.04], "adds up to 0.08"),
        ("pairs", [["custom_gru", "custom_gru"]], "two different models"),
        ("pairs", [["custom_gru", "gru"]], "valid choices"),
        ("tasks.adding.axes.train_size", None, "needs three axes"),
        ("tasks.adding.axes.delay", [5], "needs three axes"),
        ("tasks.adding.axes.width", [5], "unknown axis"),
        ("tasks.adding.axes.train_size", [], "must not be empty"),
        ("tasks.adding.metrics", [], "must not be empty"),
        ("tasks.adding.dataset", None, "is required"),
        ("tasks.adding.colour", 1, "unknown key"),
        ("strip.where", {"train_size": 123}, "valid choices: 100, 400"),
        ("strip.task", "music", "valid choices: adding, counting"),
        ("tasks", {}, "is empty"),
        ("updates", -1, "out of range"),
        ("tasks.adding.prediction", "yang-2020", "valid choices: , weiss-2018, bai-2018"),
    ],
)
def test_a_bad_map_table_is_one_line_naming_the_key(path, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_map(broken(path, value), MODELS)
    assert "\n" not in str(error.value)
