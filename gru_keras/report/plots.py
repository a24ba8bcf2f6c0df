"""Report figures: plot functions that take an `ax` and return it (in the style of rliable),
and the pages composed of them. Pure functions from tables to matplotlib Figures; nothing
here reads MLflow or writes files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gru_keras import schema
from gru_keras.analysis.stats import mean_band
from gru_keras.report.layout import (
    add_caption,
    legend_below,
    model_color,
    model_style,
    new_page,
)
from gru_keras.schema import metric_label

FLOOR = schema.GRADIENT_FLOOR  # gradients below float32's reach are drawn here, on log axes


def learning_curves(axis: Axes, curves: pd.DataFrame, models: Sequence[str], ylabel: str) -> Axes:
    """Validation loss against epoch: every seed as a thin line, and the mean over seeds with
    its min-max band only over the epochs every seed reached (a seed stopped early never
    makes the mean jump)."""
    for model in models:
        runs = [
            group.sort_values("epoch")["value"].to_numpy()
            for _, group in curves[curves["model"] == model].groupby("seed")
        ]
        if not runs:
            continue
        style = model_style(model)
        for run in runs:
            axis.plot(
                np.arange(1, len(run) + 1), run, color=style["color"], alpha=0.35, linewidth=0.7
            )
        common = min(len(run) for run in runs)
        epochs, mean, low, high = mean_band([run[:common] for run in runs])
        axis.plot(epochs + 1, mean, linewidth=1.6, markersize=2.5, **style)
        if len(runs) > 1:
            axis.fill_between(epochs + 1, low, high, color=style["color"], alpha=0.18, linewidth=0)
    axis.set_xlabel("epoch")
    if len(curves):
        axis.set_xlim(0.5, curves.groupby(["model", "seed"]).size().max() + 0.5)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_ylabel(ylabel)
    if _spans_a_decade(curves["value"].to_numpy(float)):
        axis.set_yscale("log")
    axis.grid(alpha=0.3)
    return axis


def _spans_a_decade(values: np.ndarray) -> bool:
    """Log scale only when positive values span 10x or more; below that it hides detail and
    crowds the axis with minor labels."""
    values = values[np.isfinite(values)]
    return bool(len(values)) and (values > 0).all() and values.max() / values.min() >= 10


def _mark_missing(axis: Axes, position: float) -> None:
    """Say "missing" in a model's column of a per-model plot that has no value for it."""
    axis.text(
        position,
        0.5,
        "missing",
        transform=axis.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="center",
        fontsize=7,
    )


def metric_bars(
    axis: Axes,
    summary: pd.DataFrame,
    metric_label: str,
    references: dict[str, float] | None = None,
) -> Axes:
    """The headline test metric per model as a dot plot: the mean with its 95% CI as a
    whisker, on an axis fitted to the values (not from zero, so 0.97 against 0.98 shows
    without a bar's length exaggerating it). Crosses are the non-neural baselines; a hollow
    marker is a model some of whose seeds did not converge. `references` are dashed lines
    with their names (predict-the-mean, chance); models without a finished run are marked
    missing."""
    positions = np.arange(len(summary))
    for position, (_, row) in zip(positions, summary.iterrows(), strict=True):
        color = model_color(row["model"])
        if not np.isfinite(row["mean"]):
            _mark_missing(axis, position)
            continue
        hollow = bool(row.get("not_converged", 0))
        axis.plot(
            position,
            row["mean"],
            "X" if row.get("baseline") else model_style(row["model"])["marker"],
            color=color,
            markersize=7,
            markerfacecolor="white" if hollow else color,
            markeredgewidth=1.5,
        )
        if hollow:
            axis.annotate(
                "not conv.",
                (position, row["mean"]),
                xytext=(6, 0),
                textcoords="offset points",
                fontsize=6,
                va="center",
                color="#555555",
            )
        if np.isfinite(row["ci_low"]):
            axis.errorbar(
                position,
                row["mean"],
                yerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                color=color,
                capsize=3,
                linewidth=1,
            )
    for name, value in (references or {}).items():
        axis.axhline(value, color="#777777", linestyle="--", linewidth=1)
        axis.text(
            1.0,
            value,
            f" {name} {value:.3g}",
            transform=axis.get_yaxis_transform(),
            fontsize=6.5,
            va="bottom",
            ha="right",
            color="#555555",
        )
    axis.set_xticks(positions, summary["model"], rotation=35, ha="right", fontsize=7.5)
    axis.set_xlim(-0.6, len(summary) - 0.4)
    axis.set_ylabel(metric_label)
    axis.margins(y=0.15)
    limit = _far_off_limit(summary["ci_high"].fillna(summary["mean"]).to_numpy(float))
    if limit is not None:
        axis.set_ylim(top=limit)
        for position, value in zip(positions, summary["mean"], strict=True):
            if np.isfinite(value) and value > limit:
                axis.annotate(
                    f"{value:.3g} ↑",
                    (position, limit),
                    xytext=(0, -4),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=7,
                )
    axis.grid(axis="y", alpha=0.3)
    return axis


