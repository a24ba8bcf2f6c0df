"""`python -m gru_keras tune SUITE`: the same tuning budget for every dataset and variant.

Each (dataset, model) pair of the suite is one Optuna study over the suite's `[tuning]`
space. The driver asks the studies for trials, and each trial is an ordinary tracked run in
the experiment `<suite>-tuning`, nested under the command's parent run, trained with the
trial's settings and a seed the suite never uses, judged on validation only; successive
halving prunes it from wherever it runs (`gru_keras.experiment.trial`). The driver tells the
study how each trial ended, then writes the best settings per pair to the settings file
(`tuned/<suite>.toml`) and the tuning report.

Trials run in waves through the suite's executor, so `--jobs`, `--executor ray`, `--only`
and resume behave as for `run`. A Latin-hypercube, random or grid search knows every trial's
settings before any result, so it is one wave, and every variant gets the same candidates
(from `[tuning] seed`). TPE asks its first trials at random in one wave, then one trial per study
a wave, each wave asked knowing every earlier result.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from mlflow.tracking import MlflowClient
from tqdm import tqdm

from gru_keras import schema, searches
from gru_keras.errors import ConfigError
from gru_keras.experiment import invocation, tracking
from gru_keras.experiment.cache import DatasetCache
from gru_keras.experiment.config import DatasetConfig, SuiteConfig
from gru_keras.experiment.identity import config_hash, run_config
from gru_keras.experiment.interrupts import signals_as_interrupt
from gru_keras.experiment.plan import RunSpec, SuitePlan, TrialRef, preflight
from gru_keras.experiment.run import RunOutcome, SuiteInterrupted
from gru_keras.experiment.store import check_uri, ensure_experiment, hold_store
from gru_keras.experiment.suite import checked_executor, placement_of
from gru_keras.experiment.trial import open_storage
from gru_keras.experiment.tuned import Choice, render_tuned, tuned_path
from gru_keras.experiment.tuning import Parameter, TuningConfig
from gru_keras.names import quoted

STORAGE_ENV = "GRU_KERAS_TUNING_STORAGE"
TPE_STARTUP = 10  # Optuna's TPESampler samples at random for its first 10 trials
LOST = "lost"  # user attr of a trial whose run was killed: re-asked, not counted
FROM_RUN = "run_state"  # user attr: how its run ended


# --- what is searched --------------------------------------------------------------------


def distribution(parameter: Parameter) -> optuna.distributions.BaseDistribution:
    if parameter.values:
        return optuna.distributions.CategoricalDistribution(parameter.values)
    if parameter.kind is int:
        return optuna.distributions.IntDistribution(
            int(parameter.low),
            int(parameter.high),
            log=parameter.log,
            step=int(parameter.step or 1),
        )
    return optuna.distributions.FloatDistribution(
        parameter.low, parameter.high, log=parameter.log, step=parameter.step
    )


def distributions(tuning: TuningConfig) -> dict[str, optuna.distributions.BaseDistribution]:
    return {parameter.name: distribution(parameter) for parameter in tuning.space}


def candidates(tuning: TuningConfig) -> list[dict[str, Any]]:
    """Every trial's settings of a random or grid search, in trial order, from the seed
    alone: the same list for every variant.

    Raises:
        ConfigError: a grid with fewer points than trials.
    """
    if tuning.sampler == "grid":
        names = tuning.names()
        grid = [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*(p.values for p in tuning.space))
        ]
        if tuning.trials > len(grid):
            raise ConfigError(
                f"'tuning.trials' = {tuning.trials} is more than the grid's {len(grid)} "
                f"points; set trials = {len(grid)} or list more values"
            )
        random.Random(tuning.seed).shuffle(grid)
        return grid[: tuning.trials]
    if tuning.sampler == "latin-hypercube":
        return latin_hypercube(tuning)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=tuning.seed))
    drawn = []
    for _ in range(tuning.trials):
        trial = study.ask(distributions(tuning))
        drawn.append(dict(trial.params))
        study.tell(trial, 0.0)
    return drawn


def from_unit(parameter: Parameter, u: float) -> Any:
    """The value of `parameter` at `u` in [0, 1): a quantile of its range (on a log scale
    where it is one, in whole steps where it has them) or of its list of values."""
    if parameter.values:
        return parameter.values[min(int(u * len(parameter.values)), len(parameter.values) - 1)]
    low, high = float(parameter.low), float(parameter.high)
    if parameter.log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    if parameter.step:
        steps = math.floor((high - low) / parameter.step)
        value = low + min(math.floor((value - low) / parameter.step + 0.5), steps) * parameter.step
    if parameter.kind is int:
        return round(min(max(value, low), high))
    return float(min(max(value, low), high))


def latin_hypercube(tuning: TuningConfig) -> list[dict[str, Any]]:
    """A Latin hypercube of `trials` points over the space (scipy's `qmc.LatinHypercube`,
    seeded): every parameter's range cut into `trials` equal strata, one trial in each.
    Unlike independent random draws, it cannot leave most of a range unexplored: at 6
    trials, seed 0's random draws of the default learning rate all fell within 0.72 of its
    2.48 decades (docs/tuning.md)."""
    from scipy.stats import qmc

    points = qmc.LatinHypercube(d=len(tuning.space), rng=tuning.seed).random(tuning.trials)
    return [
        {p.name: from_unit(p, float(u)) for p, u in zip(tuning.space, point, strict=True)}
        for point in points
    ]


# --- where the studies live -----------------------------------------------------------------


def default_storage(suite: SuiteConfig, tracking_uri: str) -> str:
    """The studies' storage: `$GRU_KERAS_TUNING_STORAGE` if set, else a journal file
    beside a local sqlite store (`studies/<suite>-tuning.journal`), for one machine. (Not a
    folder called `optuna`: beside the code, it would pass for the package to a linter.)

    Raises:
        ConfigError: a Ray cluster (an address) with no storage its nodes can reach.
    """
    configured = os.environ.get(STORAGE_ENV, "")
    if configured:
        return configured
    if suite.executor.address:
        raise ConfigError(
            f"tuning on a Ray cluster needs a study database every node reaches: set "
            f"{STORAGE_ENV}=postgresql://USER@HOST/optuna (a database of its own, not the "
            "MLflow one; docs/tuning.md)"
        )
    folder = Path(".")
    if tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent
    return str(folder / "studies" / f"{schema.tuning_experiment(suite.name)}.journal")


def study_name(suite: SuiteConfig, dataset: str, model: str) -> str:
    return f"{schema.tuning_experiment(suite.name)}/{dataset}/{model}"


@dataclass
class Study:
    """One dataset and model's study, and the run specs it needs."""

    dataset: DatasetConfig
    model: str
    study: optuna.Study

    @property
    def pair(self) -> tuple[str, str]:
        return self.dataset.key, self.model


def counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials the budget counts: every finished one (complete, pruned, failed on its
    own), not the lost ones, which are asked again."""
    finished = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    )
    return [
        trial
        for trial in study.get_trials(deepcopy=False, states=finished)
        if LOST not in trial.user_attrs
    ]


def open_studies(
    suite: SuiteConfig, tuning: TuningConfig, storage: str, pairs: list[tuple[DatasetConfig, str]]
) -> list[Study]:
    """Each pair's study, created (a random or grid search enqueues its candidates) or
    loaded to resume."""
    backend = open_storage(storage)
    listed = candidates(tuning) if tuning.sampler != "tpe" else []
    studies = []
    for dataset, model in pairs:
        study = optuna.create_study(
            storage=backend,
            study_name=study_name(suite, dataset.key, model),
            direction="minimize",
            load_if_exists=True,
        )
        if not study.trials:
            study.set_user_attr("space", [p.describe() for p in tuning.space])
            for params in listed:
                study.enqueue_trial(params)
        studies.append(Study(dataset, model, study))
    return studies


def reconcile(study: optuna.Study, runs: dict[str, Any]) -> None:
    """Make a study agree with the store after an interrupted `tune`: a trial left RUNNING
    whose run finished or failed on its own is told so; one whose run was killed or never
    started is lost: failed, marked, and its settings asked again (a new trial number)."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run = runs.get(trial.number)
        status = run.info.status if run is not None else ""
        if status == schema.FINISHED:
            tell(study, trial.number, run_result(run))
            continue
        if status == schema.FAILED:
            reason = run.data.tags.get(schema.TAG_FAILURE, "")
            tell(study, trial.number, (schema.TRIAL_FAILED, None, reason))
            continue
        handle = optuna.trial.Trial(study, trial._trial_id)
        handle.set_user_attr(LOST, status or "never started")
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(dict(trial.params))


