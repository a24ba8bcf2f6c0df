import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gru_keras.experiment.tracking import log_dataset, retry_duplicate_row

DUPLICATE = (
    "RestException: BAD_REQUEST: (sqlite3.IntegrityError) UNIQUE constraint failed: "
    "datasets.experiment_id, datasets.name, datasets.digest"
)


class FailsFirst:
    def __init__(self, message, failures):
        self.message, self.failures, self.calls = message, failures, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise MlflowException(self.message)
        return "logged"


def test_a_lost_insert_race_is_retried_until_the_row_exists():
    call = FailsFirst(DUPLICATE, failures=2)
    assert retry_duplicate_row(call) == "logged" and call.calls == 3


def test_other_store_errors_and_a_persistent_duplicate_are_raised():
    other = FailsFirst("RESOURCE_DOES_NOT_EXIST: run not found", failures=1)
    with pytest.raises(MlflowException, match="run not found"):
        retry_duplicate_row(other)
    assert other.calls == 1
    stuck = FailsFirst(DUPLICATE, failures=10)
    with pytest.raises(MlflowException, match="UNIQUE constraint"):
        retry_duplicate_row(stuck, attempts=3)
    assert stuck.calls == 3


def test_two_runs_logging_the_same_dataset_share_one_dataset_record(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    x, y = np.zeros((4, 3, 2), "float32"), np.ones((4, 1), "float32")
    run_ids = []
    try:
        mlflow.set_experiment("datasets")
        for _ in range(2):
            with mlflow.start_run() as run:
                log_dataset("tiny", x, y, loader="test")
                run_ids.append(run.info.run_id)
    finally:
        mlflow.set_tracking_uri(None)
    client = MlflowClient(uri)
    inputs = [client.get_run(run_id).inputs.dataset_inputs for run_id in run_ids]
    assert [len(found) for found in inputs] == [1, 1]
    assert inputs[0][0].dataset.digest == inputs[1][0].dataset.digest
    assert inputs[0][0].dataset.name == "tiny"
