"""What a reader sees as text: the summary, overview and head-to-head tables' cells
formatted as strings (with the unconverged mark and the decided best in bold), the same
tables as Markdown, and the benchmark's display table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.analysis.stats import TOO_FEW
from gru_keras.analysis.tables import best_models, decimals_for
from gru_keras.variants import VARIANTS

UNCONVERGED_MARK = "†"


def format_value(row: pd.Series, decimals: int | None = None) -> str:
    """`mean [low, high]`, or why there is no interval (one seed, a deterministic baseline),
    or why there is no value at all; † marks a cell with runs that did not converge.
    `decimals` fixes the places (`decimals_for` the dataset); by default 4 significant
    figures."""
    if not np.isfinite(row["mean"]):
        return f"— ({row['why_not_finished']})" if row.get("why_not_finished") else "—"
    mark = f" {UNCONVERGED_MARK}" if row.get("not_converged", 0) else ""

    def number(value: float) -> str:
        return f"{value:.4g}" if decimals is None else f"{value:.{decimals}f}"

    if np.isfinite(row["ci_low"]):
        return f"{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]{mark}"
    if row.get("baseline"):
        return f"{number(row['mean'])} (deterministic, 1 run)"
    return f"{number(row['mean'])} (1 seed, no CI){mark}"


def _metric_heading(row: pd.Series) -> str:
    """A row's test metric as a reader sees it, with its direction: `mse ↓`."""
    return schema.metric_label(row["metric"]) + (" ↑" if row["higher_is_better"] else " ↓")


def _number(value: float, digits: str = ".0f") -> str:
    return "—" if not np.isfinite(value) else format(value, digits)


def decided_best(summary: pd.DataFrame, pairs: pd.DataFrame | None) -> dict[str, str]:
    """Per dataset, the best mean only where the head-to-head backs it: custom_gru has the
    best mean and a 'better' verdict against every model it was tested against for a
    difference. Anywhere else no model is marked: a best mean without a verdict can be noise
    (the other models were not tested against each other)."""
    if pairs is None or not len(pairs):
        return {}
    decided = {}
    for dataset, model in best_models(summary).items():
        tested = pairs[
            (pairs["dataset"] == dataset)
            & (pairs["first"] == schema.SUBJECT)
            & (pairs["test"] == "difference")
        ]
        if model == schema.SUBJECT and len(tested) and (tested["verdict"] == "better").all():
            decided[dataset] = model
    return decided


def _places(group: pd.DataFrame) -> int:
    """A dataset's decimal places, from its recurrent variants' means (`decimals_for`): a
    baseline far off (a naive forecast at 14 against networks at 0.5) must not round the
    networks' values to one figure."""
    networks = group.loc[~group["baseline"].astype(bool), "mean"]
    return decimals_for(networks if networks.notna().any() else group["mean"])