def run_result(run: Any) -> tuple[str, float | None, str]:
    """How a FINISHED trial run ended: its state tag and objective."""
    state = run.data.tags.get(schema.TAG_TRIAL_STATE, schema.TRIAL_COMPLETE)
    return state, run.data.metrics.get(schema.TUNING_OBJECTIVE), ""


def tell(study: optuna.Study, number: int, result: tuple[str, float | None, str]) -> None:
    state, value, reason = result
    trial = study.trials[number]
    handle = optuna.trial.Trial(study, trial._trial_id)
    handle.set_user_attr(FROM_RUN, state)
    if reason:
        handle.set_user_attr("reason", reason[:500])
    if state == schema.TRIAL_COMPLETE and value is not None:
        study.tell(number, value, skip_if_finished=True)
    elif state == schema.TRIAL_PRUNED:
        study.tell(number, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
    else:
        study.tell(number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def outcome_result(outcome: RunOutcome) -> tuple[str, float | None, str]:
    if outcome.status == schema.FINISHED:
        pruned = schema.TUNING_PRUNED_EPOCH in outcome.metrics
        state = schema.TRIAL_PRUNED if pruned else schema.TRIAL_COMPLETE
        return state, outcome.metrics.get(schema.TUNING_OBJECTIVE), ""
    return schema.TRIAL_FAILED, None, outcome.reason


# --- one wave ------------------------------------------------------------------------------


def wave_size(tuning: TuningConfig, study: optuna.Study) -> int:
    """Trials to ask now: every one still due for a random or grid search; for TPE, its
    random start at once, then one at a time (each knowing every earlier result)."""
    spent = len(counted(study))
    due = tuning.trials - spent
    if tuning.sampler != "tpe" or due <= 0:
        return max(0, due)
    return min(due, TPE_STARTUP - spent) if spent < TPE_STARTUP else 1


def ask(tuning: TuningConfig, study: optuna.Study) -> optuna.trial.Trial:
    """The next trial: an enqueued candidate (random, grid, or a lost trial's settings), else
    TPE's suggestion, seeded by how many trials the study has (so a resume repeats it)."""
    seed = tuning.seed + len(study.trials)
    study.sampler = (
        optuna.samplers.TPESampler(seed=seed)
        if tuning.sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)  # only if no candidate is waiting
    )
    return study.ask(distributions(tuning))


def trial_spec(
    suite: SuiteConfig,
    tuning: TuningConfig,
    storage: str,
    entry: Study,
    trial: optuna.trial.Trial,
) -> RunSpec:
    """A trial's run: the dataset's training settings with the trial's values, no
    diagnostics, the trial seed, and the study and trial number in its config."""
    dataset = entry.dataset.for_model(entry.model)
    training = dataclasses.replace(dataset.training, **trial.params, diagnostics=False)
    dataset = dataclasses.replace(dataset, training=training)
    config = run_config(suite, dataset, entry.model, tuning.trial_seed)
    config["tuning"] = {"study": entry.study.study_name, "trial": trial.number}
    ref = TrialRef(
        storage,
        entry.study.study_name,
        trial._trial_id,
        trial.number,
        tuning.min_epochs if tuning.pruner != "none" else 0,
        tuning.reduction_factor,
    )
    return RunSpec(dataset, entry.model, tuning.trial_seed, config, config_hash(config), ref)


# --- the command ----------------------------------------------------------------------------


@dataclass
class TuneResult:
    suite: str
    studies: list[Study]
    outcomes: list[RunOutcome] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    budget: pd.DataFrame | None = None
    choices: list[Choice] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    missing: int = 0  # pairs of the suite without their full budget yet

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if any(outcome.status == schema.FAILED for outcome in self.outcomes) else 0


def is_selected(dataset: str, model: str, only: dict[str, tuple[str, ...]] | None) -> bool:
    """Whether `--only` (`plan.parse_only`; none: everything) selects this pair."""
    only = only or {}
    return dataset in only.get("dataset", (dataset,)) and model in only.get("model", (model,))


def selected_pairs(
    suite: SuiteConfig, only: dict[str, tuple[str, ...]] | None
) -> list[tuple[DatasetConfig, str]]:
    return [
        (dataset, model)
        for dataset in suite.datasets
        for model in suite.models
        if is_selected(dataset.key, model, only)
    ]


def trial_runs(client: MlflowClient, experiment_id: str, study: str) -> dict[int, Any]:
    """Trial number -> its run (the newest, if a number has several) in the store."""
    found = searches.all_runs(
        client, [experiment_id], f"tags.`{schema.TAG_STUDY}` = {quoted(study)}"
    )
    runs: dict[int, Any] = {}
    for run in sorted(found, key=lambda run: run.info.start_time or 0):
        runs[int(run.data.tags.get(schema.TAG_TRIAL, "-1"))] = run
    return runs


def existing_studies(suite: SuiteConfig, storage: str) -> list[Study]:
    """The study of every pair of the suite that has one in `storage`, in suite order."""
    exists = "://" in storage or Path(storage).is_file()
    backend = open_storage(storage) if exists else None
    known = set(optuna.get_all_study_names(backend)) if backend else set()
    return [
        Study(dataset, model, optuna.load_study(study_name=name, storage=backend))
        for dataset, model in selected_pairs(suite, None)
        if (name := study_name(suite, dataset.key, model)) in known
    ]


def check_tunable(suite: SuiteConfig) -> TuningConfig:
    if suite.tuning is None:
        raise ConfigError(
            f"{suite.path}: no [tuning] table: add one (trials, sampler, pruner and a "
            "[tuning.space.KEY] per tuned [training] key; docs/tuning.md)"
        )
    return suite.tuning


def tune(
    suite: SuiteConfig,
    tracking_uri: str | None = None,
    verbose: int = 0,
    only: dict[str, tuple[str, ...]] | None = None,
    storage: str | None = None,
    output_dir: Path = Path("reports"),
    write_settings: bool = True,
) -> TuneResult:
    """Tune every selected dataset and model with the suite's `[tuning]` budget.

    Args:
        suite: A suite read without its tuned settings (`load_suite(path, tuned=False)`).
        tracking_uri: MLflow store (default as for `run`).
        verbose: Keras `fit` verbosity.
        only: Tune only these datasets and models (`plan.parse_only`; seeds do not apply).
        storage: The studies' storage (default `default_storage`).
        output_dir: Where the tuning report goes.
        write_settings: Write the settings file (`tuned/<suite>.toml`) when every selected
            study has its budget.

    Raises:
        ConfigError: before anything is written, for a suite without `[tuning]`, a dataset
            that cannot load, a budget that cannot be matched, or an executor that cannot
            work here.
    """
    from gru_keras.experiment import trial as trial_module  # noqa: F401  (Optuna is ready)
    from gru_keras.experiment.suite import executor_session

    started = time.perf_counter()
    tuning = check_tunable(suite)
    uri = tracking_uri or tracking.tracking_uri()
    checked_executor(suite, uri)
    check_uri(uri)
    where = storage or default_storage(suite, uri)
    if tuning.sampler != "tpe":
        candidates(tuning)  # a grid too small for the trials is a config error, now
    cache = DatasetCache()
    units = preflight(suite, cache)
    pairs = selected_pairs(suite, only)
    name = schema.tuning_experiment(suite.name)
    with hold_store(uri, name), executor_session(suite, uri, verbose):
        client = tracking.connect(uri)
        experiment_id = ensure_experiment(client, name)
        client.set_experiment_tag(
            experiment_id,
            schema.TAG_NOTE,
            f"Tuning trials of suite `{suite.name}` (`{suite.path}`): one Optuna study per "
            "dataset and variant, each trial judged on validation only. The suite's own runs "
            f"are in the experiment `{suite.name}`.",
        )
        tracking.mark_interrupted(client, experiment_id)
        studies = open_studies(suite, tuning, where, pairs)
        for entry in studies:
            reconcile(entry.study, trial_runs(client, experiment_id, entry.study.study_name))
        parent = invocation.start(client, experiment_id, suite, command="tune")
        client.set_tag(parent, schema.TAG_KIND, schema.KIND_TUNING)
        result = TuneResult(suite.name, studies)
        progress = tqdm(
            total=tuning.trials * len(studies),
            initial=sum(len(counted(entry.study)) for entry in studies),
            desc=name,
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        with signals_as_interrupt():
            try:
                for outcomes in waves(
                    suite,
                    tuning,
                    where,
                    studies,
                    client,
                    experiment_id,
                    units,
                    cache,
                    verbose,
                    parent,
                    uri,
                    progress,
                ):
                    result.outcomes += outcomes
            except (KeyboardInterrupt, SuiteInterrupted) as stop:
                result.interrupted = True
                lost = getattr(stop, "outcomes", [])
                result.outcomes += lost
                for entry in studies:
                    reconcile(
                        entry.study, trial_runs(client, experiment_id, entry.study.study_name)
                    )
            finally:
                progress.close()
        result.seconds = time.perf_counter() - started
        if not result.interrupted:
            # Every pair of the suite tuned so far, by this command or an earlier one with
            # other --only filters: the file and the report cover the whole suite.
            every = existing_studies(suite, where)
            result.budget = budget_table(client, experiment_id, every)
            finished = [entry for entry in every if len(counted(entry.study)) >= tuning.trials]
            result.missing = len(selected_pairs(suite, None)) - len(finished)
            check_equal_budget(result.budget[result.budget["trials"] >= tuning.trials], tuning)
            result.choices = choose(finished)
            if write_settings and not result.missing:
                path = tuned_path(suite.path)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render_tuned(result.choices, provenance(suite, tuning)))
                result.paths.append(path)
            result.paths += write_report(
                client, experiment_id, parent, suite, tuning, every, output_dir
            )
        invocation.finish(
            client,
            experiment_id,
            parent,
            invocation.summary_rows(client, experiment_id, parent, result.outcomes, {}),
            summary(result),
            schema.KILLED if result.interrupted else schema.FINISHED,
        )
    return result


def waves(
    suite: SuiteConfig,
    tuning: TuningConfig,
    storage: str,
    studies: list[Study],
    client: MlflowClient,
    experiment_id: str,
    units: dict[tuple[str, str], int],
    cache: DatasetCache,
    verbose: int,
    parent: str,
    uri: str,
    progress: tqdm,
) -> Iterator[list[RunOutcome]]:
    """Ask, run and tell until every study has its trials; yields each wave's outcomes."""
    executor = checked_executor(suite, uri)
    while True:
        asked: list[tuple[Study, optuna.trial.Trial]] = []
        # Trial k of every study before trial k + 1 of any: successive halving then has
        # other trials at a rung to compare with from the first wave on.
        sizes = {entry.pair: wave_size(tuning, entry.study) for entry in studies}
        for round_ in range(max(sizes.values(), default=0)):
            for entry in studies:
                if round_ < sizes[entry.pair]:
                    asked.append((entry, ask(tuning, entry.study)))
        if not asked:
            return
        pending = [trial_spec(suite, tuning, storage, entry, trial) for entry, trial in asked]
        placement = dataclasses.replace(placement_of(suite, len(pending)), parent=parent)
        plan = SuitePlan(suite, experiment_id, uri, pending, units, cache, verbose, placement)
        outcomes = executor.execute(plan, progress)
        by_name = {entry.study.study_name: entry for entry in studies}
        for outcome in outcomes:
            ref = outcome.spec.trial
            tell(by_name[ref.study].study, ref.number, outcome_result(outcome))
        yield outcomes


def choose(studies: list[Study]) -> list[Choice]:
    """Each pair's best complete trial (lowest validation loss; the lower number on a tie)."""
    chosen = []
    for entry in studies:
        complete = entry.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        if not complete:
            continue
        best = min(complete, key=lambda trial: (trial.value, trial.number))
        chosen.append(
            Choice(
                entry.dataset.key,
                entry.model,
                dict(best.params),
                float(best.value),
                best.number,
                len(counted(entry.study)),
            )
        )
    return chosen


def provenance(suite: SuiteConfig, tuning: TuningConfig) -> list[str]:
    """The settings file's header: where its values came from, and how to make them again."""
    rungs = tuning.rungs(max(dataset.training.epochs for dataset in suite.datasets))
    pruning = (
        f"successive halving (factor {tuning.reduction_factor}, rungs at epochs "
        f"{', '.join(map(str, rungs)) or 'none below the cap'})"
        if tuning.pruner != "none"
        else "no pruning"
    )
    return [
        f"Tuned settings of {suite.path} (suite {suite.name!r}), written by",
        f"`python -m gru_keras tune {suite.path}` (in one or more runs of --only)"
        f" at commit {tracking.git_commit()[:12]} on {time.strftime('%Y-%m-%d')}.",
        f"Budget: {tuning.trials} {tuning.sampler} trials per dataset and variant, {pruning};",
        f"space: {'; '.join(p.describe() for p in tuning.space)}; trial seed "
        f"{tuning.trial_seed}, sampler seed {tuning.seed}.",
        "Each choice is the trial with the lowest validation loss; the test split was never",
        "read. Floats keep 4 significant digits. Regenerate with the command above; do not edit.",
    ]


def budget_table(client: MlflowClient, experiment_id: str, studies: list[Study]) -> pd.DataFrame:
    """Per dataset and model: the trials counted (complete, pruned, failed), and the epochs
    and seconds their runs spent."""
    rows = []
    for entry in studies:
        runs = trial_runs(client, experiment_id, entry.study.study_name)
        trials = counted(entry.study)
        states = [trial.state for trial in trials]
        epochs = seconds = 0.0
        for trial in trials:
            run = runs.get(trial.number)
            if run is None:
                continue
            epochs += run.data.metrics.get(schema.EPOCHS_RUN, 0.0)
            if run.info.end_time:
                seconds += (run.info.end_time - run.info.start_time) / 1000
        rows.append(
            {
                "dataset": entry.dataset.key,
                "model": entry.model,
                "trials": len(trials),
                "complete": states.count(optuna.trial.TrialState.COMPLETE),
                "pruned": states.count(optuna.trial.TrialState.PRUNED),
                "failed": states.count(optuna.trial.TrialState.FAIL),
                "epochs": int(epochs),
                "seconds": round(seconds, 1),
            }
        )
    return pd.DataFrame(rows)


def check_equal_budget(budget: pd.DataFrame, tuning: TuningConfig) -> None:
    """Every variant of a dataset had the same trials (the rungs are one setting for all).

    Raises:
        RuntimeError: naming the dataset whose variants' trials differ (a bug, never a
            user's error).
    """
    for dataset, rows in budget.groupby("dataset"):
        if set(rows["trials"]) != {tuning.trials}:
            raise RuntimeError(
                f"unequal tuning budget on {dataset}: trials per variant "
                f"{dict(zip(rows['model'], rows['trials'], strict=True))}, not {tuning.trials} each"
            )


def trials_frame(
    client: MlflowClient, experiment_id: str, studies: list[Study], tuning: TuningConfig
) -> pd.DataFrame:
    """The counted trials of every study with their runs' epochs and seconds, and which
    one each pair chose (`gru_keras.analysis.tuning`'s trials table)."""
    chosen = {(c.dataset, c.model, c.trial) for c in choose(studies)}
    rows = []
    for entry in studies:
        runs = trial_runs(client, experiment_id, entry.study.study_name)
        for trial in counted(entry.study):
            run = runs.get(trial.number)
            state = {
                optuna.trial.TrialState.COMPLETE: schema.TRIAL_COMPLETE,
                optuna.trial.TrialState.PRUNED: schema.TRIAL_PRUNED,
            }.get(trial.state, schema.TRIAL_FAILED)
            objective = trial.value if state == schema.TRIAL_COMPLETE else None
            if state == schema.TRIAL_PRUNED and trial.intermediate_values:
                objective = trial.intermediate_values[max(trial.intermediate_values)]
            seconds = 0.0
            if run is not None and run.info.end_time:
                seconds = (run.info.end_time - run.info.start_time) / 1000
            rows.append(
                {
                    "dataset": entry.dataset.key,
                    "model": entry.model,
                    "trial": trial.number,
                    "state": state,
                    "objective": objective,
                    "epochs": int(run.data.metrics.get(schema.EPOCHS_RUN, 0)) if run else 0,
                    "seconds": round(seconds, 1),
                    "chosen": (entry.dataset.key, entry.model, trial.number) in chosen,
                    **{name: trial.params.get(name) for name in tuning.names()},
                }
            )
    return pd.DataFrame(rows)


def curves_frame(studies: list[Study]) -> pd.DataFrame:
    """Every complete trial's best validation loss so far after each epoch."""
    rows = [
        {
            "dataset": entry.dataset.key,
            "model": entry.model,
            "trial": trial.number,
            "epoch": epoch,
            "value": value,
        }
        for entry in studies
        for trial in entry.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        for epoch, value in sorted(trial.intermediate_values.items())
    ]
    return pd.DataFrame(rows, columns=["dataset", "model", "trial", "epoch", "value"])


def importances_frame(studies: list[Study], tuning: TuningConfig) -> pd.DataFrame:
    """fANOVA importance of each tuned parameter per study (Optuna's evaluator, seeded),
    where more than one parameter is tuned and enough trials completed."""
    rows = []
    if len(tuning.space) < 2:
        return pd.DataFrame(rows, columns=["dataset", "model", "parameter", "importance"])
    for entry in studies:
        complete = entry.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        if len(complete) < 3:
            continue
        found = optuna.importance.get_param_importances(
            entry.study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=tuning.seed)
        )
        rows += [
            {
                "dataset": entry.dataset.key,
                "model": entry.model,
                "parameter": name,
                "importance": value,
            }
            for name, value in found.items()
        ]
    return pd.DataFrame(rows, columns=["dataset", "model", "parameter", "importance"])


