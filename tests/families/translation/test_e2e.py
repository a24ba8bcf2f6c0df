"""End-to-end: the translation family through the real CLI, every variant, tiny sizes. A
Tatoeba file with attention and beam search here; the smoke suite runs every variant on the
generated numbers-dates-fr (tests/report/test_e2e.py)."""

import pandas as pd
import pytest
from cli import check_metric_scheme, here, pdf_text, report_here, runs_of, store

from gru_keras.variants import VARIANTS

pytestmark = pytest.mark.slow

DATASETS = """
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
    result = here(tmp_path, "run", suite, "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = runs_of(store(tmp_path), "translation-tiny")
    assert {run.info.run_name for run in runs} == {
        f"{dataset}__{model}__0" for dataset in ("tatoeba",) for model in VARIANTS
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
        assert attention == ["luong"]
    by_name = {run.info.run_name: run for run in runs}
    samples = [
        pd.read_csv(
            client.download_artifacts(
                by_name[f"tatoeba__{m}__0"].info.run_id, "samples.csv", tmp_path / m
            )
        )
        for m in VARIANTS
    ]
    # The same test sentences for every variant.
    assert len(samples[0]) > 0 and all(len(s) == len(samples[0]) for s in samples)
    assert all((s["source"] == samples[0]["source"]).all() for s in samples)

    code, _ = report_here(tmp_path, suite, "--no-log")
    assert code == 0
    _, text = pdf_text(tmp_path / "reports" / "latest.pdf")
    assert "tatoeba: test metrics (means)" in text  # the family's panel
    # Sample sentences only where the variants' translations differ.
    outputs = pd.concat(
        [s["hypothesis"].fillna("").reset_index(drop=True) for s in samples], axis=1
    )
    disagree = outputs.nunique(axis=1) > 1
    title = "Appendix: test examples the models decode differently"
    assert (title in text) == bool(disagree.any())
    if disagree.any():
        first = samples[0]["reference"][disagree.to_numpy()].iloc[0]
        assert first[:40] in text


def test_a_malformed_tatoeba_file_is_a_config_error_naming_the_line(tmp_path, tiny_suite):
    write_tatoeba(tmp_path / "fra.txt", ["Go.\tVa !\n", "only one column\n"])
    result = here(tmp_path, "run", translation_suite(tiny_suite), "--quiet")
    assert result.returncode == 2
    assert "fra.txt, line 2: expected 'source<TAB>target" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # No store, or at least no experiment: nothing was written.
    client, _ = runs_of(store(tmp_path), "translation-tiny")
    assert client is None or client.get_experiment_by_name("translation-tiny") is None
