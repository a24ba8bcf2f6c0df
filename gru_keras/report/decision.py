"""The decision map's PDF: a page of findings, then heatmaps of the verdicts (one page per
task, metric and pair; one panel per parameter budget, length x training size in each),
the equivalence strip, and the time each model took to reach the task's target.

Rendering only: every number comes from `gru_keras.analysis.decision.map_table`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from gru_keras.analysis.decision import (
    BETTER,
    EQUIVALENT,
    NOT_CONVERGED,
    PAIR,
    STRIP,
    UNDECIDED,
    WORSE,
)
from gru_keras.analysis.map_findings import map_findings, rule_words, stage_words
from gru_keras.analysis.significance import DEFAULT
from gru_keras.grid import BUDGET_AXIS, SIZE_AXIS, MapSpec, MapTask
from gru_keras.report.layout import add_caption, new_page
from gru_keras.report.pages import text_pages

VERDICT_COLORS = {
    BETTER: "#1b9e77",
    WORSE: "#d95f02",
    EQUIVALENT: "#7570b3",
    UNDECIDED: "#ffffff",
    NOT_CONVERGED: "#bbbbbb",
}
COST_COLORS = {"faster": "#1b9e77", "slower": "#d95f02"}
NEUTRAL = "#f2f2f2"


def _grid(ax: Axes, sizes: list, lengths: list, length_axis: str, title: str) -> Axes:
    """A panel's frame: training sizes across, lengths up, one unit square a cell."""
    ax.set_xlim(0, len(sizes))
    ax.set_ylim(0, len(lengths))
    ax.set_xticks(np.arange(len(sizes)) + 0.5, [f"{s:,.0f}" for s in sizes])
    ax.set_yticks(np.arange(len(lengths)) + 0.5, [f"{v:,.0f}" for v in lengths])
    ax.set_xlabel(SIZE_AXIS)
    ax.set_ylabel(length_axis)
    ax.set_title(title, fontsize=10)
    ax.tick_params(length=0)
    return ax


