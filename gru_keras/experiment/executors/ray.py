"""The Ray executor: a suite's runs as Ray tasks, all logging to one MLflow tracking server.

Each (dataset, model, seed) run is one Ray task with the suite's resource request. A task
runs exactly what the local executor runs (`execute_run`), so params, metrics, artifacts,
FAILED marking and resume are the same. What only the driver can see is a worker that died:
its run is still RUNNING on the server, so the driver marks it FAILED with the reason, and a
re-run of the suite picks it up.

A node needs only Python, Ray and the locked dependencies, not this repository: the task's
runtime environment ships the `gru_keras` package itself (`py_modules`), the suite's input
files (CSV, Tatoeba) travel through Ray's object store, and each node keeps its own dataset
cache in its temporary directory, shared by the workers on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import DatasetCache, input_paths
from gru_keras.experiment.config import DatasetConfig, SuiteConfig
from gru_keras.experiment.executor import record
from gru_keras.experiment.plan import Placement, RunSpec, SuitePlan
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted, execute_run

WORKER_DIED = "the Ray worker running it died"
SHARED_STORE_SCHEMES = ("http", "https", "databricks", "postgresql", "mysql", "mssql")


def require_ray() -> Any:
    """The `ray` module (imported only when this executor is used), or a ConfigError naming
    the extra that installs it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ConfigError(
            "the Ray executor needs the optional dependency 'ray': "
            "`make ray` installs it into .venv (or use --executor local)"
        ) from None


def check_shared_store(uri: str) -> None:
    """Runs on other processes and machines need one store that is safe for concurrent
    writers: an MLflow server, or a database server. sqlite and local files are not."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0] if ":" in uri else "file"
    if scheme not in SHARED_STORE_SCHEMES:
        raise ConfigError(
            f"the Ray executor needs a tracking store every worker can write to at once, not "
            f"{uri!r} (sqlite and local files are unsafe for concurrent writers); start "
            "`mlflow server --backend-store-uri postgresql://... --artifacts-destination "
            "s3://...` (or, on one machine, `mlflow server --backend-store-uri "
            "sqlite:///mlflow.db --host 127.0.0.1`) and pass --tracking-uri "
            "http://HOST:5000 or set MLFLOW_TRACKING_URI"
        )


PACKAGE = Path(__file__).parents[2]  # the gru_keras folder this driver imported
# Left out of the package Ray uploads: what Python or the test runner writes beside the code.
EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache"]


def runtime_env(threads: int) -> dict[str, Any]:
    """The job's environment: this `gru_keras` package (Ray accepts a local folder for a job,
    not for a task), and TensorFlow using as many threads as a task has CPUs."""
    return {"py_modules": [str(PACKAGE)], "excludes": EXCLUDES, **task_env(threads)}


def task_env(threads: int) -> dict[str, Any]:
    """What each task sets, also inside a Ray job someone else started (whose own runtime
    environment must then ship `gru_keras`)."""
    return {
        "env_vars": {
            "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": "1",
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        },
    }


Shipped = dict[str, tuple[str, Any]]  # the suite's path -> (name on a node, object ref)


def ship_inputs(ray: Any, datasets: Iterable[DatasetConfig]) -> Shipped:
    """Each input file the suite names, put in Ray's object store once for every task."""
    shipped: Shipped = {}
    for dataset in datasets:
        for path in input_paths(dataset.settings):
            if path not in shipped:
                content = Path(path).read_bytes()
                digest = hashlib.sha256(content).hexdigest()[:16]
                shipped[path] = (f"{digest}/{Path(path).name}", ray.put(content))
    return shipped


def node_directory() -> Path:
    """Where this node keeps the datasets and input files of its workers."""
    return Path(tempfile.gettempdir()) / "gru-keras"


def receive_inputs(ray: Any, shipped: Shipped, directory: Path) -> dict[str, str]:
    """The shipped input files on this node (written once, atomically), by the suite's path."""
    local = {}
    for path, (name, reference) in shipped.items():
        target = directory / "inputs" / name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            partial.write_bytes(ray.get(reference))
            os.replace(partial, target)
        local[path] = str(target)
    return local


