"""The tracking store as one process may use it: opened once, written by one driver at a time.

- `open_store` checks the URI, and creates or migrates a local store under a lock, so two
  commands started together never run MLflow's schema migration at once; `report` opens
  with `create=False` and never leaves an empty store behind.
- `hold_store` is held by a `run` command for its whole life. A local store (sqlite or a
  folder) is locked with `flock` on a file beside it; the kernel releases it when the
  process dies, so a killed driver never leaves a stale lock. A server is out of a local
  lock's reach, so there the driver holds a lease on the experiment: a tag with its host,
  pid and a heartbeat, renewed while it runs; a second driver that finds a fresh lease is
  refused.
- `process_alive` tells a run's live process from a dead one, so a RUNNING run is only
  marked KILLED when its process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import psutil
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.errors import ConfigError

DEFAULT_ARTIFACT_ROOT = "mlartifacts"
SCHEMES = ("sqlite", "file", "http", "https", "postgresql", "mysql", "mssql", "databricks")
URI_FORMS = "sqlite:///PATH, file:PATH, http(s)://HOST:PORT, postgresql://, mysql://, mssql://"
LEASE_SECONDS, HEARTBEAT_SECONDS = 60.0, 10.0
# What the database drivers raise under MLflow when the store cannot be written.
try:
    from sqlalchemy.exc import SQLAlchemyError as _SQLError
except ImportError:  # pragma: no cover - sqlalchemy comes with mlflow
    _SQLError = OSError
STORE_ERRORS: tuple[type[BaseException], ...] = (
    mlflow.exceptions.MlflowException,
    OSError,
    _SQLError,
)


def is_store_failure(error: BaseException) -> bool:
    """Whether `error` means the store (or the disk under it) cannot be written, so every
    later write will fail too: MLflow and database errors, a full, read-only or over-quota
    disk. Other errors belong to the run that raised them."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EDQUOT)
    return isinstance(error, STORE_ERRORS)


def quiet_store_logs() -> None:
    """MLflow logs a store error's traceback itself before raising it; the command prints
    one line instead."""
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


class StoreError(RuntimeError):
    """The store cannot be opened or written. The message is one line naming the store;
    `exit_code` is 2 before anything ran (bad URI, read-only, busy) and 1 during a suite."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class StoreInUse(StoreError):
    """Another `run` command is writing this store."""


_DRIVER_ERROR = re.compile(r"\((?:[\w.]+\.)?\w*Error\) (.+)")


def describe(error: BaseException, limit: int = 300) -> str:
    """One line of an error's message: the database driver's own words where it has them
    (`attempt to write a readonly database`), else the first line."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    for line in lines:
        found = _DRIVER_ERROR.search(line)
        if found:
            return found.group(1).split(" (Background on this error")[0][:limit]
    text = lines[0] if lines else type(error).__name__
    return text.split(" (Background on this error")[0][:limit]


def scheme_of(uri: str) -> str:
    scheme = urlparse(uri).scheme
    return scheme.split("+", 1)[0] if scheme and len(scheme) > 1 else "file"


def local_path(uri: str) -> Path | None:
    """The file (sqlite) or folder (file store) of a local store; None for a server."""
    parsed = urlparse(uri)
    scheme = scheme_of(uri)
    if scheme == "sqlite":
        # sqlite:///relative.db, sqlite:////absolute.db, or SQLite's own URI form
        # sqlite:///file:/path.db?mode=ro&uri=true.
        path = parsed.path.removeprefix("/") if uri.startswith("sqlite:///") else ""
        return Path(unquote(path.removeprefix("file:")))
    if scheme == "file":
        return Path(unquote(parsed.path) if parsed.scheme else uri)
    return None


def _lock_file(uri: str, purpose: str) -> Path | None:
    path = local_path(uri)
    if path is None:
        return None
    if scheme_of(uri) == "file":
        return path / f".gru_keras-{purpose}"
    return path.with_name(f"{path.name}-{purpose}")


