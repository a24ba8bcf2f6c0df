import dataclasses
import json
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import pytest
from fuzz import budget, fuzz, toml_values
from fuzz import hostile as fuzz_files
from hypothesis import given
from hypothesis import strategies as st

from gru_keras.__main__ import main
from gru_keras.errors import ConfigError
from gru_keras.experiment.config import TrainingConfig, load_suite
from gru_keras.experiment.identity import config_hash, flatten, run_config
from gru_keras.experiment.plan import expand
from gru_keras.families.base import NoOptions
from gru_keras.families.probes.data import AddingSettings
from gru_keras.families.translation.options import TranslationOptions
from gru_keras.names import check_name

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"

VALID = """
[suite]
name = "tiny"
models = ["custom_gru", "lstm"]
seeds = [0, 1]
parameter_budget = 3000

[training]
epochs = 2

[datasets.adding-short]
dataset = "adding"
sequence_length = 12
train_size = 64
"""


def write(tmp_path: Path, text: str, name: str = "suite.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_suite_loads_into_typed_dataclasses(tmp_path):
    suite = load_suite(write(tmp_path, VALID))
    assert suite.name == "tiny" and suite.models == ("custom_gru", "lstm") and suite.seeds == (0, 1)
    (dataset,) = suite.datasets
    assert dataset.key == "adding-short" and dataset.family == "probes"
    assert dataset.training == TrainingConfig(epochs=2)
    assert dataset.settings == AddingSettings(sequence_length=12, train_size=64)
    assert dataset.parameter_budget == 3000


def test_model_options_are_their_own_table_apart_from_the_data_settings(tmp_path):
    suite = load_suite(
        write(
            tmp_path,
            VALID + '\n[datasets.fr]\ndataset = "numbers-dates-fr"\ntrain_size = 100\n'
            '[datasets.fr.model]\nattention = "luong"\nbeam_width = 2\n',
        )
    )
    adding, french = suite.datasets
    assert adding.model == NoOptions()
    assert french.model == TranslationOptions(attention="luong", beam_width=2)
    assert french.settings.train_size == 100 and not hasattr(french.settings, "attention")
    config = run_config(suite, french, "lstm", 0)
    assert config["model_options"] == {
        "attention": "luong",
        "decoder_context": False,
        "beam_width": 2,
    }
    assert "attention" not in config["settings"]


def test_per_dataset_overrides_and_base_files(tmp_path):
    write(tmp_path, VALID, "base.toml")
    child = write(
        tmp_path,
        'base = "base.toml"\n[suite]\nname = "child"\n'
        "[datasets.adding-short]\nparameter_budget = 4000\n[datasets.adding-short.training]\nepochs = 5\n",
        "child.toml",
    )
    suite = load_suite(child)
    (dataset,) = suite.datasets
    assert suite.name == "child" and suite.models == ("custom_gru", "lstm")
    assert dataset.training.epochs == 5 and dataset.parameter_budget == 4000
    assert dataset.settings.sequence_length == 12


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_suites_are_valid(path):
    suite = load_suite(path)
    assert suite.datasets and suite.models and suite.seeds


def test_every_recurrent_run_of_the_default_suite_stops_only_on_a_plateau():
    # Patience >= 5, or >= 3 with the learning rate halved at least once before the stop.
    suite = load_suite(EXPERIMENTS / "suite.toml")
    for dataset in suite.datasets:
        training = dataset.training
        patience, halving = training.early_stopping_patience, training.reduce_lr_patience
        assert patience >= 5 or (patience >= 3 and 0 < halving < patience), dataset.key


def test_the_default_suite_is_every_family_with_german_and_copy_memory_elsewhere():
    keys = {dataset.key for dataset in load_suite(EXPERIMENTS / "suite.toml").datasets}
    assert {dataset.family for dataset in load_suite(EXPERIMENTS / "suite.toml").datasets} == {
        "forecasting",
        "probes",
        "translation",
        "speech",
        "music",
    }
    assert "numbers-dates-de" not in keys and "copy-memory" not in keys
    attention = {d.key for d in load_suite(EXPERIMENTS / "translation-attention.toml").datasets}
    assert "numbers-dates-de" in attention
    probes = {d.dataset for d in load_suite(EXPERIMENTS / "probes.toml").datasets}
    assert "copy-memory" in probes


def test_label_smoothing_changes_the_hash_only_when_it_is_on(tmp_path):
    suite_text = VALID.replace('dataset = "adding"', 'dataset = "numbers-dates-fr"')
    suite_text = suite_text.replace("sequence_length = 12\n", "")
    plain = load_suite(write(tmp_path, suite_text))
    config = run_config(plain, plain.datasets[0], "lstm", 0)
    assert "label_smoothing" not in config["model_options"]
    key = plain.datasets[0].key
    smoothed = load_suite(
        write(tmp_path, suite_text + f"[datasets.{key}.model]\nlabel_smoothing = 0.1\n", "ls.toml")
    )
    changed = run_config(smoothed, smoothed.datasets[0], "lstm", 0) | {"suite": plain.name}
    assert changed["model_options"]["label_smoothing"] == 0.1
    assert config_hash(changed) != config_hash(config)


def test_diagnostics_change_the_hash_only_when_they_are_off(tmp_path):
    plain = load_suite(write(tmp_path, VALID))
    config = run_config(plain, plain.datasets[0], "lstm", 0)
    # On (the default), the hash is that of a config written before the setting existed; off,
    # a finished run without diagnostics is not taken for one with them.
    assert plain.datasets[0].training.diagnostics is True
    assert "diagnostics" not in config["training"]
    for value, same in (("true", True), ("false", False)):
        text = VALID.replace("epochs = 2", f"epochs = 2\ndiagnostics = {value}")
        chosen = load_suite(write(tmp_path, text, f"diagnostics-{value}.toml"))
        other = run_config(chosen, chosen.datasets[0], "lstm", 0)
        assert (config_hash(other) == config_hash(config)) is same
    text = VALID.replace("epochs = 2", 'epochs = 2\ndiagnostics = "no"')
    with pytest.raises(ConfigError, match="diagnostics"):
        load_suite(write(tmp_path, text, "diagnostics-word.toml"))


def test_run_config_hash_is_stable_and_sensitive(tmp_path):
    suite = load_suite(write(tmp_path, VALID))
    dataset = suite.datasets[0]
    first = run_config(suite, dataset, "lstm", 0)
    assert config_hash(first) == config_hash(run_config(suite, dataset, "lstm", 0))
    assert config_hash(first) != config_hash(run_config(suite, dataset, "lstm", 1))
    flat = flatten(first)
    assert flat["training.epochs"] == 2 and flat["settings.sequence_length"] == 12


def test_jit_compile_jobs_and_threads_are_settings_outside_the_config_hash(tmp_path):
    plain = load_suite(write(tmp_path, VALID))
    tuned = load_suite(
        write(
            tmp_path,
            VALID.replace("epochs = 2", "epochs = 2\njit_compile = true").replace(
                "parameter_budget = 3000", "parameter_budget = 3000\njobs = 3\nthreads = 1"
            ),
            "tuned.toml",
        )
    )
    assert plain.datasets[0].training.jit_compile == "auto"
    assert tuned.datasets[0].training.jit_compile is True
    assert (tuned.executor.jobs, tuned.executor.threads) == (3, 1)
    assert (plain.executor.jobs, plain.executor.threads) == (0, 0)
    for model, seed in (("lstm", 0), ("custom_gru", 1)):
        config = run_config(plain, plain.datasets[0], model, seed)
        assert "jit_compile" not in config["training"]
        assert config_hash(config) == config_hash(
            run_config(tuned, tuned.datasets[0], model, seed) | {"suite": plain.name}
        )


def test_a_learning_rate_schedule_changes_the_hash_only_when_it_is_on(tmp_path):
    plain = load_suite(write(tmp_path, VALID))
    config = run_config(plain, plain.datasets[0], "lstm", 0)
    # Off (the default), the hash is that of a config written before the setting existed.
    assert "reduce_lr_patience" not in config["training"]
    for patience, same in ((0, True), (2, False)):
        text = VALID.replace("epochs = 2", f"epochs = 2\nreduce_lr_patience = {patience}")
        scheduled = load_suite(write(tmp_path, text, f"lr{patience}.toml"))
        assert scheduled.datasets[0].training.reduce_lr_patience == patience
        other = run_config(scheduled, scheduled.datasets[0], "lstm", 0)
        assert (config_hash(other) == config_hash(config)) is same


def test_steps_per_epoch_changes_the_hash_only_when_it_is_on(tmp_path):
    plain = load_suite(write(tmp_path, VALID))
    config = run_config(plain, plain.datasets[0], "lstm", 0)
    assert "steps_per_epoch" not in config["training"]
    text = VALID.replace("epochs = 2", "epochs = 2\nsteps_per_epoch = 7")
    stepped = load_suite(write(tmp_path, text, "steps.toml"))
    other = run_config(stepped, stepped.datasets[0], "lstm", 0)
    assert other["training"]["steps_per_epoch"] == 7
    assert config_hash(other) != config_hash(config)


MAP = """
[suite]
name = "tinymap"
[training]
batch_size = 16
[map]
updates = 100
evaluations = 4
seeds = [2, 4]
alpha = [0.03, 0.02]
pairs = [["custom_gru", "lstm"]]
[map.strip]
task = "adding"
where = { train_size = 64 }
[map.tasks.adding]
dataset = "adding"
metrics = ["r2"]
[map.tasks.adding.axes]
sequence_length = [5, 10]
train_size = [64, 128]
parameter_budget = [400]
[map.tasks.adding.settings]
validation_size = 32
"""


def test_a_map_expands_into_one_dataset_a_cell_trained_the_same_updates(tmp_path):
    suite = load_suite(write(tmp_path, MAP))
    assert suite.map is not None and suite.models == ("custom_gru", "lstm")
    assert suite.seeds == (0, 1)  # stage 1's seeds
    keys = [dataset.key for dataset in suite.datasets]
    assert keys == ["adding-T5-n64-p400", "adding-T5-n128-p400", "adding-T10-n64-p400", "adding-T10-n128-p400"]  # fmt: skip
    first = suite.datasets[0]
    assert (first.settings.sequence_length, first.settings.train_size) == (5, 64)
    assert first.settings.validation_size == 32 and first.parameter_budget == 400
    # Every cell: 100 updates in 4 validated epochs, whatever its training size.
    assert {(d.training.epochs, d.training.steps_per_epoch) for d in suite.datasets} == {(4, 25)}
    # The strip's cells (train_size 64) also run keras_gru.
    runs = {spec.name for spec in expand(suite)}
    assert "adding-T10-n64-p400__keras_gru__1" in runs
    assert not any(name.startswith("adding-T10-n128-p400__keras_gru") for name in runs)
    assert len(runs) == 4 * 2 * 2 + 2 * 2


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[training]", "[training]\nearly_stopping_patience = 3"), "fixed updates"),
        (("[suite]", "[suite]\nseeds = [0]"), "'suite.seeds': a map's seeds come from [map] seeds"),
        (("[map]", "[datasets.x]\ndataset = 'adding'\n[map]"), "remove the [datasets] tables"),
        (('dataset = "adding"\nmetrics', 'dataset = "tuning"\nmetrics'), "not a known dataset"),
    ],
)
def test_a_bad_map_file_is_one_line(tmp_path, edit, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        load_suite(write(tmp_path, MAP.replace(*edit, 1)))
    assert "\n" not in str(error.value)


def test_the_shipped_maps_meet_the_issue_s_minimum_spans():
    for name, least_seeds in (("map.toml", 3), ("map-large.toml", 5)):
        spec = load_suite(EXPERIMENTS / name).map
        assert spec.seeds[0] >= least_seeds and len(spec.seeds) <= 3 and spec.seeds[-1] <= 8
        assert {task.dataset for task in spec.tasks} >= {"adding", "counting"}
        assert len(spec.cells()) >= 16 and sum(spec.alphas) <= 0.05
        for task in spec.tasks:
            (_, lengths), (_, sizes), (_, budgets) = task.axes
            assert len(lengths) >= 3 and lengths[-1] >= 4 * lengths[0]
            assert len(sizes) >= 2 and sizes[-1] >= 8 * sizes[0]
            assert len(budgets) >= 2 and budgets[-1] >= 4 * budgets[0]
        assert spec.strip is not None and spec.strip.model == "keras_gru"


BAD_CONFIGS = {
    "malformed-toml": ("[suite\nname = 1", "malformed TOML"),
    "unknown-top-level-key": (VALID + "\n[extras]\na = 1\n", "unknown top-level key 'extras'"),
    "unknown-training-key": (
        VALID.replace("epochs = 2", "epochs = 2\nepoch = 3"),
        "'training.epoch'; valid keys: batch_size",
    ),
    "unknown-dataset-key": (
        VALID.replace("train_size = 64", "train_size = 64\nlength = 9"),
        "'datasets.adding-short.length'",
    ),
    "unknown-model": (
        VALID.replace('"lstm"]', '"transformer"]'),
        "'transformer' is not valid; valid choices: simple_rnn, lstm",
    ),
    "unknown-dataset": (
        VALID.replace('dataset = "adding"', 'dataset = "imagenet"'),
        "'imagenet' is not a known dataset; valid choices: adding, bach-chorales, copy-memory",
    ),
    "wrong-type": (
        VALID.replace("epochs = 2", 'epochs = "two"'),
        "'training.epochs' must be an integer, got 'two'",
    ),
    "out-of-range": (
        VALID.replace("epochs = 2", "epochs = 2\nlearning_rate = -0.5"),
        "'training.learning_rate' = -0.5 is out of range",
    ),
    "empty-seeds": (
        VALID.replace("seeds = [0, 1]", "seeds = []"),
        "'suite.seeds' must not be empty",
    ),
    "no-datasets": (VALID.split("[datasets")[0], "no datasets"),
    "model-option-in-the-dataset-table": (
        VALID + '\n[datasets.fr]\ndataset = "numbers-dates-fr"\nattention = "luong"\n',
        "'datasets.fr.attention' is a model option: move it to a [datasets.fr.model] table",
    ),
    "unknown-model-option": (
        VALID + "\n[datasets.adding-short.model]\nunits = 3\n",
        "unknown key 'datasets.adding-short.model.units'; valid keys: (none)",
    ),
    "bad-model-option": (
        VALID + '\n[datasets.fr]\ndataset = "numbers-dates-fr"\n[datasets.fr.model]\n'
        'attention = "bahdanau"\n',
        "'datasets.fr.model.attention' = 'bahdanau' is not valid; valid choices: none, luong",
    ),
    # Non-finite numbers: NaN passes every range check, so it is refused by type.
    "nan-learning-rate": (
        VALID.replace("epochs = 2", "epochs = 2\nlearning_rate = nan"),
        "'training.learning_rate' must be a number (finite), got nan",
    ),
    "nan-clip-norm": (
        VALID.replace("epochs = 2", "epochs = 2\nclip_norm = nan"),
        "'training.clip_norm' must be a number (finite), got nan",
    ),
    "infinite-validation-fraction": (
        VALID + '\n[datasets.sun]\ndataset = "sunspots-monthly"\nvalidation_fraction = inf\n',
        "'datasets.sun.validation_fraction' must be a number (finite), got inf",
    ),
    "nan-validation-fraction": (
        VALID + '\n[datasets.sun]\ndataset = "sunspots-monthly"\nvalidation_fraction = nan\n',
        "'datasets.sun.validation_fraction' must be a number (finite), got nan",
    ),
    "dataset-as-a-list": (
        VALID.replace('dataset = "adding"', 'dataset = ["adding"]'),
        "'datasets.adding-short.dataset' = ['adding'] is not a known dataset",
    ),
    "jit-compile-word": (
        VALID.replace("epochs = 2", 'epochs = 2\njit_compile = "yes"'),
        "'training.jit_compile' = 'yes' is not valid; valid choices: auto, true, false",
    ),
    "jit-compile-number": (
        VALID.replace("epochs = 2", "epochs = 2\njit_compile = 1"),
        "'training.jit_compile' must be a string or a boolean, got 1",
    ),
    "negative-jobs": (
        VALID.replace("parameter_budget = 3000", "parameter_budget = 3000\njobs = -1"),
        "'suite.jobs' = -1 is out of range [0, 256]",
    ),
    "duplicate-seeds": (
        VALID.replace("seeds = [0, 1]", "seeds = [0, 0]"),
        "'suite.seeds' lists 0 twice",
    ),
    "duplicate-models": (
        VALID.replace('"lstm"]', '"lstm", "lstm"]'),
        "'suite.models' lists 'lstm' twice",
    ),
    # Names that become paths.
    "suite-name-climbing-out": (
        VALID.replace('name = "tiny"', 'name = "../../x"'),
        "suite name '../../x' is not a valid name",
    ),
    "suite-name-absolute": (
        VALID.replace('name = "tiny"', 'name = "/tmp/x"'),
        "suite name '/tmp/x' is not a valid name",
    ),
    "suite-name-with-a-newline": (
        VALID.replace('name = "tiny"', 'name = "a\\nb"'),
        "suite name 'a\\nb' is not a valid name",
    ),
    "dataset-key-climbing-out": (
        VALID.replace("[datasets.adding-short]", '[datasets."a/../../evil"]'),
        "dataset key 'a/../../evil' is not a valid name",
    ),
    "unreachable-budget": (
        VALID.replace("parameter_budget = 3000", "parameter_budget = 40"),
        "parameter_budget",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line_and_creates_no_run(case, tmp_path, capsys, monkeypatch):
    text, message = BAD_CONFIGS[case]
    path = write(tmp_path, text)
    store = tmp_path / "store.db"
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(path), "--tracking-uri", f"sqlite:///{store}", "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error.startswith("error: ") and str(path) in error and message in error, error
    assert "\n" not in error and "Traceback" not in error
    assert not store.exists() and not (tmp_path / "mlartifacts").exists()


def test_missing_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["run", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: config file not found"


def test_missing_base_file_is_named(tmp_path):
    path = write(tmp_path, 'base = "gone.toml"\n' + VALID)
    with pytest.raises(ConfigError, match=r"gone\.toml: config file not found"):
        load_suite(path)


# --- fuzzing: every suite file is hostile until parsed ----------------------------------------

EXPERIMENTS = Path(__file__).parents[2] / "experiments"
SUITES = sorted(EXPERIMENTS.glob("*.toml"))


def _keys(table, found):
    for key, value in table.items():
        found.add(key)
        if isinstance(value, dict):
            _keys(value, found)
    return found


# Names the loader knows, so that a mutated key often gets past the first check.
KNOWN_KEYS = tuple(
    sorted(set().union(*(_keys(tomllib.loads(p.read_text()), set()) for p in SUITES)))
)
BASES = ["fuzzed.toml", "other.toml", "suite.toml", "missing.toml", ".", "", "/dev/null", "../"]


@fuzz
@budget(150)
@given(
    seed=st.sampled_from(SUITES),
    data=st.data(),
    base=st.one_of(st.none(), st.sampled_from(BASES)),
)
def test_fuzz_a_suite_file_loads_or_is_one_line_exit_2(seed, data, base):
    content = data.draw(fuzz_files(seed.read_text(), toml_values, KNOWN_KEYS))
    if base is not None:  # self, mutual (other.toml points back) and odd includes
        content = f"base = {json.dumps(base)}\n".encode() + content
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        for suite in SUITES:
            shutil.copy(suite, folder)
        (folder / "other.toml").write_text('base = "fuzzed.toml"\n')
        path = folder / "fuzzed.toml"
        path.write_bytes(content)
        try:
            suite = load_suite(path)
        except ConfigError as error:
            assert "\n" not in str(error) and str(error)
            return
        # A suite that parses expands into runs with valid names, and never trains here.
        for spec in expand(suite):
            check_name(spec.name, "run name")


def test_a_suite_file_that_is_not_utf8_is_one_line(tmp_path):
    # Found by the fuzz test above: tomllib decodes first, and its UnicodeDecodeError was a
    # traceback and exit 1.
    path = tmp_path / "latin1.toml"
    path.write_bytes('[suite]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at offset 19\)"):
        load_suite(path)


def test_every_option_declares_how_it_enters_the_config_hash():
    # A new [training] or model option without an identity would either re-run every stored
    # run (hashed at its default) or be invisible to resume (never hashed): it must say.
    import gru_keras.families as families
    from gru_keras.experiment.config import TrainingConfig
    from gru_keras.validation import IDENTITY, hashed_fields

    option_types = {TrainingConfig} | {
        families.get_dataset(name).task.model_options for name in families.DATASETS
    }
    for options in option_types:
        for item in dataclasses.fields(options):
            assert IDENTITY in item.metadata, f"{options.__name__}.{item.name}"
        hashed_fields(options())  # and none is refused

    @dataclasses.dataclass(frozen=True)
    class Undeclared:
        dropout: float = 0.0

    with pytest.raises(TypeError, match=r"Undeclared.dropout declares no identity"):
        hashed_fields(Undeclared())


def test_an_option_added_later_leaves_the_hash_only_at_its_neutral_value():
    from gru_keras.experiment.config import TrainingConfig
    from gru_keras.validation import hashed_fields

    plain = hashed_fields(TrainingConfig())
    assert set(plain) == {
        "epochs", "batch_size", "optimizer", "learning_rate", "early_stopping_patience", "clip_norm"
    }  # fmt: skip
    changed = hashed_fields(
        TrainingConfig(reduce_lr_patience=2, steps_per_epoch=5, diagnostics=False, jit_compile=True)
    )
    assert set(changed) - set(plain) == {"reduce_lr_patience", "steps_per_epoch", "diagnostics"}
