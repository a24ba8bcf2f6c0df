"""Compiled models kept across the runs of one process, so that a run shaped like an earlier
one reuses its traced train, test and predict functions instead of tracing them again.

Tracing a recurrent model's steps costs seconds (its time loop and that loop's gradient),
once per model object. Runs that differ only in their seed build the same graph, so a
worker keeps the last compiled model of each shape and gives it the new run's state:

- the weights, random-seed states included, of a model freshly built under the new seed;
- the variables of a fresh optimizer (iterations, learning rate, zeroed slots).

That is exactly the state a freshly compiled model starts from, so a run gives the same
metrics whether or not its model was reused (`tests/experiment/test_reuse.py` pins it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import keras

CAPACITY = 2  # compiled models kept per process; a worker mostly runs one shape at a time


class CompiledModels:
    """The last `capacity` compiled models of a process, by shape key, least recent evicted.

    Args:
        capacity: How many compiled models to keep (0 turns reuse off).
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._models: OrderedDict[Hashable, keras.Model] = OrderedDict()
        self.hits = 0

    def model_for(
        self,
        key: Hashable,
        fresh: keras.Model,
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
        compile_model: Callable[[keras.Model], None],
    ) -> keras.Model:
        """A compiled model in `fresh`'s initial state: the kept one of this key given that
        state, or `fresh` itself, compiled and kept.

        Args:
            key: What makes two runs' graphs the same (everything in the run's config but its
                seed, plus units and XLA).
            fresh: The run's model, just built under its seed (not compiled).
            make_optimizer: A new optimizer as the run configures it.
            compile_model: Compiles a model as the run configures it.
        """
        kept = self._models.get(key)
        if kept is not None and _take_state(kept, fresh, make_optimizer()):
            self._models.move_to_end(key)
            self.hits += 1
            return kept
        compile_model(fresh)
        if self.capacity > 0:
            self._models[key] = fresh
            self._models.move_to_end(key)
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return fresh


def _take_state(
    kept: keras.Model, fresh: keras.Model, optimizer: keras.optimizers.Optimizer
) -> bool:
    """Give `kept` the variables of `fresh` and of a fresh `optimizer`; False (and nothing
    changed) when the two do not line up, so the caller compiles `fresh` instead."""
    if kept.optimizer is None or not kept.optimizer.built:
        return False
    optimizer.build(kept.trainable_variables)
    if len(kept.variables) != len(fresh.variables) or len(kept.optimizer.variables) != len(
        optimizer.variables
    ):
        return False
    pairs = [
        *zip(kept.variables, fresh.variables, strict=True),
        *zip(kept.optimizer.variables, optimizer.variables, strict=True),
    ]
    if any(a.shape != b.shape or a.dtype != b.dtype for a, b in pairs):
        return False
    for target, source in pairs:
        target.assign(source)
    kept.stop_training = False
    return True


# The process's one cache: a worker (or the sequential executor) keeps it across its runs.
COMPILED = CompiledModels()
