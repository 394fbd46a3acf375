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
from autojit.ops.activations import (crelu, elu, gelu, hard_sigmoid, leaky_relu, log_sigmoid,
                                     relu6, selu, silu, softsign, swish)
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


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` along the channel dim (the last, or the second with
    ``data_format="NCHW"``/``"NCW"``), as ``tf.nn.bias_add``. Usage: ``aj.nn.bias_add(x, b)``"""
    from autojit.ops.array import reshape
    from autojit.ops.core import as_operand

    value = as_operand(value)
    if data_format is not None and data_format.startswith("NC"):
        return value + reshape(bias, [-1] + [1] * (len(value.shape) - 2))
    return value + bias


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """Sigmoid cross-entropy with the positive term weighted by ``pos_weight``:
    ``(1 - z) x + (1 + (q - 1) z) log(1 + exp(-x))``, stable for large ``|x|``, as TF.
    Usage: ``aj.nn.weighted_cross_entropy_with_logits(y, logits, pos_weight=3.0)``"""
    from autojit.ops.core import as_operand
    from autojit.ops.extra_math import softplus
    from autojit.ops.math import abs as absolute
    from autojit.ops.math import maximum, negative

    x = as_operand(logits)
    z = as_operand(labels, x.dtype)
    log_weight = 1.0 + (pos_weight - 1.0) * z
    # log(1 + exp(-x)) = softplus(-|x|) + max(-x, 0)
    log_one_plus = softplus(negative(absolute(x))) + maximum(negative(x), 0.0)
    return (1.0 - z) * x + log_weight * log_one_plus


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None,
                         name=None):
    """The per-example losses (times ``sample_weight``) summed and divided by
    ``global_batch_size`` (by default the number of examples), as TF.
    Usage: ``loss = aj.nn.compute_average_loss(per_example, global_batch_size=64)``"""
    from autojit.ops.array import shape
    from autojit.ops.core import as_operand
    from autojit.ops.math import cast
    from autojit.ops.reduce import reduce_sum

    losses = as_operand(per_example_loss)
    if sample_weight is not None:
        losses = losses * sample_weight
    if global_batch_size is None:
        count = losses.shape[0] if losses.shape and losses.shape[0] is not None else cast(
            shape(losses)[0], losses.dtype)
    else:
        count = float(global_batch_size)
    return reduce_sum(losses) / count


def depth_to_space(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """Moves channel blocks into ``block_size x block_size`` spatial blocks:
    ``[b, h, w, c * s * s] -> [b, h * s, w * s, c]``, as TF (NHWC).
    Usage: ``aj.nn.depth_to_space(x, 2)``"""
    from autojit.ops.array import reshape, transpose
    from autojit.ops.core import as_operand

    x = as_operand(input)
    s = int(block_size)
    b, h, w, c = x.shape
    y = reshape(x, [-1, h, w, s, s, c // (s * s)])
    return reshape(transpose(y, [0, 1, 3, 2, 4, 5]), [-1, h * s, w * s, c // (s * s)])


def space_to_depth(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """The inverse of ``depth_to_space``: ``[b, h, w, c] -> [b, h / s, w / s, c * s * s]``.
    Usage: ``aj.nn.space_to_depth(x, 2)``"""
    from autojit.ops.array import reshape, transpose
    from autojit.ops.core import as_operand

    x = as_operand(input)
    s = int(block_size)
    b, h, w, c = x.shape
    y = reshape(x, [-1, h // s, s, w // s, s, c])
    return reshape(transpose(y, [0, 1, 3, 2, 4, 5]), [-1, h // s, w // s, c * s * s])


__all__ += ["bias_add", "compute_average_loss", "crelu", "depth_to_space", "hard_sigmoid",
            "relu6", "softsign", "space_to_depth", "weighted_cross_entropy_with_logits"]
