"""The report's findings as sentences: pure functions of the summary, head-to-head and claims
tables (`gru_keras.analysis.tables`, `gru_keras.analysis.claims`). Every number in a sentence
is read from those tables, so the executive summary cannot say what the tables do not."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.claims import step_time_ratios, times_than
from gru_keras.analysis.stats import BETTER, EQUIVALENT, NOT_CONVERGED, TOO_FEW, WORSE
from gru_keras.analysis.tables import decimals_for, unconverged_runs
from gru_keras.variants import model_order


def _count(number: int, noun: str) -> str:
    """`1 dataset`, `3 datasets`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def best_variants(summary: pd.DataFrame) -> dict[str, str]:
    """Dataset -> the recurrent variant with the best mean headline metric."""
    variants = summary[~summary["baseline"]].dropna(subset=["mean"])
    best = {}
    for dataset, group in variants.groupby("dataset", sort=True):
        best[dataset] = _best_row(group)["model"]
    return best


def _best_row(group: pd.DataFrame) -> pd.Series:
    """The row with the best mean of one dataset's rows, in the metric's direction."""
    higher = bool(group["higher_is_better"].iloc[0])
    return group.loc[group["mean"].idxmax() if higher else group["mean"].idxmin()]


def best_sentence(summary: pd.DataFrame) -> str | None:
    """Which variant has the best mean where, counted over datasets."""
    best = best_variants(summary)
    if not best:
        return None
    margins = _margins(summary)
    by_model: dict[str, list[str]] = defaultdict(list)
    for dataset, model in best.items():
        margin = margins.get(dataset)
        if margin is None:
            by_model[model].append(dataset)
        else:  # a margin under 0.05% is a tie at the printed precision, not a lead
            by_model[model].append(
                f"{dataset} by {margin:.1%}" if margin >= 0.0005 else f"{dataset}, tied"
            )
    parts = [
        f"{model} on {len(by_model[model])} ({_names(by_model[model])})"
        for model in sorted(by_model, key=lambda model: (-len(by_model[model]), model))
    ]
    return (
        f"Best mean headline metric among the recurrent variants, over "
        f"{_count(len(best), 'dataset')}, and by how much it beats the runner-up's mean: "
        + "; ".join(parts)
        + ". A best mean is not a verdict; the next sentences are."
    )


def _margins(summary: pd.DataFrame) -> dict[str, float]:
    """Dataset -> how far the best variant's mean is from the runner-up's, as a share of
    the runner-up's (only with two finite means and a non-zero runner-up)."""
    variants = summary[~summary["baseline"]].dropna(subset=["mean"])
    margins = {}
    for dataset, group in variants.groupby("dataset", sort=True):
        higher = bool(group["higher_is_better"].iloc[0])
        means = group["mean"].sort_values(ascending=not higher).to_numpy(float)
        if len(means) >= 2 and means[1] != 0:
            margins[dataset] = abs(means[0] - means[1]) / abs(means[1])
    return margins


def test_sentence(pairs: pd.DataFrame) -> str | None:
    """The test behind every verdict, its error rate, and the fewest seeds it needs here."""
    if not len(pairs) or "needs" not in pairs:
        return None
    parts = []
    for kind, words in (("difference", "better or worse"), ("equivalence", "equivalent")):
        needs = pairs.loc[pairs["test"] == kind, "needs"].dropna()
        if len(needs) and needs.max() > 0:
            parts.append(f"{words} needs ≥ {int(needs.max())} seeds a side")
    return (
        "Verdicts: an exact permutation test of each difference (Fisher-Pitman, every split "
        "of the seeds) and its TOST for equivalence, Holm-adjusted over the report: a false "
        "'better' or 'worse' in at most 5% of reports, whatever the seeds' distribution, "
        "seeds that split into solved and failed included. Its smallest p is 2 / C(2n, n) "
        "with n seeds a side, so here "
        + ("; ".join(parts) or "every comparison can be decided")
        + "."
    )


