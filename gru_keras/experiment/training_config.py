"""How each run trains: the `[training]` table (and `[datasets.X.training]`, and a tuned
settings file's tables), kept apart so that the `[tuning]` table can check a tuned key
against it without importing the whole suite config."""

from __future__ import annotations

from dataclasses import dataclass, field

from gru_keras.experiment.optimizers import OPTIMIZERS
from gru_keras.validation import EXECUTION, HASHED, added_later, between, one_of


@dataclass(frozen=True)
class TrainingConfig:
    """How each run trains.

    Attributes:
        epochs: Maximum epochs.
        batch_size: Examples per step.
        optimizer: One of `OPTIMIZERS`.
        learning_rate: Optimizer step size.
        early_stopping_patience: Epochs without validation improvement before stopping
            (the best weights are restored); 0 turns early stopping off.
        clip_norm: Global gradient-norm clip; 0 turns clipping off.
        reduce_lr_patience: Epochs without validation improvement before the learning rate
            is halved (Keras's ReduceLROnPlateau); 0 keeps it constant.
        jit_compile: XLA for the training and evaluation steps: "auto" (on where it was
            measured faster for the task and variant, `Task.xla_variants`), true or false.
            How a run executes, not what it computes, so it is not part of the config hash.
        steps_per_epoch: Updates between two validations, drawn from the training set
            reshuffled and repeated; 0 means one pass over it. A decision map sets it, so
            that every cell trains the same number of updates whatever its training size.
        diagnostics: Log each run's gradient reach, the custom GRU's gates and its deviation
            from Keras's GRU (`diagnostics/`), which the report's "Inside the cells" page and
            correctness check read. They cost one to two seconds a run whatever its size;
            false skips them, for runs too short for that to be small (the tests' tiny runs).
    """

    epochs: int = field(default=10, metadata={**between(1, 10_000), **HASHED})
    batch_size: int = field(default=64, metadata={**between(1, 1_000_000), **HASHED})
    optimizer: str = field(default="adam", metadata={**one_of(tuple(OPTIMIZERS)), **HASHED})
    learning_rate: float = field(default=1e-3, metadata={**between(1e-9, 10.0), **HASHED})
    early_stopping_patience: int = field(default=0, metadata={**between(0, 10_000), **HASHED})
    clip_norm: float = field(default=1.0, metadata={**between(0.0, 1e6), **HASHED})
    reduce_lr_patience: int = field(default=0, metadata={**between(0, 10_000), **added_later(0)})
    jit_compile: str | bool = field(
        default="auto", metadata={**one_of(("auto", True, False)), **EXECUTION}
    )
    steps_per_epoch: int = field(default=0, metadata={**between(0, 10_000_000), **added_later(0)})
    diagnostics: bool = field(default=True, metadata=added_later(True))