def _far_off_limit(values: np.ndarray) -> float | None:
    """An upper axis limit that leaves out one far-off value (the naive forecast on seasonal
    data is 10x worse than everything else and would flatten the rest), or None."""
    values = values[np.isfinite(values)]
    if len(values) > 2 and values.max() > 3 * np.median(values) > 0:
        return float(1.15 * values[values <= 3 * np.median(values)].max())
    return None


def quality_against_time(axis: Axes, runs: pd.DataFrame, metric: str, metric_label: str) -> Axes:
    """Each finished run as a point: training seconds (log when they span a decade) against
    its test metric."""
    finished = (
        runs[(runs["status"] == "FINISHED") & runs[metric].notna()]
        if metric in runs
        else runs.iloc[:0]
    )
    seconds_of_all = finished["train_seconds"].clip(lower=1e-3) if len(finished) else finished
    limit = _far_off_limit(finished[metric].to_numpy(float)) if len(finished) else None
    clipped = 0
    for model, group in finished.groupby("model"):
        seconds = seconds_of_all.loc[group.index]
        values = group[metric] if limit is None else group[metric].clip(upper=limit * 0.95)
        axis.scatter(
            seconds,
            values,
            color=model_color(model),
            s=22,
            edgecolor="black",
            linewidth=0.3,
            marker="s" if group["units"].isna().all() else "o",
        )
        if limit is not None:
            for second, value in zip(seconds, group[metric], strict=True):
                if value > limit * 0.95:
                    clipped += 1
                    axis.annotate(
                        f"{model} {value:.3g} ↑",
                        (second, limit * 0.95),
                        xytext=(4, -3 - 8 * (clipped - 1)),  # stacked, never on top of another
                        textcoords="offset points",
                        fontsize=6.5,
                        va="top",
                    )
    if limit is not None:
        axis.set_ylim(top=limit)
    if len(finished) and _spans_a_decade(seconds_of_all.to_numpy(float)):
        axis.set_xscale("log")
        axis.set_xlabel("training time per run (s, log scale)")
    else:
        axis.set_xlabel("training time per run (s)")
    axis.set_ylabel(metric_label)
    axis.grid(alpha=0.3)
    return axis


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
        len(datasets), 3, left=0.08, right=0.98, top=0.85, bottom=0.25, hspace=0.75, wspace=0.32
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


