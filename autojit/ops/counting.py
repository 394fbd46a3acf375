"""Values and counts: ``unique``, ``unique_with_counts``, ``math.bincount`` and
``searchsorted``.

``unique`` and ``bincount`` have a length known only from the values: eagerly it is exact,
inside ``@aj.function`` it is an unknown dim (as ``boolean_mask``), unless ``bincount``'s
``minlength`` and ``maxlength`` fix it. ``unique`` keeps the order in which values first
occur, as TF (``np.unique`` sorts). None of them has a gradient except ``bincount`` with
``weights`` (each weight's gradient is its bin's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import _is_concrete


def _unique(xp, x, out_idx, counts):
    values, first, inverse, count = np.unique(
        xp.asnumpy(x) if xp is not np else x, return_index=True, return_inverse=True,
        return_counts=True)
    order = np.argsort(first, kind="stable")  # by first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    out = (xp.asarray(values[order]), xp.asarray(rank[inverse.reshape(-1)].astype(out_idx)))
    return out + ((xp.asarray(count[order].astype(out_idx)),) if counts else ())


def _unique_rule(name, x, *, out_idx, counts):
    if len(x.shape) != 1:
        raise ShapeError(f"{name}: expected a 1-D tensor, got shape {shapes.fmt(x.shape)}")
    if out_idx not in (dtypes.int32, dtypes.int64):
        raise DTypeError(f"{name}: out_idx must be int32 or int64, got {out_idx.name}")
    n = len(set(np.asarray(x).tolist())) if _is_concrete(x) else None
    out = [((n,), x.dtype), (x.shape, out_idx)]
    return out + ([((n,), out_idx)] if counts else [])


UNIQUE = defop("unique", ["x"], "_unique(xp, x, out_idx, counts)", _unique_rule,
               attrs=("out_idx", "counts"), multiple=True, namespace={"_unique": _unique})


def unique(x: Any, out_idx: Any = dtypes.int32, name: str | None = None) -> tuple:
    """``(y, idx)``: the distinct values of the 1-D ``x`` in the order they first occur, and
    for each entry of ``x`` its position in ``y`` (``x == y[idx]``), as ``tf.unique``.

    Usage: ``y, idx = aj.unique(aj.constant([1, 1, 2, 4, 4, 4, 7, 8, 8]))``
    """
    y, idx = bind(UNIQUE, as_operand(x), out_idx=dtypes.as_dtype(out_idx), counts=False)
    return y, idx


def unique_with_counts(x: Any, out_idx: Any = dtypes.int32, name: str | None = None) -> tuple:
    """``(y, idx, count)``: ``unique``, and how often each value occurs.

    Usage: ``y, idx, count = aj.unique_with_counts(labels)``
    """
    y, idx, count = bind(UNIQUE, as_operand(x), out_idx=dtypes.as_dtype(out_idx), counts=True)
    return y, idx, count


# ----------------------------------------------------------------------------- bincount


def _bincount_length(arr, minlength, maxlength):
    length = int(arr.max()) + 1 if arr.size else 0
    length = max(length, minlength or 0)
    return length if maxlength is None else min(length, maxlength)


def _bincount(xp, arr, weights, minlength, maxlength, dtype):
    length = _bincount_length(arr, minlength, maxlength)
    keep = arr < length
    out = xp.zeros((length,), dtype)
    xp.add.at(out, arr[keep], weights[keep] if weights.ndim else 1)
    return out


def _bincount_rule(name, arr, weights, *, minlength, maxlength, dtype):
    if not dtypes.is_integer(arr.dtype):
        raise DTypeError(f"{name}: expected integer values, got {arr.dtype.name}")
    if weights.shape != () and (len(weights.shape) != len(arr.shape) or any(
            a is not None and b is not None and a != b for a, b in zip(weights.shape,
                                                                        arr.shape))):
        raise ShapeError(f"{name}: weights must have the shape of arr, got "
                         f"{shapes.fmt(weights.shape)} and {shapes.fmt(arr.shape)}")
    if minlength is not None and minlength == maxlength:
        length = minlength
    elif _is_concrete(arr):
        length = _bincount_length(np.asarray(arr), minlength, maxlength)
    else:
        length = None
    return (length,), dtype


def _bincount_check(name, arr, weights, *, minlength, maxlength, dtype):
    if arr.size and int(arr.min()) < 0:
        raise InvalidArgumentError(f"{name}: values must be non-negative, got "
                                   f"{int(arr.min())}")


def _bincount_vjp(g, out, arr, weights, *, minlength, maxlength, dtype):
    if weights.shape == () or not dtypes.is_floating(g.dtype):
        return None, None
    from autojit.ops.array import shape, zeros_like
    from autojit.ops.indexing import gather
    from autojit.ops.math import cast, less, minimum, subtract, where

    size = cast(shape(g)[0], arr.dtype)
    kept = less(arr, size)
    picked = gather(g, minimum(arr, subtract(size, 1)))
    return None, where(kept, picked, zeros_like(picked))


BINCOUNT = defop("bincount", ["arr", "weights"],
                 "_bincount(xp, arr, weights, minlength, maxlength, dtype)", _bincount_rule,
                 _bincount_vjp, attrs=("minlength", "maxlength", "dtype"),
                 namespace={"_bincount": _bincount}, checks_values=True,
                 check=_bincount_check)


def bincount(arr: Any, weights: Any = None, minlength: int | None = None,
             maxlength: int | None = None, dtype: Any = dtypes.int32,
             name: str | None = None) -> Any:
    """How often each value ``0, 1, ...`` occurs in ``arr`` (or the sum of its ``weights``),
    ``max(arr) + 1`` long at least ``minlength`` and at most ``maxlength`` (larger values are
    left out), as ``tf.math.bincount``. Usage: ``aj.math.bincount(labels, minlength=10)``
    """
    a = as_operand(arr)
    if weights is None:
        w = as_operand(np.zeros((), dtypes.as_dtype(dtype)))
        out_dtype = dtypes.as_dtype(dtype)
    else:
        w = as_operand(weights)
        out_dtype = w.dtype
    return bind(BINCOUNT, a, w, minlength=None if minlength is None else int(minlength),
                maxlength=None if maxlength is None else int(maxlength), dtype=out_dtype)


# ----------------------------------------------------------------------------- searchsorted


def _searchsorted(xp, sorted_sequence, values, side, out_type):
    if sorted_sequence.ndim == 1:
        return xp.searchsorted(sorted_sequence, values, side=side).astype(out_type)
    rows = sorted_sequence.reshape(-1, sorted_sequence.shape[-1])
    found = [xp.searchsorted(r, v, side=side) for r, v in
             zip(rows, values.reshape(-1, values.shape[-1]))]
    return xp.stack(found).reshape(values.shape).astype(out_type)


def _searchsorted_rule(name, sorted_sequence, values, *, side, out_type):
    if not sorted_sequence.shape or not values.shape:
        raise ShapeError(f"{name}: expected sorted_sequence and values of rank >= 1, got "
                         f"{shapes.fmt(sorted_sequence.shape)} and {shapes.fmt(values.shape)}")
    if len(sorted_sequence.shape) != len(values.shape) or any(
            a is not None and b is not None and a != b
            for a, b in zip(sorted_sequence.shape[:-1], values.shape[:-1])):
        raise ShapeError(f"{name}: sorted_sequence {shapes.fmt(sorted_sequence.shape)} and "
                         f"values {shapes.fmt(values.shape)} must have the same leading dims")
    if sorted_sequence.dtype != values.dtype:
        raise DTypeError(f"{name}: sorted_sequence and values must have one dtype, got "
                         f"{sorted_sequence.dtype.name} and {values.dtype.name}")
    return values.shape, out_type


SEARCHSORTED = defop("searchsorted", ["sorted_sequence", "values"],
                     "_searchsorted(xp, sorted_sequence, values, side, out_type)",
                     _searchsorted_rule, attrs=("side", "out_type"),
                     namespace={"_searchsorted": _searchsorted})


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left",
                 out_type: Any = dtypes.int32, name: str | None = None) -> Any:
    """Where each of ``values`` would go in the sorted last axis of ``sorted_sequence`` to
    keep it sorted (``side="right"``: after equal entries), row by row, as
    ``tf.searchsorted``. Usage: ``aj.searchsorted(aj.constant([1.0, 3.0]), aj.constant([2.0]))``
    """
    if side not in ("left", "right"):
        raise InvalidArgumentError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq = as_operand(sorted_sequence)
    return bind(SEARCHSORTED, seq, as_operand(values, seq.dtype), side=side,
                out_type=dtypes.as_dtype(out_type))


__all__ = ["bincount", "searchsorted", "unique", "unique_with_counts"]
