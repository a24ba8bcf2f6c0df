import dataclasses

import pandas as pd
import pytest
from cli import REPOSITORY, here
from mlflow.tracking import MlflowClient

from gru_keras.__main__ import main
from gru_keras.analysis.runs import load_bench
from gru_keras.errors import ConfigError
from gru_keras.experiment.bench import (
    CUDNN_GRU,
    BenchShape,
    add_ratios,
    default_shapes,
    only_datasets,
    recurrence_flops,
    run_bench,
    time_shape,
    units_per_variant,
)
from gru_keras.experiment.config import load_suite
from gru_keras.variants import PARAMETER_TOLERANCE, VARIANTS, get_variant


def test_default_grid_covers_the_issue_shapes():
    shapes = default_shapes()
    assert {s.timesteps for s in shapes} == {50, 200}
    assert {s.units for s in shapes} == {64, 256}
    assert {s.jit_compile for s in shapes} == {False, True}
    assert {s.sizing for s in shapes} == {"same_units", "same_params"}
    assert {(s.batch, s.features) for s in shapes} == {(64, 32)}
    assert len(shapes) == 16


def test_same_params_sizing_matches_the_keras_gru_count():
    shape = BenchShape(64, 50, 32, 256, False, "same_params")
    units = units_per_variant(shape, VARIANTS)
    budget = get_variant("keras_gru").count_params(32, 256)
    assert units["keras_gru"] == units["custom_gru"] == 256
    for name, count in units.items():
        assert (
            abs(get_variant(name).count_params(32, count) - budget) / budget <= PARAMETER_TOLERANCE
        )
    assert units["simple_rnn"] > 256 > units["lstm"]


def test_ratios_are_relative_to_keras_gru_at_the_same_shape():
    base = {"batch": 1, "timesteps": 5, "features": 2, "units": 3, "jit_compile": False}
    table = pd.DataFrame(
        [
            {
                **base,
                "sizing": "same_units",
                "model": "keras_gru",
                "train_ms": 4.0,
                "infer_ms": 2.0,
            },
            {
                **base,
                "sizing": "same_units",
                "model": "custom_gru",
                "train_ms": 3.0,
                "infer_ms": 3.0,
            },
            {
                **base,
                "sizing": "same_params",
                "model": "keras_gru",
                "train_ms": 8.0,
                "infer_ms": 1.0,
            },
            {
                **base,
                "sizing": "same_params",
                "model": "custom_gru",
                "train_ms": 2.0,
                "infer_ms": 0.5,
            },
        ]
    )
    ratios = add_ratios(table)
    assert ratios["train_ratio"].tolist() == [1.0, 0.75, 1.0, 0.25]
    assert ratios["infer_ratio"].tolist() == [1.0, 1.5, 1.0, 0.5]


@pytest.mark.slow
def test_bench_cli_writes_a_table(tmp_path):
    output = tmp_path / "bench.csv"
    result = here(
        *(tmp_path, "bench", "--quick", "--repeats", "2", "--output", output),
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    table = pd.read_csv(output)
    assert sorted(table["model"]) == sorted(VARIANTS)
    assert (table["train_ms"] > 0).all() and (table["infer_ms"] > 0).all()
    assert table.loc[table["model"] == "keras_gru", "train_ratio"].item() == 1.0
    assert "custom_gru" in result.stdout and "train_ratio" in result.stdout
    # The same table is logged to MLflow, where the report finds it.
    logged = load_bench(MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}"))
    pd.testing.assert_frame_equal(logged, table)
    assert logged.attrs["quick"] is True
    experiment = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").get_experiment_by_name("bench")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_cli_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "bench" in capsys.readouterr().out


def test_recurrence_flops_count_the_gate_gemms_by_hand():
    # A GRU (3 blocks), batch 2, 5 steps, 4 features, 3 units: per step and example the
    # input product is 4 x 9 and the recurrent one 3 x 9 multiply-adds.
    train, inference = recurrence_flops(3, batch=2, timesteps=5, features=4, units=3)
    assert inference == 2 * 2 * 5 * (4 * 9 + 3 * 9) == 1260
    assert train == 3 * inference
    # The issue's shape B=64, T=100, D=32, U=128: 2.36 GFLOP per training step.
    assert recurrence_flops(3, 64, 100, 32, 128)[0] == pytest.approx(2.359e9, rel=0.001)


def test_the_cudnn_gru_is_timed_only_on_a_gpu_at_keras_gru_s_units():
    shape = BenchShape(4, 5, 3, 8, False, "same_params")
    rows = {
        row["model"]: row
        for row in time_shape(shape, ["keras_gru", CUDNN_GRU], repeats=1, warmup=1, min_seconds=0)
    }
    assert rows[CUDNN_GRU]["model_units"] == rows["keras_gru"]["model_units"] == 8
    # reset_after=True keeps a second bias for the recurrent kernel: 3 x 8 more weights.
    assert rows[CUDNN_GRU]["recurrent_params"] == 3 * (3 * 8 + 8 * 8 + 2 * 8)
    assert rows["keras_gru"]["recurrent_params"] == 3 * (3 * 8 + 8 * 8 + 8)
    # This machine has no GPU, so a full benchmark leaves it out.
    table = run_bench(
        [dataclasses.replace(shape, sizing="same_units")],
        repeats=1,
        output=None,
        progress=lambda _: None,
        min_seconds=0,
    )
    assert set(table["model"]) == set(VARIANTS)


def test_only_datasets_keeps_the_named_ones_and_names_the_choices_for_a_typo():
    suite = load_suite(REPOSITORY / "experiments" / "smoke.toml")
    assert [d.key for d in only_datasets(suite, ["japanese-vowels"]).datasets] == [
        "japanese-vowels"
    ]
    assert only_datasets(suite, []) is suite
    with pytest.raises(ConfigError, match="no dataset 'vowels'; its datasets: adding-T100, "):
        only_datasets(suite, ["vowels"])
