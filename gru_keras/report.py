"""MLflow runs -> tables -> the PDF report. Built from the tracking store alone, never from
in-memory results, so a report can be rebuilt later or from a remote server.

The tables come from a chain of small pure functions (runs -> DataFrame -> summary,
head-to-head), in the style of rliable; the pages are built by section functions that draw
with `gru_keras.plots`. Only `write_tables`, `write_pdf` and `log_report` write anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from mlflow.tracking import MlflowClient

from gru_keras import claims, diagnostics, plots, tracking
from gru_keras.models import VARIANTS
from gru_keras.registry import Registry
from gru_keras.stats import bootstrap_ci, bootstrap_difference, verdict
from gru_keras.tasks import get_task

REPORT_KIND = "report"  # tag `kind` of the run that holds the report PDFs, not a result
RUN_COLUMNS = (
    "run_id",
    "run_name",
    "status",
    "dataset",
    "family",
    "task",
    "model",
    "seed",
    "units",
    "recurrent_params",
    "mean_epoch_seconds",
    "epochs_run",
    "train_seconds",
    "start_time",
    "end_time",
    "git_commit",
    "machine",
    "versions",
    "failure_reason",
)
EXTRA_METRICS = ("gradient_decay_initial", "gradient_decay_trained", "keras_max_abs_deviation")


def find_experiment(client: MlflowClient, experiment: str) -> str:
    """The id of `experiment`.

    Raises:
        ValueError: naming the experiments the store has, if it does not exist.
    """
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise ValueError(
            f"no experiment named {experiment!r} in {client.tracking_uri}; "
            f"experiments there: {', '.join(names) or '(none)'}"
        )
    return found.experiment_id


def _run_row(run) -> dict:
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    epochs_run = metrics.get("epochs_run", np.nan)
    # Training time: epochs x seconds per epoch for a network, fit + predict for a baseline.
    train_seconds = metrics.get(
        "fit_predict_seconds", epochs_run * metrics.get("mean_epoch_seconds", np.nan)
    )
    row = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        "dataset": tags.get("dataset", ""),
        "family": tags.get("family", ""),
        "task": tags.get("task", ""),
        "model": tags.get("model", ""),
        "seed": int(tags.get("seed", -1)),
        "units": float(params["units"]) if "units" in params else np.nan,
        "recurrent_params": float(params["recurrent_params"])
        if "recurrent_params" in params
        else np.nan,
        "mean_epoch_seconds": metrics.get("mean_epoch_seconds", np.nan),
        "epochs_run": epochs_run,
        "train_seconds": train_seconds,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "git_commit": tags.get("git_commit", "unknown"),
        "machine": tags.get("machine", "not recorded"),
        "versions": ", ".join(
            f"{name.removeprefix('version.')} {value}"
            for name, value in sorted(tags.items())
            if name.startswith("version.")
        ),
        "failure_reason": tags.get(tracking.FAILURE_TAG, ""),
    }
    row.update({name: metrics.get(name, np.nan) for name in EXTRA_METRICS})
    row.update({name: value for name, value in metrics.items() if name.startswith("test_")})
    return row


def load_runs(client: MlflowClient, experiment: str) -> pd.DataFrame:
    """One row per run of `experiment`: identity, status, sizes, timing, provenance, the
    diagnostics' summary numbers and every `test_*` metric.

    Raises:
        ValueError: if the experiment does not exist in the store.
    """
    experiment_id = find_experiment(client, experiment)
    rows = [
        _run_row(run)
        for run in client.search_runs([experiment_id], max_results=50_000)
        if run.data.tags.get("kind") != REPORT_KIND
    ]
    frame = pd.DataFrame(rows, columns=None if rows else list(RUN_COLUMNS))
    return latest_runs(frame)


def latest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest run of each `(dataset, model, seed)`, sorted by them.

    Changing a dataset's settings and running the suite again adds new runs next to the old
    ones (the config hash differs); the report describes the suite as it was last run, so a
    seed is never counted twice and old settings never mix with new ones.
    """
    newest = runs.sort_values("start_time", kind="stable").drop_duplicates(
        ["dataset", "model", "seed"], keep="last"
    )
    return newest.sort_values(["dataset", "model", "seed"], kind="stable").reset_index(drop=True)


