"""Cumulative ops: ``cumsum`` and ``cumprod`` along an axis, with TF's ``exclusive`` and
``reverse`` (``aj.math.cumsum``, ``aj.math.cumprod``).

The VJP of a cumulative sum is the cumulative sum of the cotangent the other way round.
The VJP of a cumulative product is exact also where inputs are zero (Note [Cumprod VJP]),
where TF's ``reverse_cumsum(g * out) / x`` gives NaN.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import bind, defop
from autojit.ops.math import (cast, divide, equal, logical_and, logical_not, multiply,
                              ones_like_value, where, zeros_like_value)


def _scan_rule(name, x, *, axis, exclusive, reverse):
    if x.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected a numeric tensor, got bool; use aj.cast(x, aj.int32)")
    if not x.shape:
        raise ShapeError(f"{name}: expected a tensor of rank >= 1, got a scalar")
    return x.shape, x.dtype


def _scan(xp, x, axis, exclusive, reverse, product):
    if reverse:
        x = xp.flip(x, axis)
    out = (xp.cumprod if product else xp.cumsum)(x, axis=axis, dtype=x.dtype)
    if exclusive and x.shape[axis]:  # shift by one along the axis, the identity first
        out = xp.roll(out, 1, axis=axis)
        first = (slice(None),) * axis + (0,)
        out[first] = 1 if product else 0
    return xp.flip(out, axis) if reverse else out


def _cumsum_vjp(g, out, x, *, axis, exclusive, reverse):
    if not dtypes.is_floating(g.dtype):
        return (None,)
    return (cumsum(g, axis, exclusive=exclusive, reverse=not reverse),)


CUMSUM = defop("cumsum", ["x"], "_scan(xp, x, axis, exclusive, reverse, False)", _scan_rule,
               _cumsum_vjp, attrs=("axis", "exclusive", "reverse"), namespace={"_scan": _scan})


def cumsum(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: str | None = None) -> Any:
    """Running sums along ``axis``: ``[a, a+b, a+b+c]``; ``exclusive`` starts from 0
    (``[0, a, a+b]``), ``reverse`` sums from the end.

    Usage: ``aj.math.cumsum(x, axis=1)``, ``aj.cumsum(x, exclusive=True, reverse=True)``
    """
    return bind(CUMSUM, x, **_attrs("cumsum", x, axis, exclusive, reverse))


def _attrs(name, x, axis, exclusive, reverse):
    ndim = len(x.shape) if hasattr(x, "shape") else 0
    return {"axis": shapes.normalize_axis(name, axis, max(ndim, 1)),
            "exclusive": bool(exclusive), "reverse": bool(reverse)}


# Note [Cumprod VJP]: along the scan, let z be the position of the first zero. For i < z,
# d out_j / d x_i = out_j / x_i (x_i != 0 there, and every out_j with j >= z is 0 either
# way), so the cotangent is rev_cumsum(g * out) / x. For i = z it is the same sum over the
# products that skip x_z: rev_cumsum(g * out1) with out1 = cumprod(x with x_z set to 1).
# For i > z every product holds x_z = 0: the cotangent is 0. All three are autojit ops
# (cumprod among them), so second derivatives are exact too.
def _cumprod_vjp(g, out, x, *, axis, reverse):
    if not dtypes.is_floating(g.dtype):
        return (None,)
    scan = {"axis": axis, "reverse": reverse}
    back = {"axis": axis, "reverse": not reverse}
    zero = equal(x, 0)
    zeros_before = cumsum(cast(zero, x.dtype), exclusive=True, **scan)
    none_before = equal(zeros_before, 0)
    before_first = logical_and(none_before, logical_not(zero))
    first_zero = logical_and(zero, none_before)
    one = ones_like_value(x)
    safe_x = where(before_first, x, one)
    out1 = bind(CUMPROD, where(first_zero, one, x), **scan)
    before = divide(cumsum(multiply(g, out), **back), safe_x)
    at = cumsum(multiply(g, out1), **back)
    zero_ct = zeros_like_value(x)
    return (where(before_first, before, where(first_zero, at, zero_ct)),)


# Inclusive only: ``cumprod(exclusive=True)`` is built from it (see below).
CUMPROD = defop("cumprod", ["x"], "_scan(xp, x, axis, False, reverse, True)",
                lambda name, x, *, axis, reverse: _scan_rule(name, x, axis=axis, exclusive=False,
                                                             reverse=reverse),
                _cumprod_vjp, attrs=("axis", "reverse"), namespace={"_scan": _scan})


def cumprod(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
            name: str | None = None) -> Any:
    """Running products along ``axis``: ``[a, a*b, a*b*c]``; ``exclusive`` starts from 1
    (``[1, a, a*b]``), ``reverse`` multiplies from the end. Gradients are exact at zeros.

    Usage: ``aj.math.cumprod(x, axis=-1)``, ``aj.math.cumprod(decay, exclusive=True)``
    """
    attrs = _attrs("cumprod", x, axis, exclusive, reverse)
    if attrs["exclusive"]:
        # exclusive = inclusive of the inputs shifted one step along the scan (a 1 first):
        # built from ops, so the zero-exact VJP above serves both forms.
        return _exclusive_cumprod(x, attrs["axis"], attrs["reverse"])
    return bind(CUMPROD, x, axis=attrs["axis"], reverse=attrs["reverse"])


def _exclusive_cumprod(x, axis, reverse):
    from autojit.ops.array import concat, getitem

    lead = (slice(None),) * axis
    if reverse:
        shifted = concat([getitem(x, lead + (slice(1, None),)),
                          ones_like_value(getitem(x, lead + (slice(0, 1),)))], axis)
    else:
        shifted = concat([ones_like_value(getitem(x, lead + (slice(0, 1),))),
                          getitem(x, lead + (slice(None, -1),))], axis)
    return bind(CUMPROD, shifted, axis=axis, reverse=reverse)
