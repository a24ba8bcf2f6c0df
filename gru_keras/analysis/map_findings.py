"""What a decision map found, in sentences: per family of comparisons, the literature's two
predictions (Weiss et al. 2018 on counting, Bai et al. 2018 on the adding problem), and the
cost of reaching each task's target. Pure functions of the map's table (`decision.map_table`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.decision import (
    BETTER,
    EQUIVALENT,
    NOT_CONVERGED,
    PAIR,
    UNDECIDED,
    WORSE,
)
from gru_keras.analysis.significance import DEFAULT, Test, fewest_seeds
from gru_keras.grid import BAI_2018, WEISS_2018, MapSpec, MapTask

ORDER = (BETTER, WORSE, EQUIVALENT, UNDECIDED, NOT_CONVERGED)
SOLVED_SHARE = 0.5  # a length is reached when most seeds of some cell reach the target


def rule_words(spec: MapSpec) -> str:
    """How every run of the map trained, after "trained": "at 1,000 updates" or "to
    convergence"."""
    if spec.updates:
        return f"at {spec.updates:,} updates"
    return "to convergence"


def stage_words(spec: MapSpec, test: Test = DEFAULT) -> str:
    """The stages, the error rate each spends, and the test."""
    parts = [
        f"{seeds} seeds at alpha = {alpha:g}"
        for seeds, alpha in zip(spec.seeds, spec.alphas, strict=True)
    ]
    first = f"stage 1: every cell, {parts[0]}"
    later = [f"stage {i}: undecided cells up to {part}" for i, part in enumerate(parts[1:], 2)]
    return "; ".join([first, *later]) + (
        f" (family-wise error of better/worse ≤ {sum(spec.alphas):g} per pair and metric, "
        f"{test.words})"
    )


def seeds_words(spec: MapSpec, test: Test = DEFAULT) -> str:
    """The fewest seeds a side at which each verdict is possible, per stage, for the
    largest family of the map (every one of its cells still open: Holm's first threshold)."""
    cells = max(len(spec.cells(task.name)) for task in spec.tasks)
    parts = []
    for stage, (seeds, alpha) in enumerate(zip(spec.seeds, spec.alphas, strict=True), 1):
        difference = fewest_seeds(test, alpha / cells)
        tie = fewest_seeds(test, alpha, tost=True)
        parts.append(
            f"at stage {stage} (alpha {alpha:g}, {cells} cells open) better or worse needs "
            f"≥ {difference} seeds a side, equivalent ≥ {tie}; the stage gives {seeds}"
        )
    return (
        "The fewest seeds at which a verdict is possible: "
        + "; ".join(parts)
        + ". A cell left undecided says why: its seeds split into solved and failed, or too "
        "few seeds."
    )


def counts(verdicts: pd.Series) -> str:
    """`3 better, 1 worse, 2 equivalent of 6 cells` (zero counts left out)."""
    found = verdicts.value_counts()
    parts = [f"{found[word]} {word}" for word in ORDER if found.get(word, 0)]
    return f"{', '.join(parts)} of {len(verdicts)} cells"


def family_sentence(rows: pd.DataFrame, spec: MapSpec) -> str:
    """One family's result: who against whom, on what, and the verdicts' counts, naming the
    cells of a rare verdict."""
    first, second = rows["first"].iloc[0], rows["second"].iloc[0]
    task, metric = rows["task"].iloc[0], rows["metric"].iloc[0]
    sentence = (
        f"{task}, {metric} (trained {rule_words(spec)}): {first} against {second}"
        f"{'' if rows['family_kind'].iloc[0] == PAIR else ' (the strip)'}: {counts(rows['verdict'])}"
    )
    named = []
    for word in (BETTER, WORSE):
        cells = rows.loc[rows["verdict"] == word, "dataset"].tolist()
        if 0 < len(cells) <= 4:
            named.append(f"{word} at {', '.join(cells)}")
    return sentence + (f" ({'; '.join(named)})" if named else "") + "."


