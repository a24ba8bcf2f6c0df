"""Report figures: pure functions from tables to matplotlib Figures, one A4 landscape page each.

Nothing here reads MLflow or writes files; `gru_keras.report` gathers the tables and writes
the PDF. Every page has a title and a caption that says what to look at, and every model has
one colour on every page.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from gru_keras.stats import mean_band

PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches
# Okabe-Ito colours (distinguishable with colour-blindness); the two GRUs share a hue family.
MODEL_COLORS = {
    "custom_gru": "#0072B2",
    "keras_gru": "#56B4E9",
    "lstm": "#E69F00",
    "simple_rnn": "#009E73",
    "naive": "#999999",
    "seasonal_naive": "#666666",
    "ets": "#CC79A7",
}
EXTRA_COLORS = ("#D55E00", "#F0E442", "#000000", "#8C564B", "#7F7F7F")
TABLE_ROWS_PER_PAGE = 24
FLOOR = 1e-30  # gradients below float32's reach are drawn here, on log axes


def model_color(model: str) -> str:
    """The model's colour on every page; unknown models get a stable extra colour."""
    if model in MODEL_COLORS:
        return MODEL_COLORS[model]
    return EXTRA_COLORS[sum(map(ord, model)) % len(EXTRA_COLORS)]


def new_page(title: str, caption: str = "", subtitle: str = "") -> Figure:
    """An empty A4 landscape page with a title and a caption at the foot."""
    figure = Figure(figsize=PAGE_SIZE)
    figure.text(0.04, 0.955, title, fontsize=15, fontweight="bold", va="top")
    if subtitle:
        figure.text(0.04, 0.915, subtitle, fontsize=9, va="top", color="#333333")
    if caption:
        figure.text(0.04, 0.02, textwrap.fill(caption, 175), fontsize=8.5, va="bottom")
    return figure


def message_page(title: str, message: str) -> Figure:
    """A page that says, in its body, why there is nothing to draw."""
    figure = new_page(title)
    figure.text(0.5, 0.55, textwrap.fill(message, 90), fontsize=12, ha="center", va="center")
    return figure


def _chunks(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[start : start + size] for start in range(0, max(len(frame), 1), size)]


def table_pages(
    title: str,
    caption: str,
    frame: pd.DataFrame,
    bold_column: str | None = None,
    color_column: str | None = None,
    column_widths: Sequence[float] | None = None,
    subtitle: str = "",
    rows_per_page: int = TABLE_ROWS_PER_PAGE,
    wrap: int = 0,
) -> list[Figure]:
    """A table over as many pages as it needs; a row flagged in `bold_column` is bold, and
    `color_column` (a column of colours or "") tints that row's first cells' text."""
    columns = [c for c in frame.columns if c not in (bold_column, color_column)]
    pages = []
    chunks = _chunks(frame, rows_per_page)
    for index, chunk in enumerate(chunks):
        page_title = title if index == 0 else f"{title} (continued)"
        figure = new_page(page_title, caption, subtitle if index == 0 else "")
        top = 0.80 if index == 0 and subtitle.count("\n") >= 2 else 0.87
        axis = figure.add_axes((0.04, 0.12, 0.92, top - 0.12))
        axis.axis("off")
        if not len(chunk):
            axis.text(0, 1, "(no rows)", fontsize=10, va="top")
            pages.append(figure)
            continue
        cells = [
            [textwrap.fill(str(row[c]), wrap) if wrap else str(row[c]) for c in columns]
            for _, row in chunk.iterrows()
        ]
        table = axis.table(
            cellText=cells,
            colLabels=columns,
            colWidths=column_widths,
            loc="upper center",
            cellLoc="left",
            colLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        lines = max(1, max(cell.count("\n") + 1 for row in cells for cell in row))
        table.scale(1, 1.25 + 0.55 * (lines - 1) if wrap else 1.35)
        for (row, _column), cell in table.get_celld().items():
            cell.set_edgecolor("#DDDDDD")
            if row == 0:
                cell.set_facecolor("#EEF2F7")
                cell.get_text().set_fontweight("bold")
        for position, (_, row) in enumerate(chunk.iterrows(), start=1):
            if bold_column and row[bold_column]:
                for column in range(len(columns)):
                    table[position, column].get_text().set_fontweight("bold")
            if color_column and row[color_column]:
                table[position, len(columns) - 1].get_text().set_color(row[color_column])
        pages.append(figure)
    return pages


def _legend_below(figure: Figure, models: Sequence[str], truth: bool = False) -> None:
    handles = [Line2D([], [], color=model_color(m), linewidth=3) for m in models]
    labels = list(models)
    if truth:
        handles.insert(0, Line2D([], [], color="black", linewidth=3))
        labels.insert(0, "truth")
    figure.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, 0.075),
    )


