"""gru-keras: a GRU written from its equations as a Keras 3 layer, and an experiment suite
comparing it with Keras's SimpleRNN, LSTM and GRU.

Importing the package does not import TensorFlow: the command line answers `--help` and a
suite's errors in under a second, where importing TensorFlow first took six. `gru_keras.GRU` and
`gru_keras.GRUCell` load Keras on first use, and the package's Keras objects (the layer,
the families' models and losses) are registered the moment Keras is imported, so that
`import gru_keras, mlflow; mlflow.keras.load_model(uri)` reloads any logged model.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any

# Before TensorFlow loads: quiet start-up, and no oneDNN graph rewrites, whose float
# reordering makes results depend on thread timing (runs must be reproducible by seed).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

if TYPE_CHECKING:
    from gru_keras.cell import GRUCell
    from gru_keras.layer import GRU

__all__ = ["GRU", "GRUCell"]
__version__ = "0.1.0"

_LAZY = {"GRU": "gru_keras.layer", "GRUCell": "gru_keras.cell"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gru_keras' has no attribute {name!r}")


def _initializing(name: str) -> bool:
    module = sys.modules.get(name)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _half_imported() -> list[str]:
    """This package's modules that are half imported: importing another module of it now
    could meet one of them half defined."""
    return [
        name for name in list(sys.modules) if name.startswith("gru_keras.") and _initializing(name)
    ]


def _register_serializables() -> None:
    """Register every Keras object a logged model may name: the layer and cell, and each
    family's layers and losses."""
    importlib.import_module("gru_keras.layer")
    importlib.import_module("gru_keras.families").register_keras_objects()


class _AfterKeras:
    """An import hook that registers this package's Keras objects once `keras` has been
    imported, by anyone: Keras deserializes a custom object only from its registry and never
    imports a module a saved config names. When one of this package's own modules imported
    Keras, halfway through its own import, the hook waits for the first import after that
    module is whole."""

    waiting: list[str] = []  # noqa: RUF012 - the modules half imported when Keras arrived

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if cls.waiting:
            if not any(_initializing(module) for module in cls.waiting):
                cls.waiting = []
                sys.meta_path.remove(cls)
                _register_serializables()
            return None
        if name != "keras":
            return None
        sys.meta_path.remove(cls)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            execute(module)
            cls.waiting = _half_imported()
            if cls.waiting:
                sys.meta_path.insert(0, cls)
            else:
                _register_serializables()

        # On the loader itself rather than a wrapper: the module keeps its own loader.
        spec.loader.exec_module = exec_module
        return spec


# No module of the package can be half imported yet: the package itself is imported first.
if "keras" in sys.modules:
    _register_serializables()
elif _AfterKeras not in sys.meta_path:
    sys.meta_path.insert(0, _AfterKeras)
