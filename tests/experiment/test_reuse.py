import keras
import numpy as np
import pytest

from gru_keras.experiment.reuse import CompiledModels
from gru_keras.variants import get_variant

RNG = np.random.default_rng(0)
X = RNG.standard_normal((100, 12, 3)).astype("float32")
Y = RNG.standard_normal((100, 1)).astype("float32")


def build(units: int = 8) -> keras.Model:
    # Dropout draws from a seed generator: its state must travel with the weights.
    return keras.Sequential(
        [
            keras.Input((12, 3)),
            get_variant("custom_gru").build(units),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1),
        ]
    )


def optimizer() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(0.01, global_clipnorm=1.0)


def train(cache: CompiledModels, seed: int, units: int = 8) -> tuple[keras.Model, dict, list]:
    """One run as the runner does it: seed, build, take a compiled model, fit with the
    callbacks that change the learning rate and the weights."""
    keras.utils.set_random_seed(seed)
    model = cache.model_for(
        ("shape", units),
        build(units),
        optimizer,
        lambda fresh: fresh.compile(optimizer=optimizer(), loss="mse"),
    )
    history = model.fit(
        X,
        Y,
        batch_size=32,  # 80 training examples: a partial last batch
        epochs=4,
        validation_split=0.2,
        verbose=0,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(patience=1, factor=0.5, min_delta=1.0),
            keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True),
        ],
    )
    return model, history.history, [weight.copy() for weight in model.get_weights()]


def test_a_reused_model_trains_exactly_as_a_freshly_compiled_one():
    """Same seed, same history and weights, bit for bit, whether the model was compiled for
    this run or kept from a run with another seed (whose learning rate was halved and whose
    optimizer moved)."""
    kept = CompiledModels()
    first, first_history, _ = train(kept, seed=0)
    assert min(first_history["learning_rate"]) < 0.01  # the state there is to reset
    reused, history, weights = train(kept, seed=1)
    assert reused is first and kept.hits == 1

    _, fresh_history, fresh_weights = train(CompiledModels(capacity=0), seed=1)
    assert history == fresh_history
    for ours, theirs in zip(weights, fresh_weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert history != first_history  # another seed: the comparison can fail


def take(cache: CompiledModels, units: int) -> keras.Model:
    model = cache.model_for(
        ("shape", units), build(units), optimizer, lambda m: m.compile(optimizer(), "mse")
    )
    model.optimizer.build(model.trainable_variables)  # as after its first training step
    return model


def test_another_shape_gets_its_own_model_and_the_oldest_is_evicted():
    kept = CompiledModels(capacity=1)
    a, b, c = take(kept, 8), take(kept, 9), take(kept, 8)
    assert a is not b and c is not a and kept.hits == 0
    assert take(kept, 8) is c and kept.hits == 1


@pytest.mark.parametrize("capacity", [0, 2])
def test_the_first_run_of_a_shape_compiles_the_fresh_model(capacity):
    kept = CompiledModels(capacity=capacity)
    fresh = build()
    model = kept.model_for("k", fresh, optimizer, lambda m: m.compile(optimizer(), "mse"))
    assert model is fresh and model.compiled and kept.hits == 0
