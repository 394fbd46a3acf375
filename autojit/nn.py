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

__all__ = ["log_softmax", "relu", "sigmoid", "softmax", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]
