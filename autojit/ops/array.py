"""Array ops: creation, shape manipulation and indexing."""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import bind, defop, to_numpy_constant

# ----------------------------------------------------------------------------- creation

CONSTANT = defop("constant", [], "xp.asarray(value)",
                 lambda name, *, value: (value.shape, value.dtype), attrs=("value",))


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Any:
    """A tensor holding a copy of ``value`` (Python floats become float32, ints int32, as TF).

    Usage: ``aj.constant([[1.0, 2.0]])``, ``aj.constant(0, dtype=aj.float64, shape=(2, 2))``
    """
    if hasattr(value, "_array") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        value = value.numpy()  # a Tensor: constant() copies its value
    array = np.array(to_numpy_constant(value, dtype), copy=True)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == shapes.size(shape):
            array = array.reshape(shape)
        else:
            raise ShapeError(f"constant: cannot make a tensor of shape {shapes.fmt(shape)} "
                             f"from {array.size} values")
    return bind(CONSTANT, value=array)


def _static_shape(op_name: str, shape: Any) -> tuple:
    if hasattr(shape, "numpy") and hasattr(shape, "dtype"):
        shape = shape.numpy()  # concrete shape tensor (eager)
    try:
        dims = tuple(int(d) for d in (shape if np.ndim(shape) else [shape]))
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{op_name}: expected a shape such as (3, 4), "
                                   f"got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"{op_name}: dimensions must be >= 0, got {dims}")
    return dims


ZEROS = defop("zeros", [], "xp.zeros(shape, dtype)", lambda name, *, shape, dtype: (shape, dtype),
              attrs=("shape", "dtype"))
ONES = defop("ones", [], "xp.ones(shape, dtype)", lambda name, *, shape, dtype: (shape, dtype),
             attrs=("shape", "dtype"))


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """A tensor of zeros. Usage: ``aj.zeros((2, 3))``"""
    return bind(ZEROS, shape=_static_shape("zeros", shape), dtype=dtypes.as_dtype(dtype))


