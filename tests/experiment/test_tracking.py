import keras
import mlflow
import mlflow.keras
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from gru_keras.experiment.tracking import log_dataset, log_model, retry_duplicate_row
from gru_keras.layer import GRU

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


def _custom_gru_model():
    inputs = keras.Input((7, 3), name="sequence")
    outputs = keras.layers.Dense(2)(GRU(5, name="recurrent")(inputs))
    return keras.Model(inputs, outputs)


def _two_input_model():
    """Shaped like the translation family's: two token-id inputs by name."""
    source = keras.Input((None,), dtype="int32", name="source")
    target = keras.Input((None,), dtype="int32", name="target_in")
    state = GRU(4)(keras.layers.Embedding(10, 3)(source))
    decoded = GRU(4, return_sequences=True)(
        keras.layers.Embedding(10, 3)(target), initial_state=state
    )
    return keras.Model({"source": source, "target_in": target}, keras.layers.Dense(10)(decoded))


@pytest.mark.parametrize(
    ("build", "inputs"),
    [
        (_custom_gru_model, np.random.default_rng(0).normal(size=(6, 7, 3)).astype("float32")),
        (
            _two_input_model,
            {
                "source": np.random.default_rng(1).integers(0, 10, (6, 5)).astype("int32"),
                "target_in": np.random.default_rng(2).integers(0, 10, (6, 4)).astype("int32"),
            },
        ),
    ],
)
def test_a_logged_model_loads_through_mlflow_and_predicts_identically(tmp_path, build, inputs):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("models", artifact_location=(tmp_path / "a").as_uri())
    model = build()
    example = {k: v[:2] for k, v in inputs.items()} if isinstance(inputs, dict) else inputs[:2]
    with mlflow.start_run(experiment_id=experiment) as run:
        uri = log_model(model, example)
    assert MlflowClient().get_run(run.info.run_id).data.tags["model_uri"] == uri
    expected = model.predict(inputs, verbose=0)
    assert np.array_equal(mlflow.keras.load_model(uri).predict(inputs, verbose=0), expected)
    assert np.array_equal(np.asarray(mlflow.pyfunc.load_model(uri).predict(inputs)), expected)
    info = mlflow.models.get_model_info(uri)
    assert info.signature is not None and info.saved_input_example_info is not None
    (logged,) = MlflowClient().search_logged_models(experiment_ids=[experiment])
    assert logged.source_run_id == run.info.run_id
