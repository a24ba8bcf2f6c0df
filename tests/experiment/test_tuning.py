"""The `[tuning]` table and the tuned settings file: what they accept, what they refuse
(one line naming the key and the valid choices), and the precedence of tuned values."""

import dataclasses

import pytest
from cli import ADDING

from gru_keras.errors import ConfigError
from gru_keras.experiment.config import load_suite
from gru_keras.experiment.identity import config_hash
from gru_keras.experiment.plan import expand
from gru_keras.experiment.tuned import Choice, read_tuned, render_tuned
from gru_keras.experiment.tuning import parse_tuning

SPACE = """
[tuning.space.learning_rate]
low = 1e-4
high = 3e-2
log = true
"""


def tuning_suite(tiny_suite, tuning: str = "[tuning]\ntrials = 3\n" + SPACE, **kwargs):
    table = ADDING.format(length=10, train_size=64)
    return tiny_suite(datasets=table + tuning, **kwargs)


def test_a_tuning_table_is_read_with_its_space(tiny_suite):
    suite = load_suite(
        tuning_suite(
            tiny_suite,
            "[tuning]\ntrials = 5\nsampler = 'tpe'\nmin_epochs = 2\n"
            + SPACE
            + "[tuning.space.batch_size]\nvalues = [16, 32]\n"
            + "[tuning.space.epochs]\nlow = 2\nhigh = 9\n",
        )
    )
    tuning = suite.tuning
    assert (tuning.trials, tuning.sampler, tuning.min_epochs, tuning.trial_seed) == (
        5,
        "tpe",
        2,
        100,
    )
    rate, batch, epochs = tuning.space
    assert (rate.low, rate.high, rate.log, rate.kind) == (1e-4, 3e-2, True, float)
    assert batch.values == (16, 32) and batch.kind is int
    assert (epochs.low, epochs.high, epochs.step) == (2, 9, 1)
    assert tuning.rungs(60) == (2, 6, 18, 54) and tuning.rungs(54) == (2, 6, 18)


@pytest.mark.parametrize(
    ("tuning", "message"),
    [
        (
            "[tuning.space.units]\nlow = 1\nhigh = 2\n",
            "'tuning.space.units': 'units' is not a [training] key that can be tuned; valid choices: batch_size, clip_norm, early_stopping_patience, epochs",
        ),
        (
            "[tuning.space.jit_compile]\nvalues = [true]\n",
            "'jit_compile' is not a [training] key that can be tuned",
        ),
        (
            "[tuning.space.learning_rate]\nlow = 0.1\nhigh = 0.01\n",
            "low = 0.1 must be below high = 0.01",
        ),
        (
            "[tuning.space.learning_rate]\nlow = 0.1\nhigh = 0.1\n",
            "low = 0.1 must be below high = 0.1",
        ),
        (
            "[tuning.space.clip_norm]\nlow = 0.0\nhigh = 2.0\nlog = true\n",
            "a log scale needs low > 0, got low = 0.0",
        ),
        (
            "[tuning.space.learning_rate]\nlow = 1e-12\nhigh = 0.1\n",
            "'tuning.space.learning_rate.low' = 1e-12 is out of range [1e-09, 10.0]",
        ),
        (
            "[tuning.space.batch_size]\nlow = 8.5\nhigh = 64\n",
            "'tuning.space.batch_size.low' must be an integer",
        ),
        (
            "[tuning.space.optimizer]\nlow = 1\nhigh = 2\n",
            "optimizer is not a number; list its choices as values = [...]",
        ),
        (
            "[tuning.space.optimizer]\nvalues = ['adam', 'lbfgs']\n",
            "'tuning.space.optimizer' = 'lbfgs' is not valid; valid choices: adam, adamw, rmsprop, sgd",
        ),
        ("[tuning.space.learning_rate]\nlow = 0.001\n", "high is missing"),
        (
            "[tuning.space.learning_rate]\nlow = 0.001\nhigh = 0.1\nscale = 2\n",
            "unknown key 'tuning.space.learning_rate.scale'",
        ),
    ],
)
def test_a_bad_space_is_one_line_naming_the_key(tiny_suite, tuning, message):
    with pytest.raises(ConfigError) as error:
        load_suite(tuning_suite(tiny_suite, "[tuning]\n" + tuning))
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("trials = 0\n" + SPACE, "'tuning.trials' = 0 is out of range [1, 10000]"),
        (
            "sampler = 'bayes'\n" + SPACE,
            "'tuning.sampler' = 'bayes' is not valid; valid choices: latin-hypercube, random, tpe, grid",
        ),
        ("pruner = 'hyperband'\n" + SPACE, "valid choices: successive-halving, none"),
        ("trial_seed = 0\n" + SPACE, "'tuning.trial_seed' = 0 is one of [suite] seeds (0)"),
        (
            "sampler = 'grid'\n" + SPACE,
            "'tuning.space.learning_rate': the grid sampler tries listed values; give values = [...]",
        ),
        ("trials = 3\n", "'tuning.space' is empty"),
        ("patience = 3\n" + SPACE, "unknown key 'tuning.patience'"),
        (
            "reduction_factor = 1\n" + SPACE,
            "'tuning.reduction_factor' = 1 is out of range [2, 100]",
        ),
    ],
)
def test_a_bad_tuning_table_is_one_line_naming_the_key(tiny_suite, table, message):
    with pytest.raises(ConfigError) as error:
        load_suite(tuning_suite(tiny_suite, "[tuning]\n" + table))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_grid_lists_every_parameter():
    tuning = parse_tuning(
        {
            "sampler": "grid",
            "trials": 4,
            "space": {
                "learning_rate": {"values": [0.01, 0.001]},
                "batch_size": {"values": [16, 32]},
            },
        },
        (0,),
    )
    assert [p.values for p in tuning.space] == [(0.01, 0.001), (16, 32)]


