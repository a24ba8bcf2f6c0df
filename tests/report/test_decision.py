"""The decision map's pages from a table `map_table` built of constructed runs: a family is
drawn by its id and kind, so a pair and the strip of the same two models stay apart, and an
undecided cell says why on its heatmap."""

import numpy as np
import pandas as pd

from gru_keras.analysis.decision import PAIR, STRIP, UNDECIDED, map_table
from gru_keras.analysis.map_findings import map_findings
from gru_keras.grid import parse_map
from gru_keras.report.decision import map_pages

MODELS = ("custom_gru", "lstm", "simple_rnn", "keras_gru")
# A pair whose second model is the strip's model: (custom_gru, keras_gru) on every cell, and
# the strip, keras_gru against custom_gru, on the cells at 100 examples.
SPEC = parse_map(
    {
        "updates": 100,
        "seeds": [6],
        "alpha": [0.05],
        "pairs": [["custom_gru", "keras_gru"]],
        "strip": {
            "task": "adding",
            "model": "keras_gru",
            "against": "custom_gru",
            "margin": 0.02,
            "where": {"train_size": 100},
        },
        "tasks": {
            "adding": {
                "dataset": "adding",
                "metrics": ["r2"],
                "margin": 0.05,
                "axes": {
                    "sequence_length": [10, 20],
                    "train_size": [100, 200],
                    "parameter_budget": [500],
                },
            }
        },
    },
    MODELS,
)


def runs(solved: dict[str, int]) -> pd.DataFrame:
    """6 seeds of each model in each cell; the first `solved[model]` solve the task."""
    rows = []
    for cell in SPEC.cells():
        for model, count in solved.items():
            for seed in range(6):
                rows.append(
                    {
                        "dataset": cell.key,
                        "model": model,
                        "seed": seed,
                        "status": "FINISHED",
                        "converged": True,
                        "recurrent_params": 480.0,
                        "test/r2": (0.97 if seed < count else 0.0) + 0.001 * seed,
                    }
                )
    return pd.DataFrame(rows)


def texts(figure) -> str:
    return "\n".join(
        [text.get_text() for text in figure.texts]
        + [text.get_text() for ax in figure.axes for text in ax.texts]
    )


def test_a_pair_and_the_strip_of_the_same_models_are_two_families_on_their_own_pages():
    table = map_table(SPEC, runs({"custom_gru": 6, "keras_gru": 6}))
    families = table.groupby("family")["family_kind"].first().to_dict()
    assert families == {
        "adding/r2/custom_gru-keras_gru": PAIR,
        "adding/r2/custom_gru-keras_gru/strip": STRIP,
    }
    assert (table["family_kind"] == PAIR).sum() == 4 and (table["family_kind"] == STRIP).sum() == 2
    titles = [texts(page).splitlines()[0] for page in map_pages(table, SPEC, "m")]
    assert "adding: custom_gru against keras_gru on r2" in titles
    assert "adding: custom_gru against keras_gru (the equivalence strip)" in titles
    sentences = map_findings(table, SPEC)
    pair = [s for s in sentences if s.startswith("adding, r2 (trained at 100 updates)")]
    assert len(pair) == 2 and sum("(the strip)" in s for s in pair) == 1
    assert any("of 4 cells" in s for s in pair) and any("of 2 cells" in s for s in pair)


def test_an_undecided_cell_says_its_seeds_split_in_the_csv_and_on_its_heatmap():
    # 3 of 6 solved against 6 of 6 in every cell: the exact p is 0.18, undecided.
    table = map_table(SPEC, runs({"custom_gru": 3, "keras_gru": 6}))
    pair = table[table["family_kind"] == PAIR]
    assert (pair["verdict"] == UNDECIDED).all()
    assert set(pair["why"]) == {"seeds split (3 of 6 solved against 6 of 6)"}
    assert np.isfinite(pair["p_adjusted"]).all()
    heatmap = next(
        page
        for page in map_pages(table, SPEC, "m")
        if texts(page).startswith("adding: custom_gru against keras_gru on r2")
    )
    drawn = " ".join(texts(heatmap).split())
    assert "undecided: seeds split (3 of 6 solved against 6 of 6)" in drawn
