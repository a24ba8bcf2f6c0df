"""Does every pin of uv.lock have a distribution on each platform and Python we support?

`make platforms` runs this (it is not part of `make test`: it asks the package index). The
lock is exported with every extra, then uv's own resolver checks each pin alone (`--no-deps`)
for one target platform and Python at a time, with that target's markers. Per target it
prints `ok`, the first pin without a distribution there, or SKIPPED when the index cannot be
reached. Exit status: 1 if some target lacks a distribution, else 0.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# (uv's name for the platform, what people call it); the two TensorFlow 2.21 has wheels for.
PLATFORMS = (
    ("x86_64-unknown-linux-gnu", "Linux x86-64"),
    ("aarch64-apple-darwin", "macOS arm64"),
)
PYTHONS = ("3.11", "3.12")  # every Python that requires-python admits
OUT_OF_SCOPE = (
    "out of scope: macOS x86-64 (TensorFlow stops at 2.16.2), Linux aarch64 (2.20.0), Windows"
)

_MISSING = re.compile(r"Because ([A-Za-z0-9][A-Za-z0-9._-]*)(?:\{[^}]*\})?==(\S+?)(?:\{|\s)")
_UNREACHABLE = (
    "Failed to fetch",
    "error sending request",
    "Could not connect",
    "dns error",
    "Connection refused",
    "timed out",
    "Network is unreachable",
)


def verdict(returncode: int, output: str) -> str:
    """What one resolver run says: `ok`, `SKIPPED (...)`, or the first pin it could not
    find a distribution of."""
    if returncode == 0:
        return "ok"
    if any(marker in output for marker in _UNREACHABLE):
        return "SKIPPED (the package index cannot be reached)"
    found = _MISSING.search(output)
    if found:
        return f"no distribution of {found.group(1)}=={found.group(2)}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return "failed: " + (lines[0] if lines else f"uv exited {returncode}")


def check(uv: str, requirements: Path, platform: str, python: str, index_url: str | None) -> str:
    command = [uv, "pip", "compile", "--quiet", "--no-deps", "--no-header", "--output-file"]
    command += [str(requirements.with_suffix(".out")), str(requirements)]
    command += ["--python-platform", platform, "--python-version", python]
    if index_url:
        command += ["--index-url", index_url]
    result = subprocess.run(command, capture_output=True, text=True)
    return verdict(result.returncode, result.stdout + result.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default="uv", help="the uv executable (default: uv on PATH)")
    parser.add_argument("--index-url", help="another package index (default: uv's, PyPI)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        requirements = Path(directory) / "lock.txt"
        export = ["export", "--locked", "--quiet", "--all-extras", "--no-emit-project"]
        subprocess.run(
            [args.uv, *export, "--no-hashes", "--output-file", str(requirements)], check=True
        )
        pins = sum("==" in line for line in requirements.read_text().splitlines())
        print(f"uv.lock: {pins} pins, every extra included")
        failed = False
        for platform, label in PLATFORMS:
            for python in PYTHONS:
                result = check(args.uv, requirements, platform, python, args.index_url)
                failed |= not result.startswith(("ok", "SKIPPED"))
                print(f"  {label:<13} Python {python}: {result}")
    print(OUT_OF_SCOPE)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