def learning_curves(axis: Axes, curves: pd.DataFrame, models: Sequence[str], ylabel: str) -> None:
    """Validation loss against epoch: mean line over seeds, band from min to max."""
    for model in models:
        runs = [
            group["value"].to_numpy()
            for _, group in curves[curves["model"] == model].groupby("seed")
        ]
        if not runs:
            continue
        epochs, mean, low, high = mean_band(runs)
        color = model_color(model)
        axis.plot(epochs + 1, mean, color=color, linewidth=1.6, marker="o", markersize=2.5)
        if len(runs) > 1:
            axis.fill_between(epochs + 1, low, high, color=color, alpha=0.18, linewidth=0)
    axis.set_xlabel("epoch")
    if len(curves):
        axis.set_xlim(0.5, curves.groupby(["model", "seed"]).size().max() + 0.5)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    axis.set_ylabel(ylabel)
    if _spans_a_decade(curves["value"].to_numpy(float)):
        axis.set_yscale("log")
    axis.grid(alpha=0.3)


def _spans_a_decade(values: np.ndarray) -> bool:
    """Log scale only when positive values span 10x or more; below that it hides detail and
    crowds the axis with minor labels."""
    values = values[np.isfinite(values)]
    return bool(len(values)) and (values > 0).all() and values.max() / values.min() >= 10


def metric_bars(axis: Axes, summary: pd.DataFrame, metric_label: str) -> None:
    """The headline test metric per model: bar at the mean, whisker over the 95% CI;
    models without a finished run are marked as missing."""
    positions = np.arange(len(summary))
    for position, (_, row) in zip(positions, summary.iterrows(), strict=True):
        color = model_color(row["model"])
        if not np.isfinite(row["mean"]):
            axis.text(position, 0, "missing", rotation=90, ha="center", va="bottom", fontsize=7)
            continue
        hatch = "//" if row.get("baseline") else None
        axis.bar(position, row["mean"], color=color, hatch=hatch, edgecolor="white", width=0.7)
        if np.isfinite(row["ci_low"]):
            axis.errorbar(
                position,
                row["mean"],
                yerr=[[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]],
                color="black",
                capsize=3,
                linewidth=1,
            )
    axis.set_xticks(positions, summary["model"], rotation=35, ha="right", fontsize=7.5)
    axis.set_ylabel(metric_label)
    means = summary["mean"].to_numpy(float)
    means = means[np.isfinite(means)]
    if len(means) and (means >= 0).all():
        # Bars start at zero; all-zero bars (chance-level accuracy) still get a visible scale.
        axis.set_ylim(bottom=0, top=None if means.max() > 0 else 1)
    limit = _far_off_limit(summary["ci_high"].fillna(summary["mean"]).to_numpy(float))
    if limit is not None:
        axis.set_ylim(top=limit)
        for position, value in zip(positions, summary["mean"], strict=True):
            if np.isfinite(value) and value > limit:
                axis.text(
                    position,
                    limit * 0.97,
                    f"{value:.3g} ↑",
                    ha="center",
                    va="top",
                    fontsize=7,
                    rotation=90,
                    color="white",
                )
    axis.grid(axis="y", alpha=0.3)


def _far_off_limit(values: np.ndarray) -> float | None:
    """An upper axis limit that leaves out one far-off value (the naive forecast on seasonal
    data is 10x worse than everything else and would flatten the rest), or None."""
    values = values[np.isfinite(values)]
    if len(values) > 2 and values.max() > 3 * np.median(values) > 0:
        return float(1.15 * values[values <= 3 * np.median(values)].max())
    return None


def quality_against_time(axis: Axes, runs: pd.DataFrame, metric: str, metric_label: str) -> None:
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


