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
                                 Conv2DTranspose,
                                 Convolution2DTranspose,
                                 Convolution1D,
                                 Convolution2D,
                                 DepthwiseConv2D,
                                 GlobalAveragePooling1D,
                                 GlobalAveragePooling2D,
                                 GlobalMaxPooling1D,
                                 GlobalMaxPooling2D,
                                 MaxPool1D,
                                 MaxPool2D,
                                 MaxPooling1D,
                                 MaxPooling2D,
                                 SeparableConv2D,
                                 UpSampling2D,
                                 ZeroPadding2D,
)
from autojit.layers.attention import MultiHeadAttention
from autojit.layers.core import Activation, Dense, get_activation
from autojit.layers.embedding import Embedding
from autojit.layers.normalization import BatchNormalization, LayerNormalization
from autojit.layers.recurrent import (GRU, LSTM, Bidirectional, GRUCell, LSTMCell, SimpleRNN,
                                      SimpleRNNCell, TimeDistributed)
from autojit.layers.regularization import Dropout
from autojit.layers.masking import Masking
from autojit.layers.functional import Input, InputLayer, Lambda
from autojit.layers.merging import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from autojit.layers.reshaping import Flatten, Reshape
from autojit.layers.sequential import Sequential

__all__ = ["Dense", "Layer", "get_activation"]
__all__ += ["GRU", "LSTM", "BatchNormalization", "Dropout", "Embedding", "Flatten", "GRUCell",
            "LSTMCell", "LayerNormalization", "Sequential", "SimpleRNN", "SimpleRNNCell"]
__all__ += ["AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "Conv1D", "Conv2D",
            "Convolution1D", "Convolution2D", "GlobalAveragePooling2D", "MaxPool1D", "MaxPool2D",
            "MaxPooling1D", "MaxPooling2D"]
__all__ += ["Activation", "Add", "Average", "Concatenate", "GlobalAveragePooling1D",
            "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Maximum", "Minimum", "Multiply",
            "MultiHeadAttention", "Reshape", "Subtract", "Conv2DTranspose",
            "Convolution2DTranspose", "UpSampling2D", "ZeroPadding2D", "Bidirectional",
            "TimeDistributed", "Input", "InputLayer", "Lambda", "DepthwiseConv2D",
            "SeparableConv2D", "Masking"]
