"""Shape arithmetic for op rules: broadcasting, axes, reductions (``None`` = unknown dim)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from autojit.errors import InvalidArgumentError, ShapeError

Shape = tuple


def fmt(shape: Sequence) -> str:
    """``[3, ?]``: a shape as error messages print it."""
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def broadcast(op_name: str, a: Shape, b: Shape) -> Shape:
    """The broadcast of two shapes, or a ShapeError naming the op and both shapes."""
    if a == b:
        return a
    if not a:
        return b
    if not b:
        return a
    n = max(len(a), len(b))
    a2 = (1,) * (n - len(a)) + tuple(a)
    b2 = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a2, b2):
        if x == y:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None:
            out.append(x)
        else:
            raise ShapeError(f"{op_name}: shapes {fmt(a)} and {fmt(b)} cannot be broadcast "
                             f"together (dimension {x} vs {y})")
    return tuple(out)


def python_int(op_name: str, value, what: str):
    """``value`` as a Python int when it is a NumPy int or a scalar int tensor whose value is
    known (Note [Known values] in graph/tracer.py); anything else as it is, for the caller's
    error. Usage: ``k = python_int("top_k", k, "k")``"""
    if hasattr(value, "_array") and hasattr(value, "dtype"):
        if value.dtype.kind in "iu" and not value.shape:
            from autojit.ops.core import concrete  # import late: core's users import shapes

            return int(concrete(op_name, value, what, "a Python int"))
        return value
    if isinstance(value, np.integer):
        return int(value)
    return value


def normalize_axis(op_name: str, axis: int, ndim: int) -> int:
    """``axis`` as a non-negative index into ``ndim`` dims, or a clear error. A NumPy int
    counts, and so does a scalar int tensor whose value is known (eagerly, or while
    tracing from static shapes)."""
    if type(axis) is not int:
        axis = python_int(op_name, axis, "axis")
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise InvalidArgumentError(f"{op_name}: expected an integer axis, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"{op_name}: axis {axis} is out of range for a tensor of "
                                   f"rank {ndim} (expected -{ndim} <= axis < {ndim})")
    return axis % ndim if ndim else 0


def normalize_axes(op_name: str, axis, ndim: int) -> tuple:
    """``axis`` (None, int or sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (list, tuple)):
        axes = tuple(sorted({normalize_axis(op_name, a, ndim) for a in axis}))
        if len(axes) != len(axis):
            raise InvalidArgumentError(f"{op_name}: repeated axis in {axis!r}")
        return axes
    return (normalize_axis(op_name, axis, ndim),)


def reduced(shape: Shape, axes: tuple, keepdims: bool) -> Shape:
    """The shape left after reducing ``axes``."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def known(shape: Shape) -> bool:
    """True when every dim is known."""
    return None not in shape


def size(shape: Shape):
    """Number of elements, or None when a dim is unknown."""
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= d
    return n
