"""Per-example loss functions, as ``tf.keras.losses`` (wrap them in ``aj.reduce_mean``).

Each takes ``(y_true, y_pred)`` and returns one loss per example (the last axis of
``y_pred`` is reduced). With ``from_logits=True`` the cross-entropies go through the fused,
numerically stable ``aj.nn`` ops; with probabilities they clip to ``[eps, 1 - eps]``
(``eps = 1e-7``) before the log, as Keras does, so a probability of exactly 0 or 1 gives a
large finite loss rather than ``inf``.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, ShapeError
from autojit.ops import nn, shapes
from autojit.ops.array import expand_dims, reshape
from autojit.ops.math import (
    add,
    cast,
    clip_by_value,
    exp,
    greater_equal,
    log,
    log1p,
    maximum,
    multiply,
    negative,
    square,
    subtract,
    where,
)
from autojit.ops.reduce import reduce_mean, reduce_sum
from autojit.tensor import Tensor, convert_to_tensor

EPSILON = 1e-7


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Cross-entropy between integer class labels and predicted class scores.

    Usage: ``aj.reduce_mean(aj.losses.sparse_categorical_crossentropy(labels, logits,
    from_logits=True))``

    ``y_pred`` is ``[batch..., classes]`` (probabilities, or logits with
    ``from_logits=True``); ``y_true`` is ``[batch...]`` (or ``[batch..., 1]``) class indices.
    Returns ``[batch...]``.
    """
    name = "sparse_categorical_crossentropy"
    y_pred = _float_prediction(name, y_pred)
    y_true = _as_tensor(y_true)
    if not dtypes.is_integer(y_true.dtype):
        y_true = cast(y_true, dtypes.int64)  # Keras accepts float labels such as 3.0
    batch = tuple(y_pred.shape[:-1])
    labels_shape = tuple(y_true.shape)
    if labels_shape == batch + (1,) and len(labels_shape) == len(y_pred.shape):
        y_true = reshape(y_true, [-1 if d is None else d for d in batch] or [])
    elif not _same_shape(labels_shape, batch):
        raise ShapeError(
            f"{name}: expected labels of shape {shapes.fmt(batch)} (one class index per "
            f"example of predictions {shapes.fmt(y_pred.shape)}), got "
            f"{shapes.fmt(labels_shape)}")
    if not from_logits:
        y_pred = log(clip_by_value(y_pred, EPSILON, 1.0 - EPSILON))
    return nn.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Cross-entropy between one-hot (or soft) labels and predicted class scores.

    Usage: ``aj.losses.categorical_crossentropy(one_hot, probs)``

    ``y_true`` and ``y_pred`` are both ``[batch..., classes]``; returns ``[batch...]``.
    Probabilities are renormalized to sum to one along the last axis, as Keras does.
    """
    name = "categorical_crossentropy"
    y_pred = _float_prediction(name, y_pred)
    y_true = _matching_target(name, y_true, y_pred)
    if from_logits:
        return nn.softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    y_pred = y_pred / reduce_sum(y_pred, axis=-1, keepdims=True)
    y_pred = clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    return negative(reduce_sum(multiply(y_true, log(y_pred)), axis=-1))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False) -> Tensor:
    """Binary cross-entropy, averaged over the last axis.

    Usage: ``aj.losses.binary_crossentropy(labels, logits, from_logits=True)``

    ``y_true`` holds targets in ``[0, 1]`` with the shape of ``y_pred``; returns
    ``y_pred.shape[:-1]``. With logits it uses ``max(x, 0) - x*z + log(1 + exp(-|x|))``,
    which never overflows.
    """
    name = "binary_crossentropy"
    y_pred = _float_prediction(name, y_pred)
    y_true = _matching_target(name, y_true, y_pred)
    if from_logits:
        # -|x| as a where (as TF), not abs: abs' gradient at 0 is 0, which would drop the
        # log1p term's share and give 1 - z instead of sigmoid(0) - z at zero logits.
        neg_abs = where(greater_equal(y_pred, 0.0), negative(y_pred), y_pred)
        per_entry = add(subtract(maximum(y_pred, 0.0), multiply(y_pred, y_true)),
                        log1p(exp(neg_abs)))
    else:
        p = clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        per_entry = negative(add(multiply(y_true, log(p)),
                                 multiply(subtract(1.0, y_true), log(subtract(1.0, p)))))
    return reduce_mean(per_entry, axis=-1)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the squared differences over the last axis.

    Usage: ``aj.reduce_mean(aj.losses.mean_squared_error(targets, model(x)))``

    ``y_true`` has the shape of ``y_pred`` (a ``[batch]`` target next to ``[batch, 1]``
    predictions is accepted, as Keras does); returns ``y_pred.shape[:-1]``.
    """
    name = "mean_squared_error"
    y_pred = _as_tensor(y_pred)
    if y_pred.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected numeric predictions, got bool")
    y_true = _matching_target(name, y_true, y_pred)
    return reduce_mean(square(subtract(y_pred, y_true)), axis=-1)


mse = MSE = mean_squared_error  # Keras' short names


# ----------------------------------------------------------------------------- helpers


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else convert_to_tensor(value)


def _float_prediction(name: str, y_pred: Any) -> Tensor:
    y_pred = _as_tensor(y_pred)
    if not dtypes.is_floating(y_pred.dtype):
        raise DTypeError(f"{name}: expected floating-point predictions, got "
                         f"{y_pred.dtype.name}; use aj.cast(y_pred, aj.float32)")
    if len(y_pred.shape) < 1:
        raise ShapeError(f"{name}: expected predictions of rank >= 1 with classes on the "
                         f"last axis, got a scalar")
    return y_pred


def _matching_target(name: str, y_true: Any, y_pred: Tensor) -> Tensor:
    """``y_true`` as a tensor of ``y_pred``'s dtype and shape (or a clear ShapeError)."""
    if not isinstance(y_true, Tensor):
        y_true = convert_to_tensor(y_true, dtype=y_pred.dtype) if _is_float_data(y_true) \
            else convert_to_tensor(y_true)
    if y_true.dtype != y_pred.dtype:
        y_true = cast(y_true, y_pred.dtype)  # Keras casts targets to the predictions' dtype
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if _same_shape(true_shape, pred_shape):
        return y_true
    if pred_shape and pred_shape[-1] == 1 and _same_shape(true_shape, pred_shape[:-1]):
        return expand_dims(y_true, -1)
    raise ShapeError(f"{name}: expected targets of the predictions' shape "
                     f"{shapes.fmt(pred_shape)}, got {shapes.fmt(true_shape)}")


def _is_float_data(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return getattr(dtype, "kind", "") == "f"
    return True  # Python lists and scalars: make them the predictions' dtype directly


def _same_shape(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


__all__ = ["sparse_categorical_crossentropy", "categorical_crossentropy",
           "binary_crossentropy", "mean_squared_error", "mse", "MSE"]