def reach_by_length(table: pd.DataFrame, task: MapTask, model: str) -> dict[int, float]:
    """Per length, the best share of `model`'s seeds reaching the target over the cells of
    that length (the `*_solved` columns of the map table)."""
    shares: dict[int, float] = {}
    for side in ("first", "second"):
        rows = table[(table["task"] == task.name) & (table[side] == model)]
        for length, group in rows.groupby(task.length_axis):
            best = group[f"{side}_solved"].max()
            if np.isfinite(best):
                shares[int(length)] = max(shares.get(int(length), 0.0), float(best))
    return dict(sorted(shares.items()))


def reach_parts(table: pd.DataFrame, task: MapTask, models: list[str]) -> list[str]:
    """For each model, at which length it stops reaching the task's target."""
    axis = task.length_axis
    parts = []
    for model in models:
        shares = reach_by_length(table, task, model)
        if not shares:
            continue
        reached = [length for length, share in shares.items() if share >= SOLVED_SHARE]
        lengths = list(shares)
        if not reached:
            parts.append(f"{model} reaches it at no length ({axis} {lengths[0]}-{lengths[-1]})")
        elif reached[-1] == lengths[-1]:
            parts.append(f"{model} reaches it up to the longest, {axis} = {lengths[-1]}")
        else:
            stop = next(length for length in lengths if length > reached[-1])
            parts.append(f"{model} reaches it up to {axis} = {reached[-1]} and not at {stop}")
    return parts


FLIPPED = {BETTER: WORSE, WORSE: BETTER}


def oriented(table: pd.DataFrame, task: str, metric: str, first: str, second: str) -> pd.DataFrame:
    """The rows of the pair family comparing `first` with `second` on `metric`, from
    `first`'s side whichever order the map declared the pair in: a reversed pair's verdicts,
    differences, means and solve rates are turned round."""
    rows = table[
        (table["task"] == task) & (table["metric"] == metric) & (table["family_kind"] == PAIR)
    ]
    ahead = rows[(rows["first"] == first) & (rows["second"] == second)]
    if len(ahead):
        return ahead
    behind = rows[(rows["first"] == second) & (rows["second"] == first)].copy()
    behind["verdict"] = behind["verdict"].map(lambda verdict: FLIPPED.get(verdict, verdict))
    if "difference" in behind:
        behind["difference"] = -behind["difference"]
    for column in ("mean", "solved", "params", "seconds"):
        if f"first_{column}" in behind:
            behind[[f"first_{column}", f"second_{column}"]] = behind[
                [f"second_{column}", f"first_{column}"]
            ].to_numpy()
    behind[["first", "second"]] = first, second
    return behind


def _predicting(spec: MapSpec, prediction: str) -> MapTask | None:
    return next((task for task in spec.tasks if task.prediction == prediction), None)


def weiss_sentence(table: pd.DataFrame, spec: MapSpec) -> str | None:
    """Weiss et al. (2018): an LSTM counts beyond its training lengths and a GRU does not.
    Judged on the last metric (the long test) of the task that tests it, custom_gru
    against lstm."""
    task = _predicting(spec, WEISS_2018)
    if task is None:
        return None
    metric = task.metrics[-1]
    rows = oriented(table, task.name, metric, schema.CUSTOM_GRU, schema.LSTM)
    verdicts = rows["verdict"]
    if verdicts.empty:
        return None
    found = verdicts.value_counts()
    worse, decided = found.get(WORSE, 0), len(verdicts) - found.get(UNDECIDED, 0)
    if found.get(BETTER, 0) == 0 and worse * 2 >= len(verdicts):
        held = "held here"
    elif worse == 0 and (found.get(BETTER, 0) + found.get(EQUIVALENT, 0)) * 2 >= len(verdicts):
        held = "did not hold here"
    else:
        held = f"is not settled here ({decided} of {len(verdicts)} cells decided)"
    return (
        f"Weiss et al. 2018 (an LSTM counts beyond its training lengths, a GRU does not) "
        f"{held}: on {metric} (strings longer than any in training), custom_gru against lstm is "
        f"{counts(verdicts)}; mean {metric} custom_gru {rows['first_mean'].mean():.3f}, "
        f"lstm {rows['second_mean'].mean():.3f} (chance 0.5)."
    )