def check_uri(uri: str) -> None:
    """ConfigError naming the valid forms when MLflow has no store for `uri`."""
    if scheme_of(uri) not in SCHEMES:
        raise ConfigError(
            f"tracking URI {uri!r} has an unsupported scheme {scheme_of(uri)!r}; use {URI_FORMS}"
        )
    if scheme_of(uri) == "sqlite" and not uri.startswith("sqlite:///"):
        raise ConfigError(f"tracking URI {uri!r}: write a sqlite store as sqlite:///PATH")


def open_store(uri: str, create: bool = True) -> MlflowClient:
    """A client of `uri`, its store created or migrated once (under a lock for local stores).

    Args:
        uri: The tracking URI.
        create: Create a local store that does not exist yet; with False, a missing local
            store is a `StoreError` and nothing is written.

    Raises:
        ConfigError: for a URI MLflow cannot use.
        StoreError: one line naming the store when it cannot be opened.
    """
    check_uri(uri)
    quiet_store_logs()
    path = local_path(uri)
    if not create and path is not None and not path.exists():
        raise StoreError(f"no tracking store at {path}: run a suite first, or pass --tracking-uri")
    if path is not None and path.is_dir() != (scheme_of(uri) == "file") and path.exists():
        kind = "a folder" if path.is_dir() else "a file"
        raise StoreError(f"tracking store {path} is {kind}, which {uri!r} cannot use")
    try:
        with (
            _flock(_lock_file(uri, "init-lock"), blocking=True, optional=not create),
            _first_request_quick(),
        ):
            mlflow.set_tracking_uri(uri)
            client = MlflowClient(uri)
            client.search_experiments(max_results=1)  # builds (and migrates) the store now
    except STORE_ERRORS as error:
        hint = " (is an MLflow server running there?)" if scheme_of(uri) in HTTP else ""
        raise StoreError(f"cannot open tracking store {uri}: {describe(error)}{hint}") from None
    return client


