"""More elementwise math and reductions: ``erf``, ``expm1``, ``softplus`` (primitives);
``reduce_logsumexp`` (built from ops, so its gradient is the softmax for free) and the other
compositions of ``tf.math``: ``reciprocal``, ``squared_difference``, ``divide_no_nan``,
``xlogy``, ``reduce_variance``, ``reduce_std``, ``reduce_euclidean_norm``, ``count_nonzero``;
``truncatediv``/``truncatemod`` (C's rounding toward zero, next to ops/math.py's floor forms).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError
from autojit.ops import shapes
from autojit.ops.array import constant, squeeze, stop_gradient
from autojit.ops.core import PY_SCALARS, as_operand, bind, defop, to_numpy_constant
from autojit.ops.math import (abs, add, binary_rule, cast, divide, equal, exp, float_unary_rule,
                              less, log, multiply, negative, not_equal, sigmoid, sqrt, square,
                              subtract, unbroadcast, where, zeros_like_value)
from autojit.ops.reduce import reduce_max, reduce_mean, reduce_sum

# ----------------------------------------------------------------------------- erf

_ERF_PY = np.frompyfunc(math.erf, 1, 1)
_erf_numpy = None


def _erf_python(x: np.ndarray) -> np.ndarray:
    """The C library's ``math.erf``, element by element (float64)."""
    return np.asarray(_ERF_PY(x.astype(np.float64, copy=False)), dtype=np.float64)


def _numpy_erf():
    """SciPy's vectorised erf when SciPy is installed (an optional speed-up, ~100x; it has
    float32 and float64 loops, so float32 needs no widening), else ``_erf_python``; both
    are correct to about 1 ulp."""
    global _erf_numpy
    if _erf_numpy is None:
        try:
            from scipy.special import erf as scipy_erf  # noqa: PLC0415  (optional)
        except ImportError:
            scipy_erf = None
        _erf_numpy = scipy_erf or _erf_python
    return _erf_numpy


_CUDA_ERF: dict = {}


def _erf(xp, x):
    if xp is np:
        return np.asarray(_numpy_erf()(x), dtype=x.dtype)
    # CuPy: CUDA's own erf through an elementwise kernel (made from the module we are
    # handed, so only backend.py imports CuPy).
    kernel = _CUDA_ERF.get(xp)
    if kernel is None:
        kernel = _CUDA_ERF[xp] = xp.ElementwiseKernel("T x", "T y", "y = erf(x)", "autojit_erf")
    return kernel(x)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

ERF = defop("erf", ["x"], "_erf(xp, x)", float_unary_rule,
            lambda g, out, x: (multiply(g, multiply(_TWO_OVER_SQRT_PI, exp(negative(square(x))))),),
            namespace={"_erf": _erf})


def erf(x: Any, name: str | None = None) -> Any:
    """The Gauss error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``, elementwise.

    Usage: ``aj.math.erf(x)``
    """
    return bind(ERF, x)


# ----------------------------------------------------------------------------- expm1, softplus

EXPM1 = defop("expm1", ["x"], "xp.expm1(x)", float_unary_rule,
              lambda g, out, x: (multiply(g, add(out, 1)),))


def expm1(x: Any, name: str | None = None) -> Any:
    """Elementwise ``exp(x) - 1``, accurate near 0. Usage: ``aj.math.expm1(x)``"""
    return bind(EXPM1, x)