def add_missing(runs: pd.DataFrame, expected: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    """Add a MISSING row for every expected `(dataset, family, task, model, seed)` that has no
    run in the store (a suite stopped before it, or runs deleted), so tables can show it."""
    present = set(zip(runs["dataset"], runs["model"], runs["seed"], strict=True))
    missing = [
        {
            "run_name": f"{dataset}__{model}__{seed}",
            "status": "MISSING",
            "dataset": dataset,
            "family": family,
            "task": task,
            "model": model,
            "seed": seed,
            "failure_reason": "no run in the tracking store",
        }
        for dataset, family, task, model, seed in expected
        if (dataset, model, seed) not in present
    ]
    if not missing:
        return runs
    combined = pd.concat([runs, pd.DataFrame(missing)], ignore_index=True)
    return combined.sort_values(["dataset", "model", "seed"], kind="stable").reset_index(drop=True)


def load_curves(client: MlflowClient, runs: pd.DataFrame, metric: str = "val_loss") -> pd.DataFrame:
    """Per-epoch history of `metric` for every finished run: `dataset, model, seed, epoch, value`."""
    frames = []
    for run in runs[runs["status"] == "FINISHED"].itertuples():
        history = client.get_metric_history(run.run_id, metric)
        if history:
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": run.dataset,
                        "model": run.model,
                        "seed": run.seed,
                        "epoch": [point.step + 1 for point in history],
                        "value": [point.value for point in history],
                    }
                ).sort_values("epoch")
            )
    columns = ["dataset", "model", "seed", "epoch", "value"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _download(client: MlflowClient, run_id: str, path: str, directory: str) -> Path | None:
    try:
        return Path(client.download_artifacts(run_id, path, directory))
    except Exception:
        return None


def load_table_artifacts(client: MlflowClient, runs: pd.DataFrame, path: str) -> pd.DataFrame:
    """The CSV artifact `path` of every finished run that has it, stacked, with `dataset,
    model, seed` columns in front."""
    frames = []
    with tempfile.TemporaryDirectory() as directory:
        for run in runs[runs["status"] == "FINISHED"].itertuples():
            local = _download(client, run.run_id, path, directory)
            if local is not None:
                table = pd.read_csv(local)
                table.insert(0, "seed", run.seed)
                table.insert(0, "model", run.model)
                table.insert(0, "dataset", run.dataset)
                frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_array_artifact(client: MlflowClient, run_id: str, path: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` artifact, or an empty dict if the run has none."""
    with tempfile.TemporaryDirectory() as directory:
        local = _download(client, run_id, path, directory)
        if local is None:
            return {}
        with np.load(local) as arrays:
            return {name: arrays[name] for name in arrays.files}


def model_order(models) -> list[str]:
    """The recurrent variants in registry order, then baselines alphabetically."""
    variants = [name for name in VARIANTS if name in set(models)]
    return variants + sorted(set(models) - set(variants))


def _why_not_finished(group: pd.DataFrame) -> str:
    reasons = []
    for status, rows in group[group["status"] != "FINISHED"].groupby("status"):
        first = str(rows["failure_reason"].iloc[0] or "").splitlines()
        detail = f": {first[0][:80]}" if first and first[0] else ""
        reasons.append(f"{len(rows)} {status}{detail}")
    return "; ".join(reasons)


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model): the headline test metric as mean and 95% CI over FINISHED seeds,
    the units, parameter count and seconds per epoch, and how many runs did not finish, why."""
    rows = []
    for dataset, by_dataset in runs.groupby("dataset", sort=True):
        task = get_task(by_dataset["task"].iloc[0])
        column = f"test_{task.headline_metric}"
        for model in model_order(by_dataset["model"].unique()):
            group = by_dataset[by_dataset["model"] == model]
            finished = group[group["status"] == "FINISHED"]
            values = finished[column].to_numpy() if column in finished else np.array([])
            mean, low, high = bootstrap_ci(values)
            rows.append(
                {
                    "dataset": dataset,
                    "family": group["family"].iloc[0],
                    "model": model,
                    "baseline": model in task.baselines,
                    "metric": column,
                    "higher_is_better": task.higher_is_better,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "seeds": len(finished),
                    "not_finished": len(group) - len(finished),
                    "why_not_finished": _why_not_finished(group),
                    "units": finished["units"].median() if len(finished) else np.nan,
                    "recurrent_params": finished["recurrent_params"].median()
                    if len(finished)
                    else np.nan,
                    "seconds_per_epoch": finished["mean_epoch_seconds"].mean()
                    if len(finished)
                    else np.nan,
                    "train_seconds": finished["train_seconds"].mean()
                    if len(finished) and "train_seconds" in finished
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


HEAD_TO_HEAD_PAIRS = (
    ("custom_gru", "lstm"),
    ("custom_gru", "simple_rnn"),
    ("custom_gru", "keras_gru"),
)


def head_to_head(
    runs: pd.DataFrame, pairs: tuple[tuple[str, str], ...] = HEAD_TO_HEAD_PAIRS
) -> pd.DataFrame:
    """Per dataset and pair: the difference of the headline metric (first minus second) with
    its stratified bootstrap 95% CI over seeds, and the verdict for the first model."""
    rows = []
    for dataset, group in runs.groupby("dataset", sort=True):
        task = get_task(group["task"].iloc[0])
        column = f"test_{task.headline_metric}"
        finished = group[group["status"] == "FINISHED"]
        if column not in finished:
            # No run of this dataset has finished yet: every pair is "missing runs".
            finished = finished.assign(**{column: np.nan})
        for first, second in pairs:
            if first not in set(group["model"]) or second not in set(group["model"]):
                continue
            first_values = finished.loc[finished["model"] == first, column].to_numpy(float)
            second_values = finished.loc[finished["model"] == second, column].to_numpy(float)
            difference, low, high = bootstrap_difference(first_values, second_values)
            rows.append(
                {
                    "dataset": dataset,
                    "first": first,
                    "second": second,
                    "metric": column,
                    "higher_is_better": task.higher_is_better,
                    "difference": difference,
                    "ci_low": low,
                    "ci_high": high,
                    "seeds": f"{np.isfinite(first_values).sum()} vs {np.isfinite(second_values).sum()}",
                    "verdict": verdict(low, high, task.higher_is_better)
                    if np.isfinite(difference)
                    else "missing runs",
                }
            )
    return pd.DataFrame(rows)


def best_models(summary: pd.DataFrame) -> pd.Series:
    """Per dataset, the model with the best mean headline metric."""
    best = {}
    for dataset, group in summary.dropna(subset=["mean"]).groupby("dataset"):
        index = (
            group["mean"].idxmax() if group["higher_is_better"].iloc[0] else group["mean"].idxmin()
        )
        best[dataset] = group.loc[index, "model"]
    return pd.Series(best, dtype=object)


def format_value(row: pd.Series) -> str:
    """`mean [low, high]`, or why there is no interval (one seed, a deterministic baseline),
    or why there is no value at all."""
    if not np.isfinite(row["mean"]):
        return f"— ({row['why_not_finished']})" if row.get("why_not_finished") else "—"
    if np.isfinite(row["ci_low"]):
        return f"{row['mean']:.4g} [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
    if row.get("baseline"):
        return f"{row['mean']:.4g} (deterministic, 1 run)"
    return f"{row['mean']:.4g} (1 seed, no CI)"


def _number(value: float, digits: str = ".0f") -> str:
    return "—" if not np.isfinite(value) else format(value, digits)


def display_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as the strings a reader sees (Markdown and PDF use the same), plus a
    boolean `best` column marking the best model per dataset."""
    best = best_models(summary)
    rows = []
    for _, row in summary.iterrows():
        seeds = f"{row['seeds']}" + (
            f" ({row['not_finished']} not finished)" if row["not_finished"] else ""
        )
        rows.append(
            {
                "dataset": row["dataset"],
                "model": row["model"],
                "test metric": row["metric"].removeprefix("test_")
                + (" ↑" if row["higher_is_better"] else " ↓"),
                "mean [95% CI]": format_value(row),
                "seeds": seeds,
                "units": _number(row["units"]),
                "recurrent params": _number(row["recurrent_params"]),
                "s / epoch": _number(row["seconds_per_epoch"], ".2f"),
                "best": best.get(row["dataset"]) == row["model"],
            }
        )
    return pd.DataFrame(rows)


def display_head_to_head(table: pd.DataFrame) -> pd.DataFrame:
    """Head-to-head rows as strings: pair, difference [95% CI], seeds, verdict."""
    rows = []
    for _, row in table.iterrows():
        if np.isfinite(row["ci_low"]):
            difference = f"{row['difference']:+.4g} [{row['ci_low']:+.4g}, {row['ci_high']:+.4g}]"
        else:
            difference = _number(row["difference"], "+.4g")
        rows.append(
            {
                "dataset": row["dataset"],
                "comparison": f"{row['first']} vs {row['second']}",
                "test metric": row["metric"].removeprefix("test_")
                + (" ↑" if row["higher_is_better"] else " ↓"),
                "difference [95% CI]": difference,
                "seeds": row["seeds"],
                "verdict": f"{row['first']} {row['verdict']}"
                if row["verdict"] in ("better", "worse")
                else row["verdict"],
            }
        )
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame, bold_column: str | None = None) -> str:
    """A Markdown table of a display frame; rows flagged in `bold_column` are bolded."""
    columns = [column for column in frame.columns if column != bold_column]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [str(row[column]) for column in columns]
        if bold_column and row[bold_column]:
            cells = [
                f"**{cell}**" if column == "mean [95% CI]" else cell
                for column, cell in zip(columns, cells, strict=True)
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table; the best model per dataset in bold."""
    return markdown_table(display_summary(summary), bold_column="best")


def write_tables(
    summary: pd.DataFrame, pairs: pd.DataFrame, directory: Path, stem: str
) -> list[Path]:
    """Write `<stem>-summary.csv`, `<stem>-head-to-head.csv` and `<stem>-summary.md` (both
    tables) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    summary_csv = directory / f"{stem}-summary.csv"
    pairs_csv = directory / f"{stem}-head-to-head.csv"
    markdown_path = directory / f"{stem}-summary.md"
    summary.to_csv(summary_csv, index=False)
    pairs.to_csv(pairs_csv, index=False)
    markdown = [f"# {stem}: test results", "", to_markdown(summary), ""]
    if len(pairs):
        markdown += [
            "## Head-to-head (stratified bootstrap over seeds, 95% CI)",
            "",
            markdown_table(display_head_to_head(pairs)),
            "",
        ]
    markdown_path.write_text("\n".join(markdown))
    return [summary_csv, pairs_csv, markdown_path]


# --- the PDF -------------------------------------------------------------------------------

BENCH_EXPERIMENT = "bench"
BENCH_FILE = "bench.csv"
GRADIENT_DATASETS = 2  # the adding problem (first probe) and one real task


@dataclass
class ReportInputs:
    """Everything the report shows, as read from the tracking store."""

    experiment: str
    tracking_uri: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    pairs: pd.DataFrame
    curves: pd.DataFrame
    gradients: pd.DataFrame
    gates: dict[str, dict[str, np.ndarray]]
    tables: dict[str, pd.DataFrame]
    bench: pd.DataFrame | None


def load_bench(client: MlflowClient) -> pd.DataFrame | None:
    """The table of the latest full `make bench` run in the store (quick runs only if there
    is nothing else), or None when the benchmark never ran against this store."""
    found = client.get_experiment_by_name(BENCH_EXPERIMENT)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    runs = sorted(runs, key=lambda run: run.data.params.get("quick") == "True")
    with tempfile.TemporaryDirectory() as directory:
        for run in runs:
            local = _download(client, run.info.run_id, BENCH_FILE, directory)
            if local is not None:
                table = pd.read_csv(local)
                table.attrs["quick"] = run.data.params.get("quick") == "True"
                table.attrs["machine"] = run.data.tags.get("machine", "not recorded")
                return table
    return None


def _gate_arrays(client: MlflowClient, runs: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per dataset, the custom GRU's gate activity from its first finished seed."""
    gates = {}
    chosen = runs[(runs["model"] == "custom_gru") & (runs["status"] == "FINISHED")]
    for dataset, group in chosen.groupby("dataset"):
        arrays = load_array_artifact(
            client, group.sort_values("seed")["run_id"].iloc[0], diagnostics.GATES_FILE
        )
        if arrays:
            gates[dataset] = arrays
    return gates


# Artifacts a task family's pages need, by family: artifact path -> table name.
FAMILY_TABLES: Registry[dict[str, str]] = Registry("family")
FAMILY_TABLES.register("forecasting", {"forecast.csv": "forecasts"})
FAMILY_TABLES.register("translation", {"samples.csv": "samples"})
FAMILY_TABLES.register(
    "speech", {"confusion_matrix.csv": "confusions", "decoded_samples.csv": "decoded"}
)


def gather(
    client: MlflowClient,
    experiment: str,
    expected: list[tuple[str, str, str, str, int]] | None = None,
) -> ReportInputs:
    """Read one experiment's runs, curves, diagnostics and family artifacts from MLflow."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    runs = load_runs(client, experiment)
    if expected:
        runs = add_missing(runs, expected)
    if not len(runs):
        raise ValueError(f"experiment {experiment!r} has no runs to report")
    recurrent = runs[runs["model"].isin(list(VARIANTS))]
    tables = {}
    for family, artifacts in FAMILY_TABLES.items():
        of_family = runs[runs["family"] == family]
        for path, name in artifacts.items():
            tables[name] = (
                load_table_artifacts(client, of_family, path) if len(of_family) else pd.DataFrame()
            )
    return ReportInputs(
        experiment=experiment,
        tracking_uri=client.tracking_uri,
        runs=runs,
        summary=summary_table(runs),
        pairs=head_to_head(runs),
        curves=load_curves(client, recurrent),
        gradients=load_table_artifacts(client, recurrent, diagnostics.GRADIENT_FILE),
        gates=_gate_arrays(client, runs),
        tables=tables,
        bench=load_bench(client),
    )


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
        ]
    )


def summary_pages(inputs: ReportInputs) -> list[Figure]:
    seeds = inputs.summary.loc[~inputs.summary["baseline"], "seeds"]
    note = (
        " With one seed per model there are no confidence intervals: treat differences as "
        "anecdotes."
        if len(seeds) and seeds.max() < 2
        else ""
    )
    return plots.table_pages(
        f"{inputs.experiment}: when is a GRU worth it?",
        "Headline test metric per dataset and model: mean over seeds with a 95% percentile "
        "bootstrap interval; the best mean per dataset in bold. Baselines (naive, seasonal naive, "
        "ETS) are deterministic and run once. Units are solved per model so that the recurrent "
        "layers match the dataset's parameter budget; s / epoch is the mean wall time of one "
        "training epoch on the machine above. A dash with a reason marks runs that failed or are "
        "missing." + note,
        display_summary(inputs.summary),
        bold_column="best",
        column_widths=(0.15, 0.1, 0.12, 0.25, 0.1, 0.06, 0.12, 0.08),
        subtitle=provenance(inputs),
        rows_per_page=22,
    )


VERDICT_COLORS = {"better": "#1A7F37", "worse": "#B42318"}


def head_to_head_pages(inputs: ReportInputs) -> list[Figure]:
    table = display_head_to_head(inputs.pairs)
    if len(table):
        table["color"] = [
            VERDICT_COLORS.get(verdict, "") for verdict in inputs.pairs["verdict"].tolist()
        ]
    return plots.table_pages(
        "Head-to-head: custom GRU against each other recurrent model",
        "Difference of the headline test metric (custom_gru minus the other model; for an ↓ "
        "metric a negative difference favours custom_gru) with a 95% stratified bootstrap "
        "interval: each model's seeds are resampled on their own, 10,000 times. The verdict is "
        "'better' or 'worse' only when the interval excludes zero; otherwise the seeds cannot "
        "tell the two apart. With fewer than two finished seeds on either side there is no "
        "interval and no verdict.",
        table,
        color_column="color" if len(table) else None,
        column_widths=(0.18, 0.2, 0.12, 0.25, 0.07, 0.18),
    )


def _datasets_by_family(summary: pd.DataFrame) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for row in summary.drop_duplicates("dataset").itertuples():
        families.setdefault(row.family, []).append(row.dataset)
    return families


def _forecast_pages(inputs: ReportInputs, datasets: list[str]) -> list[Figure]:
    forecasts = inputs.tables.get("forecasts", pd.DataFrame())
    if not len(forecasts):
        return []
    return [
        plots.forecast_page(forecasts, chunk)
        for chunk in _chunked(datasets, FAMILY_DATASETS_PER_PAGE)
    ]


SAMPLES_SHOWN = 6
# Fits above the caption at 8 pt with the sample pages' column widths.
SAMPLE_ROWS_PER_PAGE = 24
MATCH_COLORS = {True: "#1A7F37", False: "#B42318"}


def sample_translations(
    samples: pd.DataFrame, dataset: str, count: int, source_column: str = "source"
) -> pd.DataFrame:
    """The first `count` samples of a dataset, each as its source (or voice) and reference
    followed by every model's output (first seed) and whether it matches exactly."""
    of_dataset = samples[samples["dataset"] == dataset]
    first_seeds = of_dataset["seed"] == of_dataset.groupby("model")["seed"].transform("min")
    of_dataset = of_dataset[first_seeds]
    models = model_order(of_dataset["model"].unique())
    by_model = {
        model: of_dataset[of_dataset["model"] == model].reset_index(drop=True) for model in models
    }
    rows = []
    # Every run logs the same first test examples in the same order.
    for number, sample in by_model[models[0]].head(count).iterrows() if models else []:
        rows.append(_sample_row(number + 1, source_column, sample[source_column], ""))
        rows.append(_sample_row(number + 1, "reference", sample["reference"], ""))
        for model in models:
            if number < len(by_model[model]):
                hypothesis = by_model[model].loc[number, "hypothesis"]
                hypothesis = "" if pd.isna(hypothesis) else str(hypothesis)
                matched = hypothesis == str(sample["reference"])
                rows.append(
                    _sample_row(
                        number + 1, model, hypothesis, "exact" if matched else "differs", matched
                    )
                )
    return pd.DataFrame(rows, columns=["sentence", "text of", "text", "match", "color"])


def _sample_row(number: int, who: str, text: str, match: str, matched: bool | None = None):
    color = MATCH_COLORS[matched] if matched is not None else ""
    return {"sentence": number, "text of": who, "text": text, "match": match, "color": color}


def _translation_pages(inputs: ReportInputs, datasets: list[str]) -> list[Figure]:
    samples = inputs.tables.get("samples", pd.DataFrame())
    pages = []
    for dataset in datasets:
        if not len(samples) or dataset not in set(samples["dataset"]):
            continue
        pages += plots.table_pages(
            f"Translation: sample test sentences, {dataset}",
            "The same first test sentences for every model, translated by its first seed with "
            "the run's decoding (greedy unless a beam width is set). 'exact' in green marks a "
            "translation identical to the reference; 'differs' in red one that is not. Look "
            "at whether a model gets the reordering right (units before tens in German, "
            "'quatre-vingt' in French) and whether SimpleRNN falls behind the gated ones.",
            sample_translations(samples, dataset, SAMPLES_SHOWN),
            color_column="color",
            column_widths=(0.07, 0.12, 0.68, 0.08),
            rows_per_page=SAMPLE_ROWS_PER_PAGE,
        )
    return pages


def confusion_by_model(confusions: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """Each model's confusion matrix on `dataset`, summed over its seeds (rows true, columns
    predicted, in the class order the runs logged)."""
    of_dataset = confusions[confusions["dataset"] == dataset]
    matrices = {}
    for model in model_order(of_dataset["model"].unique()):
        of_model = of_dataset[of_dataset["model"] == model]
        counts = of_model.drop(columns=["dataset", "model", "seed"]).groupby("true", sort=False)
        matrices[model] = counts.sum()
    return matrices


def _speech_pages(inputs: ReportInputs, datasets: list[str]) -> list[Figure]:
    confusions = inputs.tables.get("confusions", pd.DataFrame())
    decoded = inputs.tables.get("decoded", pd.DataFrame())
    pages = []
    for dataset in datasets:
        if len(confusions) and dataset in set(confusions["dataset"]):
            pages.append(
                plots.confusion_page(
                    f"Speech: confusion matrices, {dataset}",
                    "Test utterances by true speaker (rows) and predicted speaker (columns), "
                    "summed over seeds. Off-diagonal cells are the mistakes; a model whose "
                    "errors concentrate on one pair of speakers confuses similar voices.",
                    confusion_by_model(confusions, dataset),
                )
            )
        if len(decoded) and dataset in set(decoded["dataset"]):
            pages += plots.table_pages(
                f"Speech: decoded test utterances, {dataset}",
                "The same first test utterances (voices never heard in training) for every "
                "model, decoded greedily from its first seed's CTC outputs. 'exact' in green "
                "marks a digit string identical to the reference; 'differs' in red one that "
                "is not.",
                sample_translations(decoded, dataset, SAMPLES_SHOWN, source_column="voice"),
                color_column="color",
                column_widths=(0.09, 0.12, 0.66, 0.08),
                rows_per_page=SAMPLE_ROWS_PER_PAGE,
            )
    return pages


FAMILY_DATASETS_PER_PAGE = 3
# Pages a task family adds after its shared learning-curve pages.
FAMILY_PAGES: Registry = Registry("family")
FAMILY_PAGES.register("forecasting", _forecast_pages)
FAMILY_PAGES.register("translation", _translation_pages)
FAMILY_PAGES.register("speech", _speech_pages)


def _chunked(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def family_pages(inputs: ReportInputs) -> list[Figure]:
    pages = []
    for family, datasets in _datasets_by_family(inputs.summary).items():
        for chunk in _chunked(datasets, FAMILY_DATASETS_PER_PAGE):
            pages.append(
                plots.family_page(family, chunk, inputs.summary, inputs.runs, inputs.curves)
            )
        if family in FAMILY_PAGES:
            pages.extend(FAMILY_PAGES[family](inputs, datasets))
    return pages


def _diagnostic_datasets(inputs: ReportInputs) -> list[str]:
    """The adding problem (or else the first probe) and the first real task with gradients."""
    if not len(inputs.gradients):
        return []
    measured = set(inputs.gradients["dataset"])
    ordered = inputs.summary.drop_duplicates("dataset")
    ordered = ordered[ordered["dataset"].isin(measured)]
    probes = ordered[ordered["family"] == "probes"]
    adding = probes[probes["metric"] == "test_mse"]
    chosen = list((adding if len(adding) else probes)["dataset"][:1])
    chosen += list(ordered.loc[ordered["family"] != "probes", "dataset"][:1])
    return chosen[:GRADIENT_DATASETS] or list(ordered["dataset"][:GRADIENT_DATASETS])


def inside_pages(inputs: ReportInputs) -> list[Figure]:
    datasets = _diagnostic_datasets(inputs)
    if not datasets:
        return [
            plots.message_page(
                "Inside the cells",
                "No run in this store logged gradient diagnostics (they are logged by runs of "
                "this version of the suite, for tasks whose model is one recurrent layer).",
            )
        ]
    models = [model for model in VARIANTS if model in set(inputs.gradients["model"])]
    pages = [plots.gradient_page(inputs.gradients, datasets, models)]
    for dataset in [*datasets, *inputs.gates]:
        if dataset in inputs.gates:
            pages.append(plots.gates_page(dataset, inputs.gates[dataset]))
            break
    return pages


def claims_pages(inputs: ReportInputs) -> list[Figure]:
    table = claims.claims_table(
        inputs.runs, inputs.summary, inputs.pairs, inputs.curves, inputs.bench
    )
    caption = (
        "Each claim's evidence comes from this suite's runs (head-to-head verdicts, gradient "
        "diagnostics, seconds per epoch, learning curves) and, for equal-unit speed, from the "
        "latest `make bench` in the same store. 'Supported' needs evidence for and none against; "
        "'mixed' means the evidence points both ways; 'not supported' means the data does not "
        "show it, which is a result, not an error; 'not measured' means this suite has no "
        "evidence either way (for example one seed)."
    )
    return [plots.claims_page(table, caption)]


def _deviation_table(runs: pd.DataFrame) -> pd.DataFrame:
    measured = runs[runs["keras_max_abs_deviation"].notna()] if len(runs) else runs
    rows = [
        {
            "dataset": dataset,
            "custom_gru runs": len(group),
            "max |custom_gru - keras.layers.GRU|": f"{group['keras_max_abs_deviation'].max():.2e}",
        }
        for dataset, group in measured.groupby("dataset")
    ]
    return pd.DataFrame(
        rows, columns=["dataset", "custom_gru runs", "max |custom_gru - keras.layers.GRU|"]
    )


def _bench_display(bench: pd.DataFrame) -> pd.DataFrame:
    rows = []
    keys = ["sizing", "jit_compile", "timesteps", "units"]
    for key, group in bench.groupby(keys, sort=False):
        by_model = group.set_index("model")
        row = dict(zip(["sizing", "jit", "T", "units"], key, strict=True))
        for model in ("custom_gru", "lstm", "simple_rnn"):
            if model in by_model.index:
                row[f"{model} train / infer"] = (
                    f"{by_model.loc[model, 'train_ratio']:.2f} / {by_model.loc[model, 'infer_ratio']:.2f}"
                )
        if "keras_gru" in by_model.index:
            row["keras_gru train / infer ms"] = (
                f"{by_model.loc['keras_gru', 'train_ms']:.1f} / {by_model.loc['keras_gru', 'infer_ms']:.1f}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def correctness_pages(inputs: ReportInputs) -> list[Figure]:
    deviation = _deviation_table(inputs.runs)
    pages = plots.table_pages(
        "Correctness of the custom layer",
        "After training, every custom_gru run converts its weights to keras.layers.GRU "
        "(reset_after=False, update-gate block negated) and compares the two layers' outputs on "
        "64 validation sequences. Float32 rounding puts agreement around 1e-6; anything near "
        "1e-3 would be a bug. The test suite checks the same against an independent NumPy "
        "implementation and finite differences.",
        deviation,
        column_widths=(0.3, 0.2, 0.35),
    )
    if inputs.bench is None:
        pages.append(
            plots.message_page(
                "Speed of the custom layer",
                "No benchmark run in this tracking store: run `make bench` (it logs to the "
                "MLflow experiment 'bench') and rebuild the report.",
            )
        )
        return pages
    quick = " (quick run: one tiny shape only)" if inputs.bench.attrs.get("quick") else ""
    pages += plots.table_pages(
        "Speed of the custom layer (make bench)" + quick,
        "Time per training step (forward + backward + update) and per inference batch, as a "
        "ratio to keras.layers.GRU on the same shape: below 1.00 is faster. Batch 64, 32 "
        "features; 'same_units' gives every model the same units, 'same_params' matches "
        "keras_gru's parameter count. Median over interleaved repeats. "
        f"Machine: {inputs.bench.attrs.get('machine', 'not recorded')}.",
        _bench_display(inputs.bench),
        column_widths=(0.1, 0.06, 0.05, 0.06, 0.18, 0.18, 0.18, 0.19),
    )
    return pages


SECTIONS = (
    summary_pages,
    head_to_head_pages,
    family_pages,
    inside_pages,
    claims_pages,
    correctness_pages,
)


def build_pages(inputs: ReportInputs) -> list[Figure]:
    """Every page of the report, in reading order, numbered in the footer."""
    pages = [page for section in SECTIONS for page in section(inputs)]
    for number, page in enumerate(pages, start=1):
        page.text(0.96, 0.955, f"{number} / {len(pages)}", fontsize=8, ha="right", va="top")
    return pages


def write_pdf(pages: list[Figure], path: Path, title: str) -> Path:
    """One vector PDF of all pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(path, metadata={"Title": title, "Creator": "gru-keras"}) as pdf:
        for page in pages:
            pdf.savefig(page)
    return path


def log_report(client: MlflowClient, experiment: str, paths: list[Path]) -> str:
    """Attach the report files to the experiment's report run (created once, tagged
    `kind=report` so it is never read as a result); returns its run id."""
    experiment_id = find_experiment(client, experiment)
    existing = client.search_runs(
        [experiment_id], filter_string=f"tags.kind = '{REPORT_KIND}'", max_results=1
    )
    if existing:
        run_id = existing[0].info.run_id
    else:
        run = client.create_run(
            experiment_id, run_name=f"{experiment}__report", tags={"kind": REPORT_KIND}
        )
        run_id = run.info.run_id
        client.set_terminated(run_id, "FINISHED")
    for path in paths:
        client.log_artifact(run_id, str(path), "report")
    return run_id


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
    inputs = gather(client, experiment, expected)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    pdf = write_pdf(
        build_pages(inputs), output_dir / f"{experiment}-{stamp}.pdf", f"gru-keras: {experiment}"
    )
    latest = output_dir / "latest.pdf"
    shutil.copyfile(pdf, latest)
    paths = [pdf, latest, *write_tables(inputs.summary, inputs.pairs, output_dir, experiment)]
    if log:
        log_report(client, experiment, [pdf, *paths[2:]])
    return paths
