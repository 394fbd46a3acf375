"""Elementwise math: arithmetic, transcendental and trigonometric functions, rounding, NaN and
infinity tests, comparisons, logic, where, cast.

Each op is one block: public function, kernel expression, rule, VJP (Note [One op, every
mode] in ``ops/core.py``). VJPs use ``unbroadcast`` so broadcasting inputs get gradients
of their own shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError
from autojit.ops import shapes
from autojit.ops.core import PY_SCALARS, bind, defop, to_numpy_constant

# ----------------------------------------------------------------------------- rules


def _floats(name, *avals):
    for a in avals:
        if not dtypes.is_floating(a.dtype):
            raise DTypeError(f"{name}: expected a floating-point tensor (float16/32/64), "
                             f"got {a.dtype.name}; use aj.cast(x, aj.float32)")


def _numeric(name, *avals):
    for a in avals:
        if a.dtype == dtypes.bool:
            raise DTypeError(f"{name}: expected a numeric tensor, got bool; "
                             "use aj.cast(x, aj.int32)")


def unary_rule(name, x):
    _numeric(name, x)
    return x.shape, x.dtype


def float_unary_rule(name, x):
    _floats(name, x)
    return x.shape, x.dtype


def binary_rule(name, x, y):
    dt = dtypes.same_dtype(name, (x.dtype, y.dtype))
    _numeric(name, x)
    return shapes.broadcast(name, x.shape, y.shape), dt


def compare_rule(name, x, y):
    dtypes.same_dtype(name, (x.dtype, y.dtype))
    return shapes.broadcast(name, x.shape, y.shape), dtypes.bool


def logical_rule(name, *avals):
    for a in avals:
        if a.dtype != dtypes.bool:
            raise DTypeError(f"{name}: expected bool tensors, got {a.dtype.name}")
    shape = avals[0].shape
    for a in avals[1:]:
        shape = shapes.broadcast(name, shape, a.shape)
    return shape, dtypes.bool


# ----------------------------------------------------------------------------- unbroadcast


def _sum_to(xp, g, shape):
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and g.shape[i + lead] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True, dtype=g.dtype)
    return g.reshape(shape) if lead or axes else g


def _unbroadcast_rule(name, g, like):
    return like.shape, g.dtype


def _unbroadcast_vjp(g, out, grad, like):
    return broadcast_like(g, grad), None


UNBROADCAST = defop("unbroadcast", ["g", "like"], "_sum_to(xp, g, like.shape)",
                    _unbroadcast_rule, _unbroadcast_vjp, namespace={"_sum_to": _sum_to})


def unbroadcast(g: Any, like: Any) -> Any:
    """Sum ``g`` down to the shape of ``like``: the gradient of a broadcast.

    Usage (in a VJP): ``return unbroadcast(g, x), unbroadcast(g, y)``. ``None`` when ``like``
    is a Python scalar (it has no gradient); ``g`` itself when the shapes already agree.
    """
    if isinstance(like, (bool, int, float)):
        return None
    if g.shape == like.shape and None not in g.shape:
        return g
    return bind(UNBROADCAST, g, like)


def _broadcast(xp, x, shape):
    # A read-only view for big results; a small filled array otherwise, because
    # np.broadcast_to costs ~3 µs of Python overhead and a small fill costs ~0.5 µs.
    # NumPy only: on CuPy a fill would read the device scalar back to the host.
    if xp is np and x.size == 1 and _small(shape):
        return np.full(shape, x.reshape(()), dtype=x.dtype)
    return xp.broadcast_to(x, shape)


def _small(shape):
    n = 1
    for d in shape:
        n *= d
    return n <= 4096


BROADCAST_LIKE = defop(
    "broadcast_like", ["x", "like"], "_broadcast(xp, x, like.shape)",
    lambda name, x, like: (shapes.broadcast(name, x.shape, like.shape), x.dtype),
    lambda g, out, x, like: (unbroadcast(g, x), None), namespace={"_broadcast": _broadcast})


def broadcast_like(x: Any, like: Any) -> Any:
    """Broadcast ``x`` to the shape of ``like`` (a read-only view eagerly).

    Usage: ``broadcast_like(aj.constant(1.0), x)``
    """
    if x.shape == like.shape and None not in x.shape:
        return x
    return bind(BROADCAST_LIKE, x, like)


# ----------------------------------------------------------------------------- arithmetic

ADD = defop("add", ["x", "y"], "xp.add(x, y)", binary_rule,
            lambda g, out, x, y: (unbroadcast(g, x), unbroadcast(g, y)))
SUBTRACT = defop("subtract", ["x", "y"], "xp.subtract(x, y)", binary_rule,
                 lambda g, out, x, y: (unbroadcast(g, x), unbroadcast(negative(g), y)))
MULTIPLY = defop("multiply", ["x", "y"], "xp.multiply(x, y)", binary_rule,
                 lambda g, out, x, y: (unbroadcast(multiply(g, y), x),
                                       unbroadcast(multiply(g, x), y)))


def _divide_rule(name, x, y):
    shape, dt = binary_rule(name, x, y)
    if dt in (dtypes.int32, dtypes.int64):
        return shape, dtypes.float64  # as tf.divide: int / int is float64
    _floats(name, x)
    return shape, dt


def _divide_vjp(g, out, x, y):
    if out.dtype != getattr(x, "dtype", out.dtype) or out.dtype != getattr(y, "dtype", out.dtype):
        return None, None  # integer inputs (their float64 quotient has no gradient)
    gx = divide(g, y)
    return unbroadcast(gx, x), unbroadcast(negative(multiply(gx, out)), y)


DIVIDE = defop("divide", ["x", "y"], "xp.true_divide(x, y)", _divide_rule, _divide_vjp)
FLOORDIV = defop("floordiv", ["x", "y"], "xp.floor_divide(x, y)", binary_rule,
                 lambda g, out, x, y: (None, None))
MOD = defop("mod", ["x", "y"], "xp.mod(x, y)", binary_rule,
            lambda g, out, x, y: (
                unbroadcast(g, x) if dtypes.is_floating(out.dtype) else None,
                unbroadcast(negative(multiply(g, floordiv(x, y))), y)
                if dtypes.is_floating(out.dtype) else None))


def _pow_vjp(g, out, x, y):
    # A Python-scalar base or exponent has no gradient and takes no part in the tensor math
    # (two scalars would get independent default dtypes, clashing with a float64 ``x``).
    if not dtypes.is_floating(out.dtype):
        return None, None
    gx = gy = None
    if not isinstance(x, (bool, int, float)):
        y_minus_1 = y - 1 if isinstance(y, (bool, int, float)) else subtract(y, 1)
        gx = unbroadcast(multiply(g, multiply(y, pow(x, y_minus_1))), x)
    if not isinstance(y, (bool, int, float)):
        if isinstance(x, (bool, int, float)):
            safe_log = math.log(x) if x > 0 else 0.0
        else:
            safe_log = log(where(greater(x, 0), x, ones_like_value(x)))
        gy = unbroadcast(multiply(g, multiply(out, safe_log)), y)
    return gx, gy


POW = defop("pow", ["x", "y"], "xp.power(x, y)", binary_rule, _pow_vjp)
MAXIMUM = defop("maximum", ["x", "y"], "xp.maximum(x, y)", binary_rule,
                lambda g, out, x, y: _select_vjp(g, greater_equal(x, y), x, y))
MINIMUM = defop("minimum", ["x", "y"], "xp.minimum(x, y)", binary_rule,
                lambda g, out, x, y: _select_vjp(g, less_equal(x, y), x, y))


def _select_vjp(g, take_x, x, y):
    if not dtypes.is_floating(g.dtype):
        return None, None
    zero = zeros_like_value(g)
    return (unbroadcast(where(take_x, g, zero), x),
            unbroadcast(where(take_x, zero, g), y))


def add(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x + y`` with broadcasting. Usage: ``aj.add(x, 1.0)``"""
    return bind(ADD, x, y)