def bai_sentence(table: pd.DataFrame, spec: MapSpec) -> str | None:
    """Bai et al. (2018): gated cells solve the adding problem at long T, where a tanh RNN
    stays at R² ≈ 0."""
    task = _predicting(spec, BAI_2018)
    if task is None:
        return None
    models = [m for m in (schema.CUSTOM_GRU, schema.LSTM, schema.SIMPLE_RNN) if m in spec.models]
    shares = {model: reach_by_length(table, task, model) for model in models}
    longest = max((max(s) for s in shares.values() if s), default=None)
    if longest is None:
        return None

    def furthest(model: str) -> int:
        reached = [t for t, share in shares.get(model, {}).items() if share >= SOLVED_SHARE]
        return max(reached, default=0)

    gated = [furthest(m) for m in models if m != schema.SIMPLE_RNN]
    tanh = furthest(schema.SIMPLE_RNN)
    rows = oriented(table, task.name, task.metrics[0], schema.CUSTOM_GRU, schema.SIMPLE_RNN)
    rows = rows[rows[task.length_axis] == longest]
    tanh_r2 = rows["second_mean"].mean() if len(rows) else np.nan
    held = (
        "held here"
        if gated and min(gated) > tanh
        else "did not hold here"
        if gated and max(gated) <= tanh
        else "held for some gated variants"
    )
    return (
        f"Bai et al. 2018 (gated cells solve the adding problem at long T, a tanh RNN stays "
        f"at R² ≈ 0) {held}. R² ≥ {task.target:g} in most seeds of some cell: "
        + "; ".join(reach_parts(table, task, models))
        + f". SimpleRNN's mean R² at T = {longest}: {tanh_r2:.2f}. (Their GRU solved T = 600 "
        "where their LSTM stayed at chance; this map's longest T is "
        f"{longest}.)"
    )


def cost_sentence(rows: pd.DataFrame, task: MapTask) -> str:
    """Who reaches the task's target sooner, over one pair's cells."""
    first, second = rows["first"].iloc[0], rows["second"].iloc[0]
    found = rows["cost_verdict"].value_counts()
    parts = [f"{count} {word}" for word, count in found.items()]
    return (
        f"{task.name}: seconds of training to reach {task.metrics[0]} ≥ {task.target:g} on "
        f"validation, {first} against {second}: " + ", ".join(parts) + "."
    )


def map_findings(table: pd.DataFrame, spec: MapSpec) -> list[str]:
    """The first page's sentences: how the map was judged, each family's verdicts, the
    literature's predictions, and the time each model took to reach the targets."""
    sentences = [
        f"Every run trained {rule_words(spec)}; {stage_words(spec)}. Ties are TOST "
        "equivalence within each task's margin, by the same test; 'undecided' is neither a "
        "difference nor a tie.",
        seeds_words(spec),
    ]
    for _family, rows in table.groupby("family", sort=False):
        sentences.append(family_sentence(rows, spec))
    for sentence in (weiss_sentence(table, spec), bai_sentence(table, spec)):
        if sentence:
            sentences.append(sentence)
    for task in spec.tasks:
        rows = table[
            (table["task"] == task.name)
            & (table["metric"] == task.metrics[0])
            & (table["family_kind"] == PAIR)
        ]
        for _family, pair in rows.groupby("family", sort=False):
            sentences.append(cost_sentence(pair, task))
    return sentences