def display_summary(summary: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The summary as the strings a reader sees (Markdown and PDF use the same), plus a
    boolean `best` column marking the best model of a dataset where a verdict backs it
    (`decided_best`). Each dataset's values share their decimal places (`decimals_for`)."""
    best = decided_best(summary, pairs)
    places = {dataset: _places(group) for dataset, group in summary.groupby("dataset")}
    rows = []
    for _, row in summary.iterrows():
        seeds = f"{row['seeds']}" + (
            f" ({row['not_finished']} not finished)" if row["not_finished"] else ""
        )
        rows.append(
            {
                "dataset": row["dataset"],
                "model": row["model"],
                "test metric": _metric_heading(row),
                "mean [95% CI]": format_value(row, places[row["dataset"]]),
                "seeds": seeds,
                "units": _number(row["units"]),
                "recurrent params": _number(row["recurrent_params"]),
                "s / epoch": _number(row["seconds_per_epoch"], ".2f"),
                "best": best.get(row["dataset"]) == row["model"],
            }
        )
    return pd.DataFrame(rows)


def display_overview(summary: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The summary as one row per dataset (the PDF's summary page): the headline metric of
    each recurrent variant, "(best)" on custom_gru's cell where a verdict backs it
    (`decided_best`), and the baselines' means. Seeds, units, parameters and seconds per
    epoch stay in the long table (`display_summary`, the Markdown summary)."""
    best = decided_best(summary, pairs)
    variants = [model for model in VARIANTS if model in set(summary["model"])]
    rows = []
    for dataset, group in summary.groupby("dataset", sort=False):
        places = _places(group)
        by_model = group.set_index("model")
        first = group.iloc[0]
        row = {
            "dataset": dataset,
            "test metric": _metric_heading(first),
        }
        for model in variants:
            cell = format_value(by_model.loc[model], places) if model in by_model.index else "—"
            row[model] = cell + (" (best)" if best.get(dataset) == model else "")
        baselines = group[group["baseline"]]
        row["baselines"] = ", ".join(
            f"{line['model']} {line['mean']:.{places}f}"
            if np.isfinite(line["mean"])
            else f"{line['model']} —"
            for _, line in baselines.iterrows()
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _p(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def display_head_to_head(table: pd.DataFrame) -> pd.DataFrame:
    """Head-to-head rows as strings: pair, difference [95% CI] and as a share of the second
    model's mean, Holm-adjusted p, the smallest detectable difference, seeds, verdict."""
    rows = []
    for _, row in table.iterrows():
        if np.isfinite(row["ci_low"]):
            difference = f"{row['difference']:+.3g} [{row['ci_low']:+.3g}, {row['ci_high']:+.3g}]"
        else:
            difference = _number(row["difference"], "+.3g")
        relative = _number(100 * row["relative"], "+.1f") + (
            "%" if np.isfinite(row["relative"]) else ""
        )
        test = "TOST" if row["test"] == "equivalence" else "exact"
        rows.append(
            {
                "dataset": row["dataset"],
                "against": row["second"]
                if row["first"] == schema.SUBJECT
                else f"{row['first']} vs {row['second']}",
                "test metric": _metric_heading(row),
                "difference [95% CI]": difference,
                "relative": relative,
                "p (Holm)": f"{_p(row['p_adjusted'])} {test}"
                if np.isfinite(row["p_adjusted"])
                else "—",
                "detectable": _number(row["detectable"], ".2g"),
                "seeds": row["seeds"],
                "verdict": _verdict_words(row),
            }
        )
    return pd.DataFrame(rows)


def _verdict_words(row: pd.Series) -> str:
    """ "custom_gru better", or why there is no verdict: "too few seeds to tell (needs 6)"."""
    if row["verdict"] in ("better", "worse"):
        return f"{row['first']} {row['verdict']}"
    needs = row.get("needs", 0)
    if row["verdict"] == TOO_FEW and needs and np.isfinite(needs):
        return f"{row['verdict']} (needs {int(needs)} a side)"
    return row["verdict"]


def markdown_table(frame: pd.DataFrame, bold_column: str | None = None) -> str:
    """A Markdown table of a display frame; rows flagged in `bold_column` are bolded."""
    columns = [column for column in frame.columns if column != bold_column]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [str(row[column]) for column in columns]
        if bold_column and row[bold_column]:
            cells = [
                f"**{cell}**" if column == "mean [95% CI]" else cell
                for column, cell in zip(columns, cells, strict=True)
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(summary: pd.DataFrame, pairs: pd.DataFrame | None = None) -> str:
    """The summary as a Markdown table; in bold the best model of a dataset where the
    head-to-head `pairs` back it (`decided_best`)."""
    return markdown_table(display_summary(summary, pairs), bold_column="best")


def bench_display(bench: pd.DataFrame) -> pd.DataFrame:
    """One row per shape: each model's train / infer time as a ratio to keras_gru's, then
    keras_gru's own milliseconds, its training GFLOP/s with the share of peak, and whether the
    shape is overhead- or compute-bound (with the half-units ratio)."""
    rows = []
    keys = ["sizing", "jit_compile", "batch", "timesteps", "features", "units"]
    for key, group in bench.groupby(keys, sort=False):
        by_model = group.set_index("model")
        row = dict(zip(["sizing", "jit", "batch", "T", "F", "units"], key, strict=True))
        for model in (schema.SUBJECT, schema.LSTM, schema.SIMPLE_RNN):
            if model in by_model.index:
                at = by_model.loc[model]
                row[model] = f"{at['train_ratio']:.2f} / {at['infer_ratio']:.2f}"
        reference = schema.REFERENCE
        if reference in by_model.index:
            at = by_model.loc[reference]
            row[f"{reference} ms"] = f"{at['train_ms']:.1f} / {at['infer_ms']:.1f}"
            # Older tables lack the GFLOP/s or the half-units timing.
            if "train_gflops" in at and "train_peak_share" in at:
                row["GFLOP/s (peak)"] = f"{at['train_gflops']:.1f} ({at['train_peak_share']:.0%})"
            if "bound" in at and isinstance(at["bound"], str):
                row["bound"] = f"{at['bound']} ({at['half_units_ratio']:.2f})"
        rows.append(row)
    return pd.DataFrame(rows)
