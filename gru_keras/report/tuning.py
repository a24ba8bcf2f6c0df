"""The tuning report's pages: the budget each variant spent and what it chose, every trial's
validation loss against each tuned value, the expected best against the number of trials,
the importances, and how early a rung could have ranked the trials.

Pure functions from tables to matplotlib Figures; `gru_keras.tuning` gathers the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from gru_keras.drawing.colors import model_color
from gru_keras.drawing.tables import draw_table
from gru_keras.report.layout import legend_below, new_page, table_pages


def trials_axes(ax: Axes, trials: pd.DataFrame, parameter: str, log: bool, title: str = "") -> Axes:
    """One variant's trials: validation loss against `parameter`. Complete trials filled,
    pruned ones hollow (their value at the rung that stopped them), failed ones as crosses
    at the top, the chosen one a star."""
    color = model_color(str(trials["model"].iloc[0])) if len(trials) else "black"
    finite = trials["objective"].dropna()
    top = float(finite.max()) if len(finite) else 1.0
    for state, style in (
        ("complete", {"marker": "o", "facecolors": color, "edgecolors": color}),
        ("pruned", {"marker": "o", "facecolors": "none", "edgecolors": color}),
    ):
        rows = trials[trials["state"] == state]
        ax.scatter(rows[parameter], rows["objective"], s=22, linewidths=1, **style)
    failed = trials[trials["state"] == "failed"]
    if len(failed):
        ax.scatter(failed[parameter], np.full(len(failed), top), marker="x", color="#B22222", s=28)
    chosen = trials[trials["chosen"]]
    ax.scatter(chosen[parameter], chosen["objective"], marker="*", s=160, color="black", zorder=5)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a panel
    if len(finite) and finite.min() > 0 and top / finite.min() > 5:
        ax.set_yscale("log")  # one diverging trial would flatten the rest
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(parameter, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    return ax


def expected_best_axes(ax: Axes, curves: pd.DataFrame, title: str = "") -> Axes:
    """Each variant's expected best validation loss against the number of trials."""
    for model, rows in curves.groupby("model", sort=False):
        ax.plot(
            rows["n"],
            rows["expected"],
            marker="o",
            markersize=3,
            color=model_color(model),
            label=model,
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trials", fontsize=8)
    ax.set_ylabel("expected best validation loss", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    return ax


def importance_axes(ax: Axes, importances: pd.DataFrame, title: str = "") -> Axes:
    """Each parameter's importance (fANOVA's share of the variance), one bar per variant."""
    table = importances.pivot_table(index="parameter", columns="model", values="importance")
    models = list(dict.fromkeys(importances["model"]))
    width = 0.8 / max(1, len(models))
    for index, model in enumerate(models):
        positions = np.arange(len(table)) + index * width
        ax.bar(positions, table[model].to_numpy(), width, color=model_color(model), label=model)
    ax.set_xticks(np.arange(len(table)) + width * (len(models) - 1) / 2, table.index, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("importance", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    return ax


def summary_pages(
    title: str, lines: list[str], budget: pd.DataFrame, chosen: pd.DataFrame
) -> list[Figure]:
    """The budget each variant spent, then what each chose: tables over as many pages as
    they need, a dataset's rows kept together."""
    spent = table_pages(
        title,
        "Each variant's trials and how they ended (pruned: stopped by successive halving at "
        "a rung; failed: diverged), and the epochs and seconds they spent.",
        budget,
        subtitle="\n".join(lines),
    )
    choices = table_pages(
        f"{title}: the choices",
        "Each variant's trial with the lowest validation loss (its objective); the test split "
        "was never read. These values are the settings file's.",
        chosen,
    )
    return spent + choices


def dataset_page(
    dataset: str, trials: pd.DataFrame, parameters: list[tuple[str, bool]], models: list[str]
) -> Figure:
    """One dataset: a row per tuned parameter, a column per variant."""
    figure = new_page(
        f"{dataset}: validation loss of every trial",
        subtitle="Filled: complete; hollow: pruned at a rung (its value there); x: failed; "
        "star: chosen. Lower is better.",
    )
    rows, columns = len(parameters), len(models)
    height = 0.72 / rows
    for row, (parameter, log) in enumerate(parameters):
        for column, model in enumerate(models):
            ax = figure.add_axes(
                (
                    0.06 + column * 0.92 / columns,
                    0.14 + (rows - 1 - row) * height,
                    0.92 / columns - 0.05,
                    height - 0.07,
                )
            )
            trials_axes(
                ax, trials[trials["model"] == model], parameter, log, model if row == 0 else ""
            )
    legend_below(figure, models, y=0.02)
    return figure


def curves_page(curves: pd.DataFrame, importances: pd.DataFrame, models: list[str]) -> Figure:
    datasets = list(dict.fromkeys(curves["dataset"]))
    figure = new_page(
        "Was the budget enough?",
        subtitle="Left: the expected best validation loss of n trials drawn from each variant's "
        "trials (Dodge et al. 2019); a curve still falling at the budget means more trials "
        "could still change a choice. Right: fANOVA importance of each tuned parameter, where "
        "more than one is tuned.",
    )
    count = max(1, len(datasets))
    for index, dataset in enumerate(datasets):
        bottom = 0.14 + (count - 1 - index) * 0.74 / count
        height = 0.74 / count - 0.07
        expected_best_axes(
            figure.add_axes((0.07, bottom, 0.4, height)),
            curves[curves["dataset"] == dataset],
            dataset,
        )
        mine = importances[importances["dataset"] == dataset] if len(importances) else importances
        if len(mine):
            importance_axes(figure.add_axes((0.56, bottom, 0.4, height)), mine, dataset)
    legend_below(figure, models, y=0.02)
    return figure


def tuning_pages(
    title: str,
    lines: list[str],
    trials: pd.DataFrame,
    parameters: list[tuple[str, bool]],
    budget: pd.DataFrame,
    curves: pd.DataFrame,
    importances: pd.DataFrame,
    agreement: pd.DataFrame,
) -> list[Figure]:
    """Every page of the tuning report."""
    models = list(dict.fromkeys(trials["model"]))
    names = [name for name, _ in parameters]
    chosen = trials[trials["chosen"]][["dataset", "model", "trial", "objective", *names]].copy()
    chosen["objective"] = chosen["objective"].map(lambda value: f"{value:.4g}")
    for name in names:
        chosen[name] = chosen[name].map(
            lambda value: f"{value:.4g}" if isinstance(value, float) else value
        )
    pages = summary_pages(title, lines, budget, chosen)
    pages += [
        dataset_page(dataset, rows, parameters, models)
        for dataset, rows in trials.groupby("dataset", sort=False)
    ]
    pages.append(curves_page(curves, importances, models))
    if agreement["rho"].notna().any():
        table = agreement.pivot_table(index=["dataset", "model"], columns="epoch", values="rho")
        table.columns = [f"epoch {epoch}" for epoch in table.columns]
        table = table.round(2).reset_index()
        figure = new_page(
            "How early could a rung rank the trials?",
            subtitle="Spearman's rho between each trial's best validation loss after an epoch (the "
            "columns) and its final one, over the trials that ran to the end. Successive halving at a rung with a low rho would stop settings that "
            "end up best (Wu et al. 2018); the rungs start where rho is high.",
        )
        draw_table(figure.add_axes((0.04, 0.1, 0.92, 0.72)), table, font_size=8)
        pages.append(figure)
    return pages