_worker_cache: DatasetCache | None = None


def run_task(
    spec: RunSpec,
    experiment_id: str,
    tracking_uri: str,
    units: int | None,
    verbose: int,
    shipped: Shipped,
    placement: Placement,
) -> RunOutcome:
    """One run inside a Ray worker (the body of the remote task)."""
    global _worker_cache
    ray = require_ray()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    tracking.connect(tracking_uri)
    directory = node_directory()
    inputs = receive_inputs(ray, shipped, directory)
    if _worker_cache is None or _worker_cache.inputs != inputs:
        _worker_cache = DatasetCache(directory / "datasets", inputs)
    return execute_run(
        spec,
        experiment_id,
        _worker_cache,
        units,
        verbose,
        placement,
        extra_tags={schema.TAG_EXECUTOR: "ray"},
    )


class RayExecutor:
    """Submits every pending run as a Ray task and collects the outcomes as they finish."""

    def check(self, tracking_uri: str) -> None:
        require_ray()
        check_shared_store(tracking_uri)

    @contextlib.contextmanager
    def session(self, suite: SuiteConfig, verbose: int) -> Iterator[None]:
        # One Ray instance (or one connection to a cluster) for every stage of a map: a new
        # `ray.init` would start new workers, each importing TensorFlow again (13 s a stage
        # on a local Ray here).
        ray = require_ray()
        if ray.is_initialized():  # inside a map's session, or a Ray job someone else started
            yield
            return
        ray.init(
            address=suite.executor.address or None,
            include_dashboard=False,
            log_to_driver=verbose > 0,
            runtime_env=runtime_env(suite.executor.task_threads),
        )
        try:
            yield
        finally:
            # Explicitly, so the local instance takes its idle workers down with it; left to
            # the exit hook, workers can outlive the raylet as orphans holding memory.
            ray.shutdown()

    def prestart(self, suite: SuiteConfig, verbose: int) -> contextlib.nullcontext[None]:
        """Nothing: starting Ray costs more than a plan, and a finished suite needs none."""
        return contextlib.nullcontext()

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        with self.session(plan.suite, plan.verbose):
            return self._submit_and_collect(plan, progress)

    def _submit_and_collect(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        ray = require_ray()
        executor = plan.suite.executor
        threads = plan.placement.threads  # the task's CPUs (`suite.placement_of`)
        remote = ray.remote(
            num_cpus=executor.cpus_per_run,
            num_gpus=executor.gpus_per_run,
            max_retries=0,
            runtime_env=task_env(threads),
        )(run_task)
        shipped = ship_inputs(ray, plan.suite.datasets)
        tasks = {
            remote.remote(
                spec,
                plan.experiment_id,
                plan.tracking_uri,
                plan.units_of(spec),
                plan.verbose,
                shipped,
                plan.placement,
            ): spec
            for spec in plan.pending
        }
        client = tracking.connect(plan.tracking_uri)
        outcomes = []
        try:
            waiting = list(tasks)
            while waiting:
                ready, waiting = ray.wait(waiting, num_returns=1)
                spec = tasks[ready[0]]
                try:
                    outcome = ray.get(ready[0])
                except ray.exceptions.RayError as error:
                    reason = f"{WORKER_DIED}: {type(error).__name__}"
                    tracking.mark_failed(client, plan.experiment_id, spec.name, reason)
                    outcome = RunOutcome(spec, schema.FAILED, reason=reason)
                record(outcome, outcomes, progress)
        except KeyboardInterrupt:
            for task in waiting:
                ray.cancel(task, force=True)
            # Runs the cancelled workers left RUNNING end KILLED, as a local Ctrl-C leaves them.
            tracking.mark_interrupted(
                client, plan.experiment_id, "interrupted by the user", only_dead=False
            )
            raise SuiteInterrupted(outcomes) from None
        return outcomes


EXECUTOR = RayExecutor()
