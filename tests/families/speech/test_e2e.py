"""End-to-end: the speech family through the real CLI, tiny sizes. LSTM (two states) and the
custom GRU here; the smoke suite runs every variant on both datasets."""

import pandas as pd
import pytest
from cli import check_metric_scheme, here, pdf_text, report_here, runs_of, store

pytestmark = pytest.mark.slow

DATASETS = """
[datasets.japanese-vowels]

[datasets.spoken-digits]
train_size = 48
validation_size = 8
test_size = 16
max_digits = 3
parameter_budget = 16000
[datasets.spoken-digits.model]
bidirectional = true
"""


def speech_suite(tiny_suite, datasets=DATASETS):
    return tiny_suite("speech-tiny", models=("lstm", "custom_gru"), epochs=1, datasets=datasets)


def test_both_speech_datasets_run_every_variant_and_the_report_shows_them(tmp_path, tiny_suite):
    suite = speech_suite(tiny_suite)
    result = here(tmp_path, "run", suite, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((tmp_path / "data" / "cache" / "datasets").glob("spoken-digits-*.npz"))
    client, found = runs_of(store(tmp_path), "speech-tiny")
    runs = {run.info.run_name: run for run in found}
    assert set(runs) == {
        f"{dataset}__{model}__0"
        for dataset in ("japanese-vowels", "spoken-digits")
        for model in ("lstm", "custom_gru")
    }
    for name, run in runs.items():
        assert run.info.status == "FINISHED", name
        check_metric_scheme(client, run)
        # Matched cores (the bidirectional one counts both directions).
        budget = 3000 if name.startswith("japanese-vowels") else 16000
        assert abs(int(run.data.params["recurrent_params"]) - budget) <= 0.03 * budget, name
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        if name.startswith("japanese-vowels"):
            assert 0.0 <= run.data.metrics["test/accuracy"] <= 1.0
            assert "test/macro_f1" in run.data.metrics
            assert {"confusion_matrix.csv", "confusion_matrix.png"} <= artifacts
            table = pd.read_csv(
                client.download_artifacts(run.info.run_id, "confusion_matrix.csv", tmp_path)
            )
            assert table.drop(columns="true").to_numpy().sum() == 370
        else:
            assert run.data.metrics["test/digit_error_rate"] >= 0.0
            assert 0.0 <= run.data.metrics["test/string_accuracy"] <= 1.0
            assert "decoded_samples.csv" in artifacts

    code, _ = report_here(tmp_path, suite, "--no-log")
    assert code == 0
    _, text = pdf_text(tmp_path / "reports" / "latest.pdf")
    assert "japanese-vowels: test errors by true speaker" in text
    assert "Speech: decoded test utterances" not in text  # in the appendix, if anywhere


def test_a_bad_speech_setting_is_a_config_error_naming_the_choices(tmp_path, tiny_suite):
    suite = speech_suite(tiny_suite, DATASETS.replace("max_digits = 3", 'features = "wav"'))
    result = here(tmp_path, "run", suite, "--quiet")
    assert result.returncode == 2
    assert "valid choices: logmel, mfcc" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