AGREEMENT_EPOCHS = (1, 2, 3, 5, 8, 13, 21, 34)  # where a rung could go, for the pilot's table


def write_tuning_report(
    client: MlflowClient,
    experiment_id: str,
    suite: SuiteConfig,
    tuning: TuningConfig,
    studies: list[Study],
    output_dir: Path,
) -> list[Path]:
    """`<suite>-tuning.csv` (every trial) and `<suite>-tuning.pdf` in `output_dir`."""
    from gru_keras.analysis.tuning import budget_spent, expected_best_curves, rung_agreement
    from gru_keras.report.build import write_pdf
    from gru_keras.report.tuning import tuning_pages

    trials = trials_frame(client, experiment_id, studies, tuning)
    curves = curves_frame(studies)
    cap = max(dataset.training.epochs for dataset in suite.datasets)
    epochs = list(tuning.rungs(cap)) if tuning.pruner != "none" else list(AGREEMENT_EPOCHS)
    name = schema.tuning_experiment(suite.name)
    output_dir.mkdir(parents=True, exist_ok=True)
    csv = output_dir / f"{name}.csv"
    trials.to_csv(csv, index=False)
    lines = provenance(suite, tuning)[2:4]
    pages = tuning_pages(
        f"Tuning {suite.name}: the same budget for every variant",
        lines,
        trials,
        [(p.name, p.log) for p in tuning.space],
        budget_spent(trials),
        expected_best_curves(trials),
        importances_frame(studies, tuning),
        rung_agreement(curves, [e for e in epochs if e < cap]),
    )
    pdf = write_pdf(pages, output_dir / f"{name}.pdf", f"Tuning {suite.name}")
    return [csv, pdf]


