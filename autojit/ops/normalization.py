"""Normalization built from existing ops: ``nn.moments``, ``nn.batch_normalization`` and
``nn.l2_normalize``. Exact compositions, so gradients of any order come from their parts.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.ops import shapes
from autojit.ops.array import squeeze
from autojit.ops.core import as_operand
from autojit.ops.math import (add, cast, float_unary_rule, maximum, multiply, negative, rsqrt,
                              square, subtract)
from autojit.ops.reduce import reduce_mean, reduce_sum


def _tensor(name: str, x: Any) -> Any:
    x = as_operand(x)
    float_unary_rule(name, x)
    return x


def moments(x: Any, axes: Any, shift: Any = None, keepdims: bool = False,
            name: str | None = None) -> tuple:
    """``(mean, variance)`` of ``x`` over ``axes`` (the biased variance, as TF).

    Usage: ``mean, var = aj.nn.moments(x, axes=[0])``

    Unlike TF the variance's gradient also flows through the mean (TF stops it there), which
    changes nothing at first order and makes second derivatives exact.
    """
    x = _tensor("moments", x)
    axes = shapes.normalize_axes("moments", axes, len(x.shape))
    mean = reduce_mean(x, axis=axes, keepdims=True)
    variance = reduce_mean(square(subtract(x, mean)), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = squeeze(mean, axis=axes) if axes else mean
    return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any,
                        variance_epsilon: float, name: str | None = None) -> Any:
    """``scale * (x - mean) / sqrt(variance + variance_epsilon) + offset``, broadcasting;
    ``offset``/``scale`` may be None. Usage:
    ``aj.nn.batch_normalization(x, mean, var, beta, gamma, variance_epsilon=1e-3)``

    As TF, the statistics are combined in their own dtype and cast to ``x``'s (float32
    moving statistics serve a float16 ``x``). Python numbers among them take the dtype of the
    tensor statistics, or ``x``'s when none is a tensor (at least float32, as TF's constants).
    """
    x = _tensor("batch_normalization", x)
    mean, variance, offset, scale = _statistics(x, mean, variance, offset, scale)
    inv = rsqrt(add(variance, float(variance_epsilon)))
    if scale is not None:
        inv = multiply(inv, scale)
    shift = multiply(mean, inv)
    shift = subtract(offset, shift) if offset is not None else negative(shift)
    return add(multiply(x, cast(inv, x.dtype)), cast(shift, x.dtype))


def _statistics(x: Any, *values: Any) -> list:
    """``values`` (None stays None) with Python data made tensors of the statistics' dtype:
    ``batch_normalization``'s rule."""
    tensors = [v for v in values if _is_tensor(v)]
    if tensors:
        work = tensors[0].dtype
    else:
        work = dtypes.float64 if x.dtype == dtypes.float64 else dtypes.float32
    return [v if v is None or _is_tensor(v) else as_operand(v, work) for v in values]


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def l2_normalize(x: Any, axis: Any = None, epsilon: float = 1e-12, name: str | None = None) -> Any:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``: unit L2 norm along ``axis`` (all axes
    when None), as TF.

    Usage: ``aj.nn.l2_normalize(embeddings, axis=-1)``
    """
    x = _tensor("l2_normalize", x)
    total = reduce_sum(multiply(x, x), axis=axis, keepdims=True)
    return multiply(x, rsqrt(maximum(total, float(epsilon))))