def verdict_sentences(pairs: pd.DataFrame) -> list[str]:
    """custom_gru against each other variant: the head-to-head verdicts, counted."""
    sentences = []
    if not len(pairs):
        return sentences
    for second in model_order(pairs["second"].unique()):
        rows = pairs[(pairs["first"] == schema.SUBJECT) & (pairs["second"] == second)]
        if not len(rows):
            continue
        verdicts = rows["verdict"].value_counts()
        total = len(rows)
        decided = sum(verdicts.get(v, 0) for v in verdicts.index if v not in _UNDECIDED)
        if decided == 0:
            sentences.append(
                f"custom_gru against {second}: no verdict on any of the "
                f"{_count(total, 'dataset')}: "
                + _undecided(verdicts, rows).removeprefix("no verdict on ")
            )
        elif second == schema.REFERENCE:
            sentences.append(
                f"custom_gru against keras_gru (the same function): {EQUIVALENT} on "
                f"{verdicts.get(EQUIVALENT, 0)} of the {_count(decided, 'dataset')} with a "
                f"verdict out of {total} (TOST, Holm-adjusted); " + _undecided(verdicts, rows)
            )
        else:
            better, worse = verdicts.get(BETTER, 0), verdicts.get(WORSE, 0)
            sentences.append(
                f"custom_gru against {second}: better on {better}, worse on {worse}, no "
                f"significant difference on {decided - better - worse} of the "
                f"{_count(decided, 'dataset')} with a verdict out of {total} (the exact "
                "permutation test, Holm-adjusted p < 0.05); " + _undecided(verdicts, rows)
            )
    return sentences


_UNDECIDED = (NOT_CONVERGED, TOO_FEW, "missing runs")


def _undecided(verdicts: pd.Series, rows: pd.DataFrame | None = None) -> str:
    few = "with too few seeds"
    if rows is not None and "needs" in rows:
        needs = rows.loc[rows["verdict"] == TOO_FEW, "needs"].dropna()
        if len(needs) and needs.max() > 0:
            few += f" (a verdict needs {int(needs.max())} a side)"
    parts = [
        f"{verdicts.get(verdict, 0)} {label}"
        for verdict, label in (
            (NOT_CONVERGED, "not converged"),
            (TOO_FEW, few),
            ("missing runs", "with missing runs"),
        )
        if verdicts.get(verdict, 0)
    ]
    return ("no verdict on " + ", ".join(parts) + ".") if parts else "every dataset decided."


def cost_sentence(summary: pd.DataFrame, bench: pd.DataFrame | None = None) -> str | None:
    """What an epoch of custom_gru costs against keras_gru and LSTM: from the benchmark when
    there is one (each model timed alone), else from the suite's own seconds per epoch."""
    measured = {
        other: step_time_ratios(bench, schema.SUBJECT, other)
        for other in (schema.REFERENCE, schema.LSTM)
    }
    measured = {other: found for other, found in measured.items() if found is not None}
    if measured:
        shapes, label = next(iter(measured.values()))  # one benchmark, one sizing for both
        parts = [
            f"{times_than(float(ratios.median()), other)} (time ratio {ratios.min():.2f}-"
            f"{ratios.max():.2f})"
            for other, (ratios, _) in measured.items()
        ]
        return (
            f"Cost: a custom_gru training step, and so an epoch, runs {' and '.join(parts)}, "
            f"median over {_count(len(shapes), 'shape')} of this suite at {label} (the speed "
            "page's benchmark, every model timed alone)."
        )
    seconds = summary.pivot_table(
        index="dataset", columns="model", values="seconds_per_epoch", aggfunc="first"
    )
    if schema.SUBJECT not in seconds:
        return None
    parts = []
    for other in (schema.REFERENCE, schema.LSTM):
        if other in seconds:
            ratios = (seconds[schema.SUBJECT] / seconds[other]).replace(np.inf, np.nan).dropna()
            if len(ratios):
                parts.append(
                    f"{ratios.median():.2f}x {other}'s (range {ratios.min():.2f}-"
                    f"{ratios.max():.2f})"
                )
    if not parts:
        return None
    return (
        "Cost: a custom_gru epoch took a median " + " and ".join(parts) + " wall seconds over "
        f"{_count(len(seconds), 'dataset')}, at each dataset's matched parameter budget (suite "
        "timings, with runs sharing the machine; no benchmark in this store)."
    )


LISTED_RUNS = 12  # unconverged runs named one by one on the first page; more are counted