def family_page(
    family: str,
    datasets: Sequence[str],
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    curves: pd.DataFrame,
) -> Figure:
    """One row per dataset: learning curves, test metric with CIs, quality against time."""
    models = _models_of(summary[summary["dataset"].isin(datasets)])
    figure = new_page(
        f"Task family: {family}",
        "Left: validation loss per epoch (line = mean over seeds, band = min to max; curves "
        "stop where early stopping ended a run). Middle: the headline test metric, mean with "
        "95% bootstrap CI over seeds; hatched bars are non-neural baselines (deterministic, one "
        "run). Right: every run's test metric against its training time (squares: baselines; "
        "those under 1 ms are drawn at 1 ms). A value far off the scale is drawn at the top "
        "edge with its value and an arrow. Look for a GRU that is lower/higher than SimpleRNN "
        "and LSTM beyond the whiskers, and for where it sits on the time axis.",
    )
    grid = figure.add_gridspec(
        len(datasets), 3, left=0.08, right=0.98, top=0.88, bottom=0.2, hspace=0.75, wspace=0.32
    )
    for row, dataset in enumerate(datasets):
        of_dataset = summary[summary["dataset"] == dataset]
        metric = of_dataset["metric"].iloc[0]
        arrow = "higher is better" if of_dataset["higher_is_better"].iloc[0] else "lower is better"
        label = f"test {metric.removeprefix('test_')}"
        curves_axis = figure.add_subplot(grid[row, 0])
        learning_curves(
            curves_axis, curves[curves["dataset"] == dataset], models, "validation loss"
        )
        curves_axis.set_title(f"{dataset}: learning curves", fontsize=9)
        bars_axis = figure.add_subplot(grid[row, 1])
        metric_bars(bars_axis, of_dataset, label)
        bars_axis.set_title(f"{dataset}: {label} ({arrow})", fontsize=9)
        time_axis = figure.add_subplot(grid[row, 2])
        quality_against_time(time_axis, runs[runs["dataset"] == dataset], metric, label)
        time_axis.set_title(f"{dataset}: quality against time", fontsize=9)
    _legend_below(figure, models)
    return figure


def _models_of(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary["model"]))


