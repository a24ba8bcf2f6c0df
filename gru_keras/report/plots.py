"""Report plots: functions that take an `ax`, draw on it and return it (in the style of
rliable); `gru_keras.report.pages` composes them into pages. Pure functions from tables to
matplotlib Axes; nothing here reads MLflow or writes files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from gru_keras import schema
from gru_keras.analysis.stats import mean_band
from gru_keras.drawing.colors import model_color, model_style

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


def gradient_reach(axis: Axes, of_stage: pd.DataFrame, models: Sequence[str]) -> Axes:
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


def gate_map(axis: Axes, values: np.ndarray, title: str) -> Any:
    image = axis.imshow(
        values.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
    )
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("time step", fontsize=8)
    axis.set_ylabel("unit", fontsize=8)
    return image


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
