"""Hostile files for the readers' fuzz tests: arbitrary bytes, arbitrary text, and
structure-aware mutations of valid files (lines deleted, duplicated, swapped, cut short;
values, keys and table names replaced with hostile ones).

`make test` runs every fuzz test with a fixed seed (`derandomize`) and a small budget, a few
seconds a reader; `make fuzz` runs the `fuzz` profile, FACTOR times the examples and a
random seed. A failing example found there becomes a regression test beside the fuzz test.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FACTOR = 50 if PROFILE == "fuzz" else 1
settings.register_profile(
    "ci",
    derandomize=True,  # the same examples on every run: a failure in CI is reproducible
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(PROFILE)

fuzz = pytest.mark.fuzz


def budget(examples: int) -> settings:
    """`examples` in `make test`, FACTOR times as many in `make fuzz`."""
    return settings(max_examples=examples * FACTOR)


# --- pieces --------------------------------------------------------------------------------

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 1, 2, 10_000, 10**9, 2**31, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _toml_float(value: float) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)


toml_scalars = st.one_of(
    numbers.map(lambda v: _toml_float(v) if isinstance(v, float) else str(v)),
    st.booleans().map(lambda v: "true" if v else "false"),
    words.map(json.dumps),
    st.sampled_from(['""', "1979-05-27", "07:32:00", "'''\nraw\n'''", "0x1F", "1_000", "{}"]),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: f"[{', '.join(items)}]"),
        st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=3).map(
            lambda table: "{" + ", ".join(f"{k} = {v}" for k, v in table.items()) + "}"
        ),
    ),
    max_leaves=6,
)
csv_cells = st.one_of(
    numbers.map(str),
    words,
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", '"', '""', ",", "\t", "NULL"]),
)


@st.composite
def mutated(draw, text: str, values: st.SearchStrategy[str], keys: tuple[str, ...] = ()) -> str:
    """`text` with 1-4 edits. A `key = value` line may get another value or key; with `keys`
    (names a reader knows), a replaced key is often a known one, to get past the first check."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(
            st.sampled_from(
                ["delete", "duplicate", "swap", "replace", "insert", "value", "key", "cut"]
            )
        )
        if not lines:
            lines = [draw(words)]
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        if edit == "delete":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, line)
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif edit == "replace":
            lines[index] = draw(words)
        elif edit == "insert":
            lines.insert(index, draw(st.one_of(words, values)))
        elif edit == "value" and "=" in line:
            key = line.split("=", 1)[0]
            lines[index] = f"{key}= {draw(values)}"
        elif edit == "value" and "," in line:
            cells = line.split(",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(values)
            lines[index] = ",".join(cells)
        elif edit == "key" and "=" in line:
            key = draw(st.sampled_from(keys) if keys else words)
            lines[index] = f"{key} = {line.split('=', 1)[1]}"
        elif edit == "cut":
            lines = lines[:index]
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))


def hostile(text: str, values: st.SearchStrategy[str], keys: tuple[str, ...] = ()):
    """Bytes: arbitrary, arbitrary text, or a mutation of the valid `text`, in some encoding."""
    as_text = st.one_of(st.text(max_size=200), mutated(text, values, keys))
    return st.one_of(
        st.binary(max_size=300),
        as_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        mutated(text, values, keys).map(lambda t: t.encode("utf-16")),
        mutated(text, values, keys).map(lambda t: t.encode("utf-8")),
        mutated(text, values, keys).map(lambda t: t.encode("utf-8")),
    )


def outcome(content: bytes, name: str, read, refusal: type[Exception]):
    """`read(path)` of `content` written as `name` in a fresh folder: (its result, None), or
    (None, the message) when the reader refused it with `refusal`, which must be one line.
    The file's path reads PATH in the message."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(content)
        try:
            return read(path), None
        except refusal as error:
            message = str(error)
            assert message and "\n" not in message, message
            return None, message.replace(str(path), "PATH")
