"""Registry from dataset name to its loader, settings and task.

Each task family has its own module here; a module registers its datasets by adding
`DatasetSpec`s to `DATASETS`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gru_keras.registry import Registry


class DataError(ValueError):
    """The data a config points at cannot be used (missing file, bad column...); the message
    names the problem. The runner reports it as a config error before any run starts."""


Inputs = np.ndarray | dict[str, np.ndarray]


@dataclass
class SequenceData:
    """A dataset split three ways. Arrays are batch-first; `x_*` are `(examples, time,
    features)` arrays, or for models with several inputs (seq2seq) a dict of such arrays
    keyed by input name.

    Attributes:
        name: Registry name of the loader.
        x_train, y_train, x_val, y_val, x_test, y_test: The splits.
        info: Facts for logging (sizes, lengths, baselines...); `info["input_dim"]` gives
            the input size when the inputs are token ids.
    """

    name: str
    x_train: Inputs
    y_train: np.ndarray
    x_val: Inputs
    y_val: np.ndarray
    x_test: Inputs
    y_test: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        if "input_dim" in self.info:
            return int(self.info["input_dim"])
        return int(self.x_train.shape[-1])

    @property
    def train_size(self) -> int:
        return len(self.y_train)

    def digest(self) -> str:
        """A short hash of every array, so a run records exactly which data it saw."""
        sha = hashlib.sha256()
        for part in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            arrays = [part[key] for key in sorted(part)] if isinstance(part, dict) else [part]
            for array in arrays:
                sha.update(np.ascontiguousarray(array).tobytes())
        return sha.hexdigest()[:16]


@dataclass(frozen=True)
class DatasetSpec:
    """How to make one dataset.

    Attributes:
        name: Registry name used in configs.
        family: Task family it belongs to (groups timing and reports).
        task: Registry name of the task (head, loss, metrics) that fits it.
        settings: Dataclass of its config keys, validated by `gru_keras.config`.
        load: `load(settings) -> SequenceData`, deterministic given the settings.
        description: One line for data cards and `--help`.
    """

    name: str
    family: str
    task: str
    settings: type
    load: Callable[[Any], SequenceData]
    description: str


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.register(spec.name, spec)


def get_dataset(name: str) -> DatasetSpec:
    """The registered dataset `name`; ValueError naming the valid choices otherwise."""
    return DATASETS.lookup(name)


# Importing the family modules fills the registry.
from gru_keras.datasets import forecasting, probes, speech, translation  # noqa: E402, F401
