"""The report's sections in reading order: each takes the gathered inputs and returns its
pages. Captions live beside the page they describe."""

from __future__ import annotations

import functools

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from gru_keras import schema
from gru_keras.analysis import claims, findings
from gru_keras.analysis.runs import platforms
from gru_keras.analysis.stats import EQUIVALENCE_MARGIN
from gru_keras.analysis.tables import deviation_table
from gru_keras.analysis.tasks import last_step_tasks, memory_probes
from gru_keras.drawing.colors import model_color
from gru_keras.drawing.samples import SAMPLES_SHOWN
from gru_keras.drawing.tables import draw_table, table_bottom
from gru_keras.families import FAMILIES, TASKS
from gru_keras.report import pages, plots
from gru_keras.report.inputs import ReportInputs
from gru_keras.report.layout import add_caption, chunked, new_page, table_pages
from gru_keras.report.text import bench_display, display_head_to_head, display_overview
from gru_keras.variants import VARIANTS

GRADIENT_DATASETS = 2  # the adding problem (first probe) and one real task


def _status_counts(runs: pd.DataFrame) -> str:
    counts = runs["status"].value_counts()
    return ", ".join(f"{count} {status}" for status, count in counts.items())


def provenance(inputs: ReportInputs) -> str:
    """Suite, date, commit, versions and machine, as recorded on the runs themselves."""
    runs = inputs.runs
    ended = pd.to_numeric(runs["end_time"], errors="coerce").dropna()
    date = (
        pd.Timestamp(ended.max(), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
        if len(ended)
        else "unknown"
    )
    recorded = runs[runs["status"] != "MISSING"]
    commits = sorted({str(commit)[:10] for commit in recorded["git_commit"].dropna()})
    machines = sorted(set(recorded["machine"].dropna()))
    versions = recorded["versions"].dropna()
    seeds = sorted(set(recorded.loc[recorded["model"].isin(list(VARIANTS)), "seed"]))
    return "\n".join(
        [
            f"Suite (MLflow experiment): {inputs.experiment}    last run ended: {date}    "
            f"tracking store: {inputs.tracking_uri}",
            f"Runs: {len(runs)} ({_status_counts(runs)})    seeds: {', '.join(map(str, seeds)) or '-'}"
            f"    git commit: {', '.join(commits) or 'unknown'}",
            f"Versions: {versions.iloc[0] if len(versions) else 'not recorded'}",
            f"Machine: {'; '.join(machines) or 'not recorded'}",
            tuning_sentence(recorded),
            *_mixed_platforms(runs, inputs.bench),
        ]
    )


def tuning_sentence(runs: pd.DataFrame) -> str:
    """Whether the recurrent runs trained at their variant's own tuned settings, in one
    sentence with where those came from."""
    recurrent = runs[runs["model"].isin(list(VARIANTS))]
    tuned = recurrent["tuned"].fillna("") if "tuned" in recurrent else pd.Series(dtype=str)
    notes = sorted(set(tuned[tuned != ""]))
    if not notes:
        return "Tuning: none; every variant trained at the suite's shared settings."
    share = f"{int((tuned != '').sum())} of {len(recurrent)} recurrent runs"
    return f"Tuning: {share} at their own variant's tuned settings, from {'; '.join(notes)}."


def _mixed_platforms(runs: pd.DataFrame, bench: pd.DataFrame | None) -> list[str]:
    """A warning line when the runs and the benchmark did not all run on one platform."""
    machines, devices = platforms(runs[runs["status"] != "MISSING"], bench)
    if len(machines) <= 1 and len(devices) <= 1:
        return []
    return [
        f"WARNING: this store mixes {len(machines)} machine(s) and {len(devices)} device(s) "
        f"({'; '.join(devices) or 'devices not recorded'}): times and speeds compare only "
        "within one."
    ]


def executive_pages(inputs: ReportInputs) -> list[Figure]:
    """Page 1: the findings in sentences, every number from the tables that follow."""
    table = claims.claims_table(inputs.runs, inputs.summary, inputs.pairs, inputs.bench, TASKS)
    sentences = findings.executive_summary(
        inputs.summary, inputs.pairs, table, inputs.bench, inputs.runs
    )
    return pages.text_pages(
        f"{inputs.experiment}: executive summary",
        sentences,
        subtitle=provenance(inputs),
        caption="Generated from this report's tables: the summary (best means), the "
        "head-to-head (verdicts), the benchmark (cost), convergence, and the claims check.",
    )


SUMMARY_CAPTION = (
    "Headline test metric per dataset (↓ lower is better, ↑ higher) and model: mean over "
    "seeds with a 95% Student-t interval of the mean, to 3 significant figures of the "
    "dataset's largest mean. '(best)' marks custom_gru only where the head-to-head "
    "decided it (significantly better than every model it was tested against); a best "
    "mean alone is not a verdict. † marks a cell where some seeds did not converge "
    "(neither early-stopped with patience ≥ 3 nor on a plateau of under 1% gain over the "
    "last quarter of epochs). Baselines are deterministic and run once. A dash with a "
    "reason marks runs that failed or are missing. Every model of a dataset has the same "
    "recurrent parameter budget; seeds, units, parameters and seconds per epoch per model "
    "are in {experiment}-summary.md beside this report."
)
SUMMARY_WIDTHS = (0.12, 0.12, 0.15, 0.15, 0.15, 0.15, 0.16)
# Where the pooled plots under the summary table may go (figure fractions): above the
# captions of both, and never shorter than this.
ACROSS_BOTTOM, ACROSS_HEIGHT = 0.27, 0.15


def summary_pages(inputs: ReportInputs) -> list[Figure]:
    """The summary table, with the pooled view across datasets under it where both fit."""
    seeds = inputs.summary.loc[~inputs.summary["baseline"], "seeds"]
    note = (
        " With one seed per model there are no confidence intervals: treat differences as "
        "anecdotes."
        if len(seeds) and seeds.max() < 2
        else ""
    )
    title = f"{inputs.experiment}: when is a GRU worth it?"
    caption = SUMMARY_CAPTION.format(experiment=inputs.experiment) + note
    overview = display_overview(inputs.summary, inputs.pairs)
    across = inputs.across
    if across is not None:
        figure = new_page(title, subtitle=provenance(inputs))
        axis = figure.add_axes((0.04, 0.12, 0.92, 0.69))
        draw_table(
            axis, overview, column_widths=SUMMARY_WIDTHS, wrap=27, font_size=7, row_scale=1.15
        )
        # The pooled plots go under the table where they fit above the two captions.
        top = table_bottom(axis) - 0.06
        if top - ACROSS_BOTTOM >= ACROSS_HEIGHT:
            grid = figure.add_gridspec(
                1, 3, left=0.09, right=0.98, top=top, bottom=ACROSS_BOTTOM, wspace=0.5
            )
            add_caption(figure, f"Top: {caption} Bottom: {draw_across(figure, grid, inputs)}")
            return [figure]
    figures = table_pages(
        title,
        caption,
        overview,
        column_widths=SUMMARY_WIDTHS,
        subtitle=provenance(inputs),
        rows_per_page=20,
        wrap=22,
    )
    return figures + across_pages(inputs)


VERDICT_COLORS = {"better": "#1A7F37", "worse": "#B42318"}


def head_to_head_pages(inputs: ReportInputs) -> list[Figure]:
    table = display_head_to_head(inputs.pairs)
    if len(table):
        table["color"] = [
            VERDICT_COLORS.get(verdict, "") for verdict in inputs.pairs["verdict"].tolist()
        ]
    pairs = inputs.pairs
    # Holm's families: the comparisons that get a verdict (p present, runs converged).
    tests = pairs.loc[pairs["p_adjusted"].notna(), "test"].value_counts() if len(pairs) else {}
    return table_pages(
        "Head-to-head: custom GRU against each other recurrent model",
        "Difference of the headline test metric (custom_gru minus the other model, or the "
        "first model minus the second where a task compares more pairs ('X vs Y'); for an ↓ "
        "metric a negative difference favours the first) with Welch's 95% t interval over "
        "seeds (a description), and as a share of the other model's mean. Between models that "
        "compute different functions, an exact permutation test (Fisher-Pitman: every split "
        "of the seeds; its level holds when seeds split into solved and failed) gives p, "
        f"Holm-adjusted over the report's {tests.get('difference', 0)} difference "
        "comparisons that can get a verdict; 'better' or 'worse' needs an adjusted p < 0.05. "
        "Its smallest p is 2 / C(2n, n) with n seeds a side (0.1 at 3), so with too few seeds "
        "the verdict says so and how many it needs. keras_gru computes the same function as "
        "custom_gru, so that pair is tested for equivalence (the same test's TOST, margin "
        f"±{EQUIVALENCE_MARGIN:.0%} of keras_gru's mean, Holm over its "
        f"{tests.get('equivalence', 0)} datasets). A comparison with a run that did not "
        "converge gets no verdict: it compares early training. 'detectable' is the smallest "
        "difference these seeds and their spread would detect with 80% power at Holm's "
        "strictest level here (a normal approximation); a smaller true difference would "
        "likely go unseen.",
        table,
        color_column="color" if len(table) else None,
        column_widths=(0.13, 0.14, 0.1, 0.19, 0.05, 0.08, 0.06, 0.04, 0.21),
        # One page for about 12 datasets of 3 comparisons each.
        rows_per_page=38,
        font_size=6.5,
        row_scale=1.0,
    )


def across_pages(inputs: ReportInputs) -> list[Figure]:
    """The pooled view across datasets on its own page."""
    if inputs.across is None:
        return []  # fewer than two datasets with every variant on the same seeds: no pool
    figure = new_page("Across all datasets")
    grid = figure.add_gridspec(1, 3, left=0.09, right=0.98, top=0.86, bottom=0.22, wspace=0.5)
    add_caption(figure, draw_across(figure, grid, inputs))
    return [figure]


def draw_across(figure: Figure, grid: GridSpec, inputs: ReportInputs) -> str:
    """rliable's three views of the pooled runs in a row of `grid`; returns their caption."""
    across = inputs.across
    judged = inputs.runs["converged"].dropna() if "converged" in inputs.runs else []
    converged = (
        f" They pool every finished run, converged or not: {int(sum(judged))} of "
        f"{len(judged)} recurrent runs converged."
        if len(judged)
        else ""
    )
    models = across.iqm["model"].tolist()
    iqm_axis = plots.interval_points(
        figure.add_subplot(grid[0, 0]), models, across.iqm, "iqm", [model_color(m) for m in models]
    )
    iqm_axis.set_xlabel("IQM of normalized scores")
    others = across.improvement["other"].tolist()
    improvement_axis = plots.interval_points(
        figure.add_subplot(grid[0, 1]),
        [f"vs {other}" for other in others],
        across.improvement,
        "probability",
        [model_color(other) for other in others],
    )
    improvement_axis.axvline(0.5, color="#999999", linewidth=1, linestyle="--")
    improvement_axis.set_xlabel("P(custom_gru > other)")
    plots.performance_profiles(figure.add_subplot(grid[0, 2]), across.thresholds, across.profiles)
    return (
        f"Pooled over {across.datasets} datasets and {across.seeds} seeds, following rliable "
        "(Agarwal et al. 2021). Each dataset's headline metric is normalized: 0 is the worst "
        "mean among the recurrent variants and the naive baseline (where there is one), 1 the "
        "best mean of any model there, higher always better. Left: the interquartile mean (IQM) "
        "of the normalized scores with a 95% stratified bootstrap interval (seeds resampled "
        "within each dataset, 2,000 times). Middle: the probability that a custom_gru run beats "
        "a run of the other model on the same dataset, averaged over datasets; 0.5 is a tie. "
        "Right: performance profiles, the fraction of runs above each normalized score." + converged
    )


def _datasets_by_family(summary: pd.DataFrame) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for row in summary.drop_duplicates("dataset").itertuples():
        families.setdefault(row.family, []).append(row.dataset)
    return families


FAMILY_DATASETS_PER_PAGE = 3


def _references(runs: pd.DataFrame, datasets: list[str]) -> dict[str, dict[str, float]]:
    """Each dataset's reference lines, from its task (`Task.reference_lines`)."""
    tasks = runs.drop_duplicates("dataset").set_index("dataset")["task"]
    return {
        dataset: TASKS[tasks[dataset]].reference_lines
        for dataset in datasets
        if dataset in tasks and tasks[dataset] in TASKS
    }


def family_pages(inputs: ReportInputs) -> list[Figure]:
    figures = []
    for family, datasets in _datasets_by_family(inputs.summary).items():
        own_panel = FAMILIES[family].panel if family in FAMILIES else None
        panel = None if own_panel is None else functools.partial(own_panel, inputs)
        finding = findings.family_finding(inputs.summary, inputs.pairs, datasets)
        for chunk in chunked(datasets, FAMILY_DATASETS_PER_PAGE):
            figures.append(
                pages.family_page(
                    family,
                    chunk,
                    inputs.summary,
                    inputs.runs,
                    inputs.curves,
                    references=_references(inputs.runs, chunk),
                    finding=finding,
                    panel=panel,
                )
            )
    return figures


def _diagnostic_datasets(inputs: ReportInputs) -> list[str]:
    """The adding problem (or else the first probe) and the first real task with gradients."""
    if not len(inputs.gradients):
        return []
    measured = set(inputs.gradients["dataset"])
    ordered = inputs.summary.drop_duplicates("dataset")
    ordered = ordered[ordered["dataset"].isin(measured)]
    runs = inputs.runs
    is_probe = ordered["dataset"].isin(runs.loc[runs["task"].isin(memory_probes(TASKS)), "dataset"])
    at_last_step = ordered["dataset"].isin(
        runs.loc[runs["task"].isin(last_step_tasks(TASKS)), "dataset"]
    )
    probes = ordered[is_probe]
    adding = ordered[is_probe & at_last_step]
    chosen = list((adding if len(adding) else probes)["dataset"][:1])
    chosen += list(ordered.loc[~is_probe, "dataset"][:1])
    return chosen[:GRADIENT_DATASETS] or list(ordered["dataset"][:GRADIENT_DATASETS])


def inside_pages(inputs: ReportInputs) -> list[Figure]:
    datasets = _diagnostic_datasets(inputs)
    if not datasets:
        return []  # no run logged gradient diagnostics
    models = [model for model in VARIANTS if model in set(inputs.gradients["model"])]
    # The gates of the first dataset shown that has them (the adding problem first).
    shown = next((d for d in [*datasets, *inputs.gates] if d in inputs.gates), None)
    gates = (shown, inputs.gates[shown]) if shown else None
    return [pages.inside_page(inputs.gradients, datasets, models, gates)]


def claims_pages(inputs: ReportInputs) -> list[Figure]:
    table = claims.claims_table(inputs.runs, inputs.summary, inputs.pairs, inputs.bench, TASKS)
    caption = (
        "Each claim's evidence comes from this suite's runs (head-to-head verdicts, gradient "
        "diagnostics, converged datasets only) and, for speed, from the benchmark alone (the "
        "speed page): a suite's seconds per epoch are not comparable across models when jobs "
        "share the cores and XLA is chosen per task. 'Supported' needs evidence for and none against; "
        "'mixed' means the evidence points both ways; 'not supported' means the data does not "
        "show it, which is a result, not an error; 'not measured' means this suite has no "
        "evidence either way (for example one seed)."
    )
    return [pages.claims_page(table, caption)]


def _correctness_sentence(deviation: pd.DataFrame) -> str:
    # The last column holds the formatted largest deviation (`deviation_table`).
    per_dataset = ", ".join(
        f"{dataset} {value}"
        for dataset, value in zip(deviation["dataset"], deviation.iloc[:, -1], strict=True)
    )
    runs = int(deviation["custom_gru runs"].sum())
    return (
        f"Correctness: the largest |custom_gru - keras.layers.GRU| output difference after "
        f"training, over {runs} custom_gru runs, per dataset: {per_dataset} (float32 rounding "
        "is about 1e-6; near 1e-3 would be a bug)."
    )


def correctness_pages(inputs: ReportInputs) -> list[Figure]:
    deviation = deviation_table(inputs.runs)
    if inputs.bench is None:
        # No speed page to hold the sentence; the claims page says speed was not measured.
        return (
            table_pages(
                "Correctness of the custom layer",
                "After training, every custom_gru run converts its weights to keras.layers.GRU "
                "(reset_after=False, update-gate block negated) and compares the two layers' "
                "outputs on 64 validation sequences. Float32 rounding puts agreement around "
                "1e-6; anything near 1e-3 would be a bug. The test suite checks the same "
                "against an independent NumPy implementation and finite differences.",
                deviation,
                column_widths=(0.3, 0.2, 0.35),
            )
            if len(deviation)
            else []
        )
    correctness = " " + _correctness_sentence(deviation) if len(deviation) else ""
    bench = inputs.bench
    suite = bench.attrs.get("suite", "")
    if suite:
        title = f"Speed at the shapes of {suite} (bench --suite, run by make experiment)"
        shapes = (
            "Each row is one dataset's shape in this suite: its batch, sequence length T and "
            "features F, keras_gru at the units of the dataset's parameter budget and every "
            "other model matched to its parameter count ('same_params'), without XLA."
        )
    else:
        quick = " (quick run: one tiny shape only)" if bench.attrs.get("quick") else ""
        title = "Speed of the custom layer (make bench)" + quick
        shapes = (
            "'same_units' gives every model the same units, 'same_params' matches keras_gru's "
            "parameter count."
        )
    display = bench_display(bench)
    peak = (
        f" ({bench['peak_gflops'].iloc[0]:.0f} GFLOP/s)" if "peak_gflops" in bench.columns else ""
    )
    # Six narrow shape columns, then one per model and keras_gru's own.
    widths = (0.09, 0.04, 0.045, 0.035, 0.03, 0.045) + (0.11,) * (len(display.columns) - 6)
    return table_pages(
        title,
        "Per model: time per training step (forward + backward + update) / per inference "
        "batch, as a ratio to keras.layers.GRU on the same shape (below 1.00 is faster); "
        "keras_gru ms: its own milliseconds. The models of a "
        "shape are timed in one process, one step of each in turn (no parallel jobs), median "
        f"over the repeats. {shapes} GFLOP/s: keras_gru's training step, counting the "
        f"recurrence's matmul FLOPs (backward as twice the forward), against this machine's "
        f"fp32 matmul peak measured in the same run{peak}. 'bound': keras_gru re-timed at half "
        f"the units (a quarter of the multiply-adds); if its step still takes >= "
        f"{schema.BENCH_OVERHEAD_SHARE:.0%} as long (the ratio in brackets), the shape is "
        f"bound by per-step overhead rather than arithmetic, else by arithmetic ('compute'). "
        f"The claims page's speed verdict comes from this table alone. Machine: "
        f"{bench.attrs.get('machine', 'not recorded')}." + correctness,
        display,
        column_widths=widths,
    )


def appendix_pages(inputs: ReportInputs) -> list[Figure]:
    """One table of every family's decoded test examples on which the models differ."""
    tables = [
        FAMILIES[family].samples(inputs, datasets)
        for family, datasets in _datasets_by_family(inputs.summary).items()
        if family in FAMILIES and FAMILIES[family].samples is not None
    ]
    tables = [table for table in tables if len(table)]
    if not tables:
        return []  # every model decoded every logged example alike
    return table_pages(
        "Appendix: test examples the models decode differently",
        f"Per dataset, up to {SAMPLES_SHOWN} of the first logged test examples on which the "
        "models' outputs differ (each model's first seed; examples every model gets right, or "
        "wrong alike, are left out): translations with the run's decoding (greedy unless a "
        "beam width is set), and spoken digit strings decoded greedily from CTC, by voices "
        "never heard in training. 'exact' in green marks an output identical to the "
        "reference, 'differs' in red one that is not; … marks text cut to fit.",
        pd.concat(tables, ignore_index=True),
        color_column="color",
        column_widths=(0.12, 0.06, 0.1, 0.62, 0.06),
        rows_per_page=40,
        font_size=7,
        row_scale=1.1,
    )


SECTIONS = (
    executive_pages,
    summary_pages,
    head_to_head_pages,
    family_pages,
    inside_pages,
    claims_pages,
    correctness_pages,
    appendix_pages,
)
