"""Speed benchmark: training-step and inference time of every variant against `keras_gru`.

The models of one shape are built in one process and timed interleaved (one step of each in
turn, repeated), so drift in machine load hits them alike; the median of the repeats is kept.
Each step's achieved GFLOP/s counts the GEMM FLOPs of the recurrence (`recurrence_flops`)
and is set against this machine's fp32 matmul peak, measured in the same run
(`matmul_peak_gflops`). Each shape is also labelled overhead- or compute-bound by timing
keras_gru at half its units alongside (`OVERHEAD_SHARE`).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import SuiteConfig
from gru_keras.experiment.plan import preflight
from gru_keras.variants import VARIANTS, get_variant, matched_units

REFERENCE = schema.REFERENCE
# Keras's default GRU, `reset_after=True`: the form cuDNN runs, so on a GPU it is the fast
# GRU. It computes another function than keras_gru and custom_gru (`reset_after=False`), so
# it is not a compared variant: only a benchmark on a GPU adds it, at keras_gru's units.
CUDNN_GRU = "keras_gru_cudnn"
GPU_ONLY = {CUDNN_GRU: lambda units: keras.layers.GRU(units, reset_after=True)}
MIN_TIMED_SECONDS = 6.0  # timed work per shape at least, so fast shapes get more repeats
MAX_REPEATS = 200
SIZINGS = schema.BENCH_SIZINGS
OVERHEAD_SHARE = schema.BENCH_OVERHEAD_SHARE  # else the shape is bound by arithmetic
HALF_UNITS = f"{REFERENCE}@half"
OVERHEAD_BOUND, COMPUTE_BOUND = "overhead", "compute"


@dataclass(frozen=True)
class BenchShape:
    """One benchmarked configuration.

    Attributes:
        batch: Batch size.
        timesteps: Sequence length.
        features: Input features per step.
        units: Units of `keras_gru`; with `same_params` the other variants get the units
            that match its parameter count.
        jit_compile: Whether the models are compiled with XLA.
        sizing: `same_units` or `same_params`.
    """

    batch: int
    timesteps: int
    features: int
    units: int
    jit_compile: bool
    sizing: str


def default_shapes(quick: bool = False) -> list[BenchShape]:
    """The issue's grid (batch 64, T 50/200, input 32, units 64/256, jit off/on, both sizings);
    `quick` keeps only the smallest shape, for a smoke check."""
    if quick:
        return [BenchShape(16, 20, 8, 16, False, "same_units")]
    return [
        BenchShape(64, timesteps, 32, units, jit, sizing)
        for sizing, jit, timesteps, units in itertools.product(
            SIZINGS, (False, True), (50, 200), (64, 256)
        )
    ]


PEAK_SIZE = 2048  # a square fp32 matmul this large runs at the machine's practical peak


def recurrence_flops(gate_blocks: int, batch: int, timesteps: int, features: int, units: int):
    """`(train, inference)` GEMM FLOPs of one step over a batch: per time step, the input and
    recurrent products `2 * batch * blocks * units * (features + units)`; training counts
    the backward pass as twice the forward (gradients of inputs and of weights). Element-wise
    gate arithmetic and the one-unit head are left out, so this is a lower bound."""
    forward = 2 * batch * timesteps * gate_blocks * units * (features + units)
    return 3 * forward, forward


def matmul_peak_gflops(size: int = PEAK_SIZE, repeats: int = 10) -> float:
    """GFLOP/s of the median of `repeats` `size x size` fp32 `tf.matmul`s (2 size^3 FLOPs),
    with TensorFlow's thread pools as they are: this machine's practical peak."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), "float32"))
    b = tf.constant(rng.standard_normal((size, size), "float32"))
    tf.matmul(a, b).numpy()  # warm up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tf.matmul(a, b).numpy()
        times.append(time.perf_counter() - started)
    return 2 * size**3 / float(np.median(times)) / 1e9


def units_per_variant(shape: BenchShape, names: Iterable[str]) -> dict[str, int]:
    """Units for each variant under the shape's sizing rule (a GPU-only layer gets
    keras_gru's)."""
    if shape.sizing == "same_units":
        return dict.fromkeys(names, shape.units)
    budget = get_variant(REFERENCE).count_params(shape.features, shape.units)
    compared = [name for name in names if name not in GPU_ONLY]
    units = matched_units(compared, shape.features, budget)
    return {name: units.get(name, units.get(REFERENCE, shape.units)) for name in names}


