"""End-to-end: the music family through the real CLI at tiny sizes (30 corpus files, two
epochs): every variant and the baseline run, and the report sets them beside Chung et al."""

import math

import pytest
from cli import check_metric_scheme, here, pdf_text, report_here, runs_of, store

from gru_keras import schema

pytestmark = pytest.mark.slow

DATASET = """
[datasets.bach-chorales]
max_files = 30
"""
VARIANTS = (schema.SIMPLE_RNN, schema.LSTM, schema.KERAS_GRU, schema.CUSTOM_GRU)
BUDGET = 19800  # Chung et al.'s


def test_every_variant_learns_chorales_and_the_report_sets_them_beside_chung(tmp_path, tiny_suite):
    suite = tiny_suite("music-tiny", models=VARIANTS, budget=BUDGET, datasets=DATASET)
    result = here(tmp_path, "run", suite, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished 5, skipped 0, failed 0" in result.stdout
    client, found = runs_of(store(tmp_path), "music-tiny")
    runs = {run.info.run_name: run for run in found}
    baseline = runs.pop("bach-chorales__key_frequency__0")
    assert set(runs) == {f"bach-chorales__{model}__0" for model in VARIANTS}
    # A model that has learned nothing (every key at 0.5) scores 88 ln 2 = 61 nats a step;
    # the training frequencies of the keys, far less.
    assert 0 < baseline.data.metrics["test/nll"] < 88 * math.log(2) / 2
    for name, run in runs.items():
        check_metric_scheme(client, run)
        assert abs(int(run.data.params["recurrent_params"]) - BUDGET) <= 0.03 * BUDGET, name
        assert 0 < run.data.metrics["test/nll"] < 88 * math.log(2) + 1, name
        assert 0 <= run.data.metrics["test/frame_accuracy"] <= 1, name
    # Units solved for Chung's budget with 88 inputs: a little above his 100 / 36 / 46.
    units = {name.split("__")[1]: int(run.data.params["units"]) for name, run in runs.items()}
    assert units == {"simple_rnn": 103, "lstm": 39, "keras_gru": 48, "custom_gru": 48}

    code, _ = report_here(tmp_path, suite, "--no-log")
    assert code == 0
    _, text = pdf_text(tmp_path / "reports" / "latest.pdf")
    assert "bach-chorales: here against Chung et al. (2014)" in text
    for reference in ("9.19", "8.67", "8.54", "103/100", "39/36", "48/46"):
        assert reference in text, reference
    assert "Gated against tanh (simple_rnn): custom_gru" in text
    # Every pair of the four variants is compared on this family (6), not only custom_gru's.
    for first, second in (
        ("keras_gru", "simple_rnn"),
        ("lstm", "simple_rnn"),
        ("keras_gru", "lstm"),
    ):
        assert f"{first} vs {second}" in text, (first, second)
