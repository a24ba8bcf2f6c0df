"""Where a run's wall time goes: named parts (`schema.TIME_PARTS`), summed per run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from gru_keras import schema


class Stopwatch:
    """Wall seconds per part of a run. Parts nest only by `move`: time measured inside one
    part (MLflow writes during `fit`) is moved to another afterwards."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(schema.TIME_PARTS, 0.0)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def move(self, seconds: float, source: str, target: str) -> None:
        """Count `seconds` of `source` as `target` (never more than `source` holds)."""
        seconds = max(0.0, min(seconds, self.seconds[source]))
        self.seconds[source] -= seconds
        self.seconds[target] += seconds

    def metrics(self) -> dict[str, float]:
        return {schema.time_metric(name): value for name, value in self.seconds.items()}
