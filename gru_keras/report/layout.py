"""Page layout shared by every report page: A4 landscape pages with a title and a caption,
tables over as many pages as they need, one legend of the models' styles.

Pure functions from tables to matplotlib Figures: nothing here reads MLflow or writes files."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gru_keras.drawing.colors import model_style
from gru_keras.drawing.tables import draw_table

PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches

TABLE_ROWS_PER_PAGE = 24


# The subtitle's characters a line (9 pt on the A4 landscape page between its margins), and
# the height of one of its lines as a share of the page.
SUBTITLE_WRAP, SUBTITLE_LINE = 160, 0.0185
SUBTITLE_TOP = 0.915


def wrap_subtitle(subtitle: str) -> str:
    """Each line of `subtitle` wrapped to the page: a family's finding can run to lines."""
    return "\n".join(textwrap.fill(line, SUBTITLE_WRAP) for line in subtitle.splitlines())


def below_subtitle(subtitle: str, top: float, gap: float = 0.03) -> float:
    """`top` for the plots of a page, or lower where its wrapped subtitle reaches further
    down than `gap` above it (the plots' titles sit in that gap)."""
    lines = len(wrap_subtitle(subtitle).splitlines()) if subtitle else 0
    return min(top, SUBTITLE_TOP - SUBTITLE_LINE * lines - gap)


def new_page(title: str, caption: str = "", subtitle: str = "") -> Figure:
    """An empty A4 landscape page with a title and a caption at the foot."""
    figure = Figure(figsize=PAGE_SIZE)
    figure.text(0.04, 0.955, title, fontsize=15, fontweight="bold", va="top")
    if subtitle:
        figure.text(
            0.04, SUBTITLE_TOP, wrap_subtitle(subtitle), fontsize=9, va="top", color="#333333"
        )
    if caption:
        add_caption(figure, caption)
    return figure


def add_caption(figure: Figure, caption: str) -> None:
    """The page's caption, wrapped, at its foot (for a page whose caption is known only
    after its plots are drawn)."""
    figure.text(0.04, 0.02, textwrap.fill(caption, 175), fontsize=8.5, va="bottom")


def _chunks(frame: pd.DataFrame, size: int, group: str | None = None) -> list[pd.DataFrame]:
    """Pages of at most `size` rows, as even as can be (no page of a few leftover rows), and
    with `group`, a group's rows (one dataset's) on one page wherever the group fits."""
    if len(frame) <= size:
        return [frame]
    pages = -(-len(frame) // size)
    target = -(-len(frame) // pages)  # balanced: 25 rows at 24 a page are 13 + 12
    blocks = (
        [rows for _, rows in frame.groupby(group, sort=False)]
        if group
        else [frame.iloc[[index]] for index in range(len(frame))]
    )
    chunks, current = [], []
    for block in blocks:
        filled = sum(len(part) for part in current)
        if current and (filled + len(block) > size or filled >= target):
            chunks.append(pd.concat(current))
            current = []
        current.append(block)
    chunks.append(pd.concat(current))
    # A group longer than a page is split plainly.
    return [
        chunk.iloc[start : start + size] for chunk in chunks for start in range(0, len(chunk), size)
    ]


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
    group: str | None = "dataset",
    font_size: float = 8,
    row_scale: float = 1.35,
) -> list[Figure]:
    """A table over as many pages as it needs, balanced and keeping each `group`'s rows
    together (`_chunks`); see `draw_table` for the other arguments."""
    pages = []
    chunks = _chunks(frame, rows_per_page, group if group in frame else None)
    for index, chunk in enumerate(chunks):
        page_title = title if index == 0 else f"{title} (continued)"
        figure = new_page(page_title, caption, subtitle if index == 0 else "")
        top = 0.80 if index == 0 and subtitle.count("\n") >= 2 else 0.87
        axis = figure.add_axes((0.04, 0.12, 0.92, top - 0.12))
        draw_table(
            axis, chunk, bold_column, color_column, column_widths, wrap, font_size, row_scale
        )
        pages.append(figure)
    return pages


def legend_below(
    figure: Figure, models: Sequence[str], truth: bool = False, y: float = 0.075
) -> None:
    """One legend of the models' line styles across the page, its foot at height `y`."""
    handles = [Line2D([], [], linewidth=2, markersize=4, **model_style(m)) for m in models]
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
        bbox_to_anchor=(0.5, y),
    )


def chunked(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
