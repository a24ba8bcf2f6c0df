"""gru-keras: a GRU written from its equations as a Keras 3 layer, and an experiment suite
comparing it with Keras's SimpleRNN, LSTM and GRU."""

from gru_keras.cell import GRUCell
from gru_keras.layer import GRU

__all__ = ["GRU", "GRUCell"]
__version__ = "0.1.0"
