"""A confusion matrix as a heat map on a matplotlib axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
