"""The Ray executor: a suite's runs as Ray tasks, all logging to one MLflow tracking server.

Each (dataset, model, seed) run is one Ray task with the suite's resource request. A task
runs exactly what the local executor runs (`execute_run`), so params, metrics, artifacts,
FAILED marking and resume are the same. Workers on one machine share its dataset cache on
disk. What only the driver can see is a worker that died: its run is still RUNNING on the
server, so the driver marks it FAILED with the reason, and a re-run of the suite picks it up.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.experiment import tracking
from gru_keras.experiment.cache import CACHE_DIRECTORY, DatasetCache
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
            "pip install -e '.[ray]' (or use --executor local)"
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


_worker_cache: DatasetCache | None = None


def run_task(
    spec: RunSpec,
    experiment_id: str,
    tracking_uri: str,
    units: int | None,
    verbose: int,
    cache_dir: str,
    placement: Placement,
) -> RunOutcome:
    """One run inside a Ray worker (the body of the remote task)."""
    global _worker_cache
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    tracking.connect(tracking_uri)
    if _worker_cache is None or str(_worker_cache.directory) != cache_dir:
        _worker_cache = DatasetCache(Path(cache_dir))
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

    def execute(self, plan: SuitePlan, progress: tqdm) -> list[RunOutcome]:
        ray = require_ray()
        executor = plan.suite.executor
        threads = plan.placement.threads  # the task's CPUs (`suite.placement_of`)
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(
                address=executor.address or None,
                include_dashboard=False,
                log_to_driver=plan.verbose > 0,
                # TensorFlow in each worker uses as many threads as the task has CPUs.
                runtime_env={
                    "env_vars": {
                        "TF_NUM_INTRAOP_THREADS": str(threads),
                        "TF_NUM_INTEROP_THREADS": "1",
                        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                    }
                },
            )
        remote = ray.remote(
            num_cpus=executor.cpus_per_run, num_gpus=executor.gpus_per_run, max_retries=0
        )(run_task)
        cache_dir = str(CACHE_DIRECTORY.resolve())
        tasks = {
            remote.remote(
                spec,
                plan.experiment_id,
                plan.tracking_uri,
                plan.units_of(spec),
                plan.verbose,
                cache_dir,
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
        finally:
            if started_here:
                # Explicitly, so the local instance takes its idle workers down with it; left
                # to the exit hook, workers can outlive the raylet as orphans holding memory.
                ray.shutdown()
        return outcomes


EXECUTOR = RayExecutor()
