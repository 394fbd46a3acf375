"""``aj.nn``: activations and losses on logits, as ``tf.nn``.

Usage: ``aj.nn.relu(x)``, ``aj.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)``
"""

from autojit.ops.math import sigmoid, tanh
from autojit.ops.nn import (
                            l2_loss,
                            log_softmax,
                            relu,
                            sigmoid_cross_entropy_with_logits,
                            softmax,
                            softmax_cross_entropy_with_logits,
                            sparse_softmax_cross_entropy_with_logits,
)
# activations, normalization and dropout (issue 9)
from autojit.ops.activations import elu, gelu, leaky_relu, log_sigmoid, selu, silu, swish
from autojit.ops.dropout import dropout
from autojit.ops.extra_math import softplus
from autojit.ops.normalization import batch_normalization, l2_normalize, moments
# convolutions and pooling (issue 9)
from autojit.ops.conv import (avg_pool, avg_pool1d, avg_pool2d, conv1d, conv2d, conv2d_transpose,
                              depthwise_conv2d, max_pool, max_pool1d, max_pool2d)

__all__ = ["log_softmax", "relu", "sigmoid", "softmax", "softmax_cross_entropy_with_logits",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]
__all__ += ["l2_loss", "sigmoid_cross_entropy_with_logits"]
__all__ += ["batch_normalization", "dropout", "elu", "gelu", "l2_normalize", "leaky_relu",
            "log_sigmoid", "moments", "selu", "silu", "softplus", "swish"]
__all__ += ["avg_pool", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "conv2d_transpose",
            "depthwise_conv2d", "max_pool", "max_pool1d", "max_pool2d"]


def embedding_lookup(params, ids, max_norm=None, name=None):
    """The rows of ``params`` at ``ids`` (any int shape), as ``tf.nn.embedding_lookup``.
    Usage: ``vectors = aj.nn.embedding_lookup(table, token_ids)``"""
    if max_norm is not None:
        from autojit.errors import InvalidArgumentError

        raise InvalidArgumentError("embedding_lookup: max_norm is not supported, got "
                                   f"{max_norm!r}")
    from autojit.ops.indexing import gather

    return gather(params, ids)


__all__ += ["embedding_lookup"]
