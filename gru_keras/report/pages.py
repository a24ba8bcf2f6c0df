"""Whole report pages composed of the axis-level plots in `gru_keras.report.plots`: a task
family's page, the page inside the cells, text pages and the claims page. Pure functions
from tables to matplotlib Figures; nothing here reads MLflow or writes files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gru_keras.report.layout import add_caption, below_subtitle, legend_below, new_page
from gru_keras.report.plots import (
    FLOOR,
    gate_map,
    gradient_reach,
    learning_curves,
    metric_bars,
    quality_against_time,
)
from gru_keras.schema import metric_label


def family_page(
    family: str,
    datasets: Sequence[str],
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    references: dict[str, dict[str, float]] | None = None,
    finding: str = "",
    panel: Callable[[str, Axes], str | None] | None = None,
) -> Figure:
    """One row per dataset: learning curves, test metric with CIs (and each dataset's
    `references` lines), and quality against time or the family's own `panel` (which draws
    one dataset on an axis and returns its caption, or None to leave that dataset to quality
    against time); `finding` is the page's result."""
    models = _models_of(summary[summary["dataset"].isin(datasets)])
    figure = new_page(f"Task family: {family}", subtitle=finding)
    default = (
        "Right: each run's test metric against its training time (squares: baselines, drawn "
        "at 1 ms at least)."
    )
    rights: list[str] = []
    grid = figure.add_gridspec(
        len(datasets),
        3,
        left=0.08,
        right=0.98,
        top=below_subtitle(finding, 0.85),
        bottom=0.25,
        hspace=0.75,
        wspace=0.32,
    )
    for row, dataset in enumerate(datasets):
        of_dataset = summary[summary["dataset"] == dataset]
        metric = of_dataset["metric"].iloc[0]
        arrow = "higher is better" if of_dataset["higher_is_better"].iloc[0] else "lower is better"
        label = f"test {metric_label(metric)}"
        curves_axis = figure.add_subplot(grid[row, 0])
        learning_curves(
            curves_axis, curves[curves["dataset"] == dataset], models, "validation loss"
        )
        curves_axis.set_title(f"{dataset}: learning curves", fontsize=9)
        bars_axis = figure.add_subplot(grid[row, 1])
        metric_bars(bars_axis, of_dataset, label, (references or {}).get(dataset))
        bars_axis.set_title(f"{dataset}: {label} ({arrow})", fontsize=9)
        right_axis = figure.add_subplot(grid[row, 2])
        right = panel(dataset, right_axis) if panel is not None else None
        if right is None:
            quality_against_time(right_axis, runs[runs["dataset"] == dataset], metric, label)
            right_axis.set_title(f"{dataset}: quality against time", fontsize=9)
            right = default
        rights.append(right)
    right = " ".join(dict.fromkeys(rights))
    add_caption(
        figure,
        "Left: validation loss per epoch (thin: each seed, to where it stopped; thick and "
        "band: mean and min to max, only over epochs every seed reached). Middle: headline "
        "test metric, mean with 95% Student-t interval over seeds, on an axis fitted to the "
        "values (not from zero); a cross marks a non-neural baseline (one deterministic "
        "run), a hollow marker a model with seeds that did not converge, a dashed line what "
        f"predicting the mean or chance scores. {right} A value far off the scale sits at "
        "the top edge with its value.",
    )
    legend_below(figure, models, y=0.135)  # above a caption of up to 6 lines
    return figure


def _models_of(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary["model"]))


def inside_page(
    gradients: pd.DataFrame,
    datasets: Sequence[str],
    models: Sequence[str],
    gates: tuple[str, dict[str, np.ndarray]] | None = None,
) -> Figure:
    """Top: ‖∂L/∂h_t‖ against distance from the loss, at initialization and after training,
    per dataset. Bottom, with `gates` (dataset, arrays): one example's inputs and the custom
    GRU's update and reset gates over time."""
    figure = new_page(
        "Inside the cells: how far back gradients reach, and the custom GRU's gates",
        "Top: mean norm of the gradient of each example's loss with respect to the hidden state "
        "h_t, against how many steps t lies before the last input (log scale; mean over seeds "
        "and 64 fixed validation examples). A flat line means the loss still 'sees' early "
        "steps; a line falling to the bottom means the gradient vanished (values under "
        f"{FLOOR:.1e}, beyond float32, are drawn at that floor). Compare SimpleRNN with the "
        "gated cells after training; keras_gru computes custom_gru's function, so its dash-dot "
        "line can lie on custom_gru's dotted one. Bottom: one validation example's inputs, and "
        "the trained custom GRU's update gate z_t (1 = take the new content, 0 = keep the old "
        "state) and reset gate r_t (0 = ignore the previous state when proposing new content) "
        "of every unit, first seed. On the adding problem the marked steps are those where "
        "the second input (the marker) is 1: look for units whose update gate opens only there.",
    )
    panels = max(1, 2 * len(datasets))
    grid = figure.add_gridspec(
        2 if gates else 1, 1, left=0.07, right=0.93, top=0.87, bottom=0.25, hspace=0.55
    )
    top = grid[0].subgridspec(1, panels, wspace=0.3)
    for index, (dataset, stage) in enumerate(
        (dataset, stage) for dataset in datasets for stage in ("initial", "trained")
    ):
        axis = figure.add_subplot(top[0, index])
        of_stage = gradients[(gradients["dataset"] == dataset) & (gradients["stage"] == stage)]
        gradient_reach(axis, of_stage, models)
        when = "at initialization" if stage == "initial" else "after training"
        axis.set_title(f"{dataset}:\n{when}", fontsize=9)
        if index == 0:
            axis.set_ylabel("‖∂L/∂h_t‖")
    if gates:
        dataset, arrays = gates
        bottom = grid[1].subgridspec(1, 3, wspace=0.25)
        axis = figure.add_subplot(bottom[0, 0])
        inputs = arrays["inputs"][0]
        for feature in range(inputs.shape[-1]):
            axis.plot(inputs[:, feature], linewidth=0.9, label=f"input {feature}")
        axis.set_xlim(0, len(inputs) - 1)
        axis.set_title(f"{dataset}: one example's inputs", fontsize=9)
        axis.set_xlabel("time step", fontsize=8)
        if inputs.shape[-1] <= 4:
            axis.legend(fontsize=7, loc="upper right")
        gate_map(figure.add_subplot(bottom[0, 1]), arrays["update"][0], "update gate z_t")
        image = gate_map(figure.add_subplot(bottom[0, 2]), arrays["reset"][0], "reset gate r_t")
        colorbar_axis = figure.add_axes((0.945, 0.25, 0.012, 0.19))
        figure.colorbar(image, cax=colorbar_axis).set_label("gate", fontsize=8)
    legend_below(figure, models, y=0.15)  # above the long caption
    return figure