def write_report(
    client: MlflowClient,
    experiment_id: str,
    parent: str,
    suite: SuiteConfig,
    tuning: TuningConfig,
    studies: list[Study],
    output_dir: Path,
) -> list[Path]:
    """The tuning report, logged to the tune command's parent run."""
    paths = write_tuning_report(client, experiment_id, suite, tuning, studies, output_dir)
    for path in paths:
        client.log_artifact(parent, str(path), schema.REPORT_DIR)
    return paths


def report_only(
    suite: SuiteConfig,
    only: dict[str, tuple[str, ...]] | None,
    storage: str | None,
    tracking_uri: str | None,
    output_dir: Path,
) -> list[Path]:
    """The tuning report of the studies and trials as they stand; runs nothing, and logs
    the files to the newest tune command's parent run.

    Raises:
        ConfigError: a store or storage with no tuning of this suite yet.
    """
    tuning = check_tunable(suite)
    uri = tracking_uri or tracking.tracking_uri()
    where = storage or default_storage(suite, uri)
    client = tracking.connect(uri, create=False)
    name = schema.tuning_experiment(suite.name)
    found = client.get_experiment_by_name(name)
    if found is None:
        raise ConfigError(f"no tuning of {suite.name!r} in {uri} and {where} yet; run `tune` first")
    studies = [entry for entry in existing_studies(suite, where) if is_selected(*entry.pair, only)]
    if not studies:
        raise ConfigError(f"no study of {suite.name!r} in {where}; run `tune` first")
    parents = searches.all_runs(
        client, [found.experiment_id], f"tags.`{schema.TAG_KIND}` = '{schema.KIND_TUNING}'"
    )
    if not parents:
        return write_tuning_report(client, found.experiment_id, suite, tuning, studies, output_dir)
    newest = max(parents, key=lambda run: run.info.start_time or 0).info.run_id
    return write_report(client, found.experiment_id, newest, suite, tuning, studies, output_dir)