def _build_model(name: str, units: int, shape: BenchShape) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((shape.timesteps, shape.features), batch_size=shape.batch),
            GPU_ONLY[name](units) if name in GPU_ONLY else get_variant(name).build(units),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse", jit_compile=shape.jit_compile)
    return model


def time_shape(
    shape: BenchShape,
    names: list[str],
    repeats: int = 15,
    warmup: int = 3,
    seed: int = 0,
    min_seconds: float = MIN_TIMED_SECONDS,
) -> list[dict]:
    """Median training-step and inference milliseconds of each variant at one shape, over at
    least `repeats` interleaved rounds (more when a round is fast, up to `min_seconds` of
    timed work)."""
    keras.utils.set_random_seed(seed)
    units = units_per_variant(shape, names)
    models = {name: _build_model(name, units[name], shape) for name in names}
    # The reference again at half its units, timed with the others: whether the shape's time
    # goes to arithmetic or to per-step overhead (`bound`).
    half = max(1, units[REFERENCE] // 2)
    models[HALF_UNITS] = _build_model(REFERENCE, half, shape)
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((shape.batch, shape.timesteps, shape.features), "float32")
    targets = rng.standard_normal((shape.batch, 1), "float32")

    for model in models.values():
        for _ in range(warmup):  # the first calls trace and compile
            model.train_on_batch(inputs, targets)
            model.predict_on_batch(inputs)
    round_started = time.perf_counter()
    for model in models.values():
        model.train_on_batch(inputs, targets)
        model.predict_on_batch(inputs)
    per_round = time.perf_counter() - round_started
    # Cheap shapes get more repeats: at a few milliseconds a step, 15 samples are noise.
    repeats = int(min(MAX_REPEATS, max(repeats, min_seconds / max(per_round, 1e-6))))

    train_times: dict[str, list[float]] = {name: [] for name in models}
    infer_times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            started = time.perf_counter()
            model.train_on_batch(inputs, targets)
            train_times[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            model.predict_on_batch(inputs)
            infer_times[name].append(time.perf_counter() - started)

    half_ratio = float(np.median(train_times[HALF_UNITS]) / np.median(train_times[REFERENCE]))
    rows = []
    for name in names:
        recurrent = models[name].layers[0]
        train_flops, infer_flops = recurrence_flops(
            get_variant(REFERENCE if name in GPU_ONLY else name).gate_blocks,
            shape.batch,
            shape.timesteps,
            shape.features,
            units[name],
        )
        train_ms = 1000 * float(np.median(train_times[name]))
        infer_ms = 1000 * float(np.median(infer_times[name]))
        rows.append(
            {
                **asdict(shape),
                "model": name,
                "model_units": units[name],
                "recurrent_params": recurrent.count_params(),
                "train_ms": train_ms,
                "infer_ms": infer_ms,
                "train_gflops": train_flops / train_ms / 1e6,
                "infer_gflops": infer_flops / infer_ms / 1e6,
                "repeats": repeats,
                "half_units_ratio": half_ratio,
                "bound": OVERHEAD_BOUND if half_ratio >= OVERHEAD_SHARE else COMPUTE_BOUND,
            }
        )
    keras.backend.clear_session()
    return rows


def add_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Add `train_ratio` and `infer_ratio`: each time over `keras_gru`'s at the same shape."""
    keys = [field for field in BenchShape.__dataclass_fields__]
    reference = table[table["model"] == REFERENCE].set_index(keys)[["train_ms", "infer_ms"]]
    joined = table.join(reference, on=keys, rsuffix="_reference")
    table = table.copy()
    table["train_ratio"] = joined["train_ms"] / joined["train_ms_reference"]
    table["infer_ratio"] = joined["infer_ms"] / joined["infer_ms_reference"]
    return table


def run_bench(
    shapes: list[BenchShape],
    names: list[str] | None = None,
    repeats: int = 15,
    output: Path | None = Path("reports/bench.csv"),
    progress=print,
    min_seconds: float = MIN_TIMED_SECONDS,
) -> pd.DataFrame:
    """Time every shape and return (and optionally save) the table with ratios."""
    # Keras announces each new model's traced functions as "retracing"; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from gru_keras.experiment.tracking import device

    names = names or list(VARIANTS) + (list(GPU_ONLY) if device() != "CPU" else [])
    if REFERENCE not in names:
        names = [REFERENCE, *names]
    rows: list[dict] = []
    peak = matmul_peak_gflops(512 if all(shape.batch <= 16 for shape in shapes) else PEAK_SIZE)
    progress(f"fp32 matmul peak of this machine: {peak:.1f} GFLOP/s")
    for index, shape in enumerate(shapes, start=1):
        progress(
            f"[{index}/{len(shapes)}] T={shape.timesteps} units={shape.units} "
            f"jit={shape.jit_compile} {shape.sizing}"
        )
        rows.extend(time_shape(shape, names, repeats=repeats, min_seconds=min_seconds))
    table = add_ratios(pd.DataFrame(rows))
    table["peak_gflops"] = peak
    table["train_peak_share"] = table["train_gflops"] / peak
    table["infer_peak_share"] = table["infer_gflops"] / peak
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(output, index=False)
    return table


SUITE_SECONDS = 2.0  # timed work per shape of a suite's benchmark: all of it under a minute


def suite_shapes(suite: SuiteConfig, cache: DatasetCache | None = None) -> list[BenchShape]:
    """The suite's own shapes: per dataset whose inputs are one sequence of feature vectors,
    its batch size, sequence length and features, and the units `keras_gru` gets at the
    dataset's parameter budget, the other variants matched to it (`same_params`, as in the
    suite). Without XLA, so that every variant runs the same kind of graph. Translation's
    token inputs feed an encoder-decoder, which the one-layer benchmark model is not."""
    cache = cache or DatasetCache()
    # The runner's own loading and matching (a dataset that cannot load is a ConfigError).
    units = preflight(dataclasses.replace(suite, models=(REFERENCE,)), cache)
    shapes = []
    for dataset in suite.datasets:
        inputs = cache.get(dataset).x_train
        if not (isinstance(inputs, np.ndarray) and inputs.ndim == 3 and inputs.dtype.kind == "f"):
            continue
        _, timesteps, features = inputs.shape
        batch = min(dataset.training.batch_size, len(inputs))
        shape = BenchShape(
            batch, timesteps, features, units[(dataset.key, REFERENCE)], False, "same_params"
        )
        if shape not in shapes:
            shapes.append(shape)
    return shapes


def only_datasets(suite: SuiteConfig, names: list[str]) -> SuiteConfig:
    """The suite with only the named datasets (all of them when `names` is empty).

    Raises:
        ConfigError: a name the suite does not have, with the ones it has.
    """
    known = [dataset.key for dataset in suite.datasets]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"suite '{suite.name}' has no dataset '{unknown[0]}'; its datasets: {', '.join(known)}"
        )
    if not names:
        return suite
    return dataclasses.replace(
        suite, datasets=tuple(dataset for dataset in suite.datasets if dataset.key in names)
    )


def log_bench(
    csv_path: Path,
    quick: bool,
    repeats: int,
    tracking_uri: str | None = None,
    suite: str = "",
) -> str:
    """Log a benchmark table to the MLflow experiment `bench`, where the report finds it;
    `suite` names the suite whose shapes it timed (the report of that suite prefers it)."""
    from gru_keras.experiment import tracking
    from gru_keras.experiment.store import ensure_experiment

    client = tracking.connect(tracking_uri)
    experiment_id = ensure_experiment(client, schema.BENCH_EXPERIMENT)
    run = client.create_run(
        experiment_id,
        run_name=f"bench-{suite}" if suite else "bench-quick" if quick else "bench",
        tags={**tracking.platform_tags(), schema.TAG_GIT_COMMIT: tracking.git_commit()},
    )
    client.log_param(run.info.run_id, "quick", str(quick))
    client.log_param(run.info.run_id, schema.PARAM_BENCH_SUITE, suite)
    client.log_param(run.info.run_id, "repeats", str(repeats))
    with tempfile.TemporaryDirectory() as directory:
        # Under the fixed name the report looks for, whatever --output was.
        named = Path(directory) / schema.BENCH_FILE
        shutil.copyfile(csv_path, named)
        client.log_artifact(run.info.run_id, str(named))
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def format_table(table: pd.DataFrame) -> str:
    """A plain-text table, one row per (shape, model)."""
    columns = [
        "sizing",
        "jit_compile",
        "timesteps",
        "units",
        "model",
        "model_units",
        "recurrent_params",
        "train_ms",
        "train_ratio",
        "infer_ms",
        "infer_ratio",
        "train_gflops",
        "train_peak_share",
        "infer_gflops",
        "infer_peak_share",
        "half_units_ratio",
        "bound",
    ]
    text = table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}")
    return (
        f"{text}\n\nfp32 matmul peak, measured in this run: {table['peak_gflops'].iloc[0]:.1f}"
        f" GFLOP/s\nbound: '{OVERHEAD_BOUND}' where {REFERENCE} at half the units still takes"
        f" >= {OVERHEAD_SHARE:.0%} of the step's time (half_units_ratio), else '{COMPUTE_BOUND}'"
    )
