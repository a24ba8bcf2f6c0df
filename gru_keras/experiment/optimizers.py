"""The optimizers a suite may name (`training.optimizer`), and the one built for a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gru_keras.registry import Registry

if TYPE_CHECKING:
    import keras

# Name -> the class's name in `keras.optimizers`: looked up when a run builds one, so that
# reading a suite file never imports Keras.
OPTIMIZERS: Registry[str] = Registry("optimizer")
for _name, _optimizer in (
    ("adam", "Adam"),
    ("adamw", "AdamW"),
    ("rmsprop", "RMSprop"),
    ("sgd", "SGD"),
):
    OPTIMIZERS.register(_name, _optimizer)


def build_optimizer(name: str, **kwargs: Any) -> keras.optimizers.Optimizer:
    """A new Keras optimizer registered as `name`, built with `kwargs`."""
    import keras

    return getattr(keras.optimizers, OPTIMIZERS.lookup(name))(**kwargs)
