"""Across all datasets, following rliable (Agarwal et al. 2021): normalized scores, the IQM
with stratified bootstrap intervals, the probability of improvement, performance profiles.

The `rliable` package itself does not install cleanly next to this project's pins (its
`arch<8` dependency fails to import under pandas 3), so these are its definitions written
with numpy and scipy: a task is a dataset, a run is a seed, and the stratified bootstrap
resamples the seeds within each dataset.

Normalization: on each dataset, 0 is the worst mean among the recurrent variants and the
naive baseline (where the dataset has one; usually SimpleRNN or naive is the worst), 1 is
the best mean of any model there, and the direction of the metric is folded in, so higher
is always better. A run can score below 0 or above 1: the anchors are means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from gru_keras import schema
from gru_keras.analysis.stats import CONFIDENCE
from gru_keras.analysis.tasks import TaskFacts
from gru_keras.variants import VARIANTS

REPS = 2_000
NAIVE = "naive"  # the naive baseline, where the dataset has one


def normalized_scores(
    runs: pd.DataFrame, summary: pd.DataFrame, tasks: Mapping[str, TaskFacts]
) -> pd.DataFrame:
    """`dataset, model, seed, score` of every finished recurrent run (see the module doc)."""
    rows = []
    for dataset, group in summary.groupby("dataset"):
        means = group.set_index("model")["mean"].dropna()
        if len(means) < 2:
            continue
        higher = bool(group["higher_is_better"].iloc[0])
        sign = 1.0 if higher else -1.0
        anchors = [value for model, value in means.items() if model in VARIANTS or model == NAIVE]
        if not anchors:
            continue
        low, high = min(sign * value for value in anchors), max(sign * means.to_numpy())
        if not high > low:
            continue
        column = tasks[runs.loc[runs["dataset"] == dataset, "task"].iloc[0]].headline_column
        chosen = runs[
            (runs["dataset"] == dataset)
            & (runs["status"] == schema.FINISHED)
            & runs["model"].isin(list(VARIANTS))
        ]
        values = chosen[column] if column in chosen else pd.Series(np.nan, index=chosen.index)
        for model, seed, value in zip(chosen["model"], chosen["seed"], values, strict=True):
            if np.isfinite(value):
                score = (sign * float(value) - low) / (high - low)
                rows.append({"dataset": dataset, "model": model, "seed": seed, "score": score})
    return pd.DataFrame(rows, columns=["dataset", "model", "seed", "score"])


def score_matrices(scores: pd.DataFrame, models: list[str]) -> dict[str, np.ndarray]:
    """`model -> (seeds, datasets)` arrays over the datasets and seeds every model has."""
    if not len(scores):
        return {}
    table = scores.pivot_table(index=["dataset", "seed"], columns="model", values="score")
    table = table[[model for model in models if model in table]].dropna()
    datasets = sorted(set(table.index.get_level_values("dataset")))
    seeds = (
        sorted(set.intersection(*(set(table.loc[dataset].index) for dataset in datasets)))
        if datasets
        else []
    )
    if not seeds:
        return {}
    return {
        model: np.array(
            [[table.loc[(dataset, seed), model] for dataset in datasets] for seed in seeds]
        )
        for model in table.columns
    }


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all runs on all tasks (rliable's `aggregate_iqm`): the mean of
    the middle 50%."""
    return float(scipy_stats.trim_mean(np.asarray(scores).reshape(-1), proportiontocut=0.25))


def probability_of_improvement(first: np.ndarray, second: np.ndarray) -> float:
    """P(a run of `first` scores above a run of `second`), ties counting half, averaged over
    tasks (rliable's `probability_of_improvement`: Mann-Whitney U over n * m per task)."""
    # (runs of first, runs of second, tasks): every pair of runs within a task.
    x, y = first[:, None, :], second[None, :, :]
    return float(np.mean(((x > y) + 0.5 * (x == y)).mean(axis=(0, 1))))