def forecast_page(stretches: pd.DataFrame, datasets: Sequence[str]) -> Figure:
    """Per dataset, the truth and every model's forecasts on the same test windows (seed 0)."""
    figure = new_page(
        "Forecasting: forecasts on the test split",
        "The same back-to-back test windows for every model (first seed of each network; "
        "baselines are deterministic). Black: the truth. Each window is forecast from its own "
        "origin with the full horizon, so breaks between windows are expected. Look at whether "
        "the networks follow the daily or yearly shape that seasonal naive copies and ETS smooths.",
    )
    grid = figure.add_gridspec(
        len(datasets), 1, left=0.07, right=0.98, top=0.88, bottom=0.2, hspace=0.55
    )
    models = list(dict.fromkeys(stretches["model"]))
    for row, dataset in enumerate(datasets):
        axis = figure.add_subplot(grid[row, 0])
        of_dataset = stretches[stretches["dataset"] == dataset]
        if not len(of_dataset):
            axis.text(0.5, 0.5, "no forecast artifacts", ha="center", transform=axis.transAxes)
            continue
        first = of_dataset[of_dataset["model"] == of_dataset["model"].iloc[0]]
        first = first[first["seed"] == first["seed"].min()].reset_index(drop=True)
        positions = np.arange(len(first))
        axis.plot(positions, first["truth"], color="black", linewidth=1.8, label="truth")
        for model in models:
            forecast = of_dataset[of_dataset["model"] == model]
            if not len(forecast):
                continue
            forecast = forecast[forecast["seed"] == forecast["seed"].min()].reset_index(drop=True)
            for _, window in forecast.groupby("origin", sort=False):
                axis.plot(window.index, window["forecast"], color=model_color(model), linewidth=1.0)
        step = max(1, len(first) // 8)
        axis.set_xticks(
            positions[::step], [str(t)[:16] for t in first["time"].iloc[::step]], fontsize=7
        )
        axis.set_ylabel("value (original units)", fontsize=8)
        axis.set_title(f"{dataset}: {first['origin'].nunique()} test windows", fontsize=9)
        axis.grid(alpha=0.3)
    _legend_below(figure, models, truth=True)
    return figure


def gradient_page(
    gradients: pd.DataFrame, datasets: Sequence[str], models: Sequence[str]
) -> Figure:
    """‖∂L/∂h_t‖ against distance from the loss, at initialization and after training."""
    figure = new_page(
        "Inside the cells: how far back do gradients reach?",
        "Mean norm of the gradient of each example's loss with respect to the hidden state h_t, "
        "against how many steps t lies before the last input (log scale; mean over seeds and 64 "
        "fixed validation examples). A flat line means the loss still 'sees' early steps; a line "
        f"falling to the bottom means the gradient vanished (values under {FLOOR:g}, beyond float32, "
        "are drawn at that floor). Compare SimpleRNN with the gated cells after training.",
    )
    grid = figure.add_gridspec(
        len(datasets), 2, left=0.08, right=0.98, top=0.88, bottom=0.2, hspace=0.5, wspace=0.2
    )
    for row, dataset in enumerate(datasets):
        for column, stage in enumerate(("initial", "trained")):
            axis = figure.add_subplot(grid[row, column])
            of_stage = gradients[(gradients["dataset"] == dataset) & (gradients["stage"] == stage)]
            for model in models:
                curve = of_stage[of_stage["model"] == model].groupby("distance")["norm"].mean()
                if len(curve):
                    axis.plot(
                        curve.index,
                        curve.clip(lower=FLOOR),
                        color=model_color(model),
                        linewidth=1.6,
                    )
            axis.set_yscale("log")
            axis.set_xlabel("distance from the last step (steps)")
            axis.set_ylabel("‖∂L/∂h_t‖")
            when = "at initialization" if stage == "initial" else "after training"
            axis.set_title(f"{dataset}: {when}", fontsize=9)
            axis.grid(alpha=0.3)
    _legend_below(figure, models)
    return figure


def gates_page(dataset: str, gates: dict[str, np.ndarray], examples: int = 2) -> Figure:
    """Heat maps of the custom GRU's update and reset gates over time for a few inputs."""
    figure = new_page(
        f"Inside the cells: custom GRU gate activity on {dataset}",
        "Top: the input features of each example over time. Middle: the update gate z_t of every "
        "unit (1 = take the new content, 0 = keep the old state). Bottom: the reset gate r_t "
        "(0 = ignore the previous state when proposing new content). Trained model, first seed. "
        "On the adding problem, look for units whose update gate opens only at the marked steps.",
    )
    count = min(examples, len(gates["update"]))
    grid = figure.add_gridspec(
        3,
        count,
        left=0.07,
        right=0.93,
        top=0.88,
        bottom=0.13,
        hspace=0.45,
        wspace=0.15,
        height_ratios=(1, 2, 2),
    )
    for column in range(count):
        inputs = gates["inputs"][column]
        axis = figure.add_subplot(grid[0, column])
        for feature in range(inputs.shape[-1]):
            axis.plot(inputs[:, feature], linewidth=0.9, label=f"feature {feature}")
        axis.set_xlim(0, len(inputs) - 1)
        axis.set_title(f"example {column + 1}: inputs", fontsize=9)
        axis.set_xlabel("time step")
        axis.set_ylabel("value")
        if inputs.shape[-1] <= 4:
            axis.legend(fontsize=7, loc="upper right")
        for row, gate in ((1, "update"), (2, "reset")):
            axis = figure.add_subplot(grid[row, column])
            image = axis.imshow(
                gates[gate][column].T,
                aspect="auto",
                cmap="viridis",
                vmin=0,
                vmax=1,
                interpolation="nearest",
            )
            axis.set_title(f"example {column + 1}: {gate} gate", fontsize=9)
            axis.set_xlabel("time step")
            axis.set_ylabel("unit")
    colorbar_axis = figure.add_axes((0.945, 0.13, 0.012, 0.5))
    figure.colorbar(image, cax=colorbar_axis, label="gate activation")
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


def confusion_page(title: str, caption: str, matrices: dict[str, pd.DataFrame]) -> Figure:
    """One confusion-matrix heat map per model (up to four), counts in the cells."""
    figure = new_page(title, caption)
    models = list(matrices)[:4]
    for index, model in enumerate(models):
        counts = matrices[model]
        axis = figure.add_axes((0.07 + 0.47 * (index % 2), 0.52 - 0.38 * (index // 2), 0.36, 0.29))
        draw_confusion(
            axis, counts.to_numpy(), counts.index, tick_size=7, label_size=8, count_size=6
        )
        axis.set_title(model, fontsize=10, color=model_color(model), fontweight="bold")
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