def ones(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """A tensor of ones. Usage: ``aj.ones((2, 3), dtype=aj.int32)``"""
    return bind(ONES, shape=_static_shape("ones", shape), dtype=dtypes.as_dtype(dtype))


def zeros_like(input: Any, dtype: Any = None, name: str | None = None) -> Any:  # noqa: A002
    """Zeros with the shape (and dtype, unless given) of ``input``. Usage: ``aj.zeros_like(x)``"""
    from autojit.ops.math import cast, zeros_like_value

    out = zeros_like_value(input)
    return out if dtype is None else cast(out, dtype)


def ones_like(input: Any, dtype: Any = None, name: str | None = None) -> Any:  # noqa: A002
    """Ones with the shape (and dtype, unless given) of ``input``. Usage: ``aj.ones_like(x)``"""
    from autojit.ops.math import cast, ones_like_value

    out = ones_like_value(input)
    return out if dtype is None else cast(out, dtype)


# ----------------------------------------------------------------------------- shape ops


def _reshape_rule(name, x, *, shape):
    return _resolve_reshape(name, x.shape, shape), x.dtype


def _resolve_reshape(name, old, new):
    new = tuple(new)
    if new.count(-1) > 1:
        raise InvalidArgumentError(f"{name}: at most one -1 allowed in shape {list(new)}")
    total = shapes.size(old)
    if -1 in new:
        rest = shapes.size(tuple(d for d in new if d != -1))
        if total is None or rest is None:
            return tuple(None if d == -1 else d for d in new)
        if rest == 0 or total % rest:
            raise ShapeError(f"{name}: cannot reshape a tensor of shape {shapes.fmt(old)} "
                             f"({total} elements) to {list(new)}")
        return tuple(total // rest if d == -1 else d for d in new)
    if total is not None and shapes.size(new) != total:
        raise ShapeError(f"{name}: cannot reshape a tensor of shape {shapes.fmt(old)} "
                         f"({total} elements) to {list(new)} ({shapes.size(new)} elements)")
    return new


RESHAPE = defop("reshape", ["x"], "xp.reshape(x, shape)", _reshape_rule,
                lambda g, out, x, *, shape: (reshape_like(g, x),), attrs=("shape",))
RESHAPE_LIKE = defop("reshape_like", ["x", "like"], "xp.reshape(x, like.shape)",
                     lambda name, x, like: (like.shape, x.dtype),
                     lambda g, out, x, like: (reshape_like(g, x), None))


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Any:
    """The same values in a new shape (one dim may be -1). Usage: ``aj.reshape(x, (-1, 784))``"""
    return bind(RESHAPE, tensor, shape=tuple(int(d) for d in _static_shape_allow_neg(shape)))


def _static_shape_allow_neg(shape):
    if hasattr(shape, "numpy") and hasattr(shape, "dtype"):
        shape = shape.numpy()
    return tuple(int(d) for d in (shape if np.ndim(shape) else [shape]))


def reshape_like(x: Any, like: Any) -> Any:
    """``x`` reshaped to ``like``'s shape (used by VJPs; works with unknown dims in graphs)."""
    if x.shape == like.shape and None not in x.shape:
        return x
    return bind(RESHAPE_LIKE, x, like)


def expand_dims_many(x: Any, axes: tuple) -> Any:
    """``x`` with size-1 dims inserted at each of the (sorted, final-rank) ``axes``."""
    out = x
    for axis in axes:
        out = expand_dims(out, axis)
    return out


def _expand_rule(name, x, *, axis):
    ndim = len(x.shape) + 1
    a = shapes.normalize_axis(name, axis, ndim)
    return x.shape[:a] + (1,) + x.shape[a:], x.dtype


EXPAND_DIMS = defop("expand_dims", ["x"], "xp.expand_dims(x, axis)", _expand_rule,
                    lambda g, out, x, *, axis: (reshape_like(g, x),), attrs=("axis",))


def expand_dims(input: Any, axis: int, name: str | None = None) -> Any:  # noqa: A002
    """Insert a size-1 dim at ``axis``. Usage: ``aj.expand_dims(x, 0)``"""
    return bind(EXPAND_DIMS, input, axis=axis)


def size_along(x: Any, axes: tuple) -> Any:
    """The number of elements in the given axes of ``x``, as an int32 scalar tensor."""
    if all(x.shape[a] is not None for a in axes):
        n = 1
        for a in axes:
            n *= x.shape[a]
        return constant(n)
    return bind(SIZE_ALONG, x, axes=axes)


SIZE_ALONG = defop("size_along", ["x"], "_size_along(xp, x, axes)",
                   lambda name, x, *, axes: ((), dtypes.int32), attrs=("axes",),
                   namespace={"_size_along": lambda xp, x, axes: xp.asarray(
                       int(np.prod([x.shape[a] for a in axes])), dtype=np.int32)})


def _unstack_rule(name, x, *, axis, num):
    return [(x.shape[:axis] + x.shape[axis + 1:], x.dtype)] * num


def _unstack_vjp(gs, outs, x, *, axis, num):
    from autojit.ops.math import zeros_like_value

    parts = [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]
    return (stack(parts, axis=axis),)


UNSTACK = defop("unstack", ["x"], "_unstack(xp, x, axis)", _unstack_rule, _unstack_vjp,
                attrs=("axis", "num"), multiple=True,
                namespace={"_unstack": lambda xp, x, axis: tuple(xp.moveaxis(x, axis, 0))})


def unstack(value: Any, num: int | None = None, axis: int = 0, name: str | None = None) -> list:
    """Split a tensor into a list of tensors along ``axis``. Usage: ``rows = aj.unstack(x)``"""
    axis = shapes.normalize_axis("unstack", axis, len(value.shape))
    n = value.shape[axis] if num is None else num
    if n is None:
        raise ShapeError("unstack: the size of the unstacked axis must be known "
                         f"(shape {shapes.fmt(value.shape)}); pass num=")
    return list(bind(UNSTACK, value, axis=axis, num=n))


def _stack_rule(name, *xs, axis):
    if not xs:
        raise InvalidArgumentError(f"{name}: expected at least one tensor")
    dt = dtypes.same_dtype(name, tuple(x.dtype for x in xs))
    shape = xs[0].shape
    for x in xs[1:]:
        if len(x.shape) != len(shape) or any(
                a is not None and b is not None and a != b for a, b in zip(x.shape, shape)):
            raise ShapeError(f"{name}: all tensors need the same shape, got "
                             f"{shapes.fmt(shape)} and {shapes.fmt(x.shape)}")
    a = shapes.normalize_axis(name, axis, len(shape) + 1)
    return shape[:a] + (len(xs),) + shape[a:], dt


STACK = defop("stack", ["*values"], "xp.stack(values, axis=axis)", _stack_rule,
              lambda g, out, *xs, axis: tuple(unstack(g, num=len(xs), axis=axis)),
              attrs=("axis",))


def stack(values: list, axis: int = 0, name: str | None = None) -> Any:
    """Join equal-shaped tensors along a new axis. Usage: ``aj.stack([a, b], axis=1)``"""
    return bind(STACK, *values, axis=axis)


# ----------------------------------------------------------------------------- indexing

def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` for ints, slices, None and ``...`` (basic indexing)."""
    key = key if isinstance(key, tuple) else (key,)
    return bind(GETITEM, x, key=key)


def _getitem_rule(name, x, *, key):
    probe = np.empty([1 if d is None else d for d in x.shape], dtype=np.bool_)
    try:
        result = probe[key]
    except IndexError as exc:
        raise InvalidArgumentError(f"getitem: index {key!r} is invalid for a tensor of shape "
                                   f"{shapes.fmt(x.shape)} ({exc})") from None
    return result.shape, x.dtype


def _scatter_basic(xp, g, like, key):
    out = xp.zeros(like.shape, g.dtype)
    out[key] = g
    return out


SCATTER_BASIC = defop("getitem_grad", ["g", "like"], "_scatter_basic(xp, g, like, key)",
                      lambda name, g, like, *, key: (like.shape, g.dtype),
                      lambda g, out, gin, like, *, key: (getitem(g, key), None),
                      attrs=("key",), namespace={"_scatter_basic": _scatter_basic})
GETITEM = defop("getitem", ["x"], "x[key]", _getitem_rule,
                lambda g, out, x, *, key: (bind(SCATTER_BASIC, g, x, key=key),),
                attrs=("key",))


# ----------------------------------------------------------------------------- identity

IDENTITY = defop("identity", ["x"], "x", lambda name, x: (x.shape, x.dtype),
                 lambda g, out, x: (g,))
STOP_GRADIENT = defop("stop_gradient", ["x"], "x", lambda name, x: (x.shape, x.dtype),
                      lambda g, out, x: (None,))


def identity(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The same value (a new tensor). Usage: ``aj.identity(x)``"""
    return bind(IDENTITY, input)


def stop_gradient(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The same value, but gradients do not flow through it. Usage: ``aj.stop_gradient(t)``"""
    return bind(STOP_GRADIENT, input)
