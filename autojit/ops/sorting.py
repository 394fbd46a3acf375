"""Sorting: ``sort``, ``argsort`` (``direction="ASCENDING"|"DESCENDING"``, stable), the
``take_along_axis`` op their gradients use, and ``math.top_k`` (values and indices).

Ties keep their input order in both directions (the lower index first), as TF's
``argsort(stable=True)`` and ``top_k`` do.
"""

from __future__ import annotations

import collections
from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import check_index_range

_DIRECTIONS = ("ASCENDING", "DESCENDING")


def _sortable_rule(name, x, *, axis, descending, **_):
    if x.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected a numeric tensor, got bool; use aj.cast(x, aj.int32)")
    if not x.shape:
        raise ShapeError(f"{name}: expected a tensor of rank >= 1, got a scalar")
    return x.shape, x.dtype


def _argsort(xp, x, axis, descending):
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    # Stable descending: sort the reversed values ascending, reverse the order back, and
    # map positions in the reversed array to the original ones (ties: lower index first).
    n = x.shape[axis]
    order = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(order, axis)


def _sort(xp, x, axis, descending):
    out = xp.sort(x, axis=axis)
    return xp.flip(out, axis) if descending else out


ARGSORT = defop("argsort", ["x"], "_argsort(xp, x, axis, descending).astype(xp.int32)",
                lambda name, x, *, axis, descending: (
                    _sortable_rule(name, x, axis=axis, descending=descending)[0], dtypes.int32),
                attrs=("axis", "descending"), namespace={"_argsort": _argsort})


def _sort_vjp(g, out, x, *, axis, descending):
    if not dtypes.is_floating(g.dtype):
        return (None,)
    order = bind(ARGSORT, x, axis=axis, descending=descending)
    return (bind(TAKE_ALONG_AXIS_GRAD, g, order, x, axis=axis),)


SORT = defop("sort", ["x"], "_sort(xp, x, axis, descending)", _sortable_rule, _sort_vjp,
             attrs=("axis", "descending"), namespace={"_sort": _sort})


def _direction(name: str, direction: Any) -> bool:
    if direction not in _DIRECTIONS:
        raise InvalidArgumentError(f"{name}: direction must be 'ASCENDING' or 'DESCENDING', "
                                   f"got {direction!r}")
    return direction == "DESCENDING"


def _sort_attrs(name, values, axis, direction):
    x = as_operand(values)
    ndim = len(x.shape)
    if ndim == 0:
        raise ShapeError(f"{name}: expected a tensor of rank >= 1, got a scalar")
    return x, {"axis": shapes.normalize_axis(name, axis, ndim),
               "descending": _direction(name, direction)}


def sort(values: Any, axis: int = -1, direction: str = "ASCENDING",
         name: str | None = None) -> Any:
    """``values`` sorted along ``axis``; the gradient goes back to where each value came
    from. Usage: ``aj.sort(x)``, ``aj.sort(scores, direction="DESCENDING")``
    """
    x, attrs = _sort_attrs("sort", values, axis, direction)
    return bind(SORT, x, **attrs)


def argsort(values: Any, axis: int = -1, direction: str = "ASCENDING", stable: bool = False,
            name: str | None = None) -> Any:
    """The int32 indices that sort ``values`` along ``axis`` (always stable: ties keep
    their order). Usage: ``order = aj.argsort(x, direction="DESCENDING")``
    """
    x, attrs = _sort_attrs("argsort", values, axis, direction)
    return bind(ARGSORT, x, **attrs)


# ----------------------------------------------------------------------------- take_along_axis


