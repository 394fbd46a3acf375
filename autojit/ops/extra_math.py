"""More elementwise math and reductions: ``erf``, ``expm1``, ``softplus`` (primitives) and
``reduce_logsumexp`` (built from ops, so its gradient is the softmax for free).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autojit.ops import shapes
from autojit.ops.array import constant, squeeze, stop_gradient
from autojit.ops.core import bind, defop
from autojit.ops.math import (abs, add, exp, float_unary_rule, less, log, multiply, negative,
                              sigmoid, square, subtract, where, zeros_like_value)
from autojit.ops.reduce import reduce_max, reduce_sum

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


