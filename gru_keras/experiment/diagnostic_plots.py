"""One run's diagnostics as pictures, logged next to their tables so the MLflow UI shows them.

Each `draw_*` function takes an `Axes` and returns it (the report draws across runs; these
draw one run). Figures are built without pyplot, so worker processes need no GUI backend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gru_keras import schema

STAGE_STYLES = {"initial": ("#999999", "--"), "trained": ("#1f4e9c", "-")}


def draw_gradient_reach(axis: Axes, table: pd.DataFrame) -> Axes:
    """‖∂L/∂h_t‖ against the distance back from the last step, one line per stage, on a
    log scale. Norms of exactly 0 (float32 underflow) are drawn at `schema.GRADIENT_FLOOR`
    as open markers and labelled "underflow", never as a 0 a log axis cannot show."""
    for stage, rows in table.groupby("stage", sort=False):
        rows = rows.sort_values("distance")
        norms = rows["norm"].to_numpy(dtype=float)
        shown = np.where(norms > 0, norms, schema.GRADIENT_FLOOR)
        color, style = STAGE_STYLES.get(stage, ("#444444", "-"))
        axis.plot(rows["distance"], shown, style, color=color, label=stage)
        under = norms <= 0
        if under.any():
            axis.plot(
                rows["distance"][under],
                shown[under],
                "o",
                markerfacecolor="none",
                color=color,
                label=f"{stage}: {schema.UNDERFLOW} (< {schema.GRADIENT_FLOOR:.1e})",
            )
    axis.set_yscale("log")
    axis.set_xlabel("steps back from the last step")
    axis.set_ylabel("mean ‖∂L/∂h_t‖")
    axis.legend(frameon=False, fontsize=8)
    return axis


def draw_gate(axis: Axes, values: np.ndarray, title: str) -> Axes:
    """One gate's activations of one example, units by time steps, on [0, 1]."""
    image = axis.imshow(np.asarray(values).T, aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("time step")
    axis.set_ylabel("unit")
    axis.figure.colorbar(image, ax=axis, fraction=0.05, pad=0.02)
    return axis


def gradient_reach_figure(table: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6, 3.6), layout="constrained")
    axis = figure.add_subplot()
    draw_gradient_reach(axis, table)
    axis.set_title("How far back the loss gradient reaches (64 validation examples)", fontsize=9)
    return figure


def gates_figure(gates: dict[str, np.ndarray]) -> Figure:
    """The update and reset gates of the first example (`diagnostics.gate_activity`)."""
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    draw_gate(left, gates["update"][0], "update gate z (1 = take the new content)")
    draw_gate(right, gates["reset"][0], "reset gate r (0 = forget the past)")
    return figure
