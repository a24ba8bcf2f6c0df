"""End-to-end: run real suites through the CLI into a temporary MLflow store, then build the
report from that store alone and read the PDF back."""

import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from cli import (
    ADDING,
    DIVERGING,
    baseline_tree,
    here,
    pdf_text,
    report_here,
    run_at_baseline,
    store,
)
from mlflow.tracking import MlflowClient
from pypdf import PdfReader

from gru_keras.__main__ import main
from gru_keras.analysis.findings import best_variants

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[2]
SMOKE = REPOSITORY / "experiments" / "smoke.toml"
MODELS = ("custom_gru", "lstm", "naive", "seasonal_naive", "ets")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    directory = tmp_path_factory.mktemp("smoke")
    # Two of the four variants, and the baselines, on every smoke dataset: every section of
    # the report at two thirds of the runs (the other variants run in the family tests).
    # Without XLA: its compiling costs seconds a run, and tests/experiment/test_xla.py covers it.
    # In this process: worker processes would each import TensorFlow again, on cores the other
    # test worker is using (tests/experiment/test_workers.py covers them).
    run = here(
        *(directory, "run", SMOKE, "--quiet", "--jit-compile", "false", "--jobs", "1"),
        *("--only", f"model={','.join(MODELS)}"),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # As `make experiment` does: the benchmark at the suite's shapes, for the speed page; at
    # one of them (timing all five takes most of a minute, and one fills the page).
    bench = here(
        *(directory, "bench", "--suite", SMOKE, "--dataset", "adding-T100"),
        *("--output", directory / "bench.csv"),
    )
    assert bench.returncode == 0, bench.stderr[-3000:]
    code, printed = report_here(directory, "--experiment", "smoke")
    assert code == 0
    return directory, SimpleNamespace(stdout=printed)


def test_smoke_report_is_written_next_to_its_tables(smoke):
    directory, report = smoke
    reports = directory / "reports"
    (stamped,) = reports.glob("smoke-2*.pdf")
    assert (reports / "latest.pdf").read_bytes() == stamped.read_bytes()
    for name in ("smoke-summary.csv", "smoke-head-to-head.csv", "smoke-summary.md"):
        assert (reports / name).stat().st_size > 0
    summary = pd.read_csv(reports / "smoke-summary.csv")
    assert set(summary["model"]) == set(MODELS)
    assert "| dataset | model |" in report.stdout  # the Markdown summary is printed too


def test_smoke_report_has_every_section_dataset_and_model(smoke):
    directory, _ = smoke
    pages, text = pdf_text(directory / "reports" / "latest.pdf")
    assert pages >= 8
    for heading in (
        "executive summary",
        "when is a GRU worth it?",  # the summary page
        "Head-to-head",
        "Task family: probes",
        "Task family: forecasting",
        "Task family: translation",
        "Task family: speech",
        "japanese-vowels: test errors by true speaker",  # the speech family's own panel
        "test metrics (means)",  # the translation family's own panel
        "IQM of normalized scores",  # the pooled view, under the summary table
        "sunspots-monthly: 4 test windows",  # the forecasting family's own panel
        "how far back gradients reach, and the custom GRU's gates",
        "update gate z_t",
        "Claims check",
        # With a benchmark, correctness is a sentence on the speed page.
        "|custom_gru - keras.layers.GRU| output difference",
    ):
        assert heading.lower() in text.lower(), heading
    summary = pd.read_csv(directory / "reports" / "smoke-summary.csv")
    for name in [*summary["dataset"].unique(), *summary["model"].unique()]:
        assert name in text, name
    assert "1 seed, no CI" in text
    # Page 1 states the findings, with the numbers of the summary table.
    first_page = " ".join(
        PdfReader(directory / "reports" / "latest.pdf").pages[0].extract_text().split()
    )
    assert "smoke: executive summary" in first_page
    best = Counter(best_variants(summary).values())
    assert f"over {len(summary['dataset'].unique())} datasets, and by how much" in first_page
    for model, count in best.items():
        assert f"{model} on {count} (" in first_page, model
    # The speed page, from the benchmark `make experiment` runs at the suite's shapes.
    assert "Speed at the shapes of smoke" in text
    assert "custom_gru trains" in text and (
        "faster than lstm" in text or "slower than lstm" in text
    )
    # Every family page states its finding.
    assert text.count("Finding: ") >= 4


def test_no_smoke_report_page_is_a_lone_message_or_a_table_of_three_rows(smoke):
    directory, _ = smoke
    reader = PdfReader(directory / "reports" / "latest.pdf")
    for number, page in enumerate(reader.pages, start=1):
        lines = [line for line in page.extract_text().splitlines() if line.strip()]
        # A title and a caption around a body: a lone message has a handful of lines.
        assert len(lines) > 6, (number, lines)
        if "(continued)" in lines[0]:
            assert len(lines) > 8, (number, lines)  # no orphan rows carried over


def test_smoke_report_is_logged_to_the_parent_run_of_the_suite(smoke):
    directory, _ = smoke
    client = MlflowClient(f"sqlite:///{directory / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("smoke")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string="tags.kind = 'invocation'"
    )
    assert run.info.run_name.startswith("smoke @ ") and run.info.status == "FINISHED"
    logged = {Path(item.path).name for item in client.list_artifacts(run.info.run_id, "report")}
    assert "smoke-summary.md" in logged and any(name.endswith(".pdf") for name in logged)
    assert run.data.tags["report_pdf"].removeprefix("report/") in logged
    # No run of its own for the report.
    assert not client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'report'")


def _page_texts(path: Path) -> list[str]:
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")  # a build time, if shown
    return [stamp.sub("<time>", page.extract_text()) for page in PdfReader(path).pages]


def test_the_report_of_a_store_is_the_one_the_baseline_code_builds(smoke, tmp_path):
    """Reorganising the code changed no table and no word of the PDF but the speed page's:
    the `BASELINE` commit's package (from git, run in its own process) reports the smoke store
    exactly as this one."""
    directory, _ = smoke
    old = baseline_tree(tmp_path / "baseline")
    written = tmp_path / "reports"
    built = run_at_baseline(
        old, "-m", "gru_keras", "report", "--experiment", "smoke", "--no-log",
        "--tracking-uri", store(directory), "--output-dir", written,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    reports = directory / "reports"
    for name in ("smoke-summary.csv", "smoke-head-to-head.csv", "smoke-summary.md"):
        assert (written / name).read_text() == (reports / name).read_text(), name
    # Every page, word for word (the baseline already has the speed page's GFLOP/s and the
    # executive summary's list of unconverged runs).
    ours, theirs = _page_texts(reports / "latest.pdf"), _page_texts(written / "latest.pdf")
    assert len(ours) == len(theirs)
    assert any("Speed at the shapes of smoke" in text and "GFLOP/s" in text for text in ours)
    assert re.search(r"The \d+ runs: adding-T100 custom_gru seed 0 \(only 1 epoch\)", ours[0])
    assert "Verdicts: an exact permutation test" in " ".join(ours[0].split())
    assert [" ".join(t.split()) for t in theirs] == [" ".join(t.split()) for t in ours]


def test_unknown_experiment_is_a_usage_error_naming_the_ones_there(smoke, tmp_path, capsys):
    directory, _ = smoke
    code = main(
        [
            "report",
            "--experiment",
            "nope",
            "--tracking-uri",
            f"sqlite:///{directory / 'mlflow.db'}",
            "--output-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "no experiment named 'nope'" in error and "smoke" in error
    assert not list(tmp_path.iterdir())


# Two seeds so intervals exist, a dataset that diverges (FAILED runs), and a second suite
# file asking for a third seed that never ran (MISSING runs).
EDGE_DATASETS = ADDING.format(length=10, train_size=128) + DIVERGING


def test_report_with_failed_and_missing_runs_still_builds_and_says_why(tmp_path, tiny_suite):
    suite = tiny_suite("report-edge", seeds=(0, 1), datasets=EDGE_DATASETS)
    run = here(tmp_path, "run", suite, "--quiet")
    assert run.returncode == 1  # the diverging runs failed; the others went on
    wider = tiny_suite(
        "report-edge", seeds=(0, 1, 2), datasets=EDGE_DATASETS, directory=tmp_path / "wider"
    )
    code, _ = report_here(tmp_path, wider)
    assert code == 0
    _, text = pdf_text(tmp_path / "reports" / "latest.pdf")
    text = " ".join(text.split())  # table cells wrap their text over lines
    assert "FAILED" in text and "no run in the tracking store" in text
    pairs = pd.read_csv(tmp_path / "reports" / "report-edge-head-to-head.csv").set_index("dataset")
    # Two finished seeds per model, but 2 epochs are early training: no verdict, and the
    # report says why, in those words; the summary marks the cells.
    assert pairs.loc["adding-short", "verdict"] == "not converged: compares early training"
    assert "not converged: compares early training" in text and "†" in text
    assert pairs.loc["adding-short", "seeds"] == "2 vs 2"
    summary = pd.read_csv(tmp_path / "reports" / "report-edge-summary.csv")
    short = summary[summary["dataset"] == "adding-short"]
    assert (short["not_finished"] == 1).all()  # seed 2 of each model is missing
    assert short["why_not_finished"].str.contains("MISSING").all()

    # By experiment name, without a suite file: what the store has, nothing MISSING.
    code, _ = report_here(
        tmp_path, "--experiment", "report-edge", "--output-dir", "by-name", "--no-log"
    )
    assert code == 0
    _, text = pdf_text(tmp_path / "by-name" / "latest.pdf")
    assert "FAILED" in text and "no run in the tracking store" not in text
