"""Run a whole suite: plan it, skip what already finished, hand the rest to an executor.

One `run` command writes a store at a time (`store.hold_store`). Resume: a run that already
FINISHED with the same config hash is skipped, and runs left RUNNING by a process that is
gone are marked KILLED at the next start. A run that raises or hits
a non-finite loss ends FAILED with the reason as a tag, and the suite goes on. Each command
is a parent run in MLflow (`invocation`), under which the runs it trains are nested.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace

from tqdm import tqdm

from gru_keras import schema
from gru_keras.errors import ConfigError
from gru_keras.experiment import invocation, tracking
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import SuiteConfig
from gru_keras.experiment.executor import Executor, get_executor
from gru_keras.experiment.executors import LOCAL
from gru_keras.experiment.interrupts import signals_as_interrupt
from gru_keras.experiment.plan import (
    SEQUENTIAL,
    Placement,
    RunSpec,
    SuitePlan,
    expand,
    preflight,
    select,
)
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted
from gru_keras.experiment.store import (
    StoreError,
    check_uri,
    ensure_experiment,
    hold_store,
    open_store,
)
from gru_keras.experiment.workers import plan_jobs
from gru_keras.variants import get_variant

EXIT_OK, EXIT_FAILED_RUNS, EXIT_INTERRUPTED = 0, 1, 130


@dataclass
class SuiteResult:
    suite: str
    outcomes: list[RunOutcome]
    interrupted: bool
    marked_killed: list[str]
    seconds: float
    left_running: list[str] = field(default_factory=list)
    placement: Placement = SEQUENTIAL
    experiment_id: str = ""
    tracking_uri: str = ""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        failed = any(outcome.status == schema.FAILED for outcome in self.outcomes)
        return EXIT_FAILED_RUNS if failed else EXIT_OK


def checked_executor(suite: SuiteConfig, tracking_uri: str) -> Executor:
    """The suite's executor, once it has checked it can work with `tracking_uri`.

    Raises:
        ConfigError: an unknown executor, a missing optional dependency, or a store its
            workers cannot share.
    """
    try:
        executor = get_executor(suite.executor.name)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    executor.check(tracking_uri)
    return executor


@contextmanager
def executor_session(suite: SuiteConfig, tracking_uri: str, verbose: int = 2) -> Iterator[None]:
    """Run several suites on one start of the suite's executor (one Ray instance for every
    stage of a map); `run_suite` calls inside the block reuse it.

    Raises:
        ConfigError: as `checked_executor`, before anything starts.
    """
    with checked_executor(suite, tracking_uri).session(suite, verbose):
        yield


def placement_of(suite: SuiteConfig, runs: int) -> Placement:
    """Jobs and threads per run: the suite's (0 = one job per core, the cores shared out),
    never more jobs than runs. A cluster's task (Ray) gets threads for its CPUs."""
    name = suite.executor.name
    if name != LOCAL:
        return Placement(name, 1, suite.executor.task_threads)
    return Placement(LOCAL, *plan_jobs(suite.executor.jobs, suite.executor.threads, runs))


def action_of(spec: RunSpec, done: dict, live: list[str]) -> str:
    """What `run` does with a run: "skip" if it FINISHED with this config, "busy" if a
    live process still runs it (not a `run` command, which would hold the store: it is
    left to that process rather than trained twice), else "run"."""
    if (spec.name, spec.config_hash) in done:
        return "skip"
    return "busy" if spec.name in live else "run"


def estimates(specs: list[RunSpec], seconds: dict[str, float]) -> dict[str, float]:
    """Expected seconds of each run that has an earlier time: its own (`run_seconds`), else
    the mean of the same dataset and model with other seeds."""
    by_pair: dict[str, list[float]] = defaultdict(list)
    for name, value in seconds.items():
        by_pair[name.rsplit("__", 1)[0]].append(value)
    expected = {}
    for spec in specs:
        pair = by_pair.get(spec.name.rsplit("__", 1)[0])
        if spec.name in seconds:
            expected[spec.name] = seconds[spec.name]
        elif pair:
            expected[spec.name] = sum(pair) / len(pair)
    return expected


