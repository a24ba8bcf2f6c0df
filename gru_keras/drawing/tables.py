"""A table drawn on a matplotlib axis, and where it ends: the one table drawer of the report
pages and the families' panels."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
