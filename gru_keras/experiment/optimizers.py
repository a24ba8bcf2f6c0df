"""The optimizers a suite may name (`training.optimizer`), and the one built for a run."""

from __future__ import annotations

import keras

from gru_keras.registry import Registry

OPTIMIZERS: Registry[type[keras.optimizers.Optimizer]] = Registry("optimizer")
for _name, _optimizer in (
    ("adam", keras.optimizers.Adam),
    ("adamw", keras.optimizers.AdamW),
    ("rmsprop", keras.optimizers.RMSprop),
    ("sgd", keras.optimizers.SGD),
):
    OPTIMIZERS.register(_name, _optimizer)
