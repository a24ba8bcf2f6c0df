"""The decision map's sentences on constructed tables: counts, and whether the literature's
predictions held."""

import pandas as pd

from gru_keras.analysis.map_findings import (
    bai_sentence,
    counts,
    map_findings,
    reach_parts,
    weiss_sentence,
)
from gru_keras.grid import parse_map

MODELS = ("simple_rnn", "lstm", "keras_gru", "custom_gru")
SPEC_TABLE = {
    "updates": 500,
    "seeds": [3],
    "alpha": [0.05],
    "pairs": [["custom_gru", "lstm"], ["custom_gru", "simple_rnn"]],
    "tasks": {
        "adding": {
            "dataset": "adding",
            "prediction": "bai-2018",
            "metrics": ["r2"],
            "axes": {
                "sequence_length": [25, 50, 100],
                "train_size": [100],
                "parameter_budget": [500],
            },
        },
        "counting": {
            "dataset": "counting",
            "prediction": "weiss-2018",
            "metrics": ["accuracy", "accuracy_long"],
            "axes": {"max_n": [8, 16], "train_size": [100], "parameter_budget": [500]},
        },
    },
}
SPEC = parse_map(SPEC_TABLE, MODELS)


def row(
    task,
    length_axis,
    length,
    second,
    metric,
    verdict,
    first_solved=0.0,
    second_solved=0.0,
    first_mean=0.5,
    second_mean=0.5,
):
    return {
        "task": task,
        length_axis: length,
        "train_size": 100,
        "parameter_budget": 500,
        "dataset": f"{task}-{length}",
        "family": f"{task}/{metric}/custom_gru-{second}",
        "family_kind": "pair",
        "first": "custom_gru",
        "second": second,
        "metric": metric,
        "first_mean": first_mean,
        "second_mean": second_mean,
        "verdict": verdict,
        "first_solved": first_solved,
        "second_solved": second_solved,
        "cost_verdict": "neither reaches",
    }


def adding_rows():
    # Gated models solve up to T = 50; SimpleRNN only at T = 25.
    rows = []
    for length, gru, lstm, tanh in (
        (25, 1.0, 1.0, 1.0),
        (50, 1.0, 0.67, 0.0),
        (100, 0.0, 0.0, 0.0),
    ):
        rows.append(row("adding", "sequence_length", length, "lstm", "r2", "equivalent", gru, lstm))
        rows.append(
            row(
                "adding",
                "sequence_length",
                length,
                "simple_rnn",
                "r2",
                "better",
                gru,
                tanh,
                second_mean=0.02,
            )
        )
    return rows


def counting_rows(verdict, gru_long, lstm_long):
    rows = []
    for n in (8, 16):
        for metric in ("accuracy", "accuracy_long"):
            rows.append(
                row(
                    "counting",
                    "max_n",
                    n,
                    "lstm",
                    metric,
                    verdict if metric == "accuracy_long" else "equivalent",
                    first_mean=gru_long,
                    second_mean=lstm_long,
                )
            )
    return rows


def test_counts_leave_out_verdicts_that_did_not_occur():
    assert (
        counts(pd.Series(["better", "undecided", "better"])) == "2 better, 1 undecided of 3 cells"
    )


def test_bai_says_where_each_model_stops_reaching_the_target():
    table = pd.DataFrame(adding_rows() + counting_rows("worse", 0.6, 0.95))
    task = SPEC.task("adding")
    assert reach_parts(table, task, ["custom_gru", "simple_rnn"]) == [
        "custom_gru reaches it up to sequence_length = 50 and not at 100",
        "simple_rnn reaches it up to sequence_length = 25 and not at 50",
    ]
    sentence = bai_sentence(table, SPEC)
    assert "held here" in sentence and "lstm reaches it up to sequence_length = 50" in sentence
    assert "mean R² at T = 100: 0.02" in sentence


def test_weiss_holds_when_the_gru_loses_on_long_strings_and_not_when_it_wins():
    held = weiss_sentence(pd.DataFrame(adding_rows() + counting_rows("worse", 0.6, 0.95)), SPEC)
    assert "held here" in held and "2 worse of 2 cells" in held
    assert "mean accuracy_long custom_gru 0.600, lstm 0.950" in held
    refuted = weiss_sentence(pd.DataFrame(adding_rows() + counting_rows("better", 0.9, 0.6)), SPEC)
    assert "did not hold here" in refuted
    open_question = weiss_sentence(
        pd.DataFrame(adding_rows() + counting_rows("undecided", 0.7, 0.7)), SPEC
    )
    assert "is not settled here (0 of 2 cells decided)" in open_question


def test_the_findings_state_the_rule_and_one_sentence_a_family():
    table = pd.DataFrame(adding_rows() + counting_rows("worse", 0.6, 0.95))
    sentences = map_findings(table, SPEC)
    assert sentences[0].startswith("Every run trained at 500 updates")
    assert any(
        s.startswith(
            "adding, r2 (trained at 500 updates): custom_gru against simple_rnn: 3 better of 3 "
            "cells"
        )
        for s in sentences
    )


def reversed_rows(rows):
    """The same comparisons declared the other way round: (lstm, custom_gru)."""
    flipped = []
    for item in rows:
        turned = {**item, "first": item["second"], "second": "custom_gru"}
        turned["first_mean"], turned["second_mean"] = item["second_mean"], item["first_mean"]
        turned["first_solved"], turned["second_solved"] = (
            item["second_solved"],
            item["first_solved"],
        )
        turned["verdict"] = {"better": "worse", "worse": "better"}.get(
            item["verdict"], item["verdict"]
        )
        turned["family"] = f"{item['task']}/{item['metric']}/{item['second']}-custom_gru"
        flipped.append(turned)
    return flipped


def test_the_predictions_are_judged_whichever_order_the_pair_is_declared_in():
    spec = parse_map(
        {
            **SPEC_TABLE,
            "pairs": [["lstm", "custom_gru"], ["simple_rnn", "custom_gru"]],
        },
        MODELS,
    )
    table = pd.DataFrame(reversed_rows(adding_rows() + counting_rows("worse", 0.6, 0.95)))
    held = weiss_sentence(table, spec)
    assert held is not None and "held here" in held and "2 worse of 2 cells" in held
    assert "mean accuracy_long custom_gru 0.600, lstm 0.950" in held
    bai = bai_sentence(table, spec)
    assert bai is not None and "held here" in bai and "mean R² at T = 100: 0.02" in bai


def test_the_convergence_rule_reads_trained_to_convergence_once():
    spec = parse_map({**SPEC_TABLE, "updates": 0}, MODELS)
    sentences = map_findings(pd.DataFrame(adding_rows()), spec)
    assert sentences[0].startswith("Every run trained to convergence;")
    assert any("adding, r2 (trained to convergence): custom_gru" in s for s in sentences)
    assert not any("trained trained" in s for s in sentences)


def test_the_findings_state_the_fewest_seeds_a_verdict_needs():
    sentences = map_findings(pd.DataFrame(adding_rows()), SPEC)
    # 3 cells a family at alpha 0.05: 2 / C(2n, n) < 0.05 / 3 first at n = 5; TOST's
    # one-sided 1 / C(2n, n) < 0.05 at n = 4.
    assert (
        "better or worse needs ≥ 5 seeds a side, equivalent ≥ 4; the stage gives 3"
        in (sentences[1])
    )