HTTP = ("http", "https")
# The first request to a server: a few seconds, not MLflow's 7 retries backing off for
# minutes (found by fuzzing the CLI: `--tracking-uri http://nohost` waited 4 minutes). Later
# requests keep MLflow's patient defaults, for a server that is up but busy.
QUICK_REQUEST = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@contextmanager
def _first_request_quick() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in QUICK_REQUEST}
    os.environ.update({k: v for k, v in QUICK_REQUEST.items() if saved[k] is None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


@contextmanager
def _flock(path: Path | None, blocking: bool, optional: bool = False) -> Iterator[int | None]:
    """An exclusive `flock` on `path` (nothing for None); BlockingIOError if not `blocking`
    and someone holds it. With `optional`, a lock file that cannot be created (a read-only
    folder, where nothing can be written anyway) is no lock rather than an error."""
    if path is None:
        yield None
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if not optional:
            raise
        yield None
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield descriptor
    finally:
        os.close(descriptor)  # closing releases the lock


def _holder() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _read_holder(lock_path: Path) -> dict:
    """Who holds a lock file. The holder writes itself in just after taking the lock, so
    an empty file is read again for a moment rather than reported as unknown."""
    deadline = time.monotonic() + 2.0
    while True:
        try:
            text = lock_path.read_text()
            if text or time.monotonic() > deadline:
                return json.loads(text or "{}")
        except (OSError, ValueError):
            return {}
        time.sleep(0.05)


@contextmanager
def hold_store(uri: str, experiment: str) -> Iterator[None]:
    """Be the only `run` command writing `experiment` in `uri` until the block ends.

    Raises:
        StoreInUse: naming the store and the holder's pid (exit code 2).
        StoreError: when the lock file cannot be created (exit code 2).
    """
    lock_path = _lock_file(uri, "lock")
    if lock_path is None:
        with _Lease(uri, experiment):
            yield
        return
    with contextlib.ExitStack() as held:
        try:
            descriptor = held.enter_context(_flock(lock_path, blocking=False))
        except BlockingIOError:
            holder = _read_holder(lock_path)
            raise StoreInUse(
                f"tracking store {local_path(uri)} is in use by another run command (pid "
                f"{holder.get('pid', '?')} on {holder.get('host', '?')}); wait for it to end "
                "or stop it"
            ) from None
        except OSError as error:
            raise StoreError(
                f"cannot lock tracking store {local_path(uri)}: {describe(error)}"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, json.dumps(_holder()).encode())
        yield


class _Lease:
    """A driver's claim on an experiment of a tracking server, as the experiment tag
    `schema.TAG_DRIVER`: holder, token and the time of its last heartbeat."""

    def __init__(self, uri: str, experiment: str) -> None:
        self.client = MlflowClient(uri)
        self.experiment = experiment
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _read(self, experiment_id: str) -> dict:
        found = self.client.get_experiment(experiment_id)
        try:
            return json.loads(found.tags.get(schema.TAG_DRIVER, "{}"))
        except ValueError:
            return {}

    def _write(self, experiment_id: str) -> None:
        lease = {**_holder(), "token": self.token, "heartbeat": time.time()}
        self.client.set_experiment_tag(experiment_id, schema.TAG_DRIVER, json.dumps(lease))

    def _refuse(self, lease: dict) -> StoreInUse:
        age = time.time() - float(lease.get("heartbeat", 0))
        return StoreInUse(
            f"experiment {self.experiment!r} on {self.client.tracking_uri} is being run by "
            f"another run command (pid {lease.get('pid', '?')} on {lease.get('host', '?')}, "
            f"heartbeat {age:.0f}s ago); wait for it to end or stop it"
        )

    def _fresh(self, lease: dict) -> bool:
        return bool(lease) and time.time() - float(lease.get("heartbeat", 0)) < LEASE_SECONDS

    def __enter__(self) -> _Lease:
        self.experiment_id = ensure_experiment(self.client, self.experiment)
        lease = self._read(self.experiment_id)
        if self._fresh(lease) and lease.get("token") != self.token:
            raise self._refuse(lease)
        self._write(self.experiment_id)
        # Two drivers can both find no lease and both write one; the later write wins, and
        # the earlier driver sees it here and steps back.
        time.sleep(1.0)
        lease = self._read(self.experiment_id)
        if lease.get("token") != self.token:
            raise self._refuse(lease)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            # A missed heartbeat only shortens the lease.
            with contextlib.suppress(*STORE_ERRORS):
                self._write(self.experiment_id)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(*STORE_ERRORS):  # else the lease runs out by itself
            self.client.delete_experiment_tag(self.experiment_id, schema.TAG_DRIVER)


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The id of experiment `name`, created (or restored) if needed, and kind-tagged as model
    training, so that the UI opens it in its training view, not as a GenAI project (a suite's,
    its tuning trials', the benchmarks').

    With a local sqlite store, artifacts go to `./mlartifacts` beside it, as `make ui` serves.
    """
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        if experiment.tags.get(schema.TAG_EXPERIMENT_KIND) != schema.MODEL_TRAINING:
            client.set_experiment_tag(
                experiment.experiment_id, schema.TAG_EXPERIMENT_KIND, schema.MODEL_TRAINING
            )
        return experiment.experiment_id
    artifact_location = None
    if client.tracking_uri.startswith("sqlite:"):
        artifact_location = Path(DEFAULT_ARTIFACT_ROOT).resolve().as_uri()
    return client.create_experiment(
        name,
        artifact_location=artifact_location,
        tags={schema.TAG_EXPERIMENT_KIND: schema.MODEL_TRAINING},
    )


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), or None if it is gone. psutil
    asks each OS its own way (/proc on Linux, sysctl on macOS)."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def pid_running(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (a zombie, whose exit only
    awaits its parent's `wait`, does not run)."""
    if pid <= 0:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # alive, someone else's


def process_alive(host: str, pid: int, started: float) -> bool:
    """Whether the process that started a run at `started` (epoch seconds) on `host` still
    runs. A pid reused by a later process does not count. Another host cannot be asked:
    the caller holds the store, so no driver there is alive."""
    if host != socket.gethostname() or not pid_running(pid):
        return False
    began = _process_start(pid)
    return began is None or began <= started + 1.0