def _softplus(xp, x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large x, exact for small.
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


SOFTPLUS = defop("softplus", ["x"], "_softplus(xp, x)", float_unary_rule,
                 lambda g, out, x: (multiply(g, sigmoid(x)),), namespace={"_softplus": _softplus})


def softplus(features: Any, name: str | None = None) -> Any:
    """Elementwise ``log(1 + exp(features))``, stable for large ``|features|``.

    Usage: ``aj.nn.softplus(x)``, ``aj.math.softplus(x)``
    """
    return bind(SOFTPLUS, features)


# ----------------------------------------------------------------------------- logsumexp


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                     name: str | None = None) -> Any:
    """``log(reduce_sum(exp(x), axis))``, computed stably (the max is subtracted first);
    rows of ``-inf`` give ``-inf``, as TF.

    Usage: ``aj.reduce_logsumexp(logits, axis=-1)``, ``aj.math.reduce_logsumexp(x)``
    """
    x = input_tensor if hasattr(input_tensor, "shape") else constant(input_tensor)
    axes = shapes.normalize_axes("reduce_logsumexp", axis, len(x.shape))
    float_unary_rule("reduce_logsumexp", x)
    top = stop_gradient(reduce_max(x, axis=axes, keepdims=True))
    # An infinite max (a row of -inf, or any +inf) is not subtracted: x - top would be NaN.
    top = where(less(abs(top), math.inf), top, zeros_like_value(top))
    total = add(log(reduce_sum(exp(subtract(x, top)), axis=axes, keepdims=True)), top)
    if keepdims:
        return total
    return squeeze(total, axis=axes) if axes else total


# ----------------------------------------------------------------------------- compositions
# Built from ops, so gradients of any order come from their parts.


def reciprocal(x: Any, name: str | None = None) -> Any:
    """Elementwise ``1 / x`` (integers give float64, as ``aj.divide``).

    Usage: ``aj.math.reciprocal(x)``
    """
    return divide(1, x)


def squared_difference(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``(x - y) ** 2`` with broadcasting.

    Usage: ``aj.math.squared_difference(x, y)``
    """
    return square(subtract(x, y))


def _float_pair(name: str, x: Any, y: Any) -> tuple:
    """``x`` and ``y`` as tensors or arrays of one floating dtype and broadcastable shapes:
    Python data becomes an array, a Python scalar taking the other operand's dtype (Note [Weak
    scalars]), so that the ``where`` branches built from both agree. Errors name ``name``."""
    if not hasattr(x, "dtype") and not hasattr(y, "dtype"):
        x = to_numpy_constant(x)
    if not hasattr(y, "dtype"):
        y = _array_like(name, y, x.dtype)
    elif not hasattr(x, "dtype"):
        x = _array_like(name, x, y.dtype)
    float_unary_rule(name, x)
    dtypes.same_dtype(name, (x.dtype, y.dtype))
    shapes.broadcast(name, x.shape, y.shape)  # errors name this function, not a part of it
    return x, y


def _array_like(name: str, value: Any, partner: Any) -> np.ndarray:
    if isinstance(value, PY_SCALARS):
        return np.asarray(value, dtypes.weak_scalar_dtype(name, value, partner))
    return to_numpy_constant(value)


def divide_no_nan(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x / y``, but 0 where ``y == 0`` (also for ``x`` NaN or infinite); its
    gradient there is 0, not NaN. Usage: ``aj.math.divide_no_nan(total, count)``
    """
    x, y = _float_pair("divide_no_nan", x, y)
    zero = equal(y, 0)
    # A safe denominator: where(zero, 0, x / y) alone would give NaN gradients at y == 0
    # (the unused branch's 0 * inf).
    return where(zero, 0, divide(x, where(zero, 1, y)))


