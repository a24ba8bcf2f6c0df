"""The claims check: what the GRU literature and the product brief claim, against what this
suite measured. Pure functions from result tables to one row per claim.

Each verdict is one of SUPPORTED, NOT_SUPPORTED, MIXED or NOT_MEASURED, and the evidence
column says in numbers why, so a reader can disagree with the verdict from the same data.
"""

from __future__ import annotations

from collections.abc import Mapping

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
)
from gru_keras.analysis.tasks import TaskFacts, last_step_tasks, memory_probes
from gru_keras.variants import get_variant

SUPPORTED, NOT_SUPPORTED, MIXED, NOT_MEASURED = (
    "supported",
    "not supported",
    "mixed",
    "not measured",
)
GRU = schema.SUBJECT
LSTM, SIMPLE_RNN = schema.LSTM, schema.SIMPLE_RNN
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


def long_dependencies(
    runs: pd.DataFrame, pairs: pd.DataFrame, tasks: Mapping[str, TaskFacts]
) -> dict[str, str]:
    """GRU vs SimpleRNN on the long-dependency probes, and how much gradient reaches step 1."""
    probes = sorted(runs.loc[runs["task"].isin(memory_probes(tasks)), "dataset"].unique())
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
    last_step = runs[runs["task"].isin(last_step_tasks(tasks))]
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


def _input_dim(recurrent_params: float, units: float) -> float:
    """The features an LSTM layer of `units` was fed, from its parameter count
    4 n (d + n + 1)."""
    return recurrent_params / (4 * units) - units - 1


