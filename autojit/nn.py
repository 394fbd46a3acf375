"""``aj.nn``: activations and losses on logits, as ``tf.nn``.

Usage: ``aj.nn.relu(x)``, ``aj.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)``
"""

from autojit.ops.math import sigmoid, tanh
from autojit.ops.nn import (
                            log_softmax,
                            relu,
                            softmax,
                            softmax_cross_entropy_with_logits,
                            sparse_softmax_cross_entropy_with_logits,
)
# activations, normalization and dropout (issue 9)
from autojit.ops.activations import elu, gelu, leaky_relu, log_sigmoid, selu, silu, swish
from autojit.ops.dropout import dropout
from autojit.ops.extra_math import softplus
from autojit.ops.normalization import batch_normalization, l2_normalize, moments

__all__ = ["log_softmax", "relu", "sigmoid", "softmax", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]
__all__ += ["batch_normalization", "dropout", "elu", "gelu", "l2_normalize", "leaky_relu",
            "log_sigmoid", "moments", "selu", "silu", "softplus", "swish"]