VERDICT_COLORS = {"supported": "#1A7F37", "not supported": "#B42318", "mixed": "#B54708"}


# Type sizes of a text page, largest first: (points, characters a line, page height a line)
# for A4 landscape with the text from x = 0.08.
TEXT_SIZES = ((11, 112, 0.027), (10, 124, 0.0245), (9, 138, 0.022))
TEXT_ROOM = 0.68  # of the page's height, below the title and above the caption


def _height(paragraphs: list[str], line: float) -> float:
    return sum(line * (p.count("\n") + 1.8) for p in paragraphs)  # each paragraph and a gap


def _fitted(sentences: list[str], room: float = TEXT_ROOM) -> tuple[int, float, list[str]] | None:
    """The largest `TEXT_SIZES` at which every sentence, wrapped, fits in `room` of the
    page's height: its size, its line height and the wrapped paragraphs; None if none does."""
    for size, width, line in TEXT_SIZES:
        paragraphs = [textwrap.fill(sentence, width) for sentence in sentences]
        if _height(paragraphs, line) <= room:
            return size, line, paragraphs
    return None


def _page_runs(sentences: list[str], room: float = TEXT_ROOM) -> list[list[str]]:
    """The sentences in order, split into runs that each fit a page at the smallest size."""
    _, width, line = TEXT_SIZES[-1]
    runs: list[list[str]] = [[]]
    used = 0.0
    for sentence in sentences:
        height = _height([textwrap.fill(sentence, width)], line)
        if runs[-1] and used + height > room:
            runs.append([])
            used = 0.0
        runs[-1].append(sentence)
        used += height
    return runs


def text_page(title: str, sentences: list[str], subtitle: str = "", caption: str = "") -> Figure:
    """A page of findings: one wrapped paragraph per sentence, from the top, in the largest
    type that fits (the smallest if none does: `text_pages` carries the rest over)."""
    figure = new_page(title, caption, subtitle)
    fitted = _fitted(sentences)
    if fitted is None:
        size, width, line = TEXT_SIZES[-1]
        fitted = size, line, [textwrap.fill(sentence, width) for sentence in sentences]
    size, line, paragraphs = fitted
    top = 0.8
    for wrapped in paragraphs:
        figure.text(0.06, top, "•", fontsize=size, va="top")
        figure.text(0.08, top, wrapped, fontsize=size, va="top", linespacing=1.35)
        top -= _height([wrapped], line)
    return figure


def text_pages(
    title: str, sentences: list[str], subtitle: str = "", caption: str = ""
) -> list[Figure]:
    """Findings on as many pages as they take: one page in the largest type that fits, else
    pages in the smallest type, the later ones titled "(continued)"."""
    runs = [sentences] if _fitted(sentences) is not None else _page_runs(sentences)
    return [
        text_page(title if i == 0 else f"{title} (continued)", run, subtitle, caption)
        for i, run in enumerate(runs)
    ]


def claims_page(table: pd.DataFrame, caption: str) -> Figure:
    """One block per claim: the claim in bold, its verdict in colour, the evidence below."""
    figure = new_page(
        "Claims check: what the GRU literature says, against what this suite measured", caption
    )
    y = 0.87
    for row in table.itertuples():
        figure.text(0.05, y, row.claim, fontsize=11, fontweight="bold", va="top")
        figure.text(
            0.95,
            y,
            row.verdict.upper(),
            fontsize=11,
            fontweight="bold",
            va="top",
            ha="right",
            color=VERDICT_COLORS.get(row.verdict, "#555555"),
        )
        evidence = "\n".join(
            textwrap.fill(part, 150, initial_indent="• ", subsequent_indent="   ")
            for part in row.evidence.split("; ")
        )
        lines = evidence.count("\n") + 1
        figure.text(0.07, y - 0.035, evidence, fontsize=8.5, va="top", linespacing=1.5)
        y -= 0.07 + 0.022 * lines
    return figure
