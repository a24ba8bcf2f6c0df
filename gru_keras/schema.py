"""The run schema: every name that is written to MLflow and read back.

Runs are written by `gru_keras.experiment` and read by `gru_keras.analysis` and
`gru_keras.report`; both sides take tag, metric, artifact and variant names from here, so a
name changes in one place. `SCHEMA_VERSION` enters every run's config hash: when what a run
logs changes, a resumed suite runs again instead of mixing old and new runs in one report.
"""

from __future__ import annotations

# Bump when what a run logs (names, meanings, units) changes. Version 1 is the layout every
# store written before the version existed already has, so those stores still read the same.
# 3: best_epoch, converged (metric and tags). 4: grouped metric names (see below), epochs
# counted from 1, `headline`, models logged with `mlflow.keras`, parent runs. 5: `device`,
# `tensorflow_build` and `code_path` tags; TensorFlow's version as `version.tensorflow`.
SCHEMA_VERSION = 5

# --- variant ids ----------------------------------------------------------------------------
SIMPLE_RNN, LSTM, KERAS_GRU, CUSTOM_GRU = "simple_rnn", "lstm", "keras_gru", "custom_gru"
# The layer this project writes, and the Keras layer that computes the same function.
SUBJECT, REFERENCE = CUSTOM_GRU, KERAS_GRU

# --- run statuses (MLflow's, plus MISSING for an expected run the store does not have) -------
FINISHED, FAILED, KILLED, RUNNING, SKIPPED, MISSING = (
    "FINISHED",
    "FAILED",
    "KILLED",
    "RUNNING",
    "SKIPPED",
    "MISSING",
)

# --- tags -----------------------------------------------------------------------------------
TAG_TASK = "task"
TAG_FAMILY = "family"
TAG_DATASET = "dataset"
TAG_MODEL = "model"
TAG_SEED = "seed"
TAG_CONFIG_HASH = "config_hash"
TAG_SCHEMA_VERSION = "schema_version"
TAG_GIT_COMMIT = "git_commit"
TAG_MACHINE = "machine"
# What TensorFlow computed on ("CPU", "GPU: <name>"), which build ran ("tensorflow-cpu";
# "tensorflow, CUDA ..., cuDNN ..."), and the folder the `gru_keras` package was imported from.
TAG_DEVICE, TAG_TENSORFLOW_BUILD, TAG_CODE_PATH = "device", "tensorflow_build", "code_path"
TAG_FAILURE = "failure_reason"
TAG_VERSION_PREFIX = "version."
# Runs that are not results: `invocation` is the parent run of one `run` command (config,
# summary, report); `report` holds the report of a store that has no invocation run.
TAG_KIND = "kind"
KIND_INVOCATION, KIND_REPORT = "invocation", "report"
# MLflow's own tags: the parent of a nested run, a run's or experiment's Markdown
# description, the experiment kind (what the UI shows it as), and a saved runs view.
TAG_PARENT = "mlflow.parentRunId"
TAG_NOTE = "mlflow.note.content"
TAG_EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
TAG_VIEW_PREFIX = "mlflow.sharedViewState."
TAG_SUITE_FILE = "suite_file"
TAG_MODEL_URI = "model_uri"  # `models:/...` of the run's logged model
TAG_REPORT_PDF = "report_pdf"  # an invocation's report, as an artifact path
# Where a run executed: the host and process (a RUNNING run is marked KILLED only once its
# process is gone) and the executor.
TAG_HOST, TAG_PID, TAG_EXECUTOR = "host", "pid", "executor"
# Experiment tag: the lease of the `run` command driving it on a tracking server.
TAG_DRIVER = "gru_keras.driver"
# A tuning trial (`python -m gru_keras tune`): its Optuna study and trial number, and how it
# ended ("complete", "pruned" at an epoch, or "failed"); `kind` = tuning on the tune
# command's parent run. Trials live in the experiment `<suite>-tuning`, never the suite's.
TAG_STUDY, TAG_TRIAL, TAG_TRIAL_STATE = "tuning_study", "tuning_trial", "tuning_state"
KIND_TUNING = "tuning"
# On a suite's run trained at its variant's tuned settings: where they came from, in words
# (the settings file, its budget and commit); absent on a run at the suite's own settings.
TAG_TUNED = "tuned_settings"
TRIAL_COMPLETE, TRIAL_PRUNED, TRIAL_FAILED = "complete", "pruned", "failed"
TUNING_SUFFIX = "-tuning"

# --- params ---------------------------------------------------------------------------------
PARAM_UNITS = "units"
PARAM_RECURRENT_PARAMS = "recurrent_params"
PARAM_TOTAL_PARAMS = "total_params"
PARAM_INPUT_DIM = "input_dim"
PARAM_DATA_DIGEST = "data_digest"
# Flattened config params the analysis reads back (convergence of runs logged before v3).
PARAM_MAX_EPOCHS = "training.epochs"
PARAM_PATIENCE = "training.early_stopping_patience"
# How a run executed (not part of its config hash): worker processes of the suite, TensorFlow
# threads of the run, and whether XLA compiled its steps ("true" / "false", resolved).
PARAM_JOBS, PARAM_THREADS, PARAM_JIT_COMPILE = "jobs", "threads", "jit_compile"

