"""Activations built from existing ops (``aj.nn.gelu``, ``leaky_relu``, ``elu``, ``selu``,
``silu``/``swish``, ``log_sigmoid``): exact compositions, so their gradients (to any order)
come from the ops they are made of (``softplus`` and ``erf`` are primitives in
``extra_math``).

Branches of a ``where`` are kept finite on the side not taken (``exp(minimum(x, 0))``), so
their zero cotangent never meets an infinity (0 * inf = NaN).
"""

from __future__ import annotations

import math
from typing import Any

from autojit.ops.core import as_operand
from autojit.ops.extra_math import erf, expm1, softplus
from autojit.ops.math import (add, float_unary_rule, greater, minimum, multiply, negative,
                              sigmoid, tanh, where)

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# SELU's constants (Klambauer et al. 2017), as TF and PyTorch.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _tensor(name: str, x: Any) -> Any:
    """``x`` as a tensor or array, checked to be floating point (the error names ``name``)."""
    x = as_operand(x)
    float_unary_rule(name, x)
    return x


def gelu(features: Any, approximate: bool = False, name: str | None = None) -> Any:
    """Gaussian error linear unit: ``x * Phi(x)`` with ``Phi`` the normal CDF (exact, with
    erf), or TF's tanh approximation with ``approximate=True``.

    Usage: ``aj.nn.gelu(x)``, ``aj.nn.gelu(x, approximate=True)``
    """
    x = _tensor("gelu", features)
    if approximate:
        cube = multiply(multiply(x, x), x)
        inner = multiply(add(x, multiply(cube, 0.044715)), _SQRT_2_OVER_PI)
        return multiply(multiply(x, 0.5), add(tanh(inner), 1.0))
    return multiply(multiply(x, 0.5), add(erf(multiply(x, _SQRT_HALF)), 1.0))


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Any:
    """``x`` where ``x > 0``, else ``alpha * x`` (TF's default ``alpha=0.2``).

    Usage: ``aj.nn.leaky_relu(x, alpha=0.01)``
    """
    x = _tensor("leaky_relu", features)
    return where(greater(x, 0), x, multiply(x, float(alpha)))


def elu(features: Any, name: str | None = None) -> Any:
    """Exponential linear unit: ``x`` where ``x > 0``, else ``exp(x) - 1``.

    Usage: ``aj.nn.elu(x)``
    """
    x = _tensor("elu", features)
    return where(greater(x, 0), x, expm1(minimum(x, 0.0)))


def selu(features: Any, name: str | None = None) -> Any:
    """Scaled ELU: ``scale * x`` where ``x > 0``, else ``scale * alpha * (exp(x) - 1)``,
    with the self-normalising constants (alpha ~1.6733, scale ~1.0507).

    Usage: ``aj.nn.selu(x)``
    """
    x = _tensor("selu", features)
    negative_part = multiply(expm1(minimum(x, 0.0)), _SELU_ALPHA)
    return multiply(where(greater(x, 0), x, negative_part), _SELU_SCALE)


def silu(features: Any, beta: float = 1.0, name: str | None = None) -> Any:
    """Sigmoid linear unit (swish): ``x * sigmoid(beta * x)``.

    Usage: ``aj.nn.silu(x)``, ``aj.nn.swish(x)``
    """
    x = _tensor("silu", features)
    scaled = x if beta == 1.0 else multiply(x, float(beta))
    return multiply(x, sigmoid(scaled))


swish = silu


def log_sigmoid(x: Any, name: str | None = None) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    Usage: ``aj.math.log_sigmoid(logits)``
    """
    return negative(softplus(negative(_tensor("log_sigmoid", x))))



def relu6(features: Any, name: str | None = None) -> Any:
    """``min(max(x, 0), 6)``. Usage: ``aj.nn.relu6(x)``"""
    from autojit.ops.math import clip_by_value

    return clip_by_value(_tensor("relu6", features), 0.0, 6.0)


def crelu(features: Any, axis: int = -1, name: str | None = None) -> Any:
    """``concat([relu(x), relu(-x)], axis)``: twice the channels. Usage: ``aj.nn.crelu(x)``"""
    from autojit.ops.array import concat
    from autojit.ops.nn import relu

    x = _tensor("crelu", features)
    return concat([relu(x), relu(negative(x))], axis=axis)


def softsign(features: Any, name: str | None = None) -> Any:
    """``x / (1 + |x|)``. Usage: ``aj.nn.softsign(x)``"""
    from autojit.ops.math import abs as absolute
    from autojit.ops.math import divide

    x = _tensor("softsign", features)
    return divide(x, add(absolute(x), 1.0))


def hard_sigmoid(x: Any) -> Any:
    """``clip(0.2 * x + 0.5, 0, 1)`` (Keras 2's piecewise-linear sigmoid).

    Usage: ``aj.keras.activations.hard_sigmoid(x)``
    """
    from autojit.ops.math import clip_by_value

    return clip_by_value(add(multiply(_tensor("hard_sigmoid", x), 0.2), 0.5), 0.0, 1.0)