def write_tuned(directory, text):
    (directory / "tuned").mkdir(exist_ok=True)
    (directory / "tuned" / "tiny.toml").write_text(text)


def test_tuned_values_win_for_their_dataset_and_model_only(tiny_suite, tmp_path):
    path = tiny_suite(
        suite='tuned = "tuned/tiny.toml"',
        training="learning_rate = 0.003\nclip_norm = 2.0",
        datasets=ADDING.format(length=10, train_size=64)
        + "[datasets.adding-short.training]\nlearning_rate = 0.002\nbatch_size = 16\n",
    )
    write_tuned(tmp_path, "[tuned.adding-short.custom_gru]\nlearning_rate = 0.0123\n")
    specs = {spec.model: spec for spec in expand(load_suite(path))}
    tuned, plain = specs["custom_gru"].dataset.training, specs["simple_rnn"].dataset.training
    # tuned > [datasets.X.training] > [training], for custom_gru only
    assert (tuned.learning_rate, tuned.batch_size, tuned.clip_norm) == (0.0123, 16, 2.0)
    assert (plain.learning_rate, plain.batch_size, plain.clip_norm) == (0.002, 16, 2.0)
    assert specs["custom_gru"].config["training"]["learning_rate"] == 0.0123
    # `tune` reads the suite without its own output
    untuned = {spec.model: spec for spec in expand(load_suite(path, tuned=False))}
    assert untuned["custom_gru"].dataset.training.learning_rate == 0.002
    assert untuned["simple_rnn"].config_hash == specs["simple_rnn"].config_hash
    assert untuned["custom_gru"].config_hash != specs["custom_gru"].config_hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[tuned.adding-long.custom_gru]\nlearning_rate = 0.01\n",
            "[tuned.adding-long] is not a dataset of this suite; valid choices: adding-short",
        ),
        (
            "[tuned.adding-short.lstm]\nlearning_rate = 0.01\n",
            "[tuned.adding-short.lstm] is not a model of this suite; valid choices: custom_gru, simple_rnn",
        ),
        (
            "[tuned.adding-short.custom_gru]\nlearning_rate = -1.0\n",
            "learning_rate' = -1.0 is out of range",
        ),
        (
            "[tuned.adding-short.custom_gru]\nspeed = 2\n",
            "unknown key 'suite.tuned: tuned.adding-short.custom_gru.speed'",
        ),
        (
            "[tuned.adding-short]\nlearning_rate = 0.01\n",
            "'tuned.adding-short' must hold [tuned.adding-short.MODEL] tables",
        ),
        ("[other]\nx = 1\n", "unknown top-level key 'other'; valid keys: tuned"),
        ("[tuned.adding-short.custom_gru\n", "not a readable TOML file"),
    ],
)
def test_a_bad_tuned_file_is_one_line(tiny_suite, tmp_path, text, message):
    path = tiny_suite(suite='tuned = "tuned/tiny.toml"')
    write_tuned(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_suite(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_tuned_file_names_the_command_that_writes_it(tiny_suite):
    with pytest.raises(ConfigError, match="no such file; `python -m gru_keras tune` writes it"):
        load_suite(tiny_suite(suite='tuned = "tuned/tiny.toml"'))


def test_the_settings_file_round_trips(tiny_suite, tmp_path):
    choices = [
        Choice(
            "adding-short",
            "custom_gru",
            {"learning_rate": 0.0061234567, "batch_size": 16},
            0.25,
            4,
            8,
        ),
        Choice(
            "adding-short", "simple_rnn", {"learning_rate": 2.5e-05, "clip_norm": 3.0}, 0.5, 0, 8
        ),
    ]
    text = render_tuned(choices, ["made by a test", "second line"])
    assert text.startswith("# made by a test\n# second line\n")
    write_tuned(tmp_path, text)
    assert read_tuned(tmp_path / "tuned" / "tiny.toml") == {
        "adding-short": {
            "custom_gru": {"learning_rate": 0.006123, "batch_size": 16},
            "simple_rnn": {"learning_rate": 2.5e-05, "clip_norm": 3.0},
        }
    }
    suite = load_suite(tiny_suite(suite='tuned = "tuned/tiny.toml"'))
    trained = {spec.model: spec.dataset.training for spec in expand(suite)}
    assert dataclasses.astuple(trained["custom_gru"])[:2] == (2, 16)
    assert trained["custom_gru"].learning_rate == 0.006123
    assert (trained["simple_rnn"].learning_rate, trained["simple_rnn"].clip_norm) == (2.5e-05, 3.0)
    assert len({config_hash(spec.config) for spec in expand(suite)}) == 2


def test_a_latin_hypercube_puts_one_trial_in_each_stratum_of_every_range():
    import math

    from gru_keras.tuning import candidates

    tuning = parse_tuning(
        {
            "trials": 6,
            "space": {
                "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
                "batch_size": {"low": 8, "high": 128, "log": True},
                "clip_norm": {"values": [0.5, 1.0, 2.0]},
            },
        },
        (0,),
    )
    assert tuning.sampler == "latin-hypercube"  # the default
    drawn = candidates(tuning)
    assert drawn == candidates(tuning)  # from the seed alone: the same for every variant
    for name, low, high in (("learning_rate", 1e-4, 3e-2), ("batch_size", 8, 128)):
        strata = sorted(
            int(6 * (math.log(d[name]) - math.log(low)) / (math.log(high) - math.log(low)))
            for d in drawn
        )
        # One per sixth of the log range (an int may round across a stratum's edge).
        assert strata == [0, 1, 2, 3, 4, 5] or name == "batch_size"
    assert all(isinstance(d["batch_size"], int) and 8 <= d["batch_size"] <= 128 for d in drawn)
    assert sorted(d["clip_norm"] for d in drawn) == [0.5, 0.5, 1.0, 1.0, 2.0, 2.0]
    # Random draws may cluster; the hypercube's seed 0 covers what random's seed 0 missed.
    spread = dataclasses.replace(tuning, space=tuning.space[:1])
    randomly = dataclasses.replace(spread, sampler="random")
    lowest = min(d["learning_rate"] for d in candidates(spread))
    assert lowest < 3e-4 < min(d["learning_rate"] for d in candidates(randomly))
