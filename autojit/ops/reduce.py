"""Reductions: reduce_sum/mean/max/min/prod/any/all and argmax/argmin (axis, keepdims)."""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError
from autojit.ops import shapes
from autojit.ops.core import bind, defop
from autojit.ops.math import (broadcast_like, cast, divide, equal, multiply, where,
                              zeros_like_value)


def _reduce_rule(name, x, *, axis, keepdims):
    if x.dtype == dtypes.bool and name not in ("reduce_any", "reduce_all"):
        raise DTypeError(f"{name}: expected a numeric tensor, got bool; use aj.cast(x, aj.int32)")
    if name in ("reduce_any", "reduce_all") and x.dtype != dtypes.bool:
        raise DTypeError(f"{name}: expected a bool tensor, got {x.dtype.name}")
    if name == "reduce_mean" and not dtypes.is_floating(x.dtype):
        dt = x.dtype  # integer mean truncates, as TF
    else:
        dt = x.dtype
    return shapes.reduced(x.shape, axis, keepdims), dt


def _keep(g, x, axis, keepdims):
    """``g`` with the reduced axes put back as size-1 dims (so it broadcasts against ``x``)."""
    if keepdims or not axis or axis == tuple(range(len(axis))):
        return g  # leading axes (or all of them) come back by broadcasting alone
    from autojit.ops.array import expand_dims_many  # array ops build on math; import late

    return expand_dims_many(g, axis)


def _sum_vjp(g, out, x, *, axis, keepdims):
    return (broadcast_like(_keep(g, x, axis, keepdims), x),)


def _mean_vjp(g, out, x, *, axis, keepdims):
    if not dtypes.is_floating(x.dtype):
        return (None,)
    from autojit.ops.array import size_along

    count = cast(size_along(x, axis), x.dtype)
    return (broadcast_like(divide(_keep(g, x, axis, keepdims), count), x),)


def _extreme_vjp(g, out, x, *, axis, keepdims):
    # The gradient is shared equally among ties, as TF does.
    if not dtypes.is_floating(x.dtype):
        return (None,)
    out_k = _keep(out, x, axis, keepdims)
    hit = cast(equal(x, out_k), x.dtype)
    count = bind(SUM, hit, axis=axis, keepdims=True)
    return (multiply(divide(hit, count), _keep(g, x, axis, keepdims)),)


def _prod_vjp(g, out, x, *, axis, keepdims):
    # d prod / d x_i = prod / x_i where x_i != 0; exact for at most one zero via a where.
    if not dtypes.is_floating(x.dtype):
        return (None,)
    from autojit.ops.math import ones_like_value

    zero = equal(x, 0)
    safe = where(zero, ones_like_value(x), x)
    prod_safe = bind(PROD, safe, axis=axis, keepdims=True)
    zeros_count = bind(SUM, cast(zero, x.dtype), axis=axis, keepdims=True)
    others = where(zero, where(equal(zeros_count, 1), prod_safe, zeros_like_value(prod_safe)),
                   where(equal(zeros_count, 0), divide(prod_safe, safe),
                         zeros_like_value(safe)))
    return (multiply(others, _keep(g, x, axis, keepdims)),)


SUM = defop("reduce_sum", ["x"], "x.sum(axis=axis, keepdims=keepdims, dtype=x.dtype)",
            _reduce_rule, _sum_vjp, attrs=("axis", "keepdims"))
MEAN = defop("reduce_mean", ["x"], "x.mean(axis=axis, keepdims=keepdims, dtype=x.dtype)",
             _reduce_rule, _mean_vjp, attrs=("axis", "keepdims"))
def _check_not_empty(name, x, axis):
    """The max/min/argmax/argmin of nothing is an error naming the op (NumPy's is "zero-size
    array to reduction operation maximum"). Dims may be unknown while tracing, so the
    kernels call this on values, only when ``x`` is empty (``x.size`` is a cheap test, where
    a value check would be a call per replay of a loop body)."""
    shape = tuple(x.shape)
    axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
    empty = [a for a in axes if shape[a] == 0]
    if empty:
        raise InvalidArgumentError(
            f"{name}: cannot reduce an empty tensor (shape {shapes.fmt(shape)}, axis "
            f"{empty[0]} has size 0); there is no largest or smallest element")
    return x


_NOT_EMPTY = {"_not_empty": _check_not_empty}


