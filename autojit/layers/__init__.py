"""Ready-made layers built on ``Module`` (``aj.layers``, also ``aj.keras.layers``), one module
per family, and Keras's subclassing base ``Layer`` (layers/base.py).

Usage: ``layer = aj.layers.Dense(784, 256, activation=aj.nn.relu); y = layer(x)``
"""

from autojit.layers.base import Layer
from autojit.layers.conv import (
                                 AveragePooling1D,
                                 AveragePooling2D,
                                 AvgPool1D,
                                 AvgPool2D,
                                 Conv1D,
                                 Conv2D,
                                 Convolution1D,
                                 Convolution2D,
                                 GlobalAveragePooling2D,
                                 MaxPool1D,
                                 MaxPool2D,
                                 MaxPooling1D,
                                 MaxPooling2D,
)
from autojit.layers.core import Dense, get_activation
from autojit.layers.embedding import Embedding
from autojit.layers.normalization import BatchNormalization, LayerNormalization
from autojit.layers.recurrent import GRU, LSTM, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell
from autojit.layers.regularization import Dropout
from autojit.layers.reshaping import Flatten
from autojit.layers.sequential import Sequential

__all__ = ["Dense", "Layer", "get_activation"]
__all__ += ["GRU", "LSTM", "BatchNormalization", "Dropout", "Embedding", "Flatten", "GRUCell",
            "LSTMCell", "LayerNormalization", "Sequential", "SimpleRNN", "SimpleRNNCell"]
__all__ += ["AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "Conv1D", "Conv2D",
            "Convolution1D", "Convolution2D", "GlobalAveragePooling2D", "MaxPool1D", "MaxPool2D",
            "MaxPooling1D", "MaxPooling2D"]
