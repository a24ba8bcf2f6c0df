"""The music family's report page: this suite's test NLL next to Chung et al.'s (2014)."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gru_keras import schema
from gru_keras.report.layout import table_pages

CORPUS = "corpus"  # the report's name for the stacked corpus.csv artifacts
TOLERANCE = 0.15  # the bar: within 15% of Chung's NLL
# Chung et al. 2014, Table 2, JSB Chorales: test NLL per step and units at ~19.8K parameters.
CHUNG = {
    schema.SIMPLE_RNN: ("tanh", 100, 9.19),
    schema.LSTM: ("LSTM", 36, 8.67),
    schema.KERAS_GRU: ("GRU", 46, 8.54),
    schema.CUSTOM_GRU: ("GRU", 46, 8.54),
}
JSB = "JSB Chorales: 382 chorales split 229/76/77, quarter notes"


def chung_rows(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per model: this suite's units and test NLL beside Chung's, and the relative gap."""
    rows = []
    of_dataset = summary[summary["dataset"] == dataset]
    for _, row in of_dataset.iterrows():
        unit, units, theirs = CHUNG.get(row["model"], ("—", None, np.nan))
        gap = row["mean"] / theirs - 1 if np.isfinite(theirs) else np.nan
        rows.append(
            {
                "model": row["model"],
                "units here / Chung's": "—"
                if units is None
                else f"{row['units']:.0f} / {units} {unit}",
                "test NLL here [95% CI]": _nll(row),
                "Chung et al. 2014 (JSB)": "—" if not np.isfinite(theirs) else f"{theirs:.2f}",
                "here vs Chung": "—" if not np.isfinite(gap) else f"{gap:+.1%}",
                f"within {TOLERANCE:.0%}": "—"
                if not np.isfinite(gap)
                else ("yes" if abs(gap) <= TOLERANCE else "no"),
            }
        )
    return pd.DataFrame(rows)


def _nll(row: pd.Series) -> str:
    """Mean and 95% interval to Chung's two decimals; † where a seed did not converge."""
    if not np.isfinite(row["mean"]):
        return "—"
    mark = " †" if row.get("not_converged", 0) else ""
    if np.isfinite(row["ci_low"]):
        return f"{row['mean']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]{mark}"
    return f"{row['mean']:.2f} ({row['seeds']} run){mark}"


def ordering(pairs: pd.DataFrame, dataset: str) -> str:
    """Chung's finding, gated units better than tanh, as this suite's verdicts say it."""
    against_tanh = pairs[(pairs["dataset"] == dataset) & (pairs["second"] == schema.SIMPLE_RNN)]
    if not len(against_tanh):
        return "Gated against tanh: not compared."
    parts = [
        f"{row['first']} {row['verdict']}"
        + (f" (Holm p = {row['p_adjusted']:.2g})" if np.isfinite(row["p_adjusted"]) else "")
        for _, row in against_tanh.iterrows()
    ]
    return textwrap.fill("Gated against tanh (simple_rnn): " + "; ".join(parts) + ".", 170)


def _corpus_sentence(corpus: pd.DataFrame, dataset: str) -> str:
    of_dataset = corpus[corpus["dataset"] == dataset] if len(corpus) else corpus
    if not len(of_dataset):
        return ""
    facts = of_dataset.iloc[0]
    return (
        f"Here: music21 {facts['music21']} core corpus, {facts['files']} files, "
        f"{facts['duplicates']} exact duplicates dropped, split by soprano melody "
        f"({facts['melodies']} melodies) into {facts['train']}/{facts['validation']}/"
        f"{facts['test']} chorales, {facts['resolution']} notes, sung voices only. "
    )


def chung_pages(inputs: Any, datasets: list[str]) -> list[Figure]:
    corpus = inputs.tables.get(CORPUS, pd.DataFrame())
    pages = []
    for dataset in datasets:
        table = chung_rows(inputs.summary, dataset)
        if not len(table):
            continue
        pages += table_pages(
            f"Music: {dataset} against Chung et al. (2014)",
            f"{JSB}; RMSProp with weight noise (std 0.075), gradient norm clipped at 1, the "
            "learning rate chosen on validation. "
            + _corpus_sentence(corpus, dataset)
            + "RMSProp with the same clip and the suite's learning rate and early stopping; "
            "no weight noise (Keras has no weight-noise regularizer). The units here are "
            "solved for the same ~19.8K recurrent parameters with 88 inputs. NLL: nats per "
            "time step, summed over the 88 keys, over every test step. † : a seed did not "
            "converge.",
            table,
            subtitle=ordering(inputs.pairs, dataset),
            column_widths=(0.12, 0.17, 0.25, 0.16, 0.12, 0.1),
            group=None,
        )
    return pages