MAX = defop("reduce_max", ["x"], "(x if x.size else _not_empty('reduce_max', x, axis))"
            ".max(axis=axis, keepdims=keepdims)", _reduce_rule, _extreme_vjp,
            attrs=("axis", "keepdims"), namespace=_NOT_EMPTY)
MIN = defop("reduce_min", ["x"], "(x if x.size else _not_empty('reduce_min', x, axis))"
            ".min(axis=axis, keepdims=keepdims)", _reduce_rule, _extreme_vjp,
            attrs=("axis", "keepdims"), namespace=_NOT_EMPTY)
PROD = defop("reduce_prod", ["x"], "x.prod(axis=axis, keepdims=keepdims, dtype=x.dtype)",
             _reduce_rule, _prod_vjp, attrs=("axis", "keepdims"))
ANY = defop("reduce_any", ["x"], "x.any(axis=axis, keepdims=keepdims)", _reduce_rule,
            attrs=("axis", "keepdims"))
ALL = defop("reduce_all", ["x"], "x.all(axis=axis, keepdims=keepdims)", _reduce_rule,
            attrs=("axis", "keepdims"))


def _reduce(op, x, axis, keepdims):
    if not hasattr(x, "shape"):  # Python data, a list of tensors: convert before counting dims
        from autojit.ops.array import constant

        x = constant(x)
    axes = shapes.normalize_axes(op.name, axis, len(x.shape))
    return bind(op, x, axis=axes, keepdims=bool(keepdims))


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """Sum over ``axis`` (all axes when None). Usage: ``aj.reduce_sum(x, axis=1)``"""
    return _reduce(SUM, input_tensor, axis, keepdims)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                name: str | None = None) -> Any:
    """Mean over ``axis``. Usage: ``aj.reduce_mean(loss)``"""
    return _reduce(MEAN, input_tensor, axis, keepdims)


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """Maximum over ``axis``. Usage: ``aj.reduce_max(x, axis=-1)``"""
    return _reduce(MAX, input_tensor, axis, keepdims)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """Minimum over ``axis``. Usage: ``aj.reduce_min(x)``"""
    return _reduce(MIN, input_tensor, axis, keepdims)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                name: str | None = None) -> Any:
    """Product over ``axis``. Usage: ``aj.reduce_prod(x, axis=0)``"""
    return _reduce(PROD, input_tensor, axis, keepdims)


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """Logical OR over ``axis`` of a bool tensor. Usage: ``aj.reduce_any(x > 0)``"""
    return _reduce(ANY, input_tensor, axis, keepdims)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: bool = False,
               name: str | None = None) -> Any:
    """Logical AND over ``axis`` of a bool tensor. Usage: ``aj.reduce_all(x > 0)``"""
    return _reduce(ALL, input_tensor, axis, keepdims)


def _arg_rule(name, x, *, axis, output_type):
    if x.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected a numeric tensor, got bool")
    return shapes.reduced(x.shape, (axis,), False), output_type


ARGMAX = defop("argmax", ["x"], "(x if x.size else _not_empty('argmax', x, axis))"
               ".argmax(axis=axis).astype(output_type)", _arg_rule,
               attrs=("axis", "output_type"), namespace=_NOT_EMPTY)
ARGMIN = defop("argmin", ["x"], "(x if x.size else _not_empty('argmin', x, axis))"
               ".argmin(axis=axis).astype(output_type)", _arg_rule,
               attrs=("axis", "output_type"), namespace=_NOT_EMPTY)


def argmax(input: Any, axis: int = 0, output_type: Any = dtypes.int64,  # noqa: A002
           name: str | None = None) -> Any:
    """Index of the largest value along ``axis`` (int64 by default, as TF).

    Usage: ``aj.argmax(logits, axis=1)``
    """
    axis = shapes.normalize_axis("argmax", axis, len(input.shape))
    return bind(ARGMAX, input, axis=axis, output_type=dtypes.as_dtype(output_type))


def argmin(input: Any, axis: int = 0, output_type: Any = dtypes.int64,  # noqa: A002
           name: str | None = None) -> Any:
    """Index of the smallest value along ``axis``. Usage: ``aj.argmin(x, axis=0)``"""
    axis = shapes.normalize_axis("argmin", axis, len(input.shape))
    return bind(ARGMIN, input, axis=axis, output_type=dtypes.as_dtype(output_type))
