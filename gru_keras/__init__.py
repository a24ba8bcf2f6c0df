"""gru-keras: a GRU written from its equations as a Keras 3 layer, and an experiment suite
comparing it with Keras's SimpleRNN, LSTM and GRU."""

import os

# Before TensorFlow loads: quiet start-up, and no oneDNN graph rewrites, whose float
# reordering makes results depend on thread timing (runs must be reproducible by seed).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from gru_keras.cell import GRUCell
from gru_keras.layer import GRU

__all__ = ["GRU", "GRUCell"]
__version__ = "0.1.0"
