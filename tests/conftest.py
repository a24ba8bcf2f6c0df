import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# Set before TensorFlow is imported by any test module.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras
import pytest
from cli import ADDING


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def tiny_suite(tmp_path):
    """Writes a tiny suite file and returns its path.

    By default: the adding problem at T = 10 with 64 training sequences, custom_gru and
    simple_rnn, seed 0, 2 epochs, no XLA, no diagnostics (`diagnostics` True logs them: they
    cost more than the whole training of a run this small), a 3,000-parameter budget, and one
    job (in the CLI's own process: worker processes would each import TensorFlow again, which
    the tests of the parallel runner do on purpose with `--jobs`). `datasets` replaces the dataset
    tables (TOML text; a decision map's `[map]` table); `suite` and `training` add lines
    to those tables. `models` or `seeds` None leaves them out (a map has its own).
    """

    def write(
        name: str = "tiny",
        *,
        models: tuple[str, ...] | None = ("custom_gru", "simple_rnn"),
        seeds: tuple[int, ...] | None = (0,),
        epochs: int = 2,
        batch_size: int = 32,
        budget: int = 3000,
        length: int = 10,
        train_size: int = 64,
        jobs: int = 1,
        diagnostics: bool = False,
        suite: str = "",
        training: str = "",
        datasets: str | None = None,
        directory: Path | None = None,
    ) -> Path:
        text = "\n".join(
            [
                "[suite]",
                f'name = "{name}"',
                f"models = {json.dumps(list(models))}" if models is not None else "",
                f"seeds = {json.dumps(list(seeds))}" if seeds is not None else "",
                f"parameter_budget = {budget}",
                f"jobs = {jobs}",
                suite,
                "[training]",
                f"epochs = {epochs}",
                f"batch_size = {batch_size}",
                # Compiling with XLA costs seconds per tiny run; tests/experiment/test_xla.py
                # and the smoke suite cover the compiled steps.
                "jit_compile = false",
                "" if diagnostics else "diagnostics = false",
                training,
                ADDING.format(length=length, train_size=train_size)
                if datasets is None
                else datasets,
            ]
        )
        folder = directory or tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.toml"
        path.write_text(text)
        return path

    return write


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 (sqlite backend in a temporary folder); its URI.
    One per test process, shared by the modules that process runs (it takes 8-13 s to start):
    each of them tracks into experiments of its own names."""
    directory = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{directory / 'server.db'}",
            "--artifacts-destination",
            str(directory / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "server.log").open("w"),
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(
            "mlflow server did not start: " + (directory / "server.log").read_text()[-2000:]
        )
    yield uri
    process.terminate()
    process.wait(timeout=30)
