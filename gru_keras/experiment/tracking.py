"""Everything that talks to MLflow: the store, experiments, run bookkeeping and logging."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import platform
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import mlflow
import mlflow.system_metrics
import numpy as np
from mlflow.tracking import MlflowClient

from gru_keras import schema, searches
from gru_keras.experiment.store import open_store, process_alive
from gru_keras.names import quoted

if TYPE_CHECKING:
    import keras

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# What SQL stores say when two writers insert the same row at once (sqlite, MySQL, PostgreSQL).
DUPLICATE_ROW_ERRORS = ("UNIQUE constraint failed", "Duplicate entry", "duplicate key value")
Result = TypeVar("Result")

# Versions tagged on every run (TensorFlow's comes from the module: its distribution is
# tensorflow-cpu on Linux and tensorflow on a Mac, see `tensorflow_build`).
PACKAGES = ("gru-keras", "keras", "mlflow", "numpy")
# The distributions that install the `tensorflow` module.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow-cpu", "tensorflow")

# MLflow samples CPU, memory, disk and network (`system/...` metrics) while a run is active,
# with psutil; every 2 s rather than 10, since many runs last under a minute.
SYSTEM_METRICS = importlib.util.find_spec("psutil") is not None
SYSTEM_METRICS_INTERVAL = 2.0
if SYSTEM_METRICS:
    mlflow.system_metrics.set_system_metrics_sampling_interval(SYSTEM_METRICS_INTERVAL)
    # It announces every start and stop of its monitor: 4 lines per run on the console.
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)
# Logging a model, MLflow announces the project's uv.lock once per run ("Detected uv project"):
# a line per run on the console that says nothing about the run.
logging.getLogger("mlflow.utils.uv_utils").setLevel(logging.WARNING)


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class NonFiniteMetricError(RuntimeError):
    """A run's headline test metric is NaN or infinite: the run FAILS, never FINISHES."""


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else the embedded sqlite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def connect(uri: str | None = None, create: bool = True) -> MlflowClient:
    """A client of `uri` (default `tracking_uri()`), also made the fluent API's store; see
    `store.open_store` for `create` and the errors."""
    return open_store(uri or tracking_uri(), create=create)


def _search(client: MlflowClient, experiment_id: str, status: str) -> list:
    return searches.all_runs(client, [experiment_id], f"attributes.status = '{status}'")


def finished(client: MlflowClient, experiment_id: str) -> list:
    """Every FINISHED run of the experiment, for `finished_runs` and `run_seconds` to share
    (on a large store the search is most of a dry run's time)."""
    return _search(client, experiment_id, schema.FINISHED)


def finished_runs(
    client: MlflowClient, experiment_id: str, runs: list | None = None
) -> dict[tuple[str, str], str]:
    """`(run name, config hash) -> run id` for every FINISHED run of the experiment (or of
    `runs`, its `finished` runs already fetched)."""
    return {
        (run.info.run_name, run.data.tags.get(schema.TAG_CONFIG_HASH, "")): run.info.run_id
        for run in (finished(client, experiment_id) if runs is None else runs)
    }


def run_seconds(
    client: MlflowClient, experiment_id: str, runs: list | None = None
) -> dict[str, float]:
    """Run name -> wall seconds of its latest FINISHED run in the experiment (any config; or
    of `runs`, its `finished` runs already fetched): an estimate of how long it takes."""
    seconds = {}
    for run in sorted(finished(client, experiment_id) if runs is None else runs, key=_started):
        if run.info.end_time:
            seconds[run.info.run_name] = (run.info.end_time - run.info.start_time) / 1000
    return seconds


def _started(run: Any) -> int:
    return run.info.start_time or 0


def _process_alive(run: Any) -> bool:
    """Whether the process a run is tagged with (`host`, `pid`) still runs it."""
    tags = run.data.tags
    pid = int(tags.get(schema.TAG_PID, "0") or 0)
    return process_alive(tags.get(schema.TAG_HOST, ""), pid, run.info.start_time / 1000)


