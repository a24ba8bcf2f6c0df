"""Everything the report shows, gathered from the tracking store in one pass."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.analysis import runs as stored
from gru_keras.analysis.aggregates import AcrossDatasets, across_datasets, normalized_scores
from gru_keras.analysis.tables import head_to_head, summary_table, with_convergence
from gru_keras.families import FAMILIES, TASKS
from gru_keras.variants import VARIANTS


@dataclass
class ReportInputs:
    """Everything the report shows, as read from the tracking store."""

    experiment: str
    tracking_uri: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    pairs: pd.DataFrame
    across: AcrossDatasets | None
    curves: pd.DataFrame
    gradients: pd.DataFrame
    gates: dict[str, dict[str, np.ndarray]]
    tables: dict[str, pd.DataFrame]
    bench: pd.DataFrame | None


def gather(
    client: MlflowClient,
    experiment: str,
    expected: list[tuple[str, str, str, str, int]] | None = None,
) -> ReportInputs:
    """Read one experiment's runs, curves, diagnostics and family artifacts from MLflow."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    runs = stored.load_runs(client, experiment)
    if expected:
        runs = stored.add_missing(runs, expected)
    if not len(runs):
        raise ValueError(f"experiment {experiment!r} has no runs to report")
    recurrent = runs[runs["model"].isin(list(VARIANTS))]
    curves = stored.load_curves(client, recurrent)
    runs = with_convergence(runs, curves)
    summary = summary_table(runs, TASKS)
    tables = {}
    for family in FAMILIES.values():
        of_family = runs[runs["family"] == family.name]
        for path, name in family.tables.items():
            tables[name] = (
                stored.load_table_artifacts(client, of_family, path)
                if len(of_family)
                else pd.DataFrame()
            )
    return ReportInputs(
        experiment=experiment,
        tracking_uri=client.tracking_uri,
        runs=runs,
        summary=summary,
        pairs=head_to_head(runs, TASKS),
        across=across_datasets(normalized_scores(runs, summary, TASKS), list(VARIANTS)),
        curves=curves,
        gradients=stored.load_table_artifacts(client, recurrent, schema.GRADIENT_FILE),
        gates=stored.load_gate_arrays(client, runs),
        tables=tables,
        bench=stored.load_bench(client, experiment),
    )
