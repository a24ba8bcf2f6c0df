"""The claims check: what the GRU literature and the product brief claim, against what this
suite measured. Pure functions from result tables to one row per claim.

Each verdict is one of SUPPORTED, NOT_SUPPORTED, MIXED or NOT_MEASURED, and the evidence
column says in numbers why, so a reader can disagree with the verdict from the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.stats import (
    BETTER,
    EQUIVALENT,
    NO_DIFFERENCE,
    NOT_CONVERGED,
    NOT_EQUIVALENT,
    WORSE,
    first_reaching,
)
from gru_keras.families import TASKS
from gru_keras.variants import get_variant

SUPPORTED, NOT_SUPPORTED, MIXED, NOT_MEASURED = (
    "supported",
    "not supported",
    "mixed",
    "not measured",
)
GRU = schema.SUBJECT
LSTM, SIMPLE_RNN = schema.LSTM, schema.SIMPLE_RNN
# Tasks that probe memory over a long span, and those whose loss sits at the last step only.
MEMORY_PROBES = tuple(name for name, task in TASKS.items() if task.memory_probe)
LAST_STEP_TASKS = tuple(name for name, task in TASKS.items() if task.loss_at_last_step)
DECIDED = (BETTER, WORSE, NO_DIFFERENCE, EQUIVALENT, NOT_EQUIVALENT)


def _verdict_from_counts(better: int, worse: int, decided: int) -> str:
    """`decided`: comparisons that could tell (a verdict, or no significant difference)."""
    if decided == 0:
        return NOT_MEASURED
    if better and not worse:
        return SUPPORTED
    if better and worse:
        return MIXED
    return NOT_SUPPORTED


def _compared(verdict: str, other: str) -> str:
    if verdict in (BETTER, WORSE):
        return f"{GRU} {verdict} than {other}"
    if verdict == NO_DIFFERENCE:
        return f"no significant difference between {GRU} and {other}"
    if verdict == NOT_CONVERGED:
        return f"{GRU} vs {other} not converged (early training only)"
    return f"{verdict} whether {GRU} beats {other}"


def _pairs_against(pairs: pd.DataFrame, second: str, datasets: list[str]) -> pd.DataFrame:
    if not len(pairs):
        return pairs
    chosen = pairs[(pairs["first"] == GRU) & (pairs["second"] == second)]
    return chosen[chosen["dataset"].isin(datasets)]


def long_dependencies(runs: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, str]:
    """GRU vs SimpleRNN on the long-dependency probes, and how much gradient reaches step 1."""
    probes = sorted(runs.loc[runs["task"].isin(MEMORY_PROBES), "dataset"].unique())
    chosen = _pairs_against(pairs, SIMPLE_RNN, probes)
    better = int((chosen["verdict"] == BETTER).sum()) if len(chosen) else 0
    worse = int((chosen["verdict"] == WORSE).sum()) if len(chosen) else 0
    decided = (
        int(chosen["verdict"].isin([BETTER, WORSE, NO_DIFFERENCE]).sum()) if len(chosen) else 0
    )
    parts = [
        f"{row.dataset}: {_compared(row.verdict, SIMPLE_RNN)} "
        f"({schema.metric_label(row.metric)} difference {row.difference:+.3g})"
        for row in chosen.itertuples()
    ]
    # Only where the loss sits at the last step is "reaching step 1" a distance measure.
    last_step = runs[runs["task"].isin(LAST_STEP_TASKS)]
    decay = last_step.groupby("model")[schema.GRADIENT_REACH_TRAINED].median()
    if GRU in decay and SIMPLE_RNN in decay:
        parts.append(
            f"share of the last step's gradient that reaches step 1 after training (median, "
            f"{', '.join(sorted(last_step['dataset'].unique()))}): "
            f"{GRU} {decay[GRU]:.2g}, {SIMPLE_RNN} {decay[SIMPLE_RNN]:.2g}"
        )
    return {
        "claim": "Handles vanishing gradients / long-term dependencies better than a plain RNN",
        "evidence": "; ".join(parts) or "no probe datasets with both models in this suite",
        "verdict": _verdict_from_counts(better, worse, decided),
    }


def fewer_parameters(summary: pd.DataFrame) -> dict[str, str]:
    """At equal units by construction (3 gate blocks vs 4); under matching, more units."""
    gru, lstm = get_variant(schema.REFERENCE), get_variant(LSTM)
    input_dim, units = 32, 64
    ratio = gru.count_params(input_dim, units) / lstm.count_params(input_dim, units)
    evidence = [
        f"at equal units a GRU layer has {ratio:.0%} of an LSTM's weights "
        f"({gru.count_params(input_dim, units):,} vs {lstm.count_params(input_dim, units):,} "
        f"at {units} units, {input_dim} inputs)"
    ]
    matched = summary.pivot_table(index="dataset", columns="model", values="units", aggfunc="first")
    if GRU in matched and LSTM in matched:
        spans = (matched[GRU] / matched[LSTM]).dropna()
        if len(spans):
            evidence.append(
                f"so at the suite's matched budgets the GRU gets {spans.min():.2f}-"
                f"{spans.max():.2f}x the LSTM's units"
            )
    return {
        "claim": "Fewer parameters than LSTM",
        "evidence": "; ".join(evidence),
        "verdict": SUPPORTED,
    }


def _epochs_to_target(curves: pd.DataFrame, dataset: str, models: tuple[str, str]) -> dict:
    """Epochs each model needs to reach the validation loss both eventually reach."""
    of_dataset = curves[curves["dataset"] == dataset]
    best = {
        model: of_dataset[of_dataset["model"] == model].groupby("seed")["value"].min().mean()
        for model in models
    }
    if not all(np.isfinite(value) for value in best.values()):
        return {}
    target = max(best.values())
    return {
        model: np.nanmean(
            [
                first_reaching(group["value"].to_numpy(), target)
                for _, group in of_dataset[of_dataset["model"] == model].groupby("seed")
            ]
        )
        for model in models
    }


def times_than(ratio: float, other: str) -> str:
    """A time ratio (ours / theirs) in words: 2.0 -> "2.00x slower than lstm", 0.5 ->
    "2.00x faster than lstm"."""
    if not np.isfinite(ratio) or ratio <= 0:
        return f"at an unknown speed against {other}"
    if ratio > 1:
        return f"{ratio:.2f}x slower than {other}"
    if ratio < 1:
        return f"{1 / ratio:.2f}x faster than {other}"
    return f"as fast as {other}"


def trains_faster(
    summary: pd.DataFrame, curves: pd.DataFrame, bench: pd.DataFrame | None
) -> dict[str, str]:
    """Seconds per epoch at equal units (bench) and equal parameters (suite), and epochs
    to reach the validation loss both models reach."""
    evidence, faster, slower, decided = [], 0, 0, 0
    if bench is not None and len(bench):
        same_units = bench[bench["sizing"] == "same_units"]
        shapes = ["jit_compile", "timesteps", "units"]
        per_shape = same_units.pivot_table(index=shapes, columns="model", values="train_ms")
        if {LSTM, GRU, schema.REFERENCE} <= set(per_shape.columns):
            ratios = per_shape[GRU] / per_shape[LSTM]
            ratio = float(ratios.median())
            reference = float((per_shape[schema.REFERENCE] / per_shape[LSTM]).median())
            evidence.append(
                f"equal units (bench, training step time): {GRU} trains "
                f"{times_than(ratio, LSTM)} (median over {len(ratios)} shapes, time ratio "
                f"{ratios.min():.2f}-{ratios.max():.2f}), {schema.REFERENCE} "
                f"{times_than(reference, LSTM)}"
            )
            faster, slower, decided = faster + (ratio < 1), slower + (ratio > 1), decided + 1
    else:
        evidence.append("equal units: no benchmark in this tracking store (run make bench)")
    seconds = summary.pivot_table(
        index="dataset", columns="model", values="seconds_per_epoch", aggfunc="first"
    )
    if GRU in seconds and LSTM in seconds:
        ratios = (seconds[GRU] / seconds[LSTM]).dropna()
        if len(ratios):
            evidence.append(
                f"equal parameters (suite, s/epoch): {GRU} trains "
                f"{times_than(float(ratios.median()), LSTM)} (median, time ratio "
                f"{ratios.min():.2f}-{ratios.max():.2f} over {len(ratios)} datasets)"
            )
            faster += int(ratios.median() < 1)
            slower += int(ratios.median() > 1)
            decided += 1
    epochs = {}
    for dataset in sorted(curves["dataset"].unique()) if len(curves) else []:
        reached = _epochs_to_target(curves, dataset, (GRU, LSTM))
        if reached:
            epochs[dataset] = reached
    if epochs:
        fewer = sum(value[GRU] < value[LSTM] for value in epochs.values())
        more = sum(value[GRU] > value[LSTM] for value in epochs.values())
        evidence.append(
            f"epochs to reach the validation loss both reach: {GRU} fewer on {fewer}, more on "
            f"{more} of {len(epochs)} datasets"
        )
        faster, slower, decided = faster + (fewer > more), slower + (more > fewer), decided + 1
    return {
        "claim": "Trains faster (than LSTM)",
        "evidence": "; ".join(evidence),
        "verdict": _verdict_from_counts(faster, slower, decided),
    }


def effective(summary: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, str]:
    """Does the GRU beat the non-neural baselines, and how often is it the best model?"""
    datasets = sorted(summary["dataset"].unique())
    beats_baselines, with_baselines, best_or_tied, measured = 0, 0, 0, 0
    for dataset in datasets:
        rows = summary[summary["dataset"] == dataset].set_index("model")
        if GRU not in rows.index or not np.isfinite(rows.loc[GRU, "mean"]):
            continue
        sign = 1 if rows["higher_is_better"].iloc[0] else -1
        baselines = rows[rows["baseline"]]
        if len(baselines):
            with_baselines += 1
            beats_baselines += bool((sign * (rows.loc[GRU, "mean"] - baselines["mean"]) > 0).all())
        others = (
            pairs[(pairs["dataset"] == dataset) & (pairs["first"] == GRU)] if len(pairs) else pairs
        )
        # Only comparisons that reached a verdict say anything (not unconverged, not 1 seed).
        decided = others[others["verdict"].isin(DECIDED)] if len(others) else others
        if len(decided):
            measured += 1
            best_or_tied += not (decided["verdict"] == WORSE).any()
    evidence = (
        f"{GRU} beats every non-neural baseline on {beats_baselines} of {with_baselines} datasets "
        f"that have baselines; it is never significantly worse than another network on "
        f"{best_or_tied} of the {measured} datasets whose comparisons reached a verdict"
        + (
            f" ({len(datasets) - measured} did not: unconverged or too few seeds)"
            if len(datasets) > measured
            else ""
        )
    )
    if measured == 0:
        verdict = NOT_MEASURED
    elif beats_baselines == with_baselines and best_or_tied == measured:
        verdict = SUPPORTED
    elif beats_baselines or best_or_tied:
        verdict = MIXED
    else:
        verdict = NOT_SUPPORTED
    return {"claim": "Effective for sequential data", "evidence": evidence, "verdict": verdict}


def claims_table(
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    pairs: pd.DataFrame,
    curves: pd.DataFrame,
    bench: pd.DataFrame | None,
) -> pd.DataFrame:
    """One row per claim: the claim, the evidence measured here, and the verdict."""
    return pd.DataFrame(
        [
            long_dependencies(runs, pairs),
            fewer_parameters(summary),
            trains_faster(summary, curves, bench),
            effective(summary, pairs),
        ]
    )
