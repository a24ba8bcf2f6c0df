"""Every MLflow search, paged to the end.

A search call returns one page (MLflow's default is 1,000 runs, and a store may cap a page
lower), so a single call silently drops the rest of a large store: the decision map's grids
and long-lived stores exceed a page. Everything that lists runs or experiments goes through
here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities import Experiment, Run
    from mlflow.tracking import MlflowClient

# Runs per request; a module attribute so a test can make pages tiny and see them joined.
PAGE_SIZE = 1000


def all_runs(
    client: MlflowClient,
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: list[str] | None = None,
) -> list[Run]:
    """Every run matching the search, all pages of it, in the order asked for."""
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            order_by=order_by,
            max_results=PAGE_SIZE,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def all_experiments(client: MlflowClient) -> list[Experiment]:
    """Every active experiment of the store, all pages."""
    experiments: list[Experiment] = []
    token = None
    while True:
        page = client.search_experiments(max_results=PAGE_SIZE, page_token=token)
        experiments.extend(page)
        token = page.token
        if not token:
            return experiments
