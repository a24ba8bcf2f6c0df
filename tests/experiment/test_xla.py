"""XLA against no XLA, per task: a forward pass and one training step agree to float
tolerance, starting from the same weights; and `jit_compile` resolves as documented."""

import keras
import numpy as np
import pytest

from gru_keras.experiment.train import use_xla
from gru_keras.families import get_dataset
from gru_keras.families.translation.task import length_batches
from gru_keras.validation import build_dataclass

# One small dataset per task (registry name, settings).
CASES = {
    "last_step_regression": ("adding", {"sequence_length": 12, "train_size": 32}),
    "recall_labeling": ("copy-memory", {"delay": 6, "symbols": 3, "train_size": 32}),
    "direct_forecast": ("sunspots-monthly", {}),
    "speaker-classification": ("japanese-vowels", {}),
    "seq2seq": ("numbers-dates-fr", {"train_size": 64, "validation_size": 16, "test_size": 16}),
    "ctc": ("spoken-digits", {"train_size": 32, "validation_size": 8, "test_size": 8}),
}


def _data(name, settings):
    dataset = get_dataset(name)
    return dataset, dataset.load(build_dataclass(dataset.settings, settings, name))


def _batch(task, data):
    if task.name == "seq2seq":
        return length_batches(data.x_train, data.y_train, 16)[-1]
    return data.x_train[:16], data.y_train[:16]


def _compiled(task, model, jit_compile):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), jit_compile=jit_compile, **task.compile_kwargs()
    )
    return model


# Every task with the project's layer; the other gated layers where "auto" uses XLA on them.
PAIRS = [(case, "custom_gru") for case in sorted(CASES)] + [
    ("last_step_regression", "lstm"),
    ("ctc", "keras_gru"),
]


@pytest.mark.parametrize(("case", "variant"), PAIRS)
def test_xla_and_plain_agree_on_a_forward_pass_and_a_training_step(case, variant):
    from gru_keras.variants import get_variant

    dataset, data = _data(*CASES[case])
    task = dataset.task
    assert task.name == case
    options = task.model_options()
    plain = _compiled(task, task.build_model(get_variant(variant), 8, data, options), False)
    xla = _compiled(task, task.build_model(get_variant(variant), 8, data, options), True)
    initial = plain.get_weights()
    xla.set_weights(initial)
    assert xla.jit_compile is True and plain.jit_compile is False

    x, y = _batch(task, data)
    np.testing.assert_allclose(
        xla.predict_on_batch(x), plain.predict_on_batch(x), rtol=1e-4, atol=1e-5
    )
    loss_plain, loss_xla = plain.train_on_batch(x, y), xla.train_on_batch(x, y)
    np.testing.assert_allclose(np.ravel(loss_xla), np.ravel(loss_plain), rtol=1e-4)
    for after_xla, after_plain in zip(xla.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(after_xla, after_plain, rtol=1e-3, atol=1e-5)
    # The step moved the weights: the comparison is not of two untouched models.
    assert any(
        not np.allclose(before, after)
        for before, after in zip(initial, xla.get_weights(), strict=True)
    )


def test_jit_compile_resolves_per_task_and_variant():
    adding = get_dataset("adding").task
    assert use_xla(True, adding, "simple_rnn") is True
    assert use_xla(False, adding, "lstm") is False
    for variant in ("simple_rnn", "lstm", "keras_gru", "custom_gru"):
        assert use_xla("auto", adding, variant) is (variant in adding.xla_variants)
