"""The report's sections, on inputs made in memory: which pages each section makes, and the
numbers and names it puts on them."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from gru_keras import schema
from gru_keras.analysis.aggregates import across_datasets, normalized_scores
from gru_keras.analysis.tables import head_to_head, summary_table
from gru_keras.families import TASKS
from gru_keras.report import sections
from gru_keras.report.inputs import ReportInputs
from gru_keras.variants import VARIANTS

# Four probe datasets (one family): three of the adding problem and one copy memory.
DATASETS = {
    "adding-a": "last_step_regression",
    "adding-b": "last_step_regression",
    "adding-c": "last_step_regression",
    "copy-x": "recall_labeling",
}
MODELS = ("custom_gru", "lstm")
ENDED = 1_764_000_000_000  # ms: 2025-11-24 16:00 UTC


def runs_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for dataset, task in DATASETS.items():
        for model in MODELS:
            for seed in (0, 1):
                rows.append(
                    {
                        "run_id": f"{dataset}-{model}-{seed}",
                        "run_name": schema.run_name(dataset, model, seed),
                        "status": schema.FINISHED,
                        "dataset": dataset,
                        "family": "probes",
                        "task": task,
                        "model": model,
                        "seed": seed,
                        "units": 20.0,
                        "recurrent_params": 1500.0,
                        "mean_epoch_seconds": 1.0,
                        "train_seconds": 5.0,
                        "end_time": ENDED - 1000 * seed,
                        "git_commit": "0123456789abcdef" if seed else "fedcba9876543210",
                        "machine": "test machine",
                        "versions": "keras 3",
                        "failure_reason": "",
                        "converged": True,
                        schema.KERAS_DEVIATION: 1e-6 if model == schema.SUBJECT else np.nan,
                        schema.GRADIENT_REACH_INITIAL: 1e-3,
                        schema.GRADIENT_REACH_TRAINED: 1e-2,
                        TASKS[task].headline_column: 0.1 + rng.random() / 10,
                    }
                )
    return pd.DataFrame(rows)


def inputs_of(runs: pd.DataFrame, gradients: pd.DataFrame | None = None) -> ReportInputs:
    summary = summary_table(runs, TASKS)
    return ReportInputs(
        experiment="probes-test",
        tracking_uri="sqlite:///test.db",
        runs=runs,
        summary=summary,
        pairs=head_to_head(runs, TASKS),
        across=across_datasets(normalized_scores(runs, summary, TASKS), list(VARIANTS)),
        curves=pd.DataFrame(columns=["dataset", "model", "seed", "epoch", "value"]),
        gradients=pd.DataFrame() if gradients is None else gradients,
        gates={},
        tables={},
        bench=None,
    )


@pytest.fixture
def inputs() -> ReportInputs:
    return inputs_of(runs_frame())


def texts(figure: Figure) -> str:
    return "\n".join(text.get_text() for text in figure.texts)


def test_provenance_says_what_the_runs_recorded(inputs):
    lines = sections.provenance(inputs).splitlines()
    assert lines[0].startswith("Suite (MLflow experiment): probes-test")
    assert "last run ended: 2025-11-24 16:00 UTC" in lines[0]
    assert "tracking store: sqlite:///test.db" in lines[0]
    assert lines[1].startswith("Runs: 16 (16 FINISHED)")
    assert "seeds: 0, 1" in lines[1]
    assert "git commit: 0123456789, fedcba9876" in lines[1]  # both, cut to 10 characters
    assert lines[2:] == [
        "Versions: keras 3",
        "Machine: test machine",
        "Tuning: none; every variant trained at the suite's shared settings.",
    ]


def test_provenance_says_which_runs_trained_at_tuned_settings():
    runs = runs_frame()
    note = "experiments/tuned/suite.toml (6 latin-hypercube trials ...; tuned at commit abc)"
    runs["tuned"] = ""
    runs.loc[runs["model"] == "custom_gru", "tuned"] = note
    tuned = (runs["model"] == "custom_gru").sum()
    assert sections.provenance(inputs_of(runs)).splitlines()[-1] == (
        f"Tuning: {tuned} of {len(runs)} recurrent runs at their own variant's tuned settings, "
        f"from {note}."
    )


def test_a_store_that_mixes_devices_or_machines_is_flagged():
    runs = runs_frame()
    runs["device"] = "CPU"
    assert sections.provenance(inputs_of(runs)).splitlines()[-2] == "Machine: test machine"
    runs.loc[runs["seed"] == 1, "device"] = "GPU: NVIDIA T4"
    warning = sections.provenance(inputs_of(runs)).splitlines()[-1]
    assert warning.startswith("WARNING: this store mixes 1 machine(s) and 2 device(s)")
    assert "(CPU; GPU: NVIDIA T4)" in warning
    # A benchmark from another machine mixes too; runs from before schema 5 (no device) don't.
    runs["device"] = "not recorded"
    bench = pd.DataFrame({"model": ["lstm"]})
    bench.attrs.update(machine="another machine", device="CPU")
    mixed = inputs_of(runs)
    mixed.bench = bench
    assert "mixes 2 machine(s) and 1 device(s)" in sections.provenance(mixed)
    assert "WARNING" not in sections.provenance(inputs_of(runs))


def test_the_datasets_of_a_family_page_come_in_the_summary_s_order(inputs):
    assert sections._datasets_by_family(inputs.summary) == {"probes": list(DATASETS)}


def test_a_family_of_four_datasets_gets_two_pages(inputs):
    figures = sections.family_pages(inputs)
    assert len(figures) == 2  # three datasets a page
    assert all("Task family: probes" in texts(figure) for figure in figures)


def test_reference_lines_come_from_each_dataset_s_task(inputs):
    references = sections._references(inputs.runs, ["adding-a", "copy-x", "not-run"])
    assert references == {
        "adding-a": TASKS["last_step_regression"].reference_lines,
        "copy-x": TASKS["recall_labeling"].reference_lines,
    }
    assert references["adding-a"] == {"predict the mean": pytest.approx(1 / 6)}


def test_the_gradient_page_prefers_the_adding_problem_over_another_probe():
    gradients = pd.DataFrame(
        {
            "dataset": ["copy-x", "adding-b"],
            "model": ["custom_gru"] * 2,
            "stage": ["trained"] * 2,
            "distance": [0, 0],
            "norm": [1.0, 1.0],
        }
    )
    inputs = inputs_of(runs_frame(), gradients)
    assert sections._diagnostic_datasets(inputs) == ["adding-b"]
    assert sections._diagnostic_datasets(inputs_of(runs_frame())) == []
    assert sections.inside_pages(inputs_of(runs_frame())) == []


def test_correctness_without_a_benchmark_is_its_own_page_with_every_dataset(inputs):
    (page,) = sections.correctness_pages(inputs)
    assert "Correctness of the custom layer" in texts(page)
    cells = [cell.get_text().get_text() for cell in page.axes[0].tables[0].get_celld().values()]
    assert set(DATASETS) <= set(cells)
    assert "1.00e-06" in cells
    no_deviation = inputs_of(runs_frame().assign(**{schema.KERAS_DEVIATION: np.nan}))
    assert sections.correctness_pages(no_deviation) == []


def test_no_family_samples_means_no_appendix(inputs):
    assert sections.appendix_pages(inputs) == []


def test_every_section_makes_pages_in_reading_order(inputs):
    pages = [page for section in sections.SECTIONS for page in section(inputs)]
    assert pages and all(isinstance(page, Figure) for page in pages)
    assert texts(pages[0]).startswith("probes-test: executive summary")
    titles = [page.texts[0].get_text().split(":")[0] for page in pages]
    assert titles.index("Claims check") > titles.index("Task family")
