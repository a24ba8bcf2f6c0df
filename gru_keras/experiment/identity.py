"""A run's identity: everything that determines it as plain data, its hash (skip-if-finished
and resume), and the same config flattened into MLflow params."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from gru_keras.experiment.config import DatasetConfig, SuiteConfig
from gru_keras.schema import SCHEMA_VERSION
from gru_keras.validation import hashed_fields


def run_config(suite: SuiteConfig, dataset: DatasetConfig, model: str, seed: int) -> dict[str, Any]:
    """Everything that determines one run, as plain data (logged and hashed). The schema
    version is part of it, so runs logged under an older schema are not taken as done.
    How the run executes (XLA, jobs, threads) is left out: it does not change the result; so
    is every option added later while it is at the value that means "as before" (each field's
    `IDENTITY` metadata, `gru_keras.validation.hashed_fields`), so that the runs logged before
    it existed keep their hash."""
    training = hashed_fields(dataset.training)
    options = hashed_fields(dataset.model)
    return {
        "schema_version": SCHEMA_VERSION,
        "suite": suite.name,
        "dataset": dataset.key,
        "dataset_loader": dataset.dataset,
        "family": dataset.family,
        "model": model,
        "seed": seed,
        "parameter_budget": dataset.parameter_budget,
        "training": training,
        "settings": dataclasses.asdict(dataset.settings),
        "model_options": options,
    }


def config_hash(config: dict[str, Any]) -> str:
    """A short stable digest of a run config, for skip-if-finished."""
    canonical = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def graph_key(config: dict[str, Any], units: int, xla: bool) -> str:
    """What makes two runs' compiled models the same graph: their config but the seed, and
    the units and XLA setting they run with (`gru_keras.experiment.reuse`)."""
    return config_hash({**config, "seed": None, "units": units, "jit_compile": xla})


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}` (for MLflow params)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
