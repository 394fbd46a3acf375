"""``aj.metrics`` (also ``aj.keras.metrics``): streaming metrics (``Mean``, ``Sum``,
accuracies) whose state lives in non-trainable Variables, with Keras 3's semantics.

Note [Metrics inside a traced step]: ``update_state`` and ``reset_state`` change the state
with ``Variable.assign*`` only, and ``result`` computes with ops, so inside ``@aj.function``
they become graph nodes that run at every replay, in program order (create the metric
outside the function, or on its first trace, as any Variable). Sample weights follow
Keras 3's ``reduce_to_samplewise_values``: values and weights are brought to the same rank
(a trailing size-1 dim squeezed, a rank-1 partner expanded), values are averaged over the
dims the weights lack, then weighted.

Usage::

    acc = aj.metrics.SparseCategoricalAccuracy()
    acc.update_state(labels, logits)
    float(acc.result())
    acc.reset_state()
"""

from __future__ import annotations

from typing import Any, Callable

from autojit import dtypes
from autojit.errors import InvalidArgumentError
from autojit.module import Module
from autojit.ops import core
from autojit.ops.array import expand_dims, size, squeeze, zeros_like
from autojit.ops.math import cast, equal, greater, where
from autojit.ops.reduce import argmax, reduce_mean, reduce_sum
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable


class Metric(Module):
    """Base class: state Variables made by ``add_variable``; subclasses implement
    ``update_state`` and ``result``. ``metric(...)`` updates, then returns ``result()``.

    Usage (subclasses)::

        class Max(aj.metrics.Metric):
            def __init__(self, name=None):
                super().__init__(name=name)
                self.best = self.add_variable("best", initializer=-1e30)
            def update_state(self, values):
                self.best.assign(aj.maximum(self.best, aj.reduce_max(values)))
            def result(self):
                return self.best.read_value()
    """

    numbered_names = False  # as Keras: every Mean() is "mean" (Note [Default module names])

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(name=name)
        self._dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(self._dtype):
            raise InvalidArgumentError(f"{type(self).__name__}: expected a floating dtype "
                                       f"for the metric's state, got {self._dtype.name}")
        self._state: list[tuple[Variable, float]] = []

    @property
    def dtype(self) -> Any:
        """The dtype of the state and of ``result()``. Usage: ``metric.dtype``"""
        return self._dtype

    def add_variable(self, name: str, initializer: float = 0.0, shape: Any = ()) -> Variable:
        """A non-trainable state Variable (a scalar, or of ``shape``) filled with
        ``initializer``, to which ``reset_state`` returns.

        Usage: ``self.total = self.add_variable("total")``
        """
        import numpy as np

        value = np.full(tuple(shape), initializer) if shape else initializer
        with core.eager_scope(), self.name_scope:  # real Variables even while tracing
            var = Variable(value, trainable=False, name=name, dtype=self._dtype)
        self._state.append((var, float(initializer)))
        return var

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> Tensor:
        raise NotImplementedError

    def reset_state(self) -> None:
        """Set every state Variable back to its initial value (at every replay when traced).

        Usage: ``metric.reset_state()``
        """
        for var, initial in self._state:
            var.assign(zeros_like(var) + initial)

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        """``update_state(*args, **kwargs)``, then ``result()``. Usage: ``m(y_true, y_pred)``"""
        self.update_state(*args, **kwargs)
        return self.result()


def _tensor(value: Any, dtype: Any = None) -> Tensor:
    tensor = value if isinstance(value, Tensor) else convert_to_tensor(value)
    return tensor if dtype is None else cast(tensor, dtype)