def verdict_heatmap(
    ax: Axes, rows: pd.DataFrame, length_axis: str, title: str = "", digits: int = 2
) -> Axes:
    """One panel: a cell per (training size, length), coloured by its verdict, undecided
    cells hatched, each with its difference (first - second) and seeds a side."""
    sizes = sorted(rows[SIZE_AXIS].unique())
    lengths = sorted(rows[length_axis].unique())
    for row in rows.itertuples():
        x, y = sizes.index(getattr(row, SIZE_AXIS)), lengths.index(getattr(row, length_axis))
        ax.add_patch(
            Rectangle(
                (x, y),
                1,
                1,
                facecolor=VERDICT_COLORS[row.verdict],
                edgecolor="#444444",
                hatch="///" if row.verdict == UNDECIDED else None,
                linewidth=0.8,
            )
        )
        dark = row.verdict in (BETTER, WORSE, EQUIVALENT)
        seeds = f"{row.seeds} seed{'' if row.seeds == 1 else 's'}"
        text = f"{row.difference:+.{digits}f}\n{row.verdict}\n{seeds}"
        why = str(getattr(row, "why", "") or "")
        if why:  # "seeds split (2 of 6 solved against 6 of 6)", "too few seeds: ..."
            text = f"{row.difference:+.{digits}f}\n{row.verdict}: {textwrap.fill(why, 22)}"
        ax.text(
            x + 0.5,
            y + 0.5,
            text,
            ha="center",
            va="center",
            fontsize=7.5,
            color="white" if dark else "black",
            bbox=None if dark else {"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    return _grid(ax, sizes, lengths, length_axis, title)


def cost_heatmap(ax: Axes, rows: pd.DataFrame, length_axis: str, title: str = "") -> Axes:
    """One panel of the time to target: each model's median seconds and the verdict."""
    sizes = sorted(rows[SIZE_AXIS].unique())
    lengths = sorted(rows[length_axis].unique())
    for row in rows.itertuples():
        x, y = sizes.index(getattr(row, SIZE_AXIS)), lengths.index(getattr(row, length_axis))
        color = COST_COLORS.get(row.cost_verdict, NEUTRAL)
        ax.add_patch(Rectangle((x, y), 1, 1, facecolor=color, edgecolor="#444444"))

        def seconds(value: float) -> str:
            return f"{value:.0f} s" if np.isfinite(value) else "never"

        text = (
            f"{row.first}: {seconds(row.first_seconds)}\n{row.second}: "
            f"{seconds(row.second_seconds)}\n{row.cost_verdict}"
        )
        ax.text(
            x + 0.5,
            y + 0.5,
            text,
            ha="center",
            va="center",
            fontsize=6.5,
            color="white" if row.cost_verdict in COST_COLORS else "black",
        )
    return _grid(ax, sizes, lengths, length_axis, title)


def _legend(figure: Figure, colors: dict[str, str]) -> None:
    handles = [
        Patch(facecolor=color, edgecolor="#444444", hatch="///" if word == UNDECIDED else None)
        for word, color in colors.items()
    ]
    figure.legend(
        handles,
        list(colors),
        loc="lower center",
        ncol=len(colors),
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, 0.07),
    )


def _panels(figure: Figure, count: int) -> list[Axes]:
    gap = 0.07
    width = min(0.42, (0.88 - gap * (count - 1)) / count)
    left = 0.07 + (0.88 - count * width - gap * (count - 1)) / 2
    return [figure.add_axes((left + i * (width + gap), 0.2, width, 0.6)) for i in range(count)]


def family_page(rows: pd.DataFrame, task: MapTask, spec: MapSpec) -> Figure:
    """One task, metric and pair: a heatmap panel per parameter budget."""
    first, second, metric = rows["first"].iloc[0], rows["second"].iloc[0], rows["metric"].iloc[0]
    budgets = sorted(rows[BUDGET_AXIS].unique())
    margin = rows["margin"].iloc[0]
    figure = new_page(
        f"{task.name}: {first} against {second} on {metric}",
        subtitle=(
            f"Difference {first} - {second} in {metric} ({'higher' if task.higher_is_better else 'lower'} "
            f"is better), trained {rule_words(spec)}. Verdict from {first}'s side: "
            f"{DEFAULT.words}, Holm across the {len(rows)} cells; equivalent = its TOST "
            f"within ±{margin:g}."
        ),
    )
    for ax, budget in zip(_panels(figure, len(budgets)), budgets, strict=True):
        cell_rows = rows[rows[BUDGET_AXIS] == budget]
        params = ", ".join(
            f"{model} {np.nanmean(cell_rows[f'{side}_params']):,.0f}"
            for side, model in (("first", first), ("second", second))
        )
        verdict_heatmap(
            ax, cell_rows, task.length_axis, f"{BUDGET_AXIS} {budget:,.0f} (achieved: {params})"
        )
    _legend(figure, VERDICT_COLORS)
    add_caption(
        figure,
        f"{stage_words(spec)}. Each cell: the difference of the means, the verdict, and the "
        "seeds a side it was judged on, or why it is undecided. The fewest seeds each cell's "
        "verdict needs, its p and interval are in the map's CSV.",
    )
    return figure


def cost_page(rows: pd.DataFrame, task: MapTask, spec: MapSpec) -> Figure:
    """Seconds of training until the validation headline reached the task's target."""
    first, second = rows["first"].iloc[0], rows["second"].iloc[0]
    budgets = sorted(rows[BUDGET_AXIS].unique())
    figure = new_page(
        f"{task.name}: time to {task.metrics[0]} ≥ {task.target:g}, {first} against {second}",
        subtitle=(
            f"Median seconds of training (validated epochs summed) until the validation "
            f"{task.metrics[0]} first reached {task.target:g}, trained {rule_words(spec)}. "
            "faster / slower: the permutation test on log seconds, Holm across the cells, "
            "where both reached it in every seed."
        ),
    )
    for ax, budget in zip(_panels(figure, len(budgets)), budgets, strict=True):
        cost_heatmap(
            ax, rows[rows[BUDGET_AXIS] == budget], task.length_axis, f"{BUDGET_AXIS} {budget:,.0f}"
        )
    _legend(figure, {**COST_COLORS, "no verdict": NEUTRAL})
    return figure


def map_pages(table: pd.DataFrame, spec: MapSpec, suite: str) -> list[Figure]:
    """Every page of a map's PDF, the findings first."""
    pages = text_pages(
        f"Decision map '{suite}': when is a GRU worth using?",
        map_findings(table, spec),
        subtitle=f"{len(table)} comparisons over {table['dataset'].nunique()} cells.",
    )
    for task in spec.tasks:
        rows = table[table["task"] == task.name]
        pairs = rows[rows["family_kind"] == PAIR]
        for _, group in pairs.groupby("family", sort=False):
            pages.append(family_page(group, task, spec))
        strip = rows[rows["family_kind"] == STRIP]
        if not strip.empty:
            pages.append(strip_page(strip, task, spec))
        headline = pairs[pairs["metric"] == task.metrics[0]]
        for _, group in headline.groupby("family", sort=False):
            pages.append(cost_page(group, task, spec))
    return pages


def strip_page(rows: pd.DataFrame, task: MapTask, spec: MapSpec) -> Figure:
    """The equivalence strip: keras_gru against custom_gru along one row of cells."""
    first, second = rows["first"].iloc[0], rows["second"].iloc[0]
    where = ", ".join(f"{axis} {value:,}" for axis, value in spec.strip.where)
    figure = new_page(
        f"{task.name}: {first} against {second} (the equivalence strip)",
        subtitle=(
            f"The same function in two implementations: equivalent when TOST puts the "
            f"difference within ±{spec.strip.margin:g} ({DEFAULT.words}); cells at {where}, "
            f"trained {rule_words(spec)}."
        ),
    )
    metrics = list(dict.fromkeys(rows["metric"]))
    for ax, metric in zip(_panels(figure, len(metrics)), metrics, strict=True):
        verdict_heatmap(ax, rows[rows["metric"] == metric], task.length_axis, metric, digits=3)
    _legend(figure, VERDICT_COLORS)
    return figure


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """The map's table as CSV, renamed into place only once it is whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        table.to_csv(partial, index=False)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path
