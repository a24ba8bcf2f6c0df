"""The one launcher of the end-to-end tests: the real CLI in a subprocess. Also the store's
runs and a PDF's text, as the tests read them back."""

import contextlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient
from pypdf import PdfReader

from gru_keras import schema
from gru_keras.experiment.store import StoreError, open_store

# Dataset tables of the tiny suites (see the `tiny_suite` fixture).
ADDING = """
[datasets.adding-short]
dataset = "adding"
sequence_length = {length}
train_size = {train_size}
validation_size = 32
test_size = 32
"""

# Plain SGD with a huge step: the loss overflows within a few epochs, so the run FAILS.
DIVERGING = """
[datasets.adding-diverging]
dataset = "adding"
sequence_length = 10
train_size = 256
validation_size = 32
test_size = 32
[datasets.adding-diverging.training]
optimizer = "sgd"
learning_rate = 10.0
clip_norm = 0.0
epochs = 8
"""


# 2 cells (two budgets), custom_gru against simple_rnn, 2 seeds and then 3 for the cells
# left undecided; 40 updates of T = 5 a run.
TINY_MAP = """
[map]
updates = 40
evaluations = 2
seeds = [2, 3]
alpha = [0.025, 0.025]
pairs = [["custom_gru", "simple_rnn"]]
[map.tasks.adding]
dataset = "adding"
metrics = ["r2"]
margin = 0.05
target = 0.9
[map.tasks.adding.axes]
sequence_length = [5]
train_size = [64]
parameter_budget = [460, 920]
[map.tasks.adding.settings]
validation_size = 32
test_size = 64
"""


def endless(key: str, length: int = 20) -> str:
    """A dataset table (`ADDING` under another key) whose runs cannot end on their own
    (10,000 epochs): a test that must stop a run mid-training always finds it running."""
    table = ADDING.format(length=length, train_size=64).replace("adding-short", key)
    return table + f"[datasets.{key}.training]\nepochs = 10000\n"


def store(directory: Path) -> str:
    """The sqlite store of a test directory."""
    return f"sqlite:///{directory / 'mlflow.db'}"


