"""Every MLflow search, paged to the end.

A search call returns one page (MLflow's default is 1,000 runs, and a store may cap a page
lower), so a single call silently drops the rest of a large store: the decision map's grids
and long-lived stores exceed a page. Everything that lists runs or experiments goes through
here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.entities import Experiment, Run
    from mlflow.store.entities.paged_list import PagedList
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
    return _every_page(
        lambda token: client.search_runs(
            list(experiment_ids),
            filter_string=filter_string,
            order_by=order_by,
            max_results=PAGE_SIZE,
            page_token=token,
        )
    )


def all_experiments(client: MlflowClient) -> list[Experiment]:
    """Every active experiment of the store, all pages."""
    return _every_page(
        lambda token: client.search_experiments(max_results=PAGE_SIZE, page_token=token)
    )


def _every_page(search: Callable[[str | None], PagedList]) -> list:
    """The items of `search(token)`, page after page, until a page has no next token."""
    items: list = []
    token = None
    while True:
        page = search(token)
        items.extend(page)
        token = page.token
        if not token:
            return items
