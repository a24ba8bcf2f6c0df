"""End-to-end: the translation family through the real CLI, every variant, tiny sizes."""

import pandas as pd
import pytest
from cli import check_metric_scheme, gru_keras, pdf_text, runs_of, store

from gru_keras.variants import VARIANTS

pytestmark = pytest.mark.slow

DATASETS = """
[datasets.numbers-dates-fr]
train_size = 200
validation_size = 24
test_size = 24

[datasets.tatoeba]
path = "fra.txt"
max_length = 30
[datasets.tatoeba.model]
beam_width = 2
decoder_context = true
attention = "luong"
"""


def translation_suite(tiny_suite):
    return tiny_suite(
        "translation-tiny", models=tuple(VARIANTS), epochs=1, batch_size=64, budget=20000,
        datasets=DATASETS,
    )  # fmt: skip


PAIRS = [
    ("Go.", "Va !"),
    ("Hi.", "Salut !"),
    ("Run!", "Cours !"),
    ("Who?", "Qui ?"),
    ("Wow!", "Ça alors !"),
    ("Help!", "À l'aide !"),
    ("Stop!", "Arrête !"),
    ("Wait!", "Attends !"),
    ("I see.", "Je comprends."),
    ("I won!", "J'ai gagné !"),
]


def write_tatoeba(path, lines):
    path.write_text("".join(lines), encoding="utf-8")


def test_every_variant_translates_through_the_cli_and_the_report_shows_samples(
    tmp_path, tiny_suite
):
    lines = [f"{s}\t{t}\tCC-BY 2.0 (France)\n" for s, t in PAIRS * 3]
    lines += [f"{s} {i}\t{t} {i}\n" for i in range(40) for s, t in PAIRS[:1]]
    write_tatoeba(tmp_path / "fra.txt", lines)
    suite = translation_suite(tiny_suite)
    result = gru_keras(tmp_path, "run", suite, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = runs_of(store(tmp_path), "translation-tiny")
    assert {run.info.run_name for run in runs} == {
        f"{dataset}__{model}__0"
        for dataset in ("numbers-dates-fr", "tatoeba")
        for model in VARIANTS
    }
    for run in runs:
        assert run.info.status == "FINISHED"
        metrics = run.data.metrics
        for name in ("exact_match", "cer", "chrf", "bleu", "loss"):
            assert f"test/{name}" in metrics, (run.info.run_name, name)
        assert 0.0 <= metrics["test/exact_match"] <= 1.0 and metrics["test/loss"] > 0
        check_metric_scheme(client, run)
        samples = pd.read_csv(client.download_artifacts(run.info.run_id, "samples.csv", tmp_path))
        assert list(samples.columns) == ["source", "reference", "hypothesis"]
        # Matched cores: the encoder and decoder together are within 3% of the budget.
        assert abs(int(run.data.params["recurrent_params"]) - 20_000) <= 600
        attention = [v for k, v in run.data.params.items() if k.endswith("attention")]
        assert attention == ["luong" if run.info.run_name.startswith("tatoeba") else "none"]
    by_name = {run.info.run_name: run for run in runs}
    fr_samples = [
        pd.read_csv(
            client.download_artifacts(
                by_name[f"numbers-dates-fr__{m}__0"].info.run_id, "samples.csv", tmp_path / m
            )
        )
        for m in VARIANTS
    ]
    assert all(len(s) == 12 for s in fr_samples)
    assert all((s["source"] == fr_samples[0]["source"]).all() for s in fr_samples)

    report = gru_keras(tmp_path, "report", suite, "--no-log")
    assert report.returncode == 0, report.stderr[-3000:]
    _, text = pdf_text(tmp_path / "reports" / "latest.pdf")
    assert "Translation: sample test sentences, numbers-dates-fr" in text
    assert fr_samples[0]["reference"].iloc[0] in text


def test_a_malformed_tatoeba_file_is_a_config_error_naming_the_line(tmp_path, tiny_suite):
    write_tatoeba(tmp_path / "fra.txt", ["Go.\tVa !\n", "only one column\n"])
    result = gru_keras(tmp_path, "run", translation_suite(tiny_suite), "--quiet")
    assert result.returncode == 2
    assert "fra.txt, line 2: expected 'source<TAB>target" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    client, _ = runs_of(store(tmp_path), "translation-tiny")
    assert client.get_experiment_by_name("translation-tiny") is None
