"""Helpers of the end-to-end tests: the real CLI in a subprocess, and a PDF's text."""

import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader


def gru_keras(directory: Path, *args: object) -> subprocess.CompletedProcess:
    """`python -m gru_keras ARGS` in `directory`, tracking into its own sqlite store."""
    command = [sys.executable, "-m", "gru_keras", *map(str, args)]
    command += ["--tracking-uri", f"sqlite:///{directory / 'mlflow.db'}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        command, cwd=directory, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def pdf_text(path: Path) -> tuple[int, str]:
    """Page count and the extracted text of every page."""
    reader = PdfReader(path)
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)