def _same_rank(x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
    """Keras 3's ``squeeze_or_expand_to_same_rank`` (with ``expand_rank_1``)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = expand_dims(x2, -1)
        else:
            x1 = squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = expand_dims(x1, -1)
        else:
            x2 = squeeze(x2, -1)
    return x1, x2


def _samplewise(values: Any, sample_weight: Any, reduce: Callable, dtype: Any) -> tuple:
    """Keras 3's ``reduce_to_samplewise_values``: weighted per-sample values, and the
    weights (``None`` when none were given)."""
    values = _tensor(values, dtype)
    if sample_weight is not None:
        weight = _tensor(sample_weight, dtype)
        values, weight = _same_rank(values, weight)
        weight_rank, values_rank = len(weight.shape), len(values.shape)
        if values_rank > weight_rank:
            values = reduce(values, axis=list(range(weight_rank, values_rank)))
        weight = zeros_like(values) + weight  # broadcast: changes the count, not the product
        values = values * weight
        if weight_rank > 1:
            weight = reduce(weight, axis=list(range(1, weight_rank)))
        sample_weight = weight
    if len(values.shape) > 1:
        values = reduce(values, axis=list(range(1, len(values.shape))))
    return values, sample_weight


def _divide_no_nan(x: Tensor, y: Tensor) -> Tensor:
    empty = equal(y, 0.0)
    return where(empty, zeros_like(x), x / where(empty, 1.0, y))


class Mean(Metric):
    """The (weighted) mean of every value passed to ``update_state``: ``total / count``.

    Usage::

        loss_metric = aj.metrics.Mean()
        loss_metric.update_state(loss)          # also: values and sample_weight arrays
        float(loss_metric.result())             # 0 before any update
    """

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable("total")
        self.count = self.add_variable("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add ``values`` (weighted by ``sample_weight``) to the running mean.

        Usage: ``metric.update_state([1.0, 3.0], sample_weight=[1.0, 0.5])``
        """
        values, weight = _samplewise(values, sample_weight, reduce_mean, self._dtype)
        self.total.assign_add(reduce_sum(values))
        if weight is not None:
            self.count.assign_add(reduce_sum(weight))
        else:
            self.count.assign_add(cast(size(values), self._dtype))

    def result(self) -> Tensor:
        """``total / count`` (0 when nothing was counted). Usage: ``float(m.result())``"""
        return _divide_no_nan(self.total.read_value(), self.count.read_value())


class Sum(Metric):
    """The (weighted) sum of every value passed to ``update_state``.

    Usage: ``s = aj.metrics.Sum(); s.update_state([1.0, 2.0]); float(s.result())  # 3.0``
    """

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable("total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add the (weighted) sum of ``values``. Usage: ``s.update_state(values)``"""
        values, _ = _samplewise(values, sample_weight, reduce_sum, self._dtype)
        self.total.assign_add(reduce_sum(values))

    def result(self) -> Tensor:
        """The running sum. Usage: ``float(s.result())``"""
        return self.total.read_value()


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)``, weighted by ``sample_weight``.

    Usage: ``mae = aj.metrics.MeanMetricWrapper(lambda t, p: aj.abs(t - p), name="mae")``
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None,
                 dtype: Any = dtypes.float32, **kwargs: Any):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add ``fn(y_true, y_pred)`` to the running mean.

        Usage: ``acc.update_state(labels, logits, sample_weight=mask)``
        """
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)


# --- the per-sample functions, as keras.metrics.* (1.0 where right, 0.0 where wrong) ----------
def accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """Where ``y_true == y_pred``, as float32. Usage: ``aj.metrics.accuracy([1, 2], [1, 0])``"""
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    return cast(equal(y_true, y_pred), dtypes.float32)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> Tensor:
    """Where ``y_true == (y_pred > threshold)``, as float32.

    Usage: ``aj.metrics.binary_accuracy([1.0, 0.0], [0.9, 0.7])  # [1.0, 0.0]``
    """
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    return cast(equal(y_true, cast(greater(y_pred, threshold), y_true.dtype)), dtypes.float32)


def categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """Where the argmax of one-hot ``y_true`` equals that of ``y_pred`` (last axis).

    Usage: ``aj.metrics.categorical_accuracy(one_hot_labels, logits)``
    """
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true)
    _check_rank("categorical_accuracy", "y_pred", y_pred, 1)
    if len(y_true.shape) != len(y_pred.shape):
        raise InvalidArgumentError(
            f"categorical_accuracy: expected one-hot y_true of the rank of y_pred "
            f"({len(y_pred.shape)}), got shape {list(y_true.shape)}; for integer labels "
            f"use sparse_categorical_accuracy")
    last = len(y_pred.shape) - 1
    return cast(equal(argmax(y_true, axis=last), argmax(y_pred, axis=last)), dtypes.float32)


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> Tensor:
    """Where the integer label ``y_true`` equals the argmax of ``y_pred`` (last axis);
    labels of shape ``[N, 1]`` count as ``[N]``.

    Usage: ``aj.metrics.sparse_categorical_accuracy(labels, logits)``
    """
    y_pred = _tensor(y_pred)
    _check_rank("sparse_categorical_accuracy", "y_pred", y_pred, 1)
    y_true = _tensor(y_true, y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = squeeze(y_true, -1)
    predicted = cast(argmax(y_pred, axis=len(y_pred.shape) - 1), y_pred.dtype)
    return cast(equal(y_true, predicted), dtypes.float32)


def _check_rank(op: str, what: str, value: Tensor, low: int) -> None:
    if len(value.shape) < low:
        raise InvalidArgumentError(f"{op}: expected {what} of rank >= {low} (scores over the "
                                   f"last axis), got shape {list(value.shape)}")


class Accuracy(MeanMetricWrapper):
    """How often ``y_true == y_pred``. Usage: ``aj.metrics.Accuracy()(labels, predictions)``"""

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_true == (y_pred > threshold)``.

    Usage: ``aj.metrics.BinaryAccuracy(threshold=0.5)(labels, probabilities)``
    """

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32,
                 threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of one-hot labels equals the argmax of the predictions.

    Usage: ``aj.metrics.CategoricalAccuracy()(one_hot_labels, logits)``
    """

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often integer labels equal the argmax of the predictions (logits or
    probabilities).

    Usage::

        acc = aj.metrics.SparseCategoricalAccuracy()
        acc.update_state(labels, logits)
        float(acc.result())
    """

    def __init__(self, name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """Where the class of one-hot ``y_true`` is among the ``k`` highest scores of ``y_pred``.

    Usage: ``aj.metrics.top_k_categorical_accuracy(one_hot, logits, k=3)``
    """
    y_true = _tensor(y_true)
    _check_rank("top_k_categorical_accuracy", "y_pred", _tensor(y_pred), 1)
    return sparse_top_k_categorical_accuracy(argmax(y_true, axis=len(y_true.shape) - 1),
                                             y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> Tensor:
    """Where the integer label ``y_true`` is among the ``k`` highest scores of ``y_pred``
    (ties counted as in, as Keras: a label scoring at least the k-th score).

    Usage: ``aj.metrics.sparse_top_k_categorical_accuracy(labels, logits, k=5)``
    """
    from autojit.ops.indexing import one_hot
    from autojit.ops.math import greater_equal
    from autojit.ops.sorting import top_k

    y_pred = _tensor(y_pred)
    _check_rank("sparse_top_k_categorical_accuracy", "y_pred", y_pred, 2)
    labels = _tensor(y_true)
    if len(labels.shape) == len(y_pred.shape):
        labels = squeeze(labels, -1)
    classes = y_pred.shape[-1]
    k = min(int(k), classes) if classes is not None else int(k)
    kth = top_k(y_pred, k).values[..., k - 1]
    picked = one_hot(cast(labels, dtypes.int32), classes, dtype=y_pred.dtype)
    score = reduce_sum(y_pred * picked, axis=-1)
    return cast(greater_equal(score, kth), dtypes.float32)


class _Confusion(Metric):
    """Counts of true positives, false positives and false negatives at ``thresholds``."""

    def __init__(self, thresholds: float | None = None, name: str | None = None,
                 dtype: Any = dtypes.float32):
        super().__init__(name=name, dtype=dtype)
        self.thresholds = 0.5 if thresholds is None else float(thresholds)
        self.true_positives = self.add_variable("true_positives")
        self.false_positives = self.add_variable("false_positives")
        self.false_negatives = self.add_variable("false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Count predictions above the threshold against the 0/1 labels.

        Usage: ``precision.update_state(labels, probabilities)``
        """
        from autojit.ops.math import logical_and, logical_not

        y_pred = _tensor(y_pred, self._dtype)
        y_true = _tensor(y_true, self._dtype)
        y_true, y_pred = _same_rank(y_true, y_pred)
        predicted = greater(y_pred, self.thresholds)
        actual = greater(y_true, 0.5)
        weight = 1.0 if sample_weight is None else _tensor(sample_weight, self._dtype)

        def count(mask: Any) -> Tensor:
            return reduce_sum(cast(mask, self._dtype) * weight)

        self.true_positives.assign_add(count(logical_and(predicted, actual)))
        self.false_positives.assign_add(count(logical_and(predicted, logical_not(actual))))
        self.false_negatives.assign_add(count(logical_and(logical_not(predicted), actual)))


class Precision(_Confusion):
    """``true positives / (true positives + false positives)`` of predictions above
    ``thresholds`` (0.5), as Keras. Usage: ``aj.keras.metrics.Precision()(labels, probabilities)``
    """

    def result(self) -> Tensor:
        """The precision so far (0 before any positive prediction). Usage: ``m.result()``"""
        tp = self.true_positives.read_value()
        return _divide_no_nan(tp, tp + self.false_positives.read_value())


class Recall(_Confusion):
    """``true positives / (true positives + false negatives)``, as Keras.

    Usage: ``aj.keras.metrics.Recall()(labels, probabilities)``
    """

    def result(self) -> Tensor:
        """The recall so far (0 before any positive label). Usage: ``m.result()``"""
        tp = self.true_positives.read_value()
        return _divide_no_nan(tp, tp + self.false_negatives.read_value())


class AUC(Metric):
    """The area under the ROC curve (``curve="ROC"``) or the precision-recall curve
    (``"PR"``), from true/false positives and negatives counted at ``num_thresholds``
    thresholds spread over [0, 1], as Keras's ``AUC``: ``summation_method="interpolation"``
    (trapezoids for ROC; for PR, Davis & Goadrich's interpolation of precision between
    thresholds), ``"minoring"`` or ``"majoring"`` (the lower or upper Riemann sum).

    Usage: ``aj.keras.metrics.AUC(curve="PR")(labels, probabilities)``
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = dtypes.float32):
        super().__init__(name=name, dtype=dtype)
        if curve not in ("ROC", "PR"):
            raise InvalidArgumentError(f"AUC: expected curve 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise InvalidArgumentError(f"AUC: expected summation_method 'interpolation', "
                                       f"'minoring' or 'majoring', got {summation_method!r}")
        self.curve, self.summation_method = curve, summation_method
        if num_thresholds < 2:
            raise InvalidArgumentError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
        import numpy as np

        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.thresholds = np.array([-1e-7, *inner, 1.0 + 1e-7])
        n = len(self.thresholds)
        self.true_positives = self.add_variable("true_positives", shape=(n,))
        self.false_positives = self.add_variable("false_positives", shape=(n,))
        self.true_negatives = self.add_variable("true_negatives", shape=(n,))
        self.false_negatives = self.add_variable("false_negatives", shape=(n,))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Count the predictions above each threshold against the 0/1 labels.

        Usage: ``auc.update_state(labels, probabilities)``
        """
        from autojit.ops.array import constant, reshape

        y_pred = reshape(_tensor(y_pred, self._dtype), [-1, 1])
        y_true = reshape(_tensor(y_true, self._dtype), [-1, 1])
        weight = 1.0 if sample_weight is None else reshape(_tensor(sample_weight, self._dtype),
                                                           [-1, 1])
        above = cast(greater(y_pred, constant(self.thresholds, dtype=self._dtype)), self._dtype)
        positive = cast(greater(y_true, 0.5), self._dtype)
        negative = 1.0 - positive
        self.true_positives.assign_add(reduce_sum(above * positive * weight, axis=0))
        self.false_positives.assign_add(reduce_sum(above * negative * weight, axis=0))
        self.true_negatives.assign_add(reduce_sum((1.0 - above) * negative * weight, axis=0))
        self.false_negatives.assign_add(reduce_sum((1.0 - above) * positive * weight, axis=0))

    def result(self) -> Tensor:
        """The area so far. Usage: ``float(auc.result())``"""
        from autojit.ops.math import log, logical_and, maximum, minimum, where

        tp, fp = self.true_positives.read_value(), self.false_positives.read_value()
        fn, tn = self.false_negatives.read_value(), self.true_negatives.read_value()
        if self.curve == "PR" and self.summation_method == "interpolation":
            # Keras's interpolate_pr_auc: precision is linear in tp between thresholds
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = _divide_no_nan(dtp, maximum(dp, 0.0))
            intercept = tp[1:] - slope * p[1:]
            both = logical_and(greater(p[:-1], 0.0), greater(p[1:], 0.0))
            ratio = where(both, _divide_no_nan(p[:-1], maximum(p[1:], 0.0)), 1.0 + 0.0 * p[1:])
            return reduce_sum(_divide_no_nan(slope * (dtp + intercept * log(ratio)),
                                             maximum(tp[1:] + fn[1:], 0.0)))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) * 0.5
        elif self.summation_method == "minoring":
            heights = minimum(y[:-1], y[1:])
        else:
            heights = maximum(y[:-1], y[1:])
        return reduce_sum((x[:-1] - x[1:]) * heights)


class MeanSquaredError(MeanMetricWrapper):
    """The running mean squared error. Usage: ``aj.keras.metrics.MeanSquaredError()(y, p)``"""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = dtypes.float32):
        from autojit.losses import mean_squared_error

        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The running mean absolute error. Usage: ``aj.keras.metrics.MeanAbsoluteError()(y, p)``"""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = dtypes.float32):
        from autojit.losses import mean_absolute_error

        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the ``k`` highest scores.

    Usage: ``aj.keras.metrics.TopKCategoricalAccuracy(k=5)(one_hot, logits)``
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = dtypes.float32):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores.

    Usage: ``aj.keras.metrics.SparseTopKCategoricalAccuracy(k=5)(labels, logits)``
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = dtypes.float32):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy", "SparseCategoricalAccuracy", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy"]
__all__ += ["AUC", "MeanAbsoluteError", "MeanSquaredError", "Precision", "Recall",
            "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy",
            "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"]