def live_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Names of the RUNNING runs whose process is still alive on this host."""
    return [
        run.info.run_name
        for run in _search(client, experiment_id, schema.RUNNING)
        if _process_alive(run)
    ]


def mark_interrupted(
    client: MlflowClient,
    experiment_id: str,
    reason: str = "process ended while the run was RUNNING",
    only_dead: bool = True,
) -> tuple[list[str], list[str]]:
    """Mark KILLED the RUNNING runs whose process is gone (every RUNNING run, if not
    `only_dead`: a driver ending the runs of workers it has just cancelled).

    Returns:
        `(marked, live)`: names of the runs marked KILLED, and of RUNNING runs whose process
        is still alive on this host, which are left alone.
    """
    marked, live = [], []
    for run in _search(client, experiment_id, schema.RUNNING):
        if only_dead and _process_alive(run):
            live.append(run.info.run_name)
            continue
        client.set_tag(run.info.run_id, schema.TAG_FAILURE, reason)
        client.set_terminated(run.info.run_id, status=schema.KILLED)
        marked.append(run.info.run_name)
    return marked, live


def mark_failed(client: MlflowClient, experiment_id: str, name: str, reason: str) -> None:
    """Mark FAILED, with `reason`, the RUNNING run called `name`: its worker died, and only
    the driver can record that."""
    for run in searches.all_runs(
        client,
        [experiment_id],
        f"attributes.run_name = {quoted(name)} and attributes.status = '{schema.RUNNING}'",
    ):
        client.set_tag(run.info.run_id, schema.TAG_FAILURE, reason[:5000])
        client.set_terminated(run.info.run_id, status=schema.FAILED)


@functools.cache
def git_commit() -> str:
    """The package's commit, once per process (every run is tagged with it)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            # The package's own checkout, wherever the suite is run from.
            cwd=Path(__file__).resolve().parent,
        )
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.cache
def package_versions() -> dict[str, str]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    import tensorflow as tf

    versions["tensorflow"] = tf.__version__
    return versions


@functools.cache
def tensorflow_build() -> str:
    """Which TensorFlow build runs: its distribution and, for a CUDA build, the CUDA and cuDNN
    it was built against ("tensorflow-cpu", "tensorflow, CUDA 12.5.1, cuDNN 9")."""
    import tensorflow as tf

    installed = []
    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            metadata.version(name)
            installed.append(name)
        except metadata.PackageNotFoundError:
            continue
    build = tf.sysconfig.get_build_info()
    parts = [" + ".join(installed) or "tensorflow (distribution unknown)"]
    if build.get("is_cuda_build"):
        parts += [
            f"CUDA {build.get('cuda_version', '?')}",
            f"cuDNN {build.get('cudnn_version', '?')}",
        ]
    return ", ".join(parts)


@functools.cache
def device() -> str:
    """What TensorFlow computes on: "CPU", or its GPUs by name ("GPU: NVIDIA A100 x 2")."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    names = sorted(
        {tf.config.experimental.get_device_details(gpu).get("device_name", "GPU") for gpu in gpus}
    )
    return f"GPU: {', '.join(names)}" + (f" x {len(gpus)}" if len(gpus) > 1 else "")


def platform_tags() -> dict[str, str]:
    """Where and on what a run or benchmark ran, and which code ran it: the machine, the
    device, the TensorFlow build, and the folder this `gru_keras` was imported from (on a Ray
    node, the package its runtime environment shipped)."""
    return {
        schema.TAG_MACHINE: machine(),
        schema.TAG_DEVICE: device(),
        schema.TAG_TENSORFLOW_BUILD: tensorflow_build(),
        schema.TAG_CODE_PATH: str(Path(__file__).resolve().parents[1]),
    }


def machine() -> str:
    """Where a run ran: OS, processor and core count, and memory (reports quote it)."""
    memory = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
        memory = f", {gib:.0f} GiB"
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs{memory}, Python {platform.python_version()}"


def run_tags(config: dict[str, Any], config_digest: str, task: str) -> dict[str, str]:
    tags = {
        schema.TAG_TASK: task,
        schema.TAG_FAMILY: config["family"],
        schema.TAG_DATASET: config["dataset"],
        schema.TAG_MODEL: config["model"],
        schema.TAG_SEED: str(config["seed"]),
        schema.TAG_CONFIG_HASH: config_digest,
        schema.TAG_SCHEMA_VERSION: str(schema.SCHEMA_VERSION),
        schema.TAG_GIT_COMMIT: git_commit(),
        **platform_tags(),
        schema.TAG_HOST: socket.gethostname(),
        schema.TAG_PID: str(os.getpid()),
    }
    tags.update(
        {
            f"{schema.TAG_VERSION_PREFIX}{name}": version
            for name, version in package_versions().items()
        }
    )
    return tags


def retry_duplicate_row(call: Callable[[], Result], attempts: int = 4) -> Result:
    """`call()`, tried again when the store refuses it for a duplicate row.

    MLflow's SQL store records a dataset by looking it up and inserting it when missing;
    runs that log the same dataset at the same moment (parallel workers on one server) can
    both miss it and both insert, and the loser gets a unique-constraint error. By the next
    attempt the row exists and is simply linked to the run.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except mlflow.exceptions.MlflowException as error:
            if attempt == attempts or not any(text in str(error) for text in DUPLICATE_ROW_ERRORS):
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def log_dataset(name: str, x_train: np.ndarray, y_train: np.ndarray, loader: str) -> None:
    """Record the training split with `mlflow.log_input` (name, digest, schema, loader)."""
    dataset = mlflow.data.from_numpy(x_train, targets=y_train, name=name)
    retry_duplicate_row(
        lambda: mlflow.log_input(dataset, context="training", tags={"loader": loader})
    )