def xlogy(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x * log(y)``, but 0 where ``x == 0`` (also for ``y`` 0 or NaN), with
    broadcasting. Usage: ``aj.math.xlogy(p, q)``
    """
    x, y = _float_pair("xlogy", x, y)
    zero = equal(x, 0)
    return where(zero, 0, multiply(x, log(where(zero, 1, y))))


def _float_tensor(name: str, x: Any) -> Any:
    x = x if hasattr(x, "shape") and hasattr(x, "dtype") else constant(x)
    float_unary_rule(name, x)
    return x


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                    name: str | None = None) -> Any:
    """The (biased) variance over ``axis``, all axes when None; floats only, as TF.

    Usage: ``aj.math.reduce_variance(x, axis=0)``
    """
    x = _float_tensor("reduce_variance", input_tensor)
    axes = shapes.normalize_axes("reduce_variance", axis, len(x.shape))
    mean = reduce_mean(x, axis=axes, keepdims=True)
    return reduce_mean(square(subtract(x, mean)), axis=axes, keepdims=keepdims)


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """The (biased) standard deviation over ``axis``: ``sqrt(reduce_variance(...))``.

    Usage: ``aj.math.reduce_std(x, axis=-1, keepdims=True)``
    """
    x = _float_tensor("reduce_std", input_tensor)
    return sqrt(reduce_variance(x, axis=axis, keepdims=keepdims))


def reduce_euclidean_norm(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                          name: str | None = None) -> Any:
    """``sqrt(reduce_sum(x ** 2, axis))``, all axes when None; floats only.

    Usage: ``aj.math.reduce_euclidean_norm(x, axis=1)``
    """
    x = _float_tensor("reduce_euclidean_norm", input_tensor)
    axes = shapes.normalize_axes("reduce_euclidean_norm", axis, len(x.shape))
    return sqrt(reduce_sum(square(x), axis=axes, keepdims=keepdims))


def count_nonzero(input: Any, axis: Any = None, keepdims: bool = False,  # noqa: A002
                  dtype: Any = dtypes.int64, name: str | None = None) -> Any:
    """The number of non-zero entries (True ones for bools; NaN counts) over ``axis``, all
    axes when None, as ``dtype`` (int64 by default), as ``tf.math.count_nonzero``.

    Usage: ``aj.math.count_nonzero(x)``, ``aj.math.count_nonzero(mask, axis=1)``
    """
    x = as_operand(input)
    axes = shapes.normalize_axes("count_nonzero", axis, len(x.shape))
    out_dtype = dtypes.as_dtype(dtype)
    if out_dtype == dtypes.bool:
        raise DTypeError("count_nonzero: expected a numeric dtype for the counts, got bool")
    nonzero = x if x.dtype == dtypes.bool else not_equal(x, 0)
    total = reduce_sum(cast(nonzero, dtypes.int64), axis=axes, keepdims=bool(keepdims))
    return total if out_dtype == dtypes.int64 else cast(total, out_dtype)


# ----------------------------------------------------------------------------- truncatediv/mod

def _truncatediv(xp, x, y):
    remainder = xp.fmod(x, y)  # C's %: the sign of x
    if remainder.dtype.kind == "f":
        return xp.trunc(xp.true_divide(x, y))
    return xp.floor_divide(x - remainder, y)  # an exact multiple of y: no rounding left


def _truncatemod_vjp(g, out, x, y):
    # TF's FloorMod rule with the truncated quotient: d/dx = 1, d/dy = -truncatediv(x, y).
    if not dtypes.is_floating(out.dtype):
        return None, None
    return (unbroadcast(g, x),
            unbroadcast(negative(multiply(g, truncatediv(x, y))), y))


TRUNCATEDIV = defop("truncatediv", ["x", "y"], "_truncatediv(xp, x, y)", binary_rule,
                     lambda g, out, x, y: (None, None),
                     namespace={"_truncatediv": _truncatediv})
TRUNCATEMOD = defop("truncatemod", ["x", "y"], "xp.fmod(x, y)", binary_rule, _truncatemod_vjp)


def truncatediv(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x / y`` rounded toward zero, as C (``-7 / 5 == -1``; Python's ``//`` gives
    -2); floats give ``trunc(x / y)``. No gradient, as TF. Integer division by zero is not
    checked, as ``floordiv`` (NumPy gives 0 and warns; TF's CPU kernel raises).

    Usage: ``aj.truncatediv(aj.constant([-7, 7]), 5)``
    """
    return bind(TRUNCATEDIV, x, y)


def truncatemod(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise remainder of ``truncatediv``, as C's ``%`` and ``fmod``: the sign of ``x``
    (``truncatemod(-7, 5) == -2``; Python's ``%`` gives 3), so that
    ``truncatediv(x, y) * y + truncatemod(x, y) == x``. Floats have TF's gradient.

    Usage: ``aj.truncatemod(aj.constant([-7.5, 7.5]), 2.0)``
    """
    return bind(TRUNCATEMOD, x, y)