def subtract(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x - y``. Usage: ``aj.subtract(x, y)``"""
    return bind(SUBTRACT, x, y)


def multiply(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x * y``. Usage: ``aj.multiply(x, y)``"""
    return bind(MULTIPLY, x, y)


def divide(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x / y`` (int32/int64 inputs give float64, as TF).

    Usage: ``aj.divide(x, 2.0)``
    """
    return bind(DIVIDE, x, y)


def floordiv(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x // y`` (rounds toward -inf). Usage: ``aj.math.floordiv(x, 2)``"""
    return bind(FLOORDIV, x, y)


def mod(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x % y`` with the sign of ``y`` (Python's rule). Usage: ``aj.math.mod(x, 3)``"""
    return bind(MOD, x, y)


def pow(x: Any, y: Any, name: str | None = None) -> Any:  # noqa: A001
    """Elementwise ``x ** y``. Usage: ``aj.pow(x, 2.0)``"""
    return bind(POW, x, y)


def maximum(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise max (gradient goes to ``x`` on ties). Usage: ``aj.maximum(x, 0.0)``"""
    return bind(MAXIMUM, x, y)


def minimum(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise min (gradient goes to ``x`` on ties). Usage: ``aj.minimum(x, 1.0)``"""
    return bind(MINIMUM, x, y)


# ----------------------------------------------------------------------------- unary


def _sigmoid(xp, x):
    return xp.tanh(x * 0.5) * 0.5 + 0.5  # stable for large |x|, stays in x's dtype


NEGATIVE = defop("negative", ["x"], "xp.negative(x)", unary_rule,
                 lambda g, out, x: (negative(g),))
ABS = defop("abs", ["x"], "xp.abs(x)", unary_rule,
            lambda g, out, x: (multiply(g, sign(x)),) if dtypes.is_floating(g.dtype) else (None,))
SIGN = defop("sign", ["x"], "xp.sign(x)", unary_rule,
             lambda g, out, x: (zeros_like_value(x),) if dtypes.is_floating(x.dtype) else (None,))
EXP = defop("exp", ["x"], "xp.exp(x)", float_unary_rule, lambda g, out, x: (multiply(g, out),))
LOG = defop("log", ["x"], "xp.log(x)", float_unary_rule, lambda g, out, x: (divide(g, x),))
LOG1P = defop("log1p", ["x"], "xp.log1p(x)", float_unary_rule,
              lambda g, out, x: (divide(g, add(x, 1)),))
SQRT = defop("sqrt", ["x"], "xp.sqrt(x)", float_unary_rule,
             lambda g, out, x: (divide(multiply(g, 0.5), out),))
RSQRT = defop("rsqrt", ["x"], "1 / xp.sqrt(x)", float_unary_rule,
              lambda g, out, x: (multiply(g, multiply(-0.5, divide(out, x))),))
SQUARE = defop("square", ["x"], "xp.square(x)", unary_rule,
               lambda g, out, x: (multiply(g, multiply(x, 2)),))
SIN = defop("sin", ["x"], "xp.sin(x)", float_unary_rule,
            lambda g, out, x: (multiply(g, cos(x)),))
COS = defop("cos", ["x"], "xp.cos(x)", float_unary_rule,
            lambda g, out, x: (negative(multiply(g, sin(x))),))
TANH = defop("tanh", ["x"], "xp.tanh(x)", float_unary_rule,
             lambda g, out, x: (multiply(g, subtract(1, square(out))),))
SIGMOID = defop("sigmoid", ["x"], "_sigmoid(xp, x)", float_unary_rule,
                lambda g, out, x: (multiply(g, multiply(out, subtract(1, out))),),
                namespace={"_sigmoid": _sigmoid})


def negative(x: Any, name: str | None = None) -> Any:
    """Elementwise ``-x``. Usage: ``aj.negative(x)``"""
    return bind(NEGATIVE, x)


def abs(x: Any, name: str | None = None) -> Any:  # noqa: A001
    """Elementwise ``|x|``. Usage: ``aj.abs(x)``"""
    return bind(ABS, x)


def sign(x: Any, name: str | None = None) -> Any:
    """Elementwise sign (-1, 0 or 1). Usage: ``aj.sign(x)``"""
    return bind(SIGN, x)


def exp(x: Any, name: str | None = None) -> Any:
    """Elementwise ``e**x``. Usage: ``aj.exp(x)``"""
    return bind(EXP, x)


def log(x: Any, name: str | None = None) -> Any:
    """Elementwise natural logarithm. Usage: ``aj.math.log(x)``"""
    return bind(LOG, x)


def log1p(x: Any, name: str | None = None) -> Any:
    """Elementwise ``log(1 + x)``, accurate near 0. Usage: ``aj.math.log1p(x)``"""
    return bind(LOG1P, x)


def sqrt(x: Any, name: str | None = None) -> Any:
    """Elementwise square root. Usage: ``aj.sqrt(x)``"""
    return bind(SQRT, x)


def rsqrt(x: Any, name: str | None = None) -> Any:
    """Elementwise ``1 / sqrt(x)``. Usage: ``aj.math.rsqrt(x)``"""
    return bind(RSQRT, x)


def square(x: Any, name: str | None = None) -> Any:
    """Elementwise ``x * x``. Usage: ``aj.square(x)``"""
    return bind(SQUARE, x)


def sin(x: Any, name: str | None = None) -> Any:
    """Elementwise sine. Usage: ``aj.sin(x)``"""
    return bind(SIN, x)


def cos(x: Any, name: str | None = None) -> Any:
    """Elementwise cosine. Usage: ``aj.cos(x)``"""
    return bind(COS, x)


def tanh(x: Any, name: str | None = None) -> Any:
    """Elementwise hyperbolic tangent. Usage: ``aj.tanh(x)``"""
    return bind(TANH, x)


def sigmoid(x: Any, name: str | None = None) -> Any:
    """Elementwise logistic ``1 / (1 + e**-x)``, stable for large ``|x|``.

    Usage: ``aj.sigmoid(x)``
    """
    return bind(SIGMOID, x)


# ----------------------------------------------------------------------------- rounding, tests


def _zero_vjp(g, out, x):
    # Piecewise constant: the derivative is 0 wherever it exists (as TF's floor/ceil/round).
    return (zeros_like_value(x),) if dtypes.is_floating(x.dtype) else (None,)


def predicate_rule(name, x):
    _floats(name, x)
    return x.shape, dtypes.bool


FLOOR = defop("floor", ["x"], "xp.floor(x)", float_unary_rule, _zero_vjp)
CEIL = defop("ceil", ["x"], "xp.ceil(x)", float_unary_rule, _zero_vjp)
# Any numeric dtype, as tf.round: NumPy's and CuPy's round give integers back unchanged.
ROUND = defop("round", ["x"], "xp.round(x)", unary_rule, _zero_vjp)
IS_NAN = defop("is_nan", ["x"], "xp.isnan(x)", predicate_rule)
IS_INF = defop("is_inf", ["x"], "xp.isinf(x)", predicate_rule)
IS_FINITE = defop("is_finite", ["x"], "xp.isfinite(x)", predicate_rule)


def floor(x: Any, name: str | None = None) -> Any:
    """Elementwise largest integer not above ``x`` (floats). Usage: ``aj.floor(x)``"""
    return bind(FLOOR, x)


def ceil(x: Any, name: str | None = None) -> Any:
    """Elementwise smallest integer not below ``x`` (floats). Usage: ``aj.math.ceil(x)``"""
    return bind(CEIL, x)


def round(x: Any, name: str | None = None) -> Any:  # noqa: A001
    """Elementwise nearest integer, halves to even (``2.5 -> 2.0``); integers unchanged.

    Usage: ``aj.round(x)``
    """
    return bind(ROUND, x)


def is_nan(x: Any, name: str | None = None) -> Any:
    """Elementwise ``x`` is NaN, as bool. Usage: ``aj.math.is_nan(x)``"""
    return bind(IS_NAN, x)


def is_inf(x: Any, name: str | None = None) -> Any:
    """Elementwise ``x`` is +inf or -inf, as bool. Usage: ``aj.math.is_inf(x)``"""
    return bind(IS_INF, x)


def is_finite(x: Any, name: str | None = None) -> Any:
    """Elementwise ``x`` is neither NaN nor infinite, as bool. Usage: ``aj.math.is_finite(x)``"""
    return bind(IS_FINITE, x)


# ----------------------------------------------------------------------------- trigonometric


def _atan2_rule(name, y, x):
    shape, dt = binary_rule(name, y, x)
    _floats(name, y)
    return shape, dt


def _atan2_vjp(g, out, y, x):
    # d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2). A Python-scalar operand has no
    # gradient and is squared in Python, so the denominator takes the tensor's dtype.
    def squared(v):
        return v * v if isinstance(v, PY_SCALARS) else square(v)

    g_over = divide(g, add(squared(x), squared(y)))
    gy = None if isinstance(y, PY_SCALARS) else unbroadcast(multiply(g_over, x), y)
    gx = None if isinstance(x, PY_SCALARS) else unbroadcast(negative(multiply(g_over, y)), x)
    return gy, gx


TAN = defop("tan", ["x"], "xp.tan(x)", float_unary_rule,
            lambda g, out, x: (multiply(g, add(square(out), 1)),))
ASIN = defop("asin", ["x"], "xp.arcsin(x)", float_unary_rule,
             lambda g, out, x: (multiply(g, rsqrt(subtract(1, square(x)))),))
ACOS = defop("acos", ["x"], "xp.arccos(x)", float_unary_rule,
             lambda g, out, x: (negative(multiply(g, rsqrt(subtract(1, square(x))))),))
ATAN = defop("atan", ["x"], "xp.arctan(x)", float_unary_rule,
             lambda g, out, x: (divide(g, add(square(x), 1)),))
ATAN2 = defop("atan2", ["y", "x"], "xp.arctan2(y, x)", _atan2_rule, _atan2_vjp)
SINH = defop("sinh", ["x"], "xp.sinh(x)", float_unary_rule,
             lambda g, out, x: (multiply(g, cosh(x)),))
COSH = defop("cosh", ["x"], "xp.cosh(x)", float_unary_rule,
             lambda g, out, x: (multiply(g, sinh(x)),))
ASINH = defop("asinh", ["x"], "xp.arcsinh(x)", float_unary_rule,
              lambda g, out, x: (multiply(g, rsqrt(add(square(x), 1))),))
ACOSH = defop("acosh", ["x"], "xp.arccosh(x)", float_unary_rule,
              lambda g, out, x: (multiply(g, rsqrt(subtract(square(x), 1))),))
ATANH = defop("atanh", ["x"], "xp.arctanh(x)", float_unary_rule,
              lambda g, out, x: (divide(g, subtract(1, square(x))),))


def tan(x: Any, name: str | None = None) -> Any:
    """Elementwise tangent. Usage: ``aj.tan(x)``"""
    return bind(TAN, x)


def asin(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse sine (NaN outside ``[-1, 1]``). Usage: ``aj.asin(x)``"""
    return bind(ASIN, x)


def acos(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse cosine (NaN outside ``[-1, 1]``). Usage: ``aj.acos(x)``"""
    return bind(ACOS, x)


def atan(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse tangent. Usage: ``aj.atan(x)``"""
    return bind(ATAN, x)


def atan2(y: Any, x: Any, name: str | None = None) -> Any:
    """Elementwise angle of the point ``(x, y)`` in ``[-pi, pi]``, with broadcasting.

    Usage: ``aj.atan2(y, x)``
    """
    return bind(ATAN2, y, x)


def sinh(x: Any, name: str | None = None) -> Any:
    """Elementwise hyperbolic sine. Usage: ``aj.sinh(x)``"""
    return bind(SINH, x)


def cosh(x: Any, name: str | None = None) -> Any:
    """Elementwise hyperbolic cosine. Usage: ``aj.cosh(x)``"""
    return bind(COSH, x)


def asinh(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse hyperbolic sine. Usage: ``aj.asinh(x)``"""
    return bind(ASINH, x)


def acosh(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse hyperbolic cosine (NaN below 1). Usage: ``aj.acosh(x)``"""
    return bind(ACOSH, x)


def atanh(x: Any, name: str | None = None) -> Any:
    """Elementwise inverse hyperbolic tangent (NaN outside ``[-1, 1]``). Usage: ``aj.atanh(x)``"""
    return bind(ATANH, x)


# ----------------------------------------------------------------------------- comparisons & logic

EQUAL = defop("equal", ["x", "y"], "xp.equal(x, y)", compare_rule)
NOT_EQUAL = defop("not_equal", ["x", "y"], "xp.not_equal(x, y)", compare_rule)
LESS = defop("less", ["x", "y"], "xp.less(x, y)", compare_rule)
LESS_EQUAL = defop("less_equal", ["x", "y"], "xp.less_equal(x, y)", compare_rule)
GREATER = defop("greater", ["x", "y"], "xp.greater(x, y)", compare_rule)
GREATER_EQUAL = defop("greater_equal", ["x", "y"], "xp.greater_equal(x, y)", compare_rule)
LOGICAL_AND = defop("logical_and", ["x", "y"], "xp.logical_and(x, y)", logical_rule)
LOGICAL_OR = defop("logical_or", ["x", "y"], "xp.logical_or(x, y)", logical_rule)
LOGICAL_XOR = defop("logical_xor", ["x", "y"], "xp.logical_xor(x, y)", logical_rule)
LOGICAL_NOT = defop("logical_not", ["x"], "xp.logical_not(x)", logical_rule)


def equal(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x == y`` as bool. Usage: ``aj.equal(x, 0)``"""
    return bind(EQUAL, x, y)


def not_equal(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x != y`` as bool. Usage: ``aj.not_equal(x, 0)``"""
    return bind(NOT_EQUAL, x, y)


def less(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x < y``. Usage: ``aj.less(x, y)``"""
    return bind(LESS, x, y)


def less_equal(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x <= y``. Usage: ``aj.less_equal(x, y)``"""
    return bind(LESS_EQUAL, x, y)


def greater(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x > y``. Usage: ``aj.greater(x, 0.0)``"""
    return bind(GREATER, x, y)


def greater_equal(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x >= y``. Usage: ``aj.greater_equal(x, y)``"""
    return bind(GREATER_EQUAL, x, y)


def logical_and(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise AND of bool tensors. Usage: ``aj.logical_and(a, b)``"""
    return bind(LOGICAL_AND, x, y)


def logical_or(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise OR of bool tensors. Usage: ``aj.logical_or(a, b)``"""
    return bind(LOGICAL_OR, x, y)


def logical_xor(x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise XOR of bool tensors. Usage: ``aj.math.logical_xor(a, b)``"""
    return bind(LOGICAL_XOR, x, y)


def logical_not(x: Any, name: str | None = None) -> Any:
    """Elementwise NOT of a bool tensor. Usage: ``aj.logical_not(a)``"""
    return bind(LOGICAL_NOT, x)


# ----------------------------------------------------------------------------- where, clip, cast


def _where_rule(name, x, y, c):
    if c.dtype != dtypes.bool:
        raise DTypeError(f"{name}: expected a bool condition, got {c.dtype.name}")
    dt = dtypes.same_dtype(name, (x.dtype, y.dtype))
    return shapes.broadcast(name, shapes.broadcast(name, c.shape, x.shape), y.shape), dt


def _where_vjp(g, out, x, y, c):
    if not dtypes.is_floating(g.dtype):
        return None, None, None
    zero = zeros_like_value(g)
    return unbroadcast(where(c, g, zero), x), unbroadcast(where(c, zero, g), y), None


# The condition comes last so that a Python scalar branch takes its dtype from the other
# branch (Note [Weak scalars]: the first tensor input lends it), not from the bool condition.
WHERE = defop("where", ["x", "y", "condition"], "xp.where(condition, x, y)", _where_rule,
              _where_vjp)


def where(condition: Any, x: Any, y: Any, name: str | None = None) -> Any:
    """Elementwise ``x`` where ``condition`` else ``y`` (broadcasting).

    Usage: ``aj.where(m, x, 0.0)``
    """
    if isinstance(x, PY_SCALARS) and isinstance(y, PY_SCALARS):
        x = to_numpy_constant(x)  # both branches Python scalars: x takes TF's default dtype
    return bind(WHERE, x, y, condition)


def _clip_rule(name, x, lo, hi):
    dtypes.same_dtype(name, (x.dtype, lo.dtype, hi.dtype))
    _numeric(name, x)
    return shapes.broadcast(name, shapes.broadcast(name, x.shape, lo.shape), hi.shape), x.dtype


def _clip_vjp(g, out, x, lo, hi):
    if not dtypes.is_floating(g.dtype):
        return None, None, None
    zero = zeros_like_value(g)
    inside = logical_and(greater_equal(x, lo), less_equal(x, hi))
    below = less(x, lo)
    above = greater(x, hi)
    return (unbroadcast(where(inside, g, zero), x),
            unbroadcast(where(below, g, zero), lo),
            unbroadcast(where(above, g, zero), hi))


CLIP = defop("clip_by_value", ["x", "lo", "hi"], "xp.minimum(xp.maximum(x, lo), hi)",
             _clip_rule, _clip_vjp)


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any,
                  name: str | None = None) -> Any:
    """Clamp ``t`` to ``[clip_value_min, clip_value_max]``.

    Usage: ``aj.clip_by_value(x, 0.0, 1.0)``
    """
    return bind(CLIP, t, clip_value_min, clip_value_max)


def _cast_rule(name, x, *, dtype):
    return x.shape, dtype


def _cast_vjp(g, out, x, *, dtype):
    if isinstance(x, (bool, int, float)) or not dtypes.is_floating(x.dtype):
        return (None,)
    if not dtypes.is_floating(dtype):
        return (None,)
    return (cast(g, x.dtype),)


CAST = defop("cast", ["x"], "x.astype(dtype)", _cast_rule, _cast_vjp, attrs=("dtype",),
             scalars=True)


def cast(x: Any, dtype: Any, name: str | None = None) -> Any:
    """Convert ``x`` to ``dtype`` (floats to ints truncate toward zero).

    Usage: ``aj.cast(x, aj.int32)``
    """
    dt = dtypes.as_dtype(dtype)
    if isinstance(x, (list, tuple)):  # Python data or a list of tensors: one tensor first
        from autojit.ops.creation import constant  # creation builds on math: import late

        x = constant(x)
    if getattr(x, "dtype", None) == dt and not getattr(x, "_is_variable", False):
        return x  # a Variable goes through the op: a snapshot, not the live Variable
    return bind(CAST, x, dtype=dt)


# ----------------------------------------------------------------------------- helpers for VJPs


ZEROS_LIKE = defop("zeros_like", ["x"], "xp.zeros_like(x)", lambda name, x: (x.shape, x.dtype))
ONES_LIKE = defop("ones_like", ["x"], "xp.ones_like(x)", lambda name, x: (x.shape, x.dtype))


def zeros_like_value(x: Any) -> Any:
    """Zeros of ``x``'s shape, dtype and device (the op behind ``aj.zeros_like``)."""
    return bind(ZEROS_LIKE, x)


def ones_like_value(x: Any) -> Any:
    """Ones of ``x``'s shape, dtype and device (the op behind ``aj.ones_like``)."""
    return bind(ONES_LIKE, x)