def _gradient_reach(axis: Axes, of_stage: pd.DataFrame, models: Sequence[str]) -> Axes:
    for model in models:
        curve = of_stage[of_stage["model"] == model].groupby("distance")["norm"].mean()
        if len(curve):
            # Styles differ too: keras_gru computes custom_gru's function and can lie
            # exactly under it.
            axis.plot(
                curve.index,
                curve.clip(lower=FLOOR),
                linewidth=1.6,
                markevery=max(1, len(curve) // 8),
                markersize=3,
                **model_style(model),
            )
    axis.set_yscale("log")
    axis.set_xlabel("distance from the last step", fontsize=8)
    axis.grid(alpha=0.3)
    return axis


def _gate_map(axis: Axes, values: np.ndarray, title: str) -> Any:
    image = axis.imshow(
        values.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
    )
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("time step", fontsize=8)
    axis.set_ylabel("unit", fontsize=8)
    return image


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
        _gradient_reach(axis, of_stage, models)
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
        _gate_map(figure.add_subplot(bottom[0, 1]), arrays["update"][0], "update gate z_t")
        image = _gate_map(figure.add_subplot(bottom[0, 2]), arrays["reset"][0], "reset gate r_t")
        colorbar_axis = figure.add_axes((0.945, 0.25, 0.012, 0.19))
        figure.colorbar(image, cax=colorbar_axis).set_label("gate", fontsize=8)
    legend_below(figure, models, y=0.15)  # above the long caption
    return figure


VERDICT_COLORS = {"supported": "#1A7F37", "not supported": "#B42318", "mixed": "#B54708"}


def draw_confusion(
    axis: Axes,
    counts: np.ndarray,
    labels: Sequence[str],
    noun: str = "",
    tick_size: float | None = None,
    label_size: float | None = None,
    count_size: float = 8,
):
    """A confusion-matrix heat map on `axis` (rows true, columns predicted), each non-zero
    count written in its cell; returns the image, for a colour bar. Font sizes left as None
    take matplotlib's default."""
    image = axis.imshow(counts, cmap="Blues")
    short = [str(label).replace("speaker ", "") for label in labels]
    axis.set_xticks(range(len(short)), short, fontsize=tick_size)
    axis.set_yticks(range(len(short)), short, fontsize=tick_size)
    axis.set_xlabel(f"predicted {noun}".strip(), fontsize=label_size)
    axis.set_ylabel(f"true {noun}".strip(), fontsize=label_size)
    threshold = counts.max() / 2 if counts.size else 0
    for (row, column), value in np.ndenumerate(counts):
        if value:
            axis.text(
                column, row, str(value), ha="center", va="center", fontsize=count_size,
                color="white" if value > threshold else "black",
            )  # fmt: skip
    return image


# Type sizes of a text page, largest first: (points, characters a line, page height a line)
# for A4 landscape with the text from x = 0.08.
TEXT_SIZES = ((11, 112, 0.027), (10, 124, 0.0245), (9, 138, 0.022))


def _fitted(sentences: list[str], room: float = 0.68) -> tuple[int, float, list[str]]:
    """The largest `TEXT_SIZES` at which every sentence, wrapped, fits in `room` of the
    page's height: its size, its line height and the wrapped paragraphs."""
    for size, width, line in TEXT_SIZES:
        paragraphs = [textwrap.fill(sentence, width) for sentence in sentences]
        if sum(line * (p.count("\n") + 1.8) for p in paragraphs) <= room:
            return size, line, paragraphs
    return size, line, paragraphs  # the smallest size, even if it does not fit


def text_page(title: str, sentences: list[str], subtitle: str = "", caption: str = "") -> Figure:
    """A page of findings: one wrapped paragraph per sentence, from the top."""
    figure = new_page(title, caption, subtitle)
    size, line, paragraphs = _fitted(sentences)
    top = 0.8
    for wrapped in paragraphs:
        figure.text(0.06, top, "•", fontsize=size, va="top")
        figure.text(0.08, top, wrapped, fontsize=size, va="top", linespacing=1.35)
        top -= line * (wrapped.count("\n") + 1.8)  # the paragraph and a gap
    return figure


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


def interval_points(
    axis: Axes, labels: Sequence[str], values: pd.DataFrame, column: str, colors: Sequence[str]
) -> Axes:
    """One point with its interval per row of `values` (`column`, `low`, `high`), top down."""
    positions = np.arange(len(labels))[::-1]
    for position, (_, row), color in zip(positions, values.iterrows(), colors, strict=True):
        axis.errorbar(
            row[column],
            position,
            xerr=[[row[column] - row["low"]], [row["high"] - row[column]]],
            fmt="o",
            color=color,
            capsize=4,
            markersize=6,
        )
        axis.annotate(
            f"{row[column]:.2f} [{row['low']:.2f}, {row['high']:.2f}]",
            (row[column], position),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    axis.set_yticks(positions, labels)
    axis.grid(axis="x", alpha=0.3)
    axis.margins(x=0.15, y=0.2)
    return axis


def performance_profiles(
    axis: Axes,
    thresholds: np.ndarray,
    profiles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> Axes:
    """rliable's performance profiles: the fraction of runs above each normalized score, with
    stratified bootstrap bands."""
    for model, (profile, low, high) in profiles.items():
        color = model_color(model)
        axis.plot(thresholds, profile, color=color, linewidth=1.8, label=model)
        axis.fill_between(thresholds, low, high, color=color, alpha=0.15, linewidth=0)
    axis.set_xlabel("normalized score τ")
    axis.set_ylabel("fraction of runs > τ")
    axis.set_ylim(-0.02, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return axis