class _KerasFlavor:
    """`mlflow.keras` as the flavor `Model.log` saves with, creating the model directory
    first: `mlflow.keras.save_model` writes the input example before it creates the
    directory, so `mlflow.keras.log_model(..., input_example=...)` fails (mlflow/mlflow#16183,
    still open in 3.17)."""

    __name__ = "mlflow.keras"

    @staticmethod
    def save_model(path: str, validate_serving_input: bool = False, **kwargs: Any) -> None:
        os.makedirs(path, exist_ok=True)
        mlflow.keras.save_model(path=path, **kwargs)


def log_model(model: keras.Model, example: Any, name: str = schema.MODEL_NAME) -> str:
    """Log `model` as an MLflow model called `name` (Keras flavor, `.keras` format) with its
    signature and `example` (a few inputs) as input example, so the UI's Models tab and the
    registry know it; returns its `models:/` URI, also tagged on the run.

    The package itself is the model's one requirement: inferring requirements would import
    the model in a subprocess per run, and a custom layer needs `gru_keras` anyway.
    """
    import keras
    import mlflow.keras  # the flavor `_KerasFlavor` saves with
    from mlflow.models import Model, infer_signature

    # Called directly: `predict` would trace a function for two examples.
    outputs = keras.ops.convert_to_numpy(model(example, training=False))
    info = Model.log(
        artifact_path=None,
        name=name,
        flavor=_KerasFlavor,
        model=model,
        signature=infer_signature(example, outputs),
        input_example=example,
        pip_requirements=[f"gru-keras=={package_versions()['gru-keras']}"],
        # Loading the model back to check the example costs a second per run; the tests
        # load logged models and compare predictions instead.
        validate_serving_input=False,
    )
    mlflow.set_tag(schema.TAG_MODEL_URI, info.model_uri)
    return info.model_uri


def log_evaluation(evaluation: Any) -> dict[str, float]:
    """Log a task's `Evaluation`: `test_*` metrics, tables as CSV, figures as PNG; returns
    the metrics as logged."""
    metrics = {schema.as_test_metric(name): value for name, value in evaluation.metrics.items()}
    mlflow.log_metrics(metrics)
    for name, table in evaluation.tables.items():
        mlflow.log_text(table.to_csv(index=False), name)
    for name, figure in evaluation.figures.items():
        mlflow.log_figure(figure, name)
    return metrics


def log_arrays(arrays: dict[str, np.ndarray], artifact_file: str) -> None:
    """Save NumPy arrays as one `.npz` artifact at `artifact_file`."""
    directory, _, file_name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as temporary:
        path = Path(temporary) / file_name
        np.savez_compressed(path, **arrays)
        mlflow.log_artifact(str(path), artifact_path=directory or None)


def log_json(payload: dict[str, Any], artifact_file: str) -> None:
    mlflow.log_text(json.dumps(payload, indent=2, sort_keys=True, default=str), artifact_file)
