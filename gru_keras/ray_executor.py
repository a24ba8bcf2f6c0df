"""Run a suite's runs as Ray tasks, all logging to one MLflow tracking server.

Each (dataset, model, seed) run is one Ray task with the suite's resource request. A task
runs exactly what the local executor runs (`runner.execute_run`), so params, metrics,
artifacts, FAILED marking and resume are the same. What only the driver can see is a worker
that died: its run is still RUNNING on the server, so the driver marks it FAILED with the
reason, and a re-run of the suite picks it up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gru_keras import tracking
from gru_keras.config import ConfigError, DatasetConfig
from gru_keras.datasets import SequenceData, get_dataset

try:
    import ray
except ImportError:  # pragma: no cover - exercised by the missing-extra test
    ray = None

NODE_CACHE = Path("data/cache/datasets")
WORKER_DIED = "the Ray worker running it died"


def require_ray() -> Any:
    """The `ray` module, or a ConfigError naming the extra that installs it."""
    if ray is None:
        raise ConfigError(
            "the Ray executor needs the optional dependency 'ray': "
            "pip install -e '.[ray]' (or use --executor local)"
        )
    return ray


class NodeDataCache:
    """Datasets prepared once per machine: each is pickled under `directory`, keyed by its
    settings, and every worker on the node loads that file instead of regenerating it.

    A file that fails to load (a crash mid-write, another version) is rebuilt.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, SequenceData] = {}

    def path(self, dataset: DatasetConfig) -> Path:
        key = repr((dataset.dataset, dataset.settings)).encode()
        return self.directory / f"{dataset.key}-{hashlib.sha256(key).hexdigest()[:16]}.pkl"

    def get(self, dataset: DatasetConfig) -> SequenceData:
        path = self.path(dataset)
        if path.name in self._loaded:
            return self._loaded[path.name]
        data = None
        if path.is_file():
            try:
                with path.open("rb") as file:
                    data = pickle.load(file)
            except Exception:  # a partial or foreign file: rebuild it
                data = None
        if data is None:
            data = get_dataset(dataset.dataset).load(dataset.settings)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written beside, then renamed: readers never see a half-written file.
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
                pickle.dump(data, file)
            os.replace(file.name, path)
        self._loaded[path.name] = data
        return data


_worker_cache: NodeDataCache | None = None


def run_task(spec, experiment_id: str, tracking_uri: str, units, verbose: int, cache_dir: str):
    """One run inside a Ray worker (the body of the remote task)."""
    global _worker_cache
    from gru_keras import runner

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    tracking.connect(tracking_uri)
    if _worker_cache is None or str(_worker_cache.directory) != cache_dir:
        _worker_cache = NodeDataCache(Path(cache_dir))
    data = _worker_cache.get(spec.dataset)
    where = {
        "executor": "ray",
        "ray_node": socket.gethostname(),
        "ray_worker_pid": str(os.getpid()),
    }
    return runner.execute_run(spec, experiment_id, data, units, verbose, extra_tags=where)


def _mark_dead(client, experiment_id: str, name: str, reason: str) -> None:
    for run in client.search_runs(
        [experiment_id],
        filter_string=f"attributes.run_name = '{name}' and attributes.status = 'RUNNING'",
    ):
        client.set_tag(run.info.run_id, tracking.FAILURE_TAG, reason[:5000])
        client.set_terminated(run.info.run_id, status="FAILED")


def execute(plan, progress: tqdm) -> list:
    """Submit every pending run as a Ray task and collect the outcomes as they finish."""
    from gru_keras.runner import RunOutcome, SuiteInterrupted

    require_ray()
    executor = plan.suite.executor
    threads = str(max(1, round(executor.cpus_per_run)))
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=executor.address or None,
            include_dashboard=False,
            log_to_driver=plan.verbose > 0,
            # TensorFlow in each worker uses as many threads as the task has CPUs.
            runtime_env={
                "env_vars": {
                    "TF_NUM_INTRAOP_THREADS": threads,
                    "TF_NUM_INTEROP_THREADS": "1",
                    "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                }
            },
        )
    remote = ray.remote(
        num_cpus=executor.cpus_per_run, num_gpus=executor.gpus_per_run, max_retries=0
    )(run_task)
    cache_dir = str(NODE_CACHE.resolve())
    tasks = {
        remote.remote(
            spec,
            plan.experiment_id,
            plan.tracking_uri,
            plan.units.get((spec.dataset.key, spec.model)),
            plan.verbose,
            cache_dir,
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
                _mark_dead(client, plan.experiment_id, spec.name, reason)
                outcome = RunOutcome(spec, "FAILED", reason=reason)
            if outcome.status == "FAILED":
                tqdm.write(f"FAILED {spec.name}: {outcome.reason}", file=sys.stderr)
            outcomes.append(outcome)
            progress.set_postfix_str(spec.name)
            progress.update()
    except KeyboardInterrupt:
        for task in waiting:
            ray.cancel(task, force=True)
        # Runs the cancelled workers left RUNNING end KILLED, as a local Ctrl-C leaves them.
        tracking.mark_interrupted(client, plan.experiment_id)
        raise SuiteInterrupted(outcomes) from None
    finally:
        if started_here:
            # Explicitly, so the local instance takes its idle workers down with it; left to
            # the exit hook, workers can outlive the raylet as orphans holding memory.
            ray.shutdown()
    return outcomes
