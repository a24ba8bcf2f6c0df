"""MLflow runs -> tables -> the PDF report. Built from the tracking store alone, never from
in-memory results, so a report can be rebuilt later or from a remote server.

`gru_keras.report.inputs` gathers what the store holds, `gru_keras.analysis` turns it into
tables, `gru_keras.report.sections` draws the pages; only the functions here write files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.analysis.runs import find_experiment
from gru_keras.names import check_name, inside
from gru_keras.report.inputs import ReportInputs, gather
from gru_keras.report.sections import SECTIONS
from gru_keras.report.text import display_head_to_head, markdown_table, to_markdown


def write_tables(
    summary: pd.DataFrame, pairs: pd.DataFrame, directory: Path, stem: str
) -> list[Path]:
    """Write `<stem>-summary.csv`, `<stem>-head-to-head.csv` and `<stem>-summary.md` (both
    tables) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    summary_csv = inside(directory, f"{stem}-summary.csv")
    pairs_csv = inside(directory, f"{stem}-head-to-head.csv")
    markdown_path = inside(directory, f"{stem}-summary.md")
    summary.to_csv(summary_csv, index=False)
    pairs.to_csv(pairs_csv, index=False)
    markdown = [f"# {stem}: test results", "", to_markdown(summary, pairs), ""]
    if len(pairs):
        markdown += [
            "## Head-to-head (exact permutation test over seeds, Welch's 95% CI; p "
            "Holm-adjusted over the report)",
            "",
            markdown_table(display_head_to_head(pairs)),
            "",
        ]
    markdown_path.write_text("\n".join(markdown))
    return [summary_csv, pairs_csv, markdown_path]


def build_pages(inputs: ReportInputs) -> list[Figure]:
    """Every page of the report, in reading order, numbered in the footer."""
    pages = [page for section in SECTIONS for page in section(inputs)]
    for number, page in enumerate(pages, start=1):
        page.text(0.96, 0.955, f"{number} / {len(pages)}", fontsize=8, ha="right", va="top")
    return pages


def write_pdf(pages: list[Figure], path: Path, title: str) -> Path:
    """One vector PDF of all pages, written whole or not at all: into a temporary file beside
    `path`, renamed over it only once every page is in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with PdfPages(partial, metadata={"Title": title, "Creator": "gru-keras"}) as pdf:
            for page in pages:
                pdf.savefig(page)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def replace_copy(source: Path, target: Path) -> Path:
    """`target` becomes a copy of `source` in one step (a reader never sees half a file)."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def log_report(client: MlflowClient, experiment: str, paths: list[Path]) -> str:
    """Attach the report files to the experiment's newest invocation run (the parent run of
    the `run` command whose runs it reports). A store with no invocation run gets one report
    run (tagged `kind=report`, never read as a result). Returns the run id."""
    experiment_id = find_experiment(client, experiment)
    run_id = _newest(client, experiment_id, schema.KIND_INVOCATION) or _newest(
        client, experiment_id, schema.KIND_REPORT
    )
    if run_id is None:
        run = client.create_run(
            experiment_id,
            run_name=schema.report_run_name(experiment),
            tags={schema.TAG_KIND: schema.KIND_REPORT},
        )
        run_id = run.info.run_id
        client.set_terminated(run_id, schema.FINISHED)
    for path in paths:
        client.log_artifact(run_id, str(path), schema.REPORT_DIR)
    # Where the PDF is, for whoever opens the run (paths[0] is the timestamped PDF).
    client.set_tag(run_id, schema.TAG_REPORT_PDF, f"{schema.REPORT_DIR}/{paths[0].name}")
    return run_id


def _newest(client: MlflowClient, experiment_id: str, kind: str) -> str | None:
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{schema.TAG_KIND} = '{kind}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0].info.run_id if found else None


def build_report(
    client: MlflowClient,
    experiment: str,
    output_dir: Path,
    expected: list[tuple[str, str, str, str, int]] | None = None,
    log: bool = True,
) -> list[Path]:
    """Read `experiment` from MLflow and write `<experiment>-<timestamp>.pdf`, `latest.pdf`
    and the summary tables into `output_dir`; log them to MLflow unless `log` is False.

    Returns:
        The written paths, the timestamped PDF first.
    """
    check_name(experiment, "experiment")
    inputs = gather(client, experiment, expected)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    pdf = write_pdf(
        build_pages(inputs),
        inside(output_dir, f"{experiment}-{stamp}.pdf"),
        f"gru-keras: {experiment}",
    )
    # Only a complete new report replaces the last one.
    latest = replace_copy(pdf, output_dir / "latest.pdf")
    paths = [pdf, latest, *write_tables(inputs.summary, inputs.pairs, output_dir, experiment)]
    if log:
        log_report(client, experiment, [pdf, *paths[2:]])
    return paths