def _stratified(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One stratified bootstrap sample: seeds resampled with replacement within each task."""
    runs, tasks = scores.shape
    picks = rng.integers(0, runs, size=(runs, tasks))
    return np.take_along_axis(scores, picks, axis=0)


def _interval(samples: list[float], confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def iqm_interval(
    scores: np.ndarray, reps: int = REPS, seed: int = 0, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """IQM and its stratified percentile bootstrap interval."""
    rng = np.random.default_rng(seed)
    # One trim_mean over every sample at once, a row each: per-call overhead of scipy's
    # wrapper was most of the report's time on the "Across all datasets" page.
    resampled = np.stack([_stratified(scores, rng).reshape(-1) for _ in range(reps)])
    samples = scipy_stats.trim_mean(resampled, proportiontocut=0.25, axis=1)
    return (iqm(scores), *_interval(list(samples), confidence))


def improvement_interval(
    first: np.ndarray,
    second: np.ndarray,
    reps: int = REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Probability of improvement and its stratified bootstrap interval (both models'
    seeds resampled within each task, independently)."""
    rng = np.random.default_rng(seed)
    samples = [
        probability_of_improvement(_stratified(first, rng), _stratified(second, rng))
        for _ in range(reps)
    ]
    return (probability_of_improvement(first, second), *_interval(samples, confidence))


def performance_profile(
    scores: np.ndarray,
    thresholds: np.ndarray,
    reps: int = REPS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of runs scoring above each threshold (averaged over tasks, rliable's
    run-score distribution), with stratified bootstrap bands: `(profile, low, high)`."""

    def profile(matrix: np.ndarray) -> np.ndarray:
        # (thresholds, runs, tasks): above each threshold, averaged over runs, then tasks.
        return (matrix[None] > thresholds[:, None, None]).mean(axis=1).mean(axis=1)

    rng = np.random.default_rng(seed)
    samples = np.array([profile(_stratified(scores, rng)) for _ in range(reps)])
    tail = (1 - confidence) / 2 * 100
    return (
        profile(scores),
        np.percentile(samples, tail, axis=0),
        np.percentile(samples, 100 - tail, axis=0),
    )


@dataclass(frozen=True)
class AcrossDatasets:
    """What the "Across all datasets" page shows.

    Attributes:
        datasets, seeds: What was pooled (datasets and seeds every model has).
        iqm: `model, iqm, low, high`.
        improvement: `other, probability, low, high`: P(custom_gru > other).
        thresholds: Normalized-score thresholds of the profiles.
        profiles: `model -> (profile, low, high)`.
    """

    datasets: int
    seeds: int
    iqm: pd.DataFrame
    improvement: pd.DataFrame
    thresholds: np.ndarray
    profiles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def across_datasets(
    scores: pd.DataFrame, models: list[str], reps: int = REPS
) -> AcrossDatasets | None:
    """The pooled comparison, or None when fewer than two datasets can be pooled."""
    matrices = score_matrices(scores, models)
    if len(matrices) < 2 or next(iter(matrices.values())).shape[1] < 2:
        return None
    iqms = pd.DataFrame(
        [(model, *iqm_interval(matrix, reps)) for model, matrix in matrices.items()],
        columns=["model", "iqm", "low", "high"],
    )
    subject = matrices.get(schema.SUBJECT)
    improvement = pd.DataFrame(
        [
            (other, *improvement_interval(subject, matrix, reps))
            for other, matrix in matrices.items()
            if subject is not None and other != schema.SUBJECT
        ],
        columns=["other", "probability", "low", "high"],
    )
    pooled = np.concatenate([matrix.reshape(-1) for matrix in matrices.values()])
    thresholds = np.linspace(min(0.0, pooled.min()), max(1.0, pooled.max()), 41)
    profiles = {
        model: performance_profile(matrix, thresholds, reps) for model, matrix in matrices.items()
    }
    shape = next(iter(matrices.values())).shape
    return AcrossDatasets(shape[1], shape[0], iqms, improvement, thresholds, profiles)
