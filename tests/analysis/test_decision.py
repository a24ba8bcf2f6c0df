"""The decision map's verdicts: the staged procedure on constructed cells, its vectorized
Welch and TOST against scipy's and the scalar functions of `stats`, and a null simulation
of the whole staged procedure."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from gru_keras.analysis import stats
from gru_keras.analysis.decision import (
    BETTER,
    EQUIVALENT,
    NOT_CONVERGED,
    UNDECIDED,
    WORSE,
    cost_verdicts,
    decide_stages,
    map_table,
    time_to_target,
    undecided_cells,
)
from gru_keras.analysis.significance import WELCH, tost_p, welch, welch_p
from gru_keras.grid import parse_map

RNG = np.random.default_rng(7)


def test_vectorized_welch_matches_scipy_and_the_scalar_tost():
    first, second = RNG.normal(0, 1, (20, 5)), RNG.normal(0.5, 2, (20, 5))
    difference, se, df = welch(first, second)
    for row in range(20):
        reference = scipy_stats.ttest_ind(first[row], second[row], equal_var=False)
        assert welch_p(difference, se, df)[row] == pytest.approx(reference.pvalue, rel=1e-9)
        _inside, p = stats.equivalent(first[row], second[row], 0.8)
        assert tost_p(difference, se, df, 0.8)[row] == pytest.approx(p, rel=1e-9)


def test_missing_seeds_count_as_absent_not_as_zero():
    first = np.array([[1.0, 2.0, 3.0, np.nan]])
    second = np.array([[0.0, 1.0, 2.0, np.nan]])
    difference, se, _ = welch(first, second)
    assert difference[0] == pytest.approx(1.0)
    assert se[0] == pytest.approx(stats.welch_se(first[0, :3], second[0, :3]))


def verdicts_frame(*args, **kwargs):
    return decide_stages(*args, **kwargs).frame()


def judged(first, second, **kwargs):
    options = {"seeds": (6,), "alphas": (0.05,), "margin": 0.1, "higher_is_better": True}
    return verdicts_frame(np.array(first), np.array(second), **{**options, **kwargs})


def test_known_better_worse_equivalent_and_undecided_cells_get_their_words():
    steps = np.arange(6) / 100
    first = [
        0.90 + steps,  # far above: better
        0.10 + steps,  # far below: worse
        0.5 + np.array([0, 2, 4, 1, 3, 5]) / 1000,  # the same to 0.001, margin 0.1: equivalent
        [0.2, 0.9, 0.5, 0.3, 0.8, 0.4],  # noisy: neither
    ]
    second = [
        0.50 + steps,
        0.50 + steps,
        0.5 + np.array([1, 3, 5, 0, 2, 4]) / 1000,
        [0.6, 0.1, 0.4, 0.7, 0.2, 0.5],
    ]
    table = judged(first, second)
    assert table["verdict"].tolist() == [BETTER, WORSE, EQUIVALENT, UNDECIDED]
    assert (table["stage"] == 1).all()
    # Lower is better: the same numbers, the opposite words.
    lower = judged(first, second, higher_is_better=False)
    assert lower["verdict"].tolist()[:2] == [WORSE, BETTER]
    # Welch's t, passed in, calls the same cells at 3 seeds, where the exact test cannot.
    three = [row[:3] for row in first], [row[:3] for row in second]
    assert judged(*three, seeds=(3,))["verdict"].tolist() == [UNDECIDED] * 4
    assert judged(*three, seeds=(3,), test=WELCH)["verdict"].tolist()[:3] == [
        BETTER,
        WORSE,
        EQUIVALENT,
    ]


def test_undecided_cells_say_how_many_seeds_a_verdict_needs():
    # At 3 seeds the smallest two-sided permutation p is 0.1: nothing can be called, and
    # the cell says 6 seeds a side would do (2 / C(12, 6) = 0.0022 < 0.05 / 16).
    first, second = RNG.normal(1, 0.1, (16, 3)), RNG.normal(0, 0.1, (16, 3))
    table = verdicts_frame(first, second, (3,), (0.05,), 0.01, True)
    assert (table["verdict"] == UNDECIDED).all() and (table["needs"] == 6).all()
    assert np.isinf(table["detectable"]).all()
    assert (
        verdicts_frame(first, second, (3,), (0.05,), 0.01, True, test=WELCH)["needs"] == 2
    ).all()


def test_holm_across_cells_can_withhold_what_one_test_alone_would_call():
    # Alone, 6 seeds above 6 give the exact p = 2 / 924 = 0.0022 < 0.05: a difference. Among
    # 30 such cells Holm's first threshold is 0.05 / 30 = 0.0017, so none is.
    first = np.arange(6.0)[None, :]
    second = first - 6.5
    alone = verdicts_frame(first, second, (6,), (0.05,), 0.01, True)
    assert alone["verdict"].iloc[0] == BETTER
    assert alone["p_adjusted"].iloc[0] == pytest.approx(2 / 924)
    many = verdicts_frame(
        np.repeat(first, 30, axis=0), np.repeat(second, 30, axis=0), (6,), (0.05,), 0.01, True
    )
    assert (many["verdict"] == UNDECIDED).all()


def test_a_later_stage_judges_only_the_cells_it_gave_seeds_to():
    # The cell is undecided on 3 seeds; seeds 4-6 separate it at stage 2. A cell without
    # new seeds is not judged again on the same data.
    first = np.array([[0.2, 0.9, 0.5, 0.9, 0.91, 0.92], [0.2, 0.9, 0.5, *[np.nan] * 3]])
    second = np.array([[0.6, 0.1, 0.4, 0.1, 0.11, 0.12], [0.6, 0.1, 0.4, *[np.nan] * 3]])
    table = verdicts_frame(first, second, (3, 6), (0.025, 0.025), 0.01, True)
    assert table["stage"].tolist()[1] == 1 and table["seeds"].tolist()[1] == 3
    clear = first.copy()
    clear[0, 3:] = [0.95, 0.96, 0.97]
    staged = verdicts_frame(clear, second, (3, 6), (0.025, 0.025), 0.01, True)
    assert staged["verdict"][0] == BETTER and staged["stage"][0] == 2
    assert staged["seeds"][0] == 6


def test_unconverged_cells_are_said_so_and_never_judged():
    table = judged([[0.9, 0.91, 0.92]], [[0.5, 0.51, 0.52]], unconverged=np.array([True]))
    assert table["verdict"].tolist() == [NOT_CONVERGED] and table["stage"][0] == 0


def staged_null(cells: int, seeds: tuple[int, ...], alphas: tuple[float, ...], rng) -> bool:
    """One map under the null: every cell's two models draw from one distribution (a
    different spread per cell). Whether the staged procedure called any cell better or
    worse."""
    scale = rng.uniform(0.05, 2.0, size=(cells, 1))
    first = rng.normal(0.0, 1.0, (cells, seeds[-1])) * scale
    second = rng.normal(0.0, 1.0, (cells, seeds[-1])) * scale
    verdicts = decide_stages(first, second, seeds, alphas, 0.5, True).verdict
    return bool(np.isin(verdicts, [BETTER, WORSE]).any())


def test_the_staged_procedure_holds_its_family_wise_error_under_the_null():
    # 16 cells, 3 seeds then up to 8 for the undecided, the error rate split 0.03 + 0.02,
    # TOST deciding ties on the way: a false "better" or "worse" anywhere in the map must
    # stay within 0.05. 2,000 maps give a standard error of about 0.005.
    rng = np.random.default_rng(2026)
    maps = 2000
    false = sum(staged_null(16, (3, 8), (0.03, 0.02), rng) for _ in range(maps))
    assert false / maps <= 0.05, false / maps
    # And the procedure is not vacuous: one true difference of 3 spreads is found.
    rng = np.random.default_rng(1)
    found = 0
    for _ in range(200):
        first, second = rng.normal(0, 1, (16, 8)), rng.normal(0, 1, (16, 8))
        first[0] += 3.0
        table = verdicts_frame(first, second, (3, 8), (0.03, 0.02), 0.5, True)
        found += table["verdict"][0] == BETTER
    assert found / 200 > 0.5


def test_time_to_target_sums_the_epochs_up_to_the_first_that_reached_it():
    curves = pd.DataFrame(
        {
            "dataset": "c",
            "model": ["a"] * 3 + ["b"] * 3,
            "seed": 0,
            "epoch": [1, 2, 3] * 2,
            "value": [0.1, 0.95, 0.99, 0.1, 0.2, 0.3],
            "seconds": [2.0, 3.0, 4.0, 1.0, 1.0, 1.0],
        }
    )
    found = time_to_target(curves, 0.9).set_index("model")["seconds"]
    assert found["a"] == 5.0 and np.isinf(found["b"])


def test_cost_verdicts_say_who_reaches_the_target_sooner():
    fast = np.array([[10.0, 11.0, 12.0, 10.5, 11.5, 12.5]])
    slow = np.array([[40.0, 42.0, 44.0, 41.0, 43.0, 45.0]])
    never = np.array([[np.inf] * 6])
    assert cost_verdicts(fast, slow)[0] == ["faster"]
    assert cost_verdicts(slow, fast)[0] == ["slower"]
    assert cost_verdicts(fast, never)[0] == ["only first reaches"]
    assert cost_verdicts(never, never)[0] == ["neither reaches"]
    _verdicts, first, second = cost_verdicts(fast, slow)
    assert first[0] == 11.25 and second[0] == 42.5


MAP = {
    "seeds": [6],
    "alpha": [0.05],
    "pairs": [["custom_gru", "lstm"]],
    "tasks": {
        "adding": {
            "dataset": "adding",
            "metrics": ["r2"],
            "margin": 0.05,
            "axes": {"sequence_length": [10, 20], "train_size": [100], "parameter_budget": [500]},
        }
    },
}


def test_map_table_reads_runs_into_one_row_per_cell_pair_and_metric():
    spec = parse_map(MAP, ("custom_gru", "lstm", "simple_rnn", "keras_gru"))
    rows = []
    for cell, gru, lstm in (
        ("adding-T10-n100-p500", 0.99, 0.5),
        ("adding-T20-n100-p500", 0.5, 0.99),
    ):
        for model, level in (("custom_gru", gru), ("lstm", lstm)):
            for seed in range(6):
                rows.append(
                    {
                        "dataset": cell,
                        "model": model,
                        "seed": seed,
                        "status": "FINISHED",
                        "converged": True,
                        "recurrent_params": 480.0,
                        "test/r2": level + 0.001 * seed,
                    }
                )
    table = map_table(spec, pd.DataFrame(rows))
    assert table["verdict"].tolist() == [BETTER, WORSE]
    assert table["sequence_length"].tolist() == [10, 20]
    assert table["first_solved"].tolist() == [1.0, 0.0]
    assert undecided_cells(table) == []
