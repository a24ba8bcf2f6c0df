"""`python -m gru_keras tune` end to end through the real CLI: the same budget for every
variant, trials apart from the suite, validation only, the settings file a suite then runs
at, and a killed tune that resumes without redoing a finished trial."""

import math
import signal
import tomllib

import optuna
import pytest
from cli import ADDING, background_state, gru_keras, here, pdf_text, runs_of, store, wait_for

from gru_keras import schema

pytestmark = pytest.mark.slow

TUNING = """
[tuning]
trials = 3
min_epochs = 1
reduction_factor = 3
[tuning.space.learning_rate]
low = 1e-3
high = 3e-2
log = true
"""


def tuning_suite(tiny_suite, tuning=TUNING, **kwargs):
    table = ADDING.format(length=10, train_size=64)
    return tiny_suite(datasets=table + tuning, **kwargs)


def trials_in(directory, suite="tiny"):
    client, runs = runs_of(store(directory), schema.tuning_experiment(suite))
    return client, runs


def studies(directory, suite="tiny"):
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(
            str(directory / "studies" / f"{suite}-tuning.journal")
        )
    )
    return {
        name.rsplit("/", 1)[1]: optuna.load_study(study_name=name, storage=storage)
        for name in optuna.get_all_study_names(storage)
    }


def test_a_tiny_tune_gives_every_variant_the_same_trials_and_a_suite_runs_at_its_choice(
    tmp_path, tiny_suite
):
    path = tuning_suite(tiny_suite, epochs=6, jobs=2)
    result = here(tmp_path, "tune", path)
    assert result.returncode == 0, result.stderr[-3000:]

    # Every trial a tracked run of its own experiment, nested under the tune command's run.
    client, trials = trials_in(tmp_path)
    _, parents = runs_of(store(tmp_path), "tiny-tuning", kind=schema.KIND_TUNING)
    tags = client.get_experiment_by_name("tiny-tuning").tags
    assert tags[schema.TAG_EXPERIMENT_KIND] == schema.MODEL_TRAINING  # the UI's training view
    assert len(trials) == 6 and len(parents) == 1
    assert {run.info.status for run in trials} == {"FINISHED"}
    assert {run.data.tags[schema.TAG_PARENT] for run in trials} == {parents[0].info.run_id}
    by_model = {}
    for run in trials:
        tags, metrics = run.data.tags, run.data.metrics
        assert run.info.run_name == f"adding-short__{tags['model']}__trial{tags[schema.TAG_TRIAL]}"
        assert tags[schema.TAG_STUDY] == f"tiny-tuning/adding-short/{tags['model']}"
        # Validation only: no test metric, no headline, ever.
        assert not [
            name for name in metrics if name.startswith(schema.TEST) or name == schema.HEADLINE
        ]
        history = client.get_metric_history(run.info.run_id, schema.VAL_LOSS)
        assert metrics[schema.TUNING_OBJECTIVE] == pytest.approx(min(p.value for p in history))
        if tags[schema.TAG_TRIAL_STATE] == schema.TRIAL_PRUNED:
            # Pruned at a rung (epochs 1 and 3 below the cap of 6), never between.
            assert metrics[schema.TUNING_PRUNED_EPOCH] in (1, 3)
            assert metrics[schema.EPOCHS_RUN] == metrics[schema.TUNING_PRUNED_EPOCH]
            # Stopped by the pruner, not by a plateau: not converged, and it says why.
            assert tags[schema.TAG_CONVERGED] == "false" and metrics[schema.CONVERGED] == 0
            assert tags[schema.TAG_CONVERGENCE].startswith("pruned at epoch")
        else:
            assert tags[schema.TAG_TRIAL_STATE] == schema.TRIAL_COMPLETE
        by_model.setdefault(tags["model"], []).append(
            float(run.data.params["training.learning_rate"])
        )
    # The same budget: as many trials each, and the same candidates for every variant.
    assert sorted(by_model["custom_gru"]) == sorted(by_model["simple_rnn"])
    assert len(by_model["custom_gru"]) == 3

    # The study and the store agree, trial by trial.
    for model, study in studies(tmp_path).items():
        states = {t.number: t.state.name.lower() for t in study.trials}
        logged = {
            int(run.data.tags[schema.TAG_TRIAL]): run.data.tags[schema.TAG_TRIAL_STATE]
            for run in trials
            if run.data.tags["model"] == model
        }
        assert states == logged

    # The settings file: each variant's best complete trial, with its provenance.
    tuned = tmp_path / "tuned" / "tiny.toml"
    text = tuned.read_text()
    assert (
        "3 latin-hypercube trials per dataset and variant, successive halving (factor 3, rungs at epochs 1, 3)"
        in text
    )
    chosen = tomllib.loads(text)["tuned"]["adding-short"]
    for model, study in studies(tmp_path).items():
        assert chosen[model]["learning_rate"] == float(f"{study.best_params['learning_rate']:.4g}")
    assert "budget" not in result.stdout or "trials" in result.stdout
    assert (tmp_path / "reports" / "tiny-tuning.pdf").is_file()
    assert (tmp_path / "reports" / "tiny-tuning.csv").read_text().count("\n") == 7

    # A suite that includes the file runs each variant at its own tuned values ...
    included = path.read_text().replace('name = "tiny"', 'name = "tiny"\ntuned = "tuned/tiny.toml"')
    path.write_text(included.replace("jobs = 2", "jobs = 1"))
    ran = here(tmp_path, "run", path, "--quiet")
    assert ran.returncode == 0, ran.stderr[-3000:]
    _, runs = runs_of(store(tmp_path), "tiny")
    assert {
        run.data.tags["model"]: float(run.data.params["training.learning_rate"]) for run in runs
    } == {model: values["learning_rate"] for model, values in chosen.items()}
    assert {run.data.tags[schema.TAG_TUNED] for run in runs} == {
        f"{tuned.as_posix()} (3 latin-hypercube trials per dataset and variant, successive halving "
        f"(factor 3, rungs at epochs 1, 3); tuned at commit {chosen_commit(text)})"
    }
    # ... its report says so on its first page, and never reads a trial.
    report = here(tmp_path, "report", path)
    assert report.returncode == 0 and "| adding-short | custom_gru |" in report.stdout
    assert "trial" not in report.stdout
    _, pdf = pdf_text(tmp_path / "reports" / "latest.pdf")
    assert "Tuning: 2 of 2 recurrent runs at their own variant's tuned settings" in " ".join(
        pdf.split()
    )