def convergence_sentence(summary: pd.DataFrame, runs: pd.DataFrame | None = None) -> str:
    """How many dataset-variant cells had a seed that did not converge, and where; with
    `runs`, also each such run and why (the rule's own words)."""
    variants = summary[~summary["baseline"]]
    if "not_converged" not in variants:
        return "Convergence was not recorded."
    cells = variants[variants["not_converged"].fillna(0) > 0]
    if not len(cells):
        return f"Every recurrent run converged ({len(variants)} dataset-variant cells)."
    datasets = sorted(cells["dataset"].unique())
    text = (
        f"Not converged: {len(cells)} of {len(variants)} dataset-variant cells have a seed that "
        f"neither stopped early nor reached a plateau ({_names(datasets)}); their comparisons "
        "say 'early training', not better or worse."
    )
    failed = unconverged_runs(runs) if runs is not None else pd.DataFrame()
    if len(failed):
        named = [
            f"{row.dataset} {row.model} seed {row.seed} ({row.convergence or 'not recorded'})"
            for row in failed.head(LISTED_RUNS).itertuples()
        ]
        more = len(failed) - len(named)
        text += f" The {_count(len(failed), 'run')}: " + "; ".join(named)
        text += f"; and {more} more." if more else "."
    return text


def claim_sentences(claims: pd.DataFrame) -> list[str]:
    """One line per literature claim: the claim and its verdict."""
    return [f"{row.claim}: {row.verdict.lower()}." for row in claims.itertuples()]


def _dataset_finding(summary: pd.DataFrame, pairs: pd.DataFrame, dataset: str) -> str:
    variants = summary[(summary["dataset"] == dataset) & ~summary["baseline"]].dropna(
        subset=["mean"]
    )
    if not len(variants):
        return f"{dataset}: no finished recurrent run"
    best = _best_row(variants)
    places = decimals_for(variants["mean"])
    text = f"{dataset}: best mean {best['model']} {best['mean']:.{places}f}"
    subject = variants[variants["model"] == schema.SUBJECT]
    if best["model"] != schema.SUBJECT and len(subject):
        text += f" (custom_gru {subject['mean'].iloc[0]:.{places}f})"
    rows = (
        pairs[(pairs["dataset"] == dataset) & (pairs["first"] == schema.SUBJECT)]
        if len(pairs)
        else pairs
    )
    decided = [
        _verdict_phrase(row.verdict, row.second)
        for row in rows.itertuples()
        if row.verdict not in _UNDECIDED
    ]
    if decided:
        text += ", custom_gru " + ", ".join(decided)
    elif len(rows):
        verdicts = set(rows["verdict"])
        why = next(
            (label for verdict, label in _WHY_UNDECIDED if verdict in verdicts), "too few seeds"
        )
        text += f", no verdict: {why}"
    return text


# Why a dataset's comparisons reached no verdict, most telling first.
_WHY_UNDECIDED = ((NOT_CONVERGED, "not converged"), ("missing runs", "missing runs"))


def _verdict_phrase(verdict: str, second: str) -> str:
    """custom_gru's verdict against `second`, to follow "custom_gru"."""
    if verdict in (BETTER, WORSE):
        return f"{verdict} than {second}"
    if verdict == EQUIVALENT:
        return f"{verdict} with {second}"
    return f"no significant difference from {second}"


def family_finding(summary: pd.DataFrame, pairs: pd.DataFrame, datasets: list[str]) -> str:
    """A family page's result in one sentence: per dataset the best recurrent mean, where
    custom_gru stands, and its head-to-head verdicts (or why there are none)."""
    return "Finding: " + "; ".join(_dataset_finding(summary, pairs, d) for d in datasets) + "."


def executive_summary(
    summary: pd.DataFrame,
    pairs: pd.DataFrame,
    claims: pd.DataFrame,
    bench: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
) -> list[str]:
    """The report's first page, in sentences: best variants, verdicts, cost, convergence
    (naming each unconverged run of `runs`), and the claims."""
    sentences = [
        best_sentence(summary),
        test_sentence(pairs),
        *verdict_sentences(pairs),
        cost_sentence(summary, bench),
    ]
    sentences.append(convergence_sentence(summary, runs))
    if len(claims):
        sentences.append("Claims: " + " ".join(claim_sentences(claims)))
    return [sentence for sentence in sentences if sentence]