# Seconds of one epoch on one core: a fixed part (validation, callbacks), per time step of
# a batch, and per multiply-add of the recurrence. Fitted once by least squares to the epoch
# times of `experiments/throughput.toml` on the 2-core development machine (docs/performance.md);
# only the order they give matters, so another machine's scale does not.
EPOCH_SECONDS, STEP_SECONDS, MULTIPLY_ADD_SECONDS = 0.32, 71e-6, 0.27e-9
RUN_SECONDS = 5.0  # building, evaluating and logging a run


def shape_seconds(spec: RunSpec, units: int | None, cache: DatasetCache) -> float:
    """Expected seconds of a run from its shape, before any run of it has a time: its
    epochs (at most) x batches x time steps x the recurrence's multiply-adds per step. A
    baseline gets the fixed part only."""
    if units is None:
        return RUN_SECONDS
    training = spec.dataset.training
    inputs = cache.get(spec.dataset).x_train
    arrays = list(inputs.values()) if isinstance(inputs, dict) else [inputs]
    examples = len(arrays[0])
    # Token inputs (translation) run through both an encoder and a decoder.
    timesteps = sum(array.shape[1] for array in arrays)
    features = arrays[0].shape[2] if arrays[0].ndim == 3 else units
    batches = -(-examples // training.batch_size)
    multiply_adds = (
        training.batch_size * get_variant(spec.model).gate_blocks * units * (units + features)
    )
    epoch = EPOCH_SECONDS + batches * timesteps * (
        STEP_SECONDS + MULTIPLY_ADD_SECONDS * multiply_adds
    )
    return RUN_SECONDS + training.epochs * epoch


def longest_first(
    specs: list[RunSpec], seconds: dict[str, float], fallback: dict[str, float] | None = None
) -> list[RunSpec]:
    """Runs by expected time, longest first, so that parallel jobs end together: earlier
    times of the run or its shape where the store has them, else `fallback` (from the
    shapes, `shape_seconds`); runs with neither come first, in suite order."""
    expected = {**(fallback or {}), **estimates(specs, seconds)}
    return sorted(specs, key=lambda spec: -expected.get(spec.name, float("inf")))


def run_suite(
    suite: SuiteConfig,
    force: bool = False,
    tracking_uri: str | None = None,
    verbose: int = 2,
    only: dict[str, tuple[str, ...]] | None = None,
) -> SuiteResult:
    """Execute every run of `suite` that has not FINISHED yet, with the suite's executor.

    Args:
        suite: A validated suite (its `executor` says where the runs execute, and how many
            at once).
        force: Re-run runs that already FINISHED with the same config.
        tracking_uri: MLflow store; `MLFLOW_TRACKING_URI` or `sqlite:///mlflow.db` by default.
        verbose: Keras `fit` verbosity (2: one line per epoch).
        only: Run only these datasets, models and seeds (`plan.select`).

    Returns:
        A `SuiteResult` with one outcome per run, in suite order.

    Raises:
        ConfigError: before any run is created, when a dataset cannot be loaded, a budget
            cannot be matched, or the executor cannot work with this tracking store.
    """
    started = time.perf_counter()
    # Each run builds fresh models, which TensorFlow reports as "retracing"; expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    uri = tracking_uri or tracking.tracking_uri()
    executor = checked_executor(suite, uri)
    check_uri(uri)
    with ExitStack() as stack:
        # Local workers import TensorFlow while this process plans.
        stack.enter_context(executor.prestart(suite, verbose))
        cache = DatasetCache()
        units = preflight(suite, cache)  # a bad dataset is a config error, nothing written
        stack.enter_context(hold_store(uri, suite.name))
        client = tracking.connect(uri)
        experiment_id = ensure_experiment(client, suite.name)
        invocation.describe_experiment(client, experiment_id, suite)
        marked, live = tracking.mark_interrupted(client, experiment_id)
        runs = tracking.finished(client, experiment_id)
        done = {} if force else tracking.finished_runs(client, experiment_id, runs)
        specs = select(expand(suite), only)
        skipped = [spec for spec in specs if action_of(spec, done, live) == "skip"]
        pending = [spec for spec in specs if action_of(spec, done, live) == "run"]
        parent = invocation.start(client, experiment_id, suite)
        placement = replace(placement_of(suite, len(pending)), parent=parent)
        if placement.parallel:
            by_shape = {
                spec.name: shape_seconds(spec, units.get((spec.dataset.key, spec.model)), cache)
                for spec in pending
            }
            seconds = tracking.run_seconds(client, experiment_id, runs)
            pending = longest_first(pending, seconds, by_shape)
        plan = SuitePlan(suite, experiment_id, uri, pending, units, cache, verbose, placement)
        outcomes = {spec.name: RunOutcome(spec, schema.SKIPPED) for spec in skipped}
        interrupted = False
        progress = tqdm(
            total=len(specs),
            initial=len(skipped),
            desc=suite.name,
            unit="run",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        with signals_as_interrupt():
            try:
                # Nothing pending (a finished suite run again): no executor to start.
                finished = executor.execute(plan, progress) if plan.pending else []
            except (KeyboardInterrupt, SuiteInterrupted) as stop:
                interrupted = True
                finished = getattr(stop, "outcomes", [])
            finally:
                progress.close()
        outcomes.update({outcome.spec.name: outcome for outcome in finished})
        ordered = [outcomes[spec.name] for spec in specs if spec.name in outcomes]
        result = SuiteResult(
            suite.name,
            ordered,
            interrupted,
            marked,
            time.perf_counter() - started,
            live,
            placement,
            experiment_id,
            uri,
        )
        invocation.finish(
            client,
            experiment_id,
            parent,
            invocation.summary_rows(client, experiment_id, parent, ordered, done),
            summary(result),
            _parent_status(result),
        )
    return result


def _parent_status(result: SuiteResult) -> str:
    """An invocation ends KILLED if interrupted, FAILED if a run failed, else FINISHED."""
    if result.interrupted:
        return schema.KILLED
    if any(outcome.status == schema.FAILED for outcome in result.outcomes):
        return schema.FAILED
    return schema.FINISHED


@dataclass
class DryRun:
    """What `run` would do, without doing anything: each run with its action ("run",
    "skip" if FINISHED with this config, "busy" if RUNNING in a live process) and its
    expected seconds from earlier runs (`estimates`; None if there are none)."""

    suite: str
    rows: list[tuple[RunSpec, str, float | None]]
    placement: Placement


def dry_run(
    suite: SuiteConfig,
    force: bool = False,
    tracking_uri: str | None = None,
    only: dict[str, tuple[str, ...]] | None = None,
) -> DryRun:
    """The runs `run_suite` would do and skip; reads the store, writes nothing (a missing
    store means every run is to do)."""
    uri = tracking_uri or tracking.tracking_uri()
    check_uri(uri)
    specs = select(expand(suite), only)
    done, live, seconds = {}, [], {}
    try:
        client = open_store(uri, create=False)
    except StoreError:
        client = None
    found = client.get_experiment_by_name(suite.name) if client else None
    if found is not None:
        runs = tracking.finished(client, found.experiment_id)
        done = {} if force else tracking.finished_runs(client, found.experiment_id, runs)
        live = tracking.live_runs(client, found.experiment_id)
        seconds = tracking.run_seconds(client, found.experiment_id, runs)
    expected = estimates(specs, seconds)
    rows = [(spec, action_of(spec, done, live), expected.get(spec.name)) for spec in specs]
    pending = sum(action == "run" for _, action, _ in rows)
    return DryRun(suite.name, rows, placement_of(suite, pending))


def format_dry_run(plan: DryRun) -> str:
    """The dry run as lines: one per run, then the counts and the estimated wall time."""
    lines = []
    for spec, action, seconds in plan.rows:
        estimate = f"~{seconds:.0f}s" if seconds is not None else "?"
        lines.append(f"  {action:<5} {spec.name:<48} {estimate if action == 'run' else ''}")
    todo = [seconds for _, action, seconds in plan.rows if action == "run"]
    known = [seconds for seconds in todo if seconds is not None]
    counts = defaultdict(int)
    for _, action, _ in plan.rows:
        counts[action] += 1
    placement = plan.placement
    head = (
        f"suite {plan.suite!r}: {len(plan.rows)} runs: {counts['run']} to run, "
        f"{counts['skip']} to skip (FINISHED), {counts['busy']} left to a live process; "
        f"{placement.jobs_label} job(s) x {placement.threads} thread(s)"
    )
    if not todo:
        tail = "nothing to run"
    elif known:
        jobs = placement.jobs
        tail = (
            f"estimated time: {sum(known) / jobs / 60:.1f} min for the {len(known)} runs "
            f"with an earlier time in the store (their sum / {jobs} jobs)"
        )
        if len(known) < len(todo):
            tail += f"; {len(todo) - len(known)} runs have none"
    else:
        tail = "no estimate: no run of this suite has finished in the store yet"
    return "\n".join([head, *lines, tail])


def summary(result: SuiteResult) -> str:
    """Counts by status, time per task family, and the reason of every failed run."""
    counts: dict[str, int] = defaultdict(int)
    family_seconds: dict[str, float] = defaultdict(float)
    parts: dict[str, float] = defaultdict(float)
    for outcome in result.outcomes:
        counts[outcome.status] += 1
        family_seconds[outcome.spec.dataset.family] += outcome.seconds
        for part, seconds in outcome.timings.items():
            parts[part] += seconds
    placement = result.placement
    lines = [
        f"suite {result.suite!r}: {len(result.outcomes)} runs in {result.seconds:.1f}s "
        f"({placement.jobs_label} job(s) x {placement.threads} thread(s))"
    ]
    lines.append(
        "  "
        + ", ".join(
            f"{status.lower()} {counts[status]}"
            for status in (schema.FINISHED, schema.SKIPPED, schema.FAILED, schema.KILLED)
        )
    )
    for family, seconds in sorted(family_seconds.items()):
        lines.append(f"  family {family}: {seconds:.1f}s of training and evaluation")
    if parts:
        lines.append(
            "  time in runs: "
            + ", ".join(f"{part} {parts[part]:.1f}s" for part in schema.TIME_PARTS)
        )
    if result.marked_killed:
        lines.append(
            f"  marked KILLED (left RUNNING by an earlier process): {', '.join(result.marked_killed)}"
        )
    if result.left_running:
        lines.append(f"  left alone (RUNNING in a live process): {', '.join(result.left_running)}")
    for outcome in result.outcomes:
        if outcome.status == schema.FAILED:
            lines.append(f"  FAILED {outcome.spec.name}: {outcome.reason}")
    if result.interrupted:
        lines.append("  interrupted: the running runs were marked KILLED; re-run to continue")
    if result.experiment_id:
        lines.append(
            f"  review: {review_hint(result.tracking_uri)} "
            + invocation.view_url(ui_base(result.tracking_uri), result.experiment_id)
        )
    return "\n".join(lines)


UI_ADDRESS = "http://127.0.0.1:5000"  # where `make ui` serves a local store


def ui_base(uri: str) -> str:
    """The MLflow UI of a store: a tracking server serves its own; a local store is served
    by `make ui`."""
    return uri if uri.startswith(("http://", "https://")) else UI_ADDRESS


def review_hint(uri: str) -> str:
    return "open" if uri.startswith(("http://", "https://")) else "`make ui`, then open"