def fewer_parameters(summary: pd.DataFrame) -> dict[str, str]:
    """At the suite's own settings: per dataset, a GRU layer with the LSTM's matched units
    and inputs against that LSTM (3 gate blocks vs 4); and the units matching gives back."""
    gru, lstm = get_variant(schema.REFERENCE), get_variant(LSTM)
    counted = summary.reindex(columns=["dataset", "model", "units", "recurrent_params"])
    of_lstm = counted[counted["model"] == LSTM].dropna(subset=["units", "recurrent_params"])
    ratios = {}
    for row in of_lstm.itertuples():
        units = int(row.units)
        inputs = round(_input_dim(row.recurrent_params, units))
        if inputs >= 1 and lstm.count_params(inputs, units) == row.recurrent_params:
            ratios[row.dataset] = gru.count_params(inputs, units) / row.recurrent_params
    if not ratios:
        return {
            "claim": "Fewer parameters than LSTM",
            "evidence": "no LSTM run with its units and parameter count in this suite",
            "verdict": NOT_MEASURED,
        }
    values = np.array(list(ratios.values()))
    share = (
        f"{values.min():.0%}"
        if f"{values.min():.0%}" == f"{values.max():.0%}"
        else f"{values.min():.0%}-{values.max():.0%}"
    )
    evidence = [
        f"at the suite's own inputs and LSTM units, a GRU layer has {share} of the LSTM's "
        f"weights ({len(values)} datasets)"
    ]
    matched = summary.pivot_table(index="dataset", columns="model", values="units", aggfunc="first")
    if GRU in matched and LSTM in matched:
        spans = (matched[GRU] / matched[LSTM]).dropna()
        if len(spans):
            evidence.append(
                f"so at the suite's matched budgets {GRU} gets {spans.min():.2f}-"
                f"{spans.max():.2f}x the LSTM's units"
            )
    return {
        "claim": "Fewer parameters than LSTM",
        "evidence": "; ".join(evidence),
        "verdict": SUPPORTED
        if (values < 1).all()
        else MIXED
        if (values < 1).any()
        else NOT_SUPPORTED,
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


SPEED_KEYS = ["jit_compile", "batch", "timesteps", "features", "units"]


def step_time_ratios(
    bench: pd.DataFrame | None, first: str, second: str
) -> tuple[pd.Series, str] | None:
    """Per benchmarked shape, `first`'s training-step time over `second`'s, at matched
    parameters where the benchmark has them (a suite's own shapes), else at equal units;
    and that sizing in words. None when the benchmark did not time both."""
    if bench is None or not len(bench):
        return None
    sizing = "same_params" if (bench["sizing"] == "same_params").any() else "same_units"
    rows = bench[bench["sizing"] == sizing]
    keys = [key for key in SPEED_KEYS if key in rows]
    per_shape = rows.pivot_table(index=keys, columns="model", values="train_ms")
    if not {first, second} <= set(per_shape.columns):
        return None
    label = "matched parameters" if sizing == "same_params" else "equal units"
    return per_shape[first] / per_shape[second], label


def trains_faster(bench: pd.DataFrame | None) -> dict[str, str]:
    """Training-step time against LSTM, from the benchmark alone: every model timed in one
    process, interleaved, one at a time. (A suite's seconds per epoch are not comparable:
    parallel jobs share the cores and XLA is chosen per task.)"""
    claim = "Trains faster (than LSTM)"
    if bench is None or not len(bench):
        return {
            "claim": claim,
            "evidence": "no benchmark in this tracking store (`make experiment` times the "
            "suite's shapes; `make bench` the standard grid)",
            "verdict": NOT_MEASURED,
        }
    measured = step_time_ratios(bench, GRU, LSTM)
    if measured is None:
        return {
            "claim": claim,
            "evidence": f"the benchmark did not time both {GRU} and {LSTM}",
            "verdict": NOT_MEASURED,
        }
    ratios, label = measured
    evidence = (
        f"{label} (benchmark, training step time): {GRU} trains "
        f"{times_than(float(ratios.median()), LSTM)} (median over {len(ratios)} shapes, time "
        f"ratio {ratios.min():.2f}-{ratios.max():.2f})"
    )
    reference = step_time_ratios(bench, schema.REFERENCE, LSTM)
    if reference is not None:
        evidence += f"; {schema.REFERENCE} {times_than(float(reference[0].median()), LSTM)}"
    if (ratios < 1).all():
        verdict = SUPPORTED
    elif (ratios > 1).all():
        verdict = NOT_SUPPORTED
    else:
        verdict = MIXED
    return {"claim": claim, "evidence": evidence, "verdict": verdict}


def effective(summary: pd.DataFrame, pairs: pd.DataFrame) -> dict[str, str]:
    """Does the GRU beat the non-neural baselines, and how often is it the best model?"""
    datasets = sorted(summary["dataset"].unique())
    # A dataset whose networks did not converge shows how they start, not what they can do.
    unconverged = set()
    if "not_converged" in summary:
        networks = summary[~summary["baseline"]] if "baseline" in summary else summary
        unconverged = set(networks.loc[networks["not_converged"].fillna(0) > 0, "dataset"])
    beats_baselines, with_baselines, best_or_tied, measured = 0, 0, 0, 0
    for dataset in datasets:
        if dataset in unconverged:
            continue
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
        f"{GRU} beats every non-neural baseline on {beats_baselines} of {with_baselines} "
        f"converged datasets that have baselines; it is never significantly worse than "
        f"another network on {best_or_tied} of the {measured} datasets whose comparisons "
        f"reached a verdict"
        + (
            f" ({len(datasets) - measured} did not: unconverged or too few seeds)"
            if len(datasets) > measured
            else ""
        )
        + (f"; left out, not converged: {', '.join(sorted(unconverged))}" if unconverged else "")
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
    bench: pd.DataFrame | None,
    tasks: Mapping[str, TaskFacts],
) -> pd.DataFrame:
    """One row per claim: the claim, the evidence measured here, and the verdict."""
    return pd.DataFrame(
        [
            long_dependencies(runs, pairs, tasks),
            fewer_parameters(summary),
            trains_faster(bench),
            effective(summary, pairs),
        ]
    )
