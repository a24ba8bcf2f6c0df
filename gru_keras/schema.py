"""The run schema: every name that is written to MLflow and read back.

Runs are written by `gru_keras.experiment` and read by `gru_keras.analysis` and
`gru_keras.report`; both sides take tag, metric, artifact and variant names from here, so a
name changes in one place. `SCHEMA_VERSION` enters every run's config hash: when what a run
logs changes, a resumed suite runs again instead of mixing old and new runs in one report.
"""

from __future__ import annotations

# Bump when what a run logs (names, meanings, units) changes. Version 1 is the layout every
# store written before the version existed already has, so those stores still read the same.
SCHEMA_VERSION = 3  # 3: best_epoch, converged (metric and tags)

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
TAG_FAILURE = "failure_reason"
TAG_VERSION_PREFIX = "version."
TAG_KIND = "kind"  # `report` marks the run that holds the report files, not a result
KIND_REPORT = "report"
# Where a run executed: the host and process (a RUNNING run is marked KILLED only once its
# process is gone) and the executor.
TAG_HOST, TAG_PID, TAG_EXECUTOR = "host", "pid", "executor"
# Experiment tag: the lease of the `run` command driving it on a tracking server.
TAG_DRIVER = "gru_keras.driver"

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
TEST_PREFIX = "test_"  # a task's evaluation metrics, logged once per run
TRAIN_PREFIX = "train_"  # Keras's per-epoch training logs (step = epoch, from 0)
VAL_PREFIX = "val_"  # Keras's per-epoch validation logs
VAL_LOSS = "val_loss"
EPOCH_SECONDS = "epoch_seconds"
STEP_SECONDS = "step_seconds"
EPOCHS_RUN = "epochs_run"
# Convergence by `gru_keras.convergence`: the best validation epoch (1-based) and the flag,
# as metrics (1.0 / 0.0) and as tags ("true" / "false", and the rule that decided).
BEST_EPOCH, CONVERGED = "best_epoch", "converged"
TAG_CONVERGED, TAG_CONVERGENCE = "converged", "convergence"
MEAN_EPOCH_SECONDS = "mean_epoch_seconds"
MEAN_STEP_SECONDS = "mean_step_seconds"
FIT_PREDICT_SECONDS = "fit_predict_seconds"  # a non-neural baseline's whole time
# Where a run's wall time went, one metric per part (`time_fit_seconds`, ...): loading its
# data; building and compiling the model, with the first epoch's tracing beyond a steady
# epoch; fitting; evaluating the test split; diagnostics; and writing to MLflow.
TIME_PARTS = ("data", "build", "fit", "evaluate", "diagnostics", "logging")
GRADIENT_DECAY_INITIAL = "gradient_decay_initial"
GRADIENT_DECAY_TRAINED = "gradient_decay_trained"
KERAS_DEVIATION = "keras_max_abs_deviation"


def as_test_metric(name: str) -> str:
    """The logged name of a task's evaluation metric: `mse` -> `test_mse`."""
    return f"{TEST_PREFIX}{name}"


def metric_label(logged: str) -> str:
    """The name a reader sees: `test_mse` -> `mse`."""
    return logged.removeprefix(TEST_PREFIX)


def time_metric(part: str) -> str:
    """`fit` -> `time_fit_seconds`."""
    return f"time_{part}_seconds"


def epoch_metric(keras_name: str) -> str:
    """Keras's per-epoch log name as logged: `loss` -> `train_loss`, `val_loss` stays."""
    return keras_name if keras_name.startswith(VAL_PREFIX) else f"{TRAIN_PREFIX}{keras_name}"


# --- artifacts ------------------------------------------------------------------------------
CONFIG_FILE = "config.json"
FAILURE_FILE = "failure.txt"
MODEL_DIR = "model"
GRADIENT_FILE = "diagnostics/gradient_norms.csv"
GATES_FILE = "diagnostics/gates.npz"
REPORT_DIR = "report"
BENCH_EXPERIMENT = "bench"
BENCH_FILE = "bench.csv"


def run_name(dataset: str, model: str, seed: int) -> str:
    """`{dataset}__{model}__{seed}`: the run's name in MLflow and in every table."""
    return f"{dataset}__{model}__{seed}"


def report_run_name(experiment: str) -> str:
    return f"{experiment}__report"
