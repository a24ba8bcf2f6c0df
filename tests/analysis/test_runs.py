"""Reading the store back: the benchmark table, hostile until checked."""

import pytest
from fuzz import budget, csv_cells, fuzz, outcome
from fuzz import hostile as fuzz_files
from hypothesis import given
from mlflow.tracking import MlflowClient

from gru_keras import schema
from gru_keras.analysis.claims import step_time_ratios, trains_faster
from gru_keras.analysis.runs import load_bench, read_bench_table
from gru_keras.report.text import bench_display

# Four rows of a real `bench --suite` table (the smoke suite on this project's machine).
BENCH = """\
batch,timesteps,features,units,jit_compile,sizing,model,model_units,recurrent_params,train_ms,infer_ms,train_gflops,infer_gflops,repeats,train_ratio,infer_ratio,peak_gflops,train_peak_share,infer_peak_share
64,30,2,30,False,same_params,simple_rnn,53,2968,2.867,1.287,11.71,8.69,74,0.562,0.690,272.3,0.043,0.032
64,30,2,30,False,same_params,lstm,26,3016,4.542,1.772,7.39,6.31,74,0.890,0.949,272.3,0.027,0.023
64,30,2,30,False,same_params,keras_gru,30,2970,5.101,1.866,6.58,6.00,74,1.0,1.0,272.3,0.024,0.022
64,30,2,30,False,same_params,custom_gru,30,2970,4.870,1.901,6.89,5.89,74,0.955,1.019,272.3,0.025,0.022
"""


def _read(tmp_path, text):
    path = tmp_path / "bench.csv"
    path.write_text(text)
    return read_bench_table(path)


def test_a_real_table_reads_and_feeds_the_speed_claims(tmp_path):
    table = _read(tmp_path, BENCH)
    assert list(table["model"]) == ["simple_rnn", "lstm", "keras_gru", "custom_gru"]
    ratios, label = step_time_ratios(table, "custom_gru", "lstm")
    assert ratios.iloc[0] == pytest.approx(4.870 / 4.542) and label == "matched parameters"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("same_params", "same_budget", 1), "a sizing other than"),
        (lambda t: t.replace(",4.542,", ",-4.542,"), "train_ms is not a positive number"),
        (lambda t: t.replace(",False,", ",maybe,", 1), "jit_compile is not True or False"),
        (lambda t: t.replace("infer_ms", "inference_ms"), "no column 'infer_ms'"),
        (lambda t: t.splitlines()[0], "no rows"),
        # Found by the fuzz test below: the speed table then got two rows for one cell.
        (lambda t: t + t.splitlines()[2], "a model timed twice at one shape"),
        (lambda t: "", "not a CSV table"),
    ],
)
def test_a_malformed_table_is_one_line_naming_the_problem(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        _read(tmp_path, edit(BENCH))


@fuzz
@budget(150)
@given(content=fuzz_files(BENCH, csv_cells))
def test_fuzz_a_bench_table_reads_checked_or_is_refused(content):
    table, error = outcome(content, "bench.csv", read_bench_table, ValueError)
    if error is not None:
        return
    # What the report does with a table that passed: no error on any page that uses it.
    bench_display(table)
    trains_faster(table)
    step_time_ratios(table, "custom_gru", "lstm")


def test_the_report_notes_an_unusable_benchmark_and_uses_the_one_before(tmp_path, capsys):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment(schema.BENCH_EXPERIMENT, str(tmp_path / "artifacts"))
    bad = BENCH.replace("same_params", "?")
    for started, name, text in ((1000, "older", BENCH), (2000, "newer", bad)):
        run = client.create_run(experiment, run_name=name, start_time=started)
        folder = tmp_path / name
        folder.mkdir()
        (folder / schema.BENCH_FILE).write_text(text)
        client.log_artifact(run.info.run_id, str(folder / schema.BENCH_FILE))
        client.set_terminated(run.info.run_id, schema.FINISHED)
    table = load_bench(client)
    assert table is not None and len(table) == 4
    note = capsys.readouterr().err
    assert "is unusable (a sizing other than same_units or same_params); skipped" in note
