"""The music family's view on its family page: this suite's test NLL next to Chung et al.'s
(2014), and whether gated units beat tanh."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.families.music.data import JSB_SPLIT

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CORPUS = "corpus"  # the report's name for the stacked corpus.csv artifacts
TOLERANCE = 0.15  # the bar: within 15% of Chung's NLL
# Chung et al. 2014, Table 2, JSB Chorales: test NLL per step and units at ~19.8K parameters.
# (Their tanh, LSTM and GRU units are simple_rnn, lstm and both GRUs here.)
CHUNG = {
    schema.SIMPLE_RNN: (100, 9.19),
    schema.LSTM: (36, 8.67),
    schema.KERAS_GRU: (46, 8.54),
    schema.CUSTOM_GRU: (46, 8.54),
}
JSB = (
    f"JSB Chorales: {sum(JSB_SPLIT)} chorales split {'/'.join(map(str, JSB_SPLIT))}, quarter notes"
)


# The panel table's columns, with their widths (of the table, which overhangs the panel).
COLUMNS = {"model": 0.26, "units": 0.17, "NLL here [95% CI]": 0.34, "Chung": 0.1, "gap": 0.13}


def chung_rows(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per model: this suite's units and test NLL beside Chung's (units here/Chung's), and
    the relative gap."""
    rows = []
    for _, row in summary[summary["dataset"] == dataset].iterrows():
        units, theirs = CHUNG.get(row["model"], (None, np.nan))
        gap = row["mean"] / theirs - 1 if np.isfinite(theirs) else np.nan
        rows.append(
            {
                "model": row["model"],
                "units": "—" if units is None else f"{row['units']:.0f}/{units}",
                "NLL here [95% CI]": _nll(row),
                "Chung": "—" if not np.isfinite(theirs) else f"{theirs:.2f}",
                "gap": "—" if not np.isfinite(gap) else f"{gap:+.1%}",
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


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
    return "Gated against tanh (simple_rnn): " + "; ".join(parts) + "."


def _corpus_sentence(corpus: pd.DataFrame, dataset: str) -> str:
    of_dataset = corpus[corpus["dataset"] == dataset] if len(corpus) else corpus
    if not len(of_dataset):
        return ""
    facts = of_dataset.iloc[0]
    return (
        f"Here: music21 {facts['music21']} corpus, {facts['files']} files less "
        f"{facts['duplicates']} duplicates, split by soprano melody into {facts['train']}/"
        f"{facts['validation']}/{facts['test']}, {facts['resolution']} notes, sung voices. "
    )


def chung_panel(inputs: Any, dataset: str, axis: Axes) -> str:
    """This suite's test NLL beside Chung et al.'s, and the gated-against-tanh verdicts."""
    table = chung_rows(inputs.summary, dataset)
    axis.axis("off")
    axis.set_title(f"{dataset}: here against Chung et al. (2014)", fontsize=9)
    if len(table):
        cells = table.astype(str).to_numpy().tolist()
        drawn = axis.table(
            cellText=cells,
            colLabels=list(COLUMNS),
            colWidths=list(COLUMNS.values()),
            cellLoc="left",
            colLoc="left",
            bbox=(-0.12, 0.62, 1.17, 0.36),
        )
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(6.5)
        for (row, _column), cell in drawn.get_celld().items():
            cell.set_edgecolor("#DDDDDD")
            if row == 0:
                cell.set_facecolor("#EEF2F7")
    axis.text(
        -0.12, 0.56, textwrap.fill(ordering(inputs.pairs, dataset), 52), fontsize=7.5, va="top"
    )
    corpus = inputs.tables.get(CORPUS, pd.DataFrame())
    return (
        f"Right: test NLL (nats a step, summed over the 88 keys) beside Chung et al. (2014): "
        f"{JSB}, weight noise, learning rate picked on validation. "
        + _corpus_sentence(corpus, dataset)
        + f"No weight noise, one learning rate. 'gap': here / Chung - 1 (the issue's bar: "
        f"{TOLERANCE:.0%})."
    )
