"""Neural-network ops: ``relu``, ``softmax``, ``log_softmax``, the fused, numerically
stable softmax cross-entropies, the sigmoid cross-entropy and ``l2_loss`` (``aj.nn.*``).

The cross-entropies take logits and use the log-sum-exp trick, so large logits neither
overflow nor lose the loss to rounding; their VJPs are the cheap ``softmax - labels`` form.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import check_index_range, index_values, one_hot
from autojit.ops.math import (
    add,
    exp,
    float_unary_rule,
    greater_equal,
    log1p,
    maximum,
    multiply,
    negative,
    square,
    subtract,
    unary_rule,
    where,
)
from autojit.ops.reduce import reduce_sum

# ----------------------------------------------------------------------------- relu


def _relu_grad_rule(name, g, out):
    return shapes.broadcast(name, g.shape, out.shape), g.dtype


RELU = defop("relu", ["x"], "xp.maximum(x, 0)", unary_rule,
             lambda g, out, x: (bind(RELU_GRAD, g, out),))
# g * (out > 0): one pass eagerly (NumPy's where with a scalar is ~10x slower), and the
# derivative of relu_grad in g is itself, so second derivatives work.
RELU_GRAD = defop("relu_grad", ["g", "out"], "g * (out > 0)", _relu_grad_rule,
                  lambda gg, out, g, relu_out: (bind(RELU_GRAD, gg, relu_out), None))


def relu(features: Any, name: str | None = None) -> Any:
    """Elementwise ``max(features, 0)``. Usage: ``aj.nn.relu(x @ w + b)``"""
    return bind(RELU, features)


# ----------------------------------------------------------------------------- softmax


def _softmax_rule(name, x, *, axis):
    float_unary_rule(name, x)
    shapes.normalize_axis(name, axis, len(x.shape))
    return x.shape, x.dtype


def _softmax(xp, x, axis):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(xp, x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax_vjp(g, out, x, *, axis):
    # d softmax: out * (g - sum(g * out))
    return (multiply(out, subtract(g, reduce_sum(multiply(g, out), axis=axis, keepdims=True))),)


def _log_softmax_vjp(g, out, x, *, axis):
    # d log_softmax: g - softmax * sum(g)
    return (subtract(g, multiply(exp(out), reduce_sum(g, axis=axis, keepdims=True))),)


SOFTMAX = defop("softmax", ["x"], "_softmax(xp, x, axis)", _softmax_rule, _softmax_vjp,
                attrs=("axis",), namespace={"_softmax": _softmax})
LOG_SOFTMAX = defop("log_softmax", ["x"], "_log_softmax(xp, x, axis)", _softmax_rule,
                    _log_softmax_vjp, attrs=("axis",), namespace={"_log_softmax": _log_softmax})


def _axis_of(name: str, logits: Any, axis: int) -> int:
    ndim = len(logits.shape) if hasattr(logits, "shape") else 1
    return shapes.normalize_axis(name, axis, ndim) if ndim else axis  # rank 0: the rule says


def softmax(logits: Any, axis: int = -1, name: str | None = None) -> Any:
    """``exp(logits) / sum(exp(logits))`` along ``axis``, computed stably.

    Usage: ``probs = aj.nn.softmax(logits)``
    """
    return bind(SOFTMAX, logits, axis=_axis_of("softmax", logits, axis))


def log_softmax(logits: Any, axis: int = -1, name: str | None = None) -> Any:
    """``logits - log(sum(exp(logits)))`` along ``axis``, computed stably.

    Usage: ``log_probs = aj.nn.log_softmax(logits)``
    """
    return bind(LOG_SOFTMAX, logits, axis=_axis_of("log_softmax", logits, axis))


# ----------------------------------------------------------------------------- cross-entropies


def _logits_rule(name, logits):
    float_unary_rule(name, logits)
    if not logits.shape:
        raise ShapeError(f"{name}: expected logits of rank >= 1 (classes last), got a scalar")


def _sparse_xent_rule(name, labels, logits):
    _logits_rule(name, logits)
    if labels.dtype not in (dtypes.int32, dtypes.int64):
        raise DTypeError(f"{name}: expected int32 or int64 labels, got {labels.dtype.name}")
    batch = logits.shape[:-1]
    if len(labels.shape) != len(batch) or any(
            a is not None and b is not None and a != b for a, b in zip(labels.shape, batch)):
        raise ShapeError(f"{name}: expected labels of shape {shapes.fmt(batch)} (logits "
                         f"{shapes.fmt(logits.shape)} without the class axis), got "
                         f"{shapes.fmt(labels.shape)}")
    return tuple(b if b is not None else a for a, b in zip(labels.shape, batch)), logits.dtype


def _sparse_xent_check(name, labels, logits):
    classes = logits.shape[-1]
    check_index_range(name, labels, classes, lambda: f"{classes} classes", negative=False,
                      noun="label")


def _sparse_xent(xp, labels, logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_total = xp.log(xp.exp(shifted).sum(axis=-1))
    picked = xp.take_along_axis(shifted, xp.expand_dims(xp.asarray(labels), -1), axis=-1)
    return log_total - picked[..., 0]


def _sparse_xent_vjp(g, out, labels, logits):
    classes = logits.shape[-1]
    if classes is None:
        raise ShapeError("sparse_softmax_cross_entropy_with_logits: the gradient needs a known "
                         f"number of classes, got logits of shape {shapes.fmt(logits.shape)}")
    target = one_hot(labels, classes, dtype=logits.dtype)
    return None, multiply(expand_dims(g, -1), subtract(softmax(logits), target))


SPARSE_XENT = defop("sparse_softmax_cross_entropy_with_logits", ["labels", "logits"],
                    "_sparse_xent(xp, labels, logits)", _sparse_xent_rule, _sparse_xent_vjp,
                    namespace={"_sparse_xent": _sparse_xent}, check=_sparse_xent_check)


def sparse_softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> Any:
    """Per-example cross-entropy of integer class ``labels`` (shape ``logits.shape[:-1]``)
    under ``softmax(logits)``, computed stably with log-sum-exp.

    Usage: ``loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(
    labels=y, logits=model(x)))``
    """
    return bind(SPARSE_XENT, index_values(labels), logits)


def _xent_rule(name, labels, logits):
    _logits_rule(name, logits)
    dtypes.same_dtype(name, (labels.dtype, logits.dtype))
    if len(labels.shape) != len(logits.shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(labels.shape, logits.shape)):
        raise ShapeError(f"{name}: expected labels of the logits' shape "
                         f"{shapes.fmt(logits.shape)}, got {shapes.fmt(labels.shape)}")
    return logits.shape[:-1], logits.dtype


def _xent(xp, labels, logits):
    return -(labels * _log_softmax(xp, logits, -1)).sum(axis=-1, dtype=logits.dtype)


def _xent_vjp(g, out, labels, logits):
    # Deferred (Note [Deferred cotangents]): labels are usually constants, their part unused.
    # Exact for labels that do not sum to one: d/dlogits = softmax * sum(labels) - labels.
    gk = expand_dims(g, -1)
    return (lambda: negative(multiply(gk, log_softmax(logits))),
            lambda: multiply(gk, subtract(multiply(softmax(logits),
                                                   reduce_sum(labels, axis=-1, keepdims=True)),
                                          labels)))


XENT = defop("softmax_cross_entropy_with_logits", ["labels", "logits"], "_xent(xp, labels, logits)",
             _xent_rule, _xent_vjp, namespace={"_xent": _xent})


def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, axis: int = -1,
                                      name: str | None = None) -> Any:
    """Per-example cross-entropy of dense ``labels`` (each row a distribution) under
    ``softmax(logits)``; gradients flow to both.

    Usage: ``aj.nn.softmax_cross_entropy_with_logits(labels=one_hot_y, logits=logits)``
    """
    if axis not in (-1, len(getattr(logits, "shape", ())) - 1):
        raise ShapeError("softmax_cross_entropy_with_logits: only the last axis (axis=-1) "
                         f"can hold the classes, got axis={axis}")
    return bind(XENT, labels, logits)


# ----------------------------------------------------------------------------- sigmoid, l2


def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                      name: str | None = None) -> Any:
    """Elementwise cross-entropy of targets ``labels`` in ``[0, 1]`` under
    ``sigmoid(logits)``, as ``max(x, 0) - x*z + log(1 + exp(-|x|))``, which never overflows.

    Usage: ``aj.reduce_mean(aj.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z))``

    ``labels`` must have the logits' shape and floating dtype (Python data is converted to
    it). The gradient in ``logits`` is ``sigmoid(x) - z`` to rounding, finite for any ``x``.
    """
    op = "sigmoid_cross_entropy_with_logits"
    logits = as_operand(logits)
    if not dtypes.is_floating(logits.dtype):
        raise DTypeError(f"{op}: expected floating-point logits, got {logits.dtype.name}; "
                         f"use aj.cast(logits, aj.float32)")
    if hasattr(labels, "dtype"):
        if labels.dtype != logits.dtype:
            raise DTypeError(f"{op}: expected labels of the logits' dtype {logits.dtype.name}, "
                             f"got {labels.dtype.name}; use aj.cast(labels, "
                             f"aj.{logits.dtype.name})")
    else:
        labels = as_operand(labels, logits.dtype)
    if len(labels.shape) != len(logits.shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(labels.shape, logits.shape)):
        raise ShapeError(f"{op}: expected labels of the logits' shape "
                         f"{shapes.fmt(logits.shape)}, got {shapes.fmt(labels.shape)}")
    # -|x| as a where (as TF), not abs: abs' gradient at 0 is 0, which would drop the log1p
    # term's share and give 1 - z instead of sigmoid(0) - z at zero logits.
    neg_abs = where(greater_equal(logits, 0.0), negative(logits), logits)
    return add(subtract(maximum(logits, 0.0), multiply(logits, labels)), log1p(exp(neg_abs)))


def l2_loss(t: Any, name: str | None = None) -> Any:
    """Half the sum of squares, ``sum(t ** 2) / 2``, as a scalar of ``t``'s dtype.

    Usage: ``penalty = 1e-4 * aj.add_n([aj.nn.l2_loss(w) for w in weights])``
    """
    t = as_operand(t)
    if not dtypes.is_floating(t.dtype):
        raise DTypeError(f"l2_loss: expected a floating-point tensor, got {t.dtype.name}; "
                         f"use aj.cast(t, aj.float32)")
    return multiply(reduce_sum(square(t)), 0.5)