# --- metrics --------------------------------------------------------------------------------
# Every metric name is `group/name`, one group per kind of number, so the MLflow UI draws
# each group as a chart section and a name never means two things:
#   train/, val/   Keras's per-epoch logs (step = epoch, from 1): `train/loss`, `val/accuracy`
#   test/          a task's evaluation of the test split, once per run, in the data's own units
#   best/          the epoch early stopping restored: `best/val_loss`, `best/epoch`
#   fit/           how training went: `fit/epochs_run`, `fit/converged` (1.0 / 0.0)
#   time/          wall seconds: per epoch (`time/epoch_seconds`), means, and the parts of a run
#   diagnostics/   what the gradient and equivalence checks measured
#   system/        MLflow's own system metrics (CPU, memory), sampled while a run trains
# plus `headline`: the value of the task's headline test metric, whose name and direction
# are the run's tags `headline_metric` and `headline_direction`. A value in scaled units says
# so in its name (`train/mae_scaled`); unscaled names are in the data's own units.
#   tuning/        a tuning trial's objective (its best validation loss), never a test metric
METRIC_GROUPS = (
    "train",
    "val",
    "test",
    "best",
    "fit",
    "time",
    "diagnostics",
    "system",
    "tuning",
)
TRAIN, VAL, TEST = "train/", "val/", "test/"
TEST_PREFIX = TEST
VAL_LOSS = "val/loss"
HEADLINE = "headline"
TAG_HEADLINE_METRIC, TAG_HEADLINE_DIRECTION = "headline_metric", "headline_direction"
BEST_VAL_LOSS, BEST_EPOCH = "best/val_loss", "best/epoch"
EPOCHS_RUN, CONVERGED = "fit/epochs_run", "fit/converged"
# Convergence by `gru_keras.convergence`, also as tags ("true" / "false", and the rule).
TAG_CONVERGED, TAG_CONVERGENCE = "converged", "convergence"
EPOCH_SECONDS = "time/epoch_seconds"
STEP_SECONDS = "time/step_seconds"
MEAN_EPOCH_SECONDS = "time/mean_epoch_seconds"
MEAN_STEP_SECONDS = "time/mean_step_seconds"
FIT_PREDICT_SECONDS = "time/fit_predict_seconds"  # a non-neural baseline's whole time
# Where a run's wall time went, one metric per part (`time/fit_seconds`, ...): loading its
# data; building and compiling the model, with the first epoch's tracing beyond a steady
# epoch; fitting; evaluating the test split; diagnostics; and writing to MLflow.
TIME_PARTS = ("data", "build", "fit", "evaluate", "diagnostics", "logging")
# ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ at initialization and trained. A ratio below float32's smallest
# normal number is logged as that floor, with the tag `<metric>` = "underflow".
GRADIENT_REACH_INITIAL = "diagnostics/gradient_reach_initial"
GRADIENT_REACH_TRAINED = "diagnostics/gradient_reach_trained"
GRADIENT_FLOOR = 1.1754944e-38
UNDERFLOW = "underflow"
KERAS_DEVIATION = "diagnostics/keras_max_abs_deviation"


def as_test_metric(name: str) -> str:
    """The logged name of a task's evaluation metric: `mse` -> `test/mse`."""
    return f"{TEST}{name}"


def metric_label(logged: str) -> str:
    """The name a reader sees: `test/mse` -> `mse`."""
    return logged.removeprefix(TEST)


def time_metric(part: str) -> str:
    """`fit` -> `time/fit_seconds`."""
    return f"time/{part}_seconds"


def epoch_metric(keras_name: str) -> str:
    """Keras's per-epoch log name as logged: `loss` -> `train/loss`, `val_loss` -> `val/loss`."""
    if keras_name.startswith("val_"):
        return f"{VAL}{keras_name.removeprefix('val_')}"
    return f"{TRAIN}{keras_name}"


# A trial's objective: the best validation loss it reached (the last one reported, for a
# pruned trial), which selection minimizes; and the epoch successive halving stopped it at.
TUNING_OBJECTIVE = "tuning/objective"
TUNING_PRUNED_EPOCH = "tuning/pruned_epoch"

# --- artifacts ------------------------------------------------------------------------------
CONFIG_FILE = "config.json"
FAILURE_FILE = "failure.txt"
MODEL_NAME = "model"  # a logged model's default name (a run's model is named after the run)
GRADIENT_FILE = "diagnostics/gradient_norms.csv"
GRADIENT_PLOT = "diagnostics/gradient_reach.png"
GATES_FILE = "diagnostics/gates.npz"
GATES_PLOT = "diagnostics/gates.png"
SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"  # an invocation's runs
SUITE_FILE = "suite.toml"  # an invocation's suite file as given
RESOLVED_FILE = "suite.json"  # and as resolved (bases merged, defaults filled)
REPORT_DIR = "report"
BENCH_EXPERIMENT = "bench"
BENCH_FILE = "bench.csv"
# The benchmark table's sizing rules: every model at keras_gru's units, or at its parameters.
BENCH_SIZINGS = ("same_units", "same_params")
# `bench` labels a shape bound by per-step overhead when keras_gru at half the units (a
# quarter of the multiply-adds) still takes at least this share of the step's time.
BENCH_OVERHEAD_SHARE = 0.8
PARAM_BENCH_SUITE = "suite"  # a benchmark at a suite's own shapes: the suite's name


def run_name(dataset: str, model: str, seed: int) -> str:
    """`{dataset}__{model}__{seed}`: the run's name in MLflow and in every table."""
    return f"{dataset}__{model}__{seed}"


def trial_name(dataset: str, model: str, number: int) -> str:
    """`{dataset}__{model}__trial{number}`: a tuning trial's run name (its number is unique
    in its study, so marking one lost trial never touches another)."""
    return f"{dataset}__{model}__trial{number}"


def tuning_experiment(suite: str) -> str:
    """The MLflow experiment of a suite's tuning trials, apart from the suite's runs."""
    return f"{suite}{TUNING_SUFFIX}"


def report_run_name(experiment: str) -> str:
    return f"{experiment}__report"


def invocation_name(experiment: str, started: str) -> str:
    """`{experiment} @ {started}`: one `run` command's parent run."""
    return f"{experiment} @ {started}"