def gru_keras(
    directory: Path,
    *args: object,
    tracking_uri: str | None = None,
    background: bool = False,
    timeout: float = 900,
) -> subprocess.CompletedProcess | subprocess.Popen:
    """`python -m gru_keras ARGS` in `directory`, tracking into `tracking_uri` (by default the
    directory's own sqlite store). `background` returns the running process, its stderr
    (the progress bar) going to `stderr.txt` so that a full pipe can never block it."""
    command = [sys.executable, "-m", "gru_keras", *map(str, args)]
    command += ["--tracking-uri", tracking_uri or store(directory)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if background:
        with (directory / "stderr.txt").open("w") as stderr:
            return subprocess.Popen(
                command,
                cwd=directory,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                preexec_fn=_default_sigint,
            )
    return subprocess.run(
        command,
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _default_sigint() -> None:
    """In the child: Ctrl-C back to its default. A test suite started in the background of a
    non-interactive shell inherits SIGINT ignored, and so would the CLI, which then never
    sees the Ctrl-C a test sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def here(
    directory: Path, *args: object, tracking_uri: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m gru_keras ARGS` run in this process, in `directory`, on its store (or
    `tracking_uri`), with what it printed captured: the same result as `gru_keras(...)`
    without a TensorFlow start (about 10 s a command on this machine). For tests whose
    subject is what a command does, not the process: signals, kills and orphans need
    `gru_keras(..., background=True)`."""
    from gru_keras.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    command = [*map(str, args), "--tracking-uri", tracking_uri or store(directory)]
    with (
        contextlib.chdir(directory),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(command)
    return subprocess.CompletedProcess(command, code, out.getvalue(), err.getvalue())


def report_here(directory: Path, *args: object) -> tuple[int, str]:
    """`here(directory, "report", ARGS)`: (exit code, what it printed)."""
    result = here(directory, "report", *args)
    return result.returncode, result.stdout


def wait_for(
    predicate,
    timeout: float = 480.0,
    interval: float = 0.3,
    process: subprocess.Popen | None = None,
) -> bool:
    """Whether `predicate()` became true within `timeout` seconds (polled: a background CLI
    reaches a state at a time no test can know). With `process`, the wait also ends when that
    process has ended, since nothing will change after that: a CLI that failed is reported at
    once. The deadline only catches a CLI that hangs: on 2 busy cores, a driver and two
    workers each importing TensorFlow took 160 s to reach their first epoch (13 s idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if process is not None and process.poll() is not None:
            return predicate()
        time.sleep(interval)
    return False


def background_state(
    directory: Path, process: subprocess.Popen, experiment: str, uri: str | None = None
) -> str:
    """What a background CLI got to, for a failed wait: its runs' statuses, its exit code and
    the end of its stderr."""
    statuses = {
        run.info.run_name: run.info.status
        for run in runs_of(uri or store(directory), experiment)[1]
    }
    stderr = (directory / "stderr.txt").read_text()[-3000:]
    return f"runs {statuses}, exit code {process.poll()}, stderr:\n{stderr}"


def runs_of(uri: str, experiment: str, kind: str | None = None) -> tuple[MlflowClient | None, list]:
    """The client of a store and the training runs of `experiment` in it (no client and no
    runs if the store does not exist yet, none if the experiment does not); with `kind`, the
    runs tagged `kind` instead (the parent runs of `run` commands: "invocation").

    The store is opened as the CLI opens it, under its creation lock, and never created
    here: a test polls while a CLI it started creates the store, and `MlflowClient(uri)`
    builds a missing sqlite store at once, without that lock. Two processes migrating one
    fresh store at once fail ("table ... already exists"), which ended a CLI in CI."""
    try:
        client = open_store(uri, create=False)
    except StoreError:
        return None, []
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return client, []
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return client, [run for run in runs if run.data.tags.get(schema.TAG_KIND) == kind]


def in_scheme(name: str) -> bool:
    """Whether a logged metric name is `headline` or `group/name` with a documented group."""
    group, _, rest = name.partition("/")
    return name == schema.HEADLINE or (group in schema.METRIC_GROUPS and bool(rest))


def check_metric_scheme(client: MlflowClient, run) -> None:
    """The run's metrics follow the documented scheme (`in_scheme`); `headline` is the
    test metric its tag names; a trained run's `best/` values are the best epoch of its
    `val/loss` history (steps counted from 1)."""
    metrics, tags = run.data.metrics, run.data.tags
    name = run.info.run_name
    assert [m for m in metrics if not in_scheme(m)] == [], name
    assert metrics[schema.HEADLINE] == metrics[tags[schema.TAG_HEADLINE_METRIC]], name
    assert tags[schema.TAG_HEADLINE_DIRECTION] in ("lower", "higher"), name
    history = client.get_metric_history(run.info.run_id, schema.VAL_LOSS)
    if history:
        values = [point.value for point in sorted(history, key=lambda point: point.step)]
        assert sorted(point.step for point in history) == list(range(1, len(values) + 1))
        assert metrics[schema.BEST_VAL_LOSS] == min(values), name
        assert metrics[schema.BEST_EPOCH] == 1 + values.index(min(values)), name


def pdf_text(path: Path) -> tuple[int, str]:
    """Page count and the extracted text of every page."""
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


# The last commit whose behaviour this code must reproduce: the one before the house was
# reorganised (issue 29), which moved modules without changing what they do. A change that
# means to alter the report or the saved models moves this to its own parent commit: the
# exact permutation test (issue 45) changed every verdict at 3 seeds; the tuning sentence on
# the first page (issue 46) changed page 1 again.
BASELINE = "14af08e"
REPOSITORY = Path(__file__).resolve().parents[1]


def baseline_tree(directory: Path) -> Path:
    """The `gru_keras` package of commit `BASELINE`, from git, under `directory`. A command
    run with `directory` as its working directory imports it instead of this checkout's."""
    archive = subprocess.run(
        ["git", "-C", REPOSITORY, "archive", BASELINE, "gru_keras"], capture_output=True
    )
    assert archive.returncode == 0, f"git archive {BASELINE}: {archive.stderr.decode()[-500:]}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(directory, filter="data")
    imported = subprocess.run(
        [sys.executable, "-c", "import gru_keras; print(gru_keras.__file__)"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(imported.stdout.strip()).is_relative_to(directory)
    return directory


def run_at_baseline(tree: Path, *args: object) -> subprocess.CompletedProcess:
    """`python ARGS` in a `baseline_tree`, so that it imports the baseline's package."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=tree,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        check=False,
    )
