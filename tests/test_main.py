"""The command line's answers to careless and hostile input: one line, an exit code, and
nothing written where it should not be."""

import tempfile
from pathlib import Path

from fuzz import budget, fuzz
from hypothesis import event, given
from hypothesis import strategies as st

from gru_keras.__main__ import main


def _one_error_line(capsys) -> str:
    """The one `error:` line on stderr (beside the progress bar, if a suite started)."""
    stderr = capsys.readouterr().err
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


def test_an_unknown_tracking_uri_scheme_is_named_with_the_valid_forms(tmp_path, tiny_suite, capsys):
    suite = tiny_suite()
    for command in (["run", str(suite)], ["report", str(suite)]):
        assert main([*command, "--tracking-uri", "bogus://x"]) == 2
        error = _one_error_line(capsys)
        assert "unsupported scheme 'bogus'" in error and "sqlite:///PATH" in error


def test_report_on_a_store_that_does_not_exist_creates_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store.db"
    uri = f"sqlite:///{store}"
    assert main(["report", "--experiment", "nope", "--tracking-uri", uri]) == 2
    assert f"no tracking store at {store}" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_names_that_would_climb_out_of_reports_are_refused(
    tmp_path, tiny_suite, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    suite = tiny_suite()
    suite.write_text(suite.read_text().replace('name = "tiny"', 'name = "../../x"'))
    for command in (
        ["report", str(suite)],
        ["report", "--experiment", "../../x"],
        ["report", "--experiment", "/tmp/x"],
    ):
        assert main([*command, "--tracking-uri", uri, "--output-dir", "reports"]) == 2
        assert "is not a valid name" in _one_error_line(capsys)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny.toml"]
    assert not list(tmp_path.parent.glob("x*")) and not list(tmp_path.parent.parent.glob("x*"))


def test_a_read_only_store_is_one_line_for_run_and_report(
    tmp_path, tiny_suite, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    suite = tiny_suite(models=("simple_rnn",), epochs=1)
    assert (
        main(["run", str(suite), "--quiet", "--tracking-uri", f"sqlite:///{tmp_path / 's.db'}"])
        == 0
    )
    capsys.readouterr()
    # SQLite's own read-only mode: what a store on a read-only disk or without write
    # permission gives (chmod cannot show it to a test running as root).
    read_only = f"sqlite:///file:{tmp_path / 's.db'}?mode=ro&uri=true"
    assert main(["run", str(suite), "--quiet", "--force", "--tracking-uri", read_only]) == 1
    assert "attempt to write a readonly database" in _one_error_line(capsys)
    assert main(["report", str(suite), "--tracking-uri", read_only, "--output-dir", "out"]) == 1
    error = _one_error_line(capsys)
    assert error.startswith("error: the report files are written, but logging them")
    assert "attempt to write a readonly database" in error
    assert (tmp_path / "out" / "latest.pdf").is_file()


# --- fuzzing the arguments --------------------------------------------------------------------

FLAGS = {
    "run": ["--jobs", "--threads", "--executor", "--address", "--jit-compile", "--only",
            "--tracking-uri", "--force", "--quiet"],
    "report": ["--experiment", "--output-dir", "--no-log", "--tracking-uri"],
    "views": ["--tracking-uri", "--ui"],
}  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1", "2", "10000", "1e9", "nan", "", "ray", "local", "true",
                     "auto", "dataset=x", "seed=0,1", "model=", "=", "http://", "bogus://x"]),
    st.integers(-(2**40), 2**40).map(str),
    st.text(max_size=12),
)  # fmt: skip
# Values a flag takes, so that some calls get past argparse to the command itself.
GOOD = {
    "--jobs": ["1", "2", "0"], "--threads": ["1", "0"], "--executor": ["local"],
    "--jit-compile": ["true", "false", "auto"], "--only": ["seed=0", "model=lstm"],
    "--experiment": ["tiny", "nope"], "--output-dir": ["out"], "--address": ["auto"],
}  # fmt: skip
PATHS = ["suite", "suite", "missing.toml", "folder", "empty.toml", "file/below", "/dev/null", ""]


@fuzz
@budget(100)
@given(
    command=st.sampled_from(sorted(FLAGS)),
    path=st.sampled_from(PATHS),
    data=st.data(),
)
def test_fuzz_arguments_get_an_answer_or_one_line_and_exit_2(
    command, path, data, tiny_suite, capsys, monkeypatch
):
    names = st.sampled_from([*FLAGS[command], "--bogus", "-x"])
    flags = data.draw(
        st.lists(
            names.flatmap(
                lambda flag: st.tuples(
                    st.just(flag), st.one_of(st.sampled_from(GOOD.get(flag, ["1"])), VALUES)
                )
            ),
            max_size=3,
        )
    )
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        monkeypatch.chdir(folder)
        (folder / "folder").mkdir()
        (folder / "empty.toml").write_text("")
        (folder / "file").write_text("")
        suite = str(tiny_suite(directory=folder)) if path == "suite" else path
        argv = [command, suite, *(token for pair in flags for token in pair)]
        if command == "run":
            argv.append("--dry-run")  # a suite that parses never trains here
        if "--tracking-uri" not in argv:
            argv += ["--tracking-uri", f"sqlite:///{folder / 'store.db'}"]
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse: usage errors and --help
            code = exit.code
        captured = capsys.readouterr()
        event(f"{command} exit {code}")
        assert code in (0, 2), (argv, captured.err[-2000:])
        assert "Traceback" not in captured.err, argv
        if code == 2:
            errors = [line for line in captured.err.splitlines() if "error" in line]
            assert len(errors) == 1, (argv, captured.err)
        # Nothing was written: a dry run, views and a report (of a store that does not
        # exist) only read, and none of them creates the store.
        assert not (folder / "store.db").exists(), argv
