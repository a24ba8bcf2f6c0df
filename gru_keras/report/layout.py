"""Page layout shared by every report page: A4 landscape pages with a title and a caption,
tables over as many pages as they need, one colour per model on every page.

Pure functions from tables to matplotlib Figures: nothing here reads MLflow or writes files."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gru_keras import schema

PAGE_SIZE = (11.69, 8.27)  # A4 landscape, inches

# Okabe-Ito colours (distinguishable with colour-blindness); the two GRUs share a hue family.
MODEL_COLORS = {
    schema.CUSTOM_GRU: "#0072B2",
    schema.KERAS_GRU: "#56B4E9",
    schema.LSTM: "#E69F00",
    schema.SIMPLE_RNN: "#009E73",
    "naive": "#999999",
    "seasonal_naive": "#666666",
    "ets": "#CC79A7",
}

EXTRA_COLORS = ("#D55E00", "#F0E442", "#000000", "#8C564B", "#7F7F7F")

# Line style and marker per variant, so curves stay apart in greyscale and where the two GRU
# blues overlap.
MODEL_STYLES = {
    schema.SIMPLE_RNN: ("-", "o"),
    schema.LSTM: ("--", "s"),
    schema.KERAS_GRU: ("-.", "^"),
    schema.CUSTOM_GRU: (":", "D"),
}

TABLE_ROWS_PER_PAGE = 24


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
        # Each line wrapped to the page: a family's finding can be longer than one line.
        wrapped = "\n".join(textwrap.fill(line, 185) for line in subtitle.splitlines())
        figure.text(0.04, 0.915, wrapped, fontsize=9, va="top", color="#333333")
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


def draw_table(
    axis: Axes,
    frame: pd.DataFrame,
    bold_column: str | None = None,
    color_column: str | None = None,
    column_widths: Sequence[float] | None = None,
    wrap: int = 0,
    font_size: float = 8,
    row_scale: float = 1.35,
) -> Axes:
    """`frame` as a table from the top of `axis`: a row flagged in `bold_column` is bold,
    and `color_column` (a column of colours or "") tints that row's last cell; cells wrap
    at `wrap` characters (0: never). A long table fits more rows with a smaller
    `font_size` and `row_scale`."""
    columns = [c for c in frame.columns if c not in (bold_column, color_column)]
    axis.axis("off")
    if not len(frame):
        axis.text(0, 1, "(no rows)", fontsize=10, va="top")
        return axis
    cells = [
        [textwrap.fill(str(row[c]), wrap) if wrap else str(row[c]) for c in columns]
        for _, row in frame.iterrows()
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
    table.set_fontsize(font_size)
    # Each row as tall as its longest wrapped cell: one long reason in a cell does not
    # make every row of the page tall.
    lines = [1] + [max(cell.count("\n") + 1 for cell in row) for row in cells]
    for (row, _column), cell in table.get_celld().items():
        tall = row_scale if lines[row] == 1 else row_scale * 0.67 * lines[row]
        cell.set_height(cell.get_height() * tall)
        cell.set_edgecolor("#DDDDDD")
        if row == 0:
            cell.set_facecolor("#EEF2F7")
            cell.get_text().set_fontweight("bold")
    for position, (_, row) in enumerate(frame.iterrows(), start=1):
        if bold_column and row[bold_column]:
            for column in range(len(columns)):
                table[position, column].get_text().set_fontweight("bold")
        if color_column and row[color_column]:
            table[position, len(columns) - 1].get_text().set_color(row[color_column])
    return axis


def table_bottom(axis: Axes) -> float:
    """The page height (figure fraction) at which the table `draw_table` put on `axis` ends."""
    if not axis.tables:
        return axis.get_position().y1
    table = axis.tables[0]
    used = sum(
        cell.get_height() for (_row, column), cell in table.get_celld().items() if column == 0
    )
    used += table.AXESPAD  # the gap an "upper" table leaves under the top of its axes
    bottom, height = axis.get_position().y0, axis.get_position().height
    return bottom + height * (1 - used)


def model_style(model: str) -> dict[str, str]:
    """Keyword arguments of `plot` for the model's line: colour, line style and marker."""
    linestyle, marker = MODEL_STYLES.get(model, ("-", "o"))
    return {"color": model_color(model), "linestyle": linestyle, "marker": marker}


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
