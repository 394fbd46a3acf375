"""Keras losses (``aj.losses``, also ``aj.keras.losses``): per-example loss functions and
the ``Loss`` classes that weight and reduce them, as ``tf.keras.losses``.

Each function takes ``(y_true, y_pred)`` and returns one loss per example (the last axis of
``y_pred``, or the cross-entropies' ``axis``, is reduced). With ``from_logits=True`` the
cross-entropies go through the fused, numerically stable ``aj.nn`` ops; with probabilities
they clip to ``[eps, 1 - eps]`` (``eps = 1e-7``) before the log, as Keras does, so a
probability of exactly 0 or 1 gives a large finite loss rather than ``inf``. A class such
as ``SparseCategoricalCrossentropy`` calls its function, multiplies by ``sample_weight`` and
reduces (Note [Loss reduction]).
"""

from __future__ import annotations

from typing import Any, Callable

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.module import camel_to_snake
from autojit.ops import core, nn, shapes
from autojit.ops.array import expand_dims, reshape, size, squeeze, transpose
from autojit.ops.creation import ones_like
from autojit.ops.math import (
    add,
    cast,
    clip_by_value,
    divide,
    equal,
    less_equal,
    log,
    logical_or,
    maximum,
    multiply,
    negative,
    square,
    subtract,
    where,
)
from autojit.ops.math import abs as absolute  # not the builtin's name here
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


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Cross-entropy between one-hot (or soft) labels and predicted class scores.

    Usage: ``aj.losses.categorical_crossentropy(one_hot, probs)``

    ``y_true`` and ``y_pred`` are both ``[batch..., classes]`` (classes on ``axis``); returns
    the shape without ``axis``. Probabilities are renormalized to sum to one along the class
    axis, as Keras does. ``label_smoothing`` ``s`` uses ``y_true * (1 - s) + s / classes``.
    """
    name = "categorical_crossentropy"
    _check_smoothing(name, label_smoothing)
    y_pred = _float_prediction(name, y_pred)
    y_true = _matching_target(name, y_true, y_pred)
    y_true, y_pred = _classes_last(name, y_true, y_pred, axis)
    if _smooths(label_smoothing):
        classes = y_pred.shape[-1]
        if classes is None:  # traced with an unknown class count: count it at run time
            classes = reduce_sum(ones_like(y_true), axis=-1, keepdims=True)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        return nn.softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    y_pred = y_pred / reduce_sum(y_pred, axis=-1, keepdims=True)
    y_pred = clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    return negative(reduce_sum(multiply(y_true, log(y_pred)), axis=-1))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross-entropy, averaged over ``axis`` (the last by default).

    Usage: ``aj.losses.binary_crossentropy(labels, logits, from_logits=True)``

    ``y_true`` holds targets in ``[0, 1]`` with the shape of ``y_pred``; returns ``y_pred``'s
    shape without ``axis``. Logits go through ``aj.nn.sigmoid_cross_entropy_with_logits``,
    which never overflows. ``label_smoothing`` ``s`` uses ``y_true * (1 - s) + s / 2``.
    """
    name = "binary_crossentropy"
    _check_smoothing(name, label_smoothing)
    y_pred = _float_prediction(name, y_pred)
    y_true = _matching_target(name, y_true, y_pred)
    if _smooths(label_smoothing):
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per_entry = nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    else:
        p = clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        per_entry = negative(add(multiply(y_true, log(p)),
                                 multiply(subtract(1.0, y_true), log(subtract(1.0, p)))))
    return reduce_mean(per_entry, axis=axis)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the squared differences over the last axis.

    Usage: ``aj.reduce_mean(aj.losses.mean_squared_error(targets, model(x)))``

    ``y_true`` has the shape of ``y_pred`` (a ``[batch]`` target next to ``[batch, 1]``
    predictions is accepted, as Keras does); returns ``y_pred.shape[:-1]``.
    """
    y_true, y_pred = _regression_pair("mean_squared_error", y_true, y_pred)
    return reduce_mean(square(subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Mean of the absolute differences over the last axis.

    Usage: ``aj.reduce_mean(aj.losses.mean_absolute_error(targets, model(x)))``

    Shapes as ``mean_squared_error``; returns ``y_pred.shape[:-1]``.
    """
    y_true, y_pred = _regression_pair("mean_absolute_error", y_true, y_pred)
    return reduce_mean(absolute(subtract(y_pred, y_true)), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Huber loss over the last axis: ``e**2 / 2`` where ``|e| <= delta``, else
    ``delta * |e| - delta**2 / 2`` (``e = y_pred - y_true``).

    Usage: ``aj.losses.huber(targets, model(x), delta=1.0)``

    Predictions must be floating point (TF casts to float32; here their dtype is kept).
    Shapes as ``mean_squared_error``; returns ``y_pred.shape[:-1]``.
    """
    name = "huber"
    if isinstance(delta, (int, float)) and not delta > 0:
        raise InvalidArgumentError(f"{name}: expected delta > 0, got {delta!r}")
    y_pred = _float_prediction(name, y_pred)
    y_true = _matching_target(name, y_true, y_pred)
    error = subtract(y_pred, y_true)
    abs_error = absolute(error)
    quadratic = multiply(square(error), 0.5)
    linear = subtract(multiply(abs_error, delta), 0.5 * delta * delta)
    return reduce_mean(where(less_equal(abs_error, delta), quadratic, linear), axis=-1)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, both clipped to
    ``[1e-7, 1]``, as Keras. Usage: ``aj.keras.losses.kl_divergence(p, q)``"""
    y_pred = _float_prediction("kl_divergence", y_pred)
    y_true = _matching_target("kl_divergence", y_true, y_pred)
    p = clip_by_value(y_true, EPSILON, 1.0)
    q = clip_by_value(y_pred, EPSILON, 1.0)
    return reduce_sum(multiply(p, log(divide(p, q))), axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` over ``axis``: -1 for the same
    direction (a loss to minimize, as Keras's). Usage: ``aj.keras.losses.cosine_similarity(a, b)``
    """
    from autojit.ops.normalization import l2_normalize

    y_pred = _float_prediction("cosine_similarity", y_pred)
    y_true = _matching_target("cosine_similarity", y_true, y_pred)
    return negative(reduce_sum(multiply(l2_normalize(y_true, axis=axis),
                                        l2_normalize(y_pred, axis=axis)), axis=axis))


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0))`` over the last axis; labels 0/1 become -1/1, as
    Keras. Usage: ``aj.keras.losses.hinge(labels, scores)``"""
    y_pred = _float_prediction("hinge", y_pred)
    y_true = _matching_target("hinge", y_true, y_pred)
    from autojit.ops.reduce import reduce_all

    binary = reduce_all(logical_or(equal(y_true, 0.0), equal(y_true, 1.0)))
    signed = where(binary, subtract(multiply(y_true, 2.0), 1.0), y_true)
    return reduce_mean(maximum(subtract(1.0, multiply(signed, y_pred)), 0.0), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis, computed without overflow
    (``x + softplus(-2x) - log 2``). Usage: ``aj.keras.losses.log_cosh(targets, predictions)``
    """
    from autojit.ops.extra_math import softplus

    y_pred = _float_prediction("log_cosh", y_pred)
    y_true = _matching_target("log_cosh", y_true, y_pred)
    x = subtract(y_pred, y_true)
    return reduce_mean(add(x, subtract(softplus(multiply(x, -2.0)), 0.6931471805599453)),
                       axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7))`` over the last axis, as Keras.

    Usage: ``aj.keras.losses.poisson(counts, rates)``
    """
    y_pred = _float_prediction("poisson", y_pred)
    y_true = _matching_target("poisson", y_true, y_pred)
    return reduce_mean(subtract(y_pred, multiply(y_true, log(add(y_pred, EPSILON)))), axis=-1)


kld = KLD = kullback_leibler_divergence = kl_divergence
mse = MSE = mean_squared_error  # Keras' short names
mae = MAE = mean_absolute_error


# ----------------------------------------------------------------------------- classes

# Note [Loss reduction]: as tf.keras's ``compute_weighted_loss``. ``sample_weight`` is cast
# to the per-sample loss's dtype and brought to its rank the way TF does (a trailing size-1
# dim squeezed, or a trailing dim added when it has one dim less: ``[batch]`` weights on a
# ``[batch, time]`` loss), then multiplied in; it must broadcast to the loss's shape without
# growing it, so each sample keeps one loss. "sum_over_batch_size" divides the weighted sum
# by the number of elements of the per-sample loss (not by the sum of the weights), and an
# empty batch gives 0, as TF's ``div_no_nan``.


class Reduction:
    """The ``reduction`` names a ``Loss`` takes, as ``tf.keras.losses.Reduction``.

    Usage: ``aj.losses.MeanSquaredError(reduction=aj.losses.Reduction.SUM)``
    """

    AUTO = "auto"  # as TF outside distribution strategies: sum_over_batch_size
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> tuple[str, ...]:
        """Every accepted name. Usage: ``"sum" in aj.losses.Reduction.all()``"""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key: Any, owner: str = "Loss") -> None:
        """Raise InvalidArgumentError unless ``key`` is a reduction name.

        Usage: ``aj.losses.Reduction.validate("sum")``
        """
        if not isinstance(key, str) or key not in cls.all():
            raise InvalidArgumentError(
                f"{owner}: expected reduction to be one of 'sum_over_batch_size' (the "
                f"default), 'sum', 'none' or 'auto', got {key!r}")


class Loss:
    """Base class of the loss classes: ``loss(y_true, y_pred, sample_weight=None)`` calls
    ``call`` for per-sample losses, weights them and reduces them (Note [Loss reduction]).

    Usage (subclasses)::

        class MeanCubicError(aj.losses.Loss):
            def call(self, y_true, y_pred):
                return aj.reduce_mean(aj.abs(y_pred - y_true) ** 3, axis=-1)
    """

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str | None = None):
        self.name = name if name is not None else camel_to_snake(type(self).__name__)
        Reduction.validate(reduction, f"{type(self).__name__} {self.name!r}")
        self.reduction = reduction

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The per-sample losses; subclasses implement it. Usage: ``loss.call(y, p)``"""
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass must implement "
                                  "call(y_true, y_pred), returning the per-sample losses")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The weighted, reduced loss. Usage: ``loss = loss_fn(labels, logits)``"""
        losses = _as_tensor(core.user_function(self.call)(y_true, y_pred))
        return _reduce_weighted(f"{type(self).__name__} {self.name!r}", losses, sample_weight,
                                self.reduction)

    def get_config(self) -> dict:
        """The constructor's arguments. Usage: ``type(loss).from_config(loss.get_config())``"""
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        """A loss made from ``get_config()``'s dict. Usage: ``Huber.from_config(config)``"""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<aj.losses.{type(self).__name__} {self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """A ``Loss`` that calls ``fn(y_true, y_pred, **kwargs)`` for the per-sample losses.

    Usage: ``aj.losses.LossFunctionWrapper(aj.losses.huber, name="huber", delta=2.0)``
    """

    def __init__(self, fn: Callable[..., Any], reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str | None = None, **kwargs: Any):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """``fn(y_true, y_pred, **kwargs)``. Usage: ``per_sample = loss.call(y, p)``"""
        return core.user_function(self.fn)(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        """Reduction, name and ``fn``'s keyword arguments. Usage: ``loss.get_config()``"""
        return {**super().get_config(), **self._fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    """``mean_squared_error``, weighted and reduced.

    Usage: ``loss = aj.losses.MeanSquaredError()(targets, model(x))``
    """

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


class MeanAbsoluteError(LossFunctionWrapper):
    """``mean_absolute_error``, weighted and reduced.

    Usage: ``loss = aj.losses.MeanAbsoluteError()(targets, model(x))``
    """

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


class BinaryCrossentropy(LossFunctionWrapper):
    """``binary_crossentropy``, weighted and reduced.

    Usage: ``loss = aj.losses.BinaryCrossentropy(from_logits=True)(labels, logits)``
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "binary_crossentropy"):
        _check_smoothing(f"BinaryCrossentropy {name!r}", label_smoothing)
        super().__init__(binary_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    """``categorical_crossentropy`` (one-hot or soft labels), weighted and reduced.

    Usage: ``loss = aj.losses.CategoricalCrossentropy(from_logits=True)(one_hot, logits)``
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "categorical_crossentropy"):
        _check_smoothing(f"CategoricalCrossentropy {name!r}", label_smoothing)
        super().__init__(categorical_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """``sparse_categorical_crossentropy`` (integer labels), weighted and reduced.

    Usage: ``loss = aj.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)``
    """

    def __init__(self, from_logits: bool = False,
                 reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         from_logits=from_logits)


class Huber(LossFunctionWrapper):
    """``huber``, weighted and reduced.

    Usage: ``loss = aj.losses.Huber(delta=1.0)(targets, model(x))``
    """

    def __init__(self, delta: float = 1.0, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "huber_loss"):
        if isinstance(delta, (int, float)) and not delta > 0:
            raise InvalidArgumentError(f"Huber {name!r}: expected delta > 0, got {delta!r}")
        super().__init__(huber, reduction=reduction, name=name, delta=delta)


def _reduce_weighted(name: str, losses: Tensor, sample_weight: Any, reduction: str) -> Tensor:
    """Weight and reduce per-sample ``losses`` (Note [Loss reduction])."""
    if not dtypes.is_floating(losses.dtype):
        losses = cast(losses, dtypes.float32)  # as TF, so integer losses average exactly
    if sample_weight is not None:
        losses = multiply(losses, _matching_weight(name, sample_weight, losses))
    if reduction == Reduction.NONE:
        return losses
    total = reduce_sum(losses)
    if reduction == Reduction.SUM:
        return total
    count = shapes.size(losses.shape)
    if count is None:  # traced with unknown dims: count at run time
        return total / maximum(cast(size(losses), losses.dtype), 1.0)
    return total / float(max(count, 1))


def _matching_weight(name: str, sample_weight: Any, losses: Tensor) -> Tensor:
    """``sample_weight`` as a tensor of the losses' dtype and a rank that broadcasts."""
    if hasattr(sample_weight, "dtype"):  # tensors and NumPy arrays keep theirs until the cast
        weight = _as_tensor(sample_weight)
    else:  # Python data: directly the losses' dtype
        weight = convert_to_tensor(sample_weight, dtype=losses.dtype)
    if weight.dtype != losses.dtype:
        weight = cast(weight, losses.dtype)
    given = tuple(weight.shape)
    loss_shape = tuple(losses.shape)
    if len(given) == len(loss_shape) + 1 and given[-1] in (1, None):
        weight = squeeze(weight, -1)
    elif len(given) and len(given) == len(loss_shape) - 1:
        weight = expand_dims(weight, -1)
    shape = tuple(weight.shape)
    fits = len(shape) <= len(loss_shape) and all(
        w == 1 or w is None or x is None or w == x
        for w, x in zip(reversed(shape), reversed(loss_shape)))
    if not fits:
        raise ShapeError(f"{name}: expected sample_weight of the per-sample loss's shape "
                         f"{shapes.fmt(loss_shape)} (one weight per sample, or one that "
                         f"broadcasts to it, or a scalar), got {shapes.fmt(given)}")
    return weight


# ----------------------------------------------------------------------------- helpers


def _regression_pair(name: str, y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    y_pred = _as_tensor(y_pred)
    if y_pred.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected numeric predictions, got bool")
    return _matching_target(name, y_true, y_pred), y_pred


def _check_smoothing(name: str, label_smoothing: Any) -> None:
    if isinstance(label_smoothing, (int, float)) and not 0.0 <= label_smoothing <= 1.0:
        raise InvalidArgumentError(f"{name}: expected label_smoothing in [0, 1], got "
                                   f"{label_smoothing!r}")


def _smooths(label_smoothing: Any) -> bool:
    """False for a Python 0 (skip the arithmetic); a tensor always smooths."""
    return not isinstance(label_smoothing, (int, float)) or label_smoothing != 0


def _classes_last(name: str, y_true: Tensor, y_pred: Tensor, axis: int) -> tuple:
    """Both tensors with the class ``axis`` moved last (the fused ops reduce the last)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise InvalidArgumentError(f"{name}: expected an int axis, got {axis!r}")
    rank = len(y_pred.shape)
    axis = shapes.normalize_axis(name, axis, rank)
    if axis == rank - 1:
        return y_true, y_pred
    perm = [i for i in range(rank) if i != axis] + [axis]
    return transpose(y_true, perm), transpose(y_pred, perm)


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
           "binary_crossentropy", "mean_squared_error", "mse", "MSE", "mean_absolute_error",
           "mae", "MAE", "huber"]
__all__ += ["Loss", "LossFunctionWrapper", "Reduction", "MeanSquaredError", "MeanAbsoluteError",
            "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
            "Huber"]


class KLDivergence(LossFunctionWrapper):
    """``kl_divergence``, weighted and reduced. Usage: ``aj.keras.losses.KLDivergence()(p, q)``"""

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "kl_divergence"):
        super().__init__(kl_divergence, reduction=reduction, name=name)


class CosineSimilarity(LossFunctionWrapper):
    """``cosine_similarity``, weighted and reduced.

    Usage: ``aj.keras.losses.CosineSimilarity(axis=-1)(targets, predictions)``
    """

    def __init__(self, axis: int = -1, reduction: str = Reduction.SUM_OVER_BATCH_SIZE,
                 name: str = "cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)


class Hinge(LossFunctionWrapper):
    """``hinge``, weighted and reduced. Usage: ``aj.keras.losses.Hinge()(labels, scores)``"""

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE, name: str = "hinge"):
        super().__init__(hinge, reduction=reduction, name=name)


class LogCosh(LossFunctionWrapper):
    """``log_cosh``, weighted and reduced. Usage: ``aj.keras.losses.LogCosh()(y, p)``"""

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE, name: str = "log_cosh"):
        super().__init__(log_cosh, reduction=reduction, name=name)


class Poisson(LossFunctionWrapper):
    """``poisson``, weighted and reduced. Usage: ``aj.keras.losses.Poisson()(counts, rates)``"""

    def __init__(self, reduction: str = Reduction.SUM_OVER_BATCH_SIZE, name: str = "poisson"):
        super().__init__(poisson, reduction=reduction, name=name)


__all__ += ["kl_divergence", "kld", "KLD", "kullback_leibler_divergence", "cosine_similarity",
            "hinge", "log_cosh", "poisson", "KLDivergence", "CosineSimilarity", "Hinge",
            "LogCosh", "Poisson"]