def chosen_commit(text: str) -> str:
    """`HASH on DATE` from the settings file's header."""
    return text.split(" at commit ", 1)[1].split(".", 1)[0]


def test_a_killed_tune_resumes_without_redoing_a_finished_trial(tmp_path, tiny_suite):
    tuning = TUNING.replace("min_epochs = 1", "").replace("[tuning]", '[tuning]\npruner = "none"')
    path = tuning_suite(tiny_suite, tuning, models=("simple_rnn",), epochs=30, length=20)
    process = gru_keras(tmp_path, "tune", path, background=True)

    def one_done_one_running():
        statuses = [run.info.status for run in trials_in(tmp_path)[1]]
        return "FINISHED" in statuses and "RUNNING" in statuses

    try:
        assert wait_for(one_done_one_running, process=process), background_state(
            tmp_path, process, "tiny-tuning"
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finished = {
        r.info.run_name: r.info.run_id
        for r in trials_in(tmp_path)[1]
        if r.info.status == "FINISHED"
    }
    assert "RUNNING" in {t.state.name for t in studies(tmp_path)["simple_rnn"].trials}

    result = here(tmp_path, "tune", path)
    assert result.returncode == 0, result.stderr[-3000:]
    _, after = trials_in(tmp_path)
    kept = {r.info.run_name: r.info.run_id for r in after if r.info.status == "FINISHED"}
    assert all(kept[name] == run_id for name, run_id in finished.items())  # not redone
    assert [r.info.status for r in after].count("KILLED") == 1
    study = studies(tmp_path)["simple_rnn"]
    counted = [t for t in study.trials if "lost" not in t.user_attrs]
    lost = [t for t in study.trials if "lost" in t.user_attrs]
    # Lost: the trial whose run was killed, and any asked but never started.
    assert len(counted) == 3 and lost and {t.state.name for t in lost} == {"FAIL"}
    assert {t.user_attrs["lost"] for t in lost} <= {"KILLED", "never started"}
    # Each lost trial's settings were asked again, under a new number.
    for trial in lost:
        assert trial.params in [t.params for t in counted if t.number > trial.number]
    # Study and store agree: every counted trial is one FINISHED run of its number.
    numbers = sorted(
        int(r.data.tags[schema.TAG_TRIAL]) for r in after if r.info.status == "FINISHED"
    )
    assert numbers == sorted(t.number for t in counted)
    assert all(math.isfinite(t.value) for t in counted)


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        ("", (), "no [tuning] table"),
        (
            TUNING,
            ("--only", "seed=0"),
            "--only seed=...: every trial trains with [tuning] trial_seed",
        ),
        (TUNING.replace("trials = 3", "trials = 0"), (), "'tuning.trials' = 0 is out of range"),
    ],
)
def test_tune_refuses_bad_input_in_one_line_with_nothing_written(
    tmp_path, tiny_suite, extra, args, message
):
    path = tuning_suite(tiny_suite, extra)
    result = here(tmp_path, "tune", path, *args)
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "mlflow.db").exists()


def test_a_dry_run_states_the_budget_and_writes_nothing(tmp_path, tiny_suite):
    result = here(tmp_path, "tune", tuning_suite(tiny_suite, epochs=10), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (
        "3 latin-hypercube trials per dataset and variant over learning_rate in [0.001, 0.03] (log)"
        in result.stdout
    )
    assert "rungs at epochs 1, 3, 9" in result.stdout
    assert "adding-short                 custom_gru   0 done, 3 to run" in result.stdout
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "studies").exists()