def dry_run(
    suite: SuiteConfig,
    only: dict[str, tuple[str, ...]] | None,
    storage: str | None,
    tracking_uri: str | None,
) -> str:
    """The budget, the rungs and each study's trials done and due; writes nothing (an
    absent storage means no trial is done)."""
    tuning = check_tunable(suite)
    uri = tracking_uri or tracking.tracking_uri()
    where = storage or default_storage(suite, uri)
    cap = max(dataset.training.epochs for dataset in suite.datasets)
    lines = [
        f"tune {suite.name!r}: {tuning.trials} {tuning.sampler} trials per dataset and variant "
        f"over {'; '.join(p.describe() for p in tuning.space)}",
        f"  pruning: {tuning.pruner}"
        + (
            f", rungs at epochs {', '.join(map(str, tuning.rungs(cap)))}"
            if tuning.pruner != "none"
            else ""
        ),
        f"  studies in {where}; trials logged to experiment {schema.tuning_experiment(suite.name)!r}",
    ]
    done_by_pair = {
        entry.pair: len(counted(entry.study)) for entry in existing_studies(suite, where)
    }
    for dataset, model in selected_pairs(suite, only):
        done = done_by_pair.get((dataset.key, model), 0)
        lines.append(
            f"  {dataset.key:<28} {model:<12} {done} done, {max(0, tuning.trials - done)} to run"
        )
    return "\n".join(lines)


def summary(result: TuneResult) -> str:
    """What the command did, the budget each variant spent, and the choices."""
    lines = [f"tuned {result.suite!r}: {len(result.outcomes)} trials run in {result.seconds:.0f}s"]
    if result.budget is not None and len(result.budget):
        lines.append(result.budget.to_string(index=False))
    for choice in result.choices:
        values = ", ".join(
            f"{key} = {value:.4g}" if isinstance(value, float) else f"{key} = {value}"
            for key, value in sorted(choice.values.items())
        )
        lines.append(
            f"  {choice.dataset} {choice.model}: {values} (validation loss "
            f"{choice.objective:.4g}, trial {choice.trial})"
        )
    for outcome in result.outcomes:
        if outcome.status == schema.FAILED:
            lines.append(f"  FAILED {outcome.spec.name}: {outcome.reason[:300]}")
    if result.interrupted:
        lines.append("  interrupted: run `tune` again to continue; finished trials are kept")
    elif result.missing:
        lines.append(
            f"  {result.missing} dataset-and-variant pairs of the suite still lack their trials: "
            "the settings file is written once every pair has them (tune the rest with --only)"
        )
    lines += [f"  wrote {path}" for path in result.paths]
    return "\n".join(lines)