def _take_rule(name, x, indices, *, axis):
    if not dtypes.is_integer(indices.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 indices, got {indices.dtype.name}")
    if len(indices.shape) != len(x.shape):
        raise ShapeError(f"{name}: expected indices of the rank of x {shapes.fmt(x.shape)}, "
                         f"got {shapes.fmt(indices.shape)}")
    out = []
    for i, (d, k) in enumerate(zip(x.shape, indices.shape)):
        if i != axis and d is not None and k is not None and d != k:
            raise ShapeError(f"{name}: indices {shapes.fmt(indices.shape)} and x "
                             f"{shapes.fmt(x.shape)} differ in dimension {i}")
        out.append(k if i == axis else (d if d is not None else k))
    return tuple(out), x.dtype


def _take_check(name, x, indices, *, axis):
    d = x.shape[axis]
    check_index_range(name, indices, d, f"axis {axis} of size {d} (shape "
                      f"{shapes.fmt(x.shape)})", negative=False)


def _take_grad(xp, g, indices, like, axis):
    out = xp.zeros(like.shape, g.dtype)
    ndim = len(indices.shape)  # an open grid over the other axes (CuPy has no sparse indices)
    grid = [xp.arange(n).reshape((1,) * i + (n,) + (1,) * (ndim - i - 1))
            for i, n in enumerate(indices.shape)]
    grid[axis] = xp.asarray(indices)
    xp.add.at(out, tuple(grid), g)  # repeated indices add up
    return out


TAKE_ALONG_AXIS = defop(
    "take_along_axis", ["x", "indices"], "xp.take_along_axis(x, xp.asarray(indices), axis)",
    _take_rule,
    lambda g, out, x, indices, *, axis: (bind(TAKE_ALONG_AXIS_GRAD, g, indices, x, axis=axis),
                                         None),
    attrs=("axis",), check=_take_check)
TAKE_ALONG_AXIS_GRAD = defop(
    "take_along_axis_grad", ["g", "indices", "like"], "_take_grad(xp, g, indices, like, axis)",
    lambda name, g, indices, like, *, axis: (like.shape, g.dtype),
    lambda gg, out, g, indices, like, *, axis: (
        bind(TAKE_ALONG_AXIS, gg, indices, axis=axis), None, None),
    attrs=("axis",), namespace={"_take_grad": _take_grad})


def take_along_axis(x: Any, indices: Any, axis: int) -> Any:
    """``x`` picked along ``axis`` at ``indices`` (same rank as ``x``), as
    ``np.take_along_axis``. Usage: ``take_along_axis(x, aj.argsort(x), axis=-1)``
    """
    x = as_operand(x)
    indices = as_operand(indices)
    axis = shapes.normalize_axis("take_along_axis", axis, max(len(x.shape), 1))
    return bind(TAKE_ALONG_AXIS, x, indices, axis=axis)


# ----------------------------------------------------------------------------- top_k


def top_k(input: Any, k: int = 1, sorted: bool = True,  # noqa: A002
          name: str | None = None) -> tuple:
    """The ``k`` largest entries of the last axis and their int32 indices, largest first
    (ties: the lower index first), as ``tf.math.top_k``.

    Usage: ``values, indices = aj.math.top_k(logits, k=5)``
    """
    x = as_operand(input)
    k = shapes.python_int("top_k", k, "k")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InvalidArgumentError(f"top_k: expected k >= 0 as a Python int, got {k!r}")
    if not x.shape:
        raise ShapeError("top_k: expected a tensor of rank >= 1, got a scalar")
    n = x.shape[-1]
    if n is not None and k > n:
        raise InvalidArgumentError(f"top_k: k = {k} is larger than the last dimension {n} of "
                                   f"the input (shape {shapes.fmt(x.shape)})")
    from autojit.ops.indexing import getitem

    axis = len(x.shape) - 1
    order = bind(ARGSORT, x, axis=axis, descending=True)
    indices = getitem(order, (Ellipsis, slice(0, k)))
    return TopK(bind(TAKE_ALONG_AXIS, x, indices, axis=axis), indices)


# A namedtuple, so ``values``/``indices`` survive nest.flatten/pack_as (graph outputs).
TopK = collections.namedtuple("TopK", ["values", "indices"])
TopK.__doc__ = "``(values, indices)`` of ``top_k``, also reachable as ``.values`` / ``.indices``."
