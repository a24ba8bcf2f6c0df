"""The task families, and the registries of their datasets and tasks.

Adding a family is one folder here (see `base.py`) and one line in `FAMILIES`; nothing
else in the package names a family, a dataset or a task.
"""

from __future__ import annotations

import importlib

from gru_keras.families.base import DataError, DatasetSpec, Evaluation, Family, SequenceData, Task
from gru_keras.families.forecasting import FAMILY as FORECASTING
from gru_keras.families.music import FAMILY as MUSIC
from gru_keras.families.probes import FAMILY as PROBES
from gru_keras.families.speech import FAMILY as SPEECH
from gru_keras.families.translation import FAMILY as TRANSLATION
from gru_keras.registry import Registry

# Every family, in the order the report shows them when a suite does not say otherwise.
FAMILIES: Registry[Family] = Registry("family")
for _family in (PROBES, FORECASTING, TRANSLATION, SPEECH, MUSIC):
    FAMILIES.register(_family.name, _family)

DATASETS: Registry[DatasetSpec] = Registry("dataset")
TASKS: Registry[Task] = Registry("task")
FAMILY_OF: dict[str, str] = {}  # dataset name -> family name
for _family in FAMILIES.values():
    for _spec in _family.datasets:
        DATASETS.register(_spec.name, _spec)
        FAMILY_OF[_spec.name] = _family.name
    for _task in _family.tasks:
        TASKS.register(_task.name, _task)


def register_keras_objects() -> None:
    """Import every family's Keras objects, so that a saved model naming them reloads.
    Imports Keras: `gru_keras` calls it once Keras has been imported."""
    for family in FAMILIES.values():
        if family.keras_objects is not None:
            importlib.import_module(family.keras_objects)


def get_dataset(name: str) -> DatasetSpec:
    """The registered dataset `name`; ValueError naming the valid choices otherwise."""
    return DATASETS.lookup(name)


def get_task(name: str) -> Task:
    """The registered task `name`; ValueError naming the valid choices otherwise."""
    return TASKS.lookup(name)


def family_of(dataset: str) -> Family:
    """The family a registered dataset belongs to."""
    return FAMILIES[FAMILY_OF[get_dataset(dataset).name]]


__all__ = [
    "DATASETS",
    "FAMILIES",
    "TASKS",
    "DataError",
    "DatasetSpec",
    "Evaluation",
    "Family",
    "SequenceData",
    "Task",
    "family_of",
    "get_dataset",
    "get_task",
    "register_keras_objects",
]
