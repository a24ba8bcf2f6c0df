"""The one dataset cache: in memory per process, and on disk as arrays and JSON (never a
pickle), written atomically, shared by every process on the machine."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gru_keras.experiment.config import DatasetConfig
from gru_keras.experiment.store import pid_running
from gru_keras.families import DataError, SequenceData, get_dataset
from gru_keras.families.base import from_arrays, to_arrays
from gru_keras.names import inside
from gru_keras.validation import path_fields

CACHE_DIRECTORY = Path("data/cache/datasets")
# Bump when the cached layout changes, so old files are rebuilt rather than misread.
CACHE_FORMAT = 1
PARTIAL = ".partial"


class DatasetCache:
    """Each configured dataset loaded once per process, and once per machine.

    A dataset is keyed by its loader and settings (never by model options, which do not
    change the data). On disk it is one `.npz` of arrays with its facts as JSON, never a
    pickle; a file that cannot be read back (a crash mid-write, an older layout) is rebuilt.

    Args:
        directory: Where the files live (`data/cache/datasets` by default); None keeps the
            cache in memory only.
        inputs: Where this machine holds a suite's input files (CSV, Tatoeba), by the path
            the suite names: a Ray worker on another machine reads the copy shipped to it.
            The key stays the suite's own path, so every machine caches one dataset alike.
    """

    def __init__(
        self, directory: Path | None = CACHE_DIRECTORY, inputs: Mapping[str, str] | None = None
    ) -> None:
        self.directory = directory
        self.inputs = dict(inputs or {})
        self._loaded: dict[str, SequenceData] = {}

    @staticmethod
    def key(dataset: DatasetConfig) -> str:
        settings = {
            "format": CACHE_FORMAT,
            "loader": dataset.dataset,
            "settings": dataclasses.asdict(dataset.settings),
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
        return f"{dataset.key}-{digest.hexdigest()[:16]}"

    def path(self, dataset: DatasetConfig) -> Path | None:
        if self.directory is None:
            return None
        return inside(self.directory, f"{self.key(dataset)}.npz")

    def get(self, dataset: DatasetConfig) -> SequenceData:
        """The dataset, from memory, from disk, or loaded (and then written to disk).

        Raises:
            DataError: when the loader's data are unusable (non-finite values, ragged
                splits), or the cache path is taken by something that is not a file.
        """
        key = self.key(dataset)
        if key not in self._loaded:
            self._loaded[key] = self._from_disk(dataset) or self._build(dataset)
        return self._loaded[key]

    def _from_disk(self, dataset: DatasetConfig) -> SequenceData | None:
        path = self.path(dataset)
        if path is None or not path.exists():
            return None
        if not path.is_file():
            raise DataError(f"the dataset cache path {path} is not a file: remove it")
        try:
            # Never allow_pickle: a cache file is data, and a planted pickle would be code.
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            data = from_arrays(arrays, get_dataset(dataset.dataset).facts)
            data.check()
            return data
        except Exception:  # partial, corrupted, planted or another layout: rebuild it
            print(f"dataset cache {path} is unreadable; rebuilding it", file=sys.stderr)
            return None

    def _build(self, dataset: DatasetConfig) -> SequenceData:
        data = get_dataset(dataset.dataset).load(relocated(dataset.settings, self.inputs))
        data.check()
        path = self.path(dataset)
        if path is not None:
            remove_stale_partials(path.parent)
            write_arrays(path, to_arrays(data))
        return data


def input_paths(settings: Any) -> list[str]:
    """The input files a dataset's settings name (their path fields that are set)."""
    return list(path_fields(settings).values())


def relocated(settings: Any, inputs: Mapping[str, str]) -> Any:
    """`settings` with each path field this machine holds elsewhere pointed at that copy."""
    moved = {name: inputs[path] for name, path in path_fields(settings).items() if path in inputs}
    return dataclasses.replace(settings, **moved) if moved else settings


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save arrays as one `.npz`, atomically: written beside, then renamed, so a reader sees
    the old file or the new one, never half of one. Text arrays are stored as text, never
    as pickled objects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {
        name: array.astype(str) if array.dtype == object else array
        for name, array in arrays.items()
    }
    # The writer's pid is in the name, so `remove_stale_partials` knows a dead writer's file.
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=PARTIAL, delete=False
    ) as file:
        try:
            np.savez(file, **plain)
        except BaseException:
            os.unlink(file.name)
            raise
    os.replace(file.name, path)


def remove_stale_partials(directory: Path) -> list[Path]:
    """Delete the half-written files (`*.partial`) of writers that are gone, which a crash
    or a kill mid-write leaves behind; a live writer's file is left alone."""
    removed = []
    for partial in directory.glob(f"*{PARTIAL}"):
        pid = partial.name.removesuffix(PARTIAL).split(".")[-2:-1]
        if pid and pid[0].isdigit() and pid_running(int(pid[0])):
            continue
        with contextlib.suppress(OSError):
            partial.unlink()
            removed.append(partial)
    return removed
