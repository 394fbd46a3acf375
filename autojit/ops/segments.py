"""Segment reductions, as ``tf.math``: ``segment_sum``/``_mean``/``_max``/``_min``/``_prod``
(sorted ids) and ``unsorted_segment_sum``/``_mean``/``_max``/``_min``/``_prod``/``_sqrt_n``.

One op per reduction serves both kinds: rows of ``data`` are reduced into the segment their id
names. With ``num_segments`` given (unsorted) the output has that many rows and negative ids
are dropped, as TF; without it (sorted) the ids must be non-negative and non-decreasing and the
output has ``max(id) + 1`` rows, a count known only from the values (``None`` in graphs).
``mean`` and ``sqrt_n`` are sums divided by counts. Empty segments hold what TF's documents
say: 0 for sums, means and the sorted max/min, 1 for products, and the lowest (max) or highest
(min) value of the dtype for ``unsorted_segment_max``/``_min``.

The max/min/prod kernels are one sort-based segmented scan (``segment_reduce``): elementwise
steps, a stable argsort and one scatter with distinct targets, so they run the same on NumPy
and CuPy (CuPy has no ``multiply.at``) and read nothing back to the host for unsorted ids.
VJPs follow TF's: max/min split the gradient among tied extremes, prod handles zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims_many
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import _is_concrete, check_index_range, gather, index_values
from autojit.ops.math import abs as absolute
from autojit.ops.math import (cast, divide, equal, floordiv, greater, greater_equal,
                              logical_and, maximum, multiply, ones_like_value, sign, sqrt, where,
                              zeros_like_value)


def _segment_rule(name, data, ids, *, num_segments):
    if not dtypes.is_integer(ids.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 segment ids, got {ids.dtype.name}")
    if data.dtype == dtypes.bool:
        raise DTypeError(f"{name}: expected numeric data, got bool; use aj.cast")
    k = len(ids.shape)
    if num_segments is None and k != 1:
        raise ShapeError(f"{name}: expected 1-D segment ids, got shape {shapes.fmt(ids.shape)}")
    lead = tuple(data.shape[:k])
    if k > len(data.shape) or k == 0 or any(
            a is not None and b is not None and a != b for a, b in zip(ids.shape, lead)):
        raise ShapeError(f"{name}: segment ids of shape {shapes.fmt(ids.shape)} must be a "
                         f"non-empty prefix of the data's shape {shapes.fmt(data.shape)}")
    rows = num_segments
    if rows is None and _is_concrete(ids):
        rows = int(ids.max()) + 1 if ids.size else 0
    return (rows,) + tuple(data.shape[k:]), data.dtype


def _segment_check(name, data, ids, *, num_segments):
    if num_segments is not None:
        # Negative ids are dropped (as TF): only ids >= num_segments are out of range.
        if ids.size and int(ids.max()) >= num_segments:
            check_index_range(name, ids, num_segments, lambda: f"{num_segments} segments",
                              negative=False, noun="segment id")
        return
    if ids.size and (int(ids.min()) < 0 or bool((ids[1:] < ids[:-1]).any())):
        raise InvalidArgumentError(f"{name}: segment ids must be non-negative and sorted "
                                   f"(non-decreasing); use aj.math.unsorted_{name} for "
                                   f"others, got {ids.ravel()[:8].tolist()}")


def _segment_sum(xp, data, ids, num_segments):
    ids = xp.asarray(ids)
    rows = num_segments
    if rows is None:
        rows = int(ids.max()) + 1 if ids.size else 0
    out = xp.zeros((rows,) + data.shape[ids.ndim:], data.dtype)
    keep = ids >= 0
    xp.add.at(out, ids[keep], data[keep])
    return out


def _segment_vjp(g, out, data, ids, *, num_segments):
    if not dtypes.is_floating(g.dtype):
        return None, None
    if num_segments is None:  # sorted: every id is a row of g
        return gather(g, ids), None
    picked = gather(g, maximum(ids, 0))
    extra = tuple(range(len(ids.shape), len(data.shape)))
    keep = expand_dims_many(greater_equal(ids, 0), extra)
    return where(keep, picked, zeros_like_value(picked)), None


SEGMENT_SUM = defop("segment_sum", ["data", "ids"], "_segment_sum(xp, data, ids, num_segments)",
                    _segment_rule, _segment_vjp, attrs=("num_segments",),
                    namespace={"_segment_sum": _segment_sum}, checks_values=True,
                    check=_segment_check)


def segment_sum(data: Any, segment_ids: Any, name: str | None = None) -> Any:
    """Sums of the rows of ``data`` per segment; ``segment_ids`` (1-D, sorted, >= 0) name
    each row's segment; the output has ``max(id) + 1`` rows (empty segments are 0).

    Usage: ``aj.math.segment_sum(x, [0, 0, 1, 3])``
    """
    return bind(SEGMENT_SUM, as_operand(data), index_values(segment_ids), num_segments=None)


def unsorted_segment_sum(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Any:
    """Sums of the entries of ``data`` per segment, ids in any order (their shape a prefix
    of ``data.shape``); ``num_segments`` rows out; negative ids are dropped, as TF.

    Usage: ``aj.math.unsorted_segment_sum(messages, receivers, num_segments=n_nodes)``
    """
    n = _num_segments("unsorted_segment_sum", num_segments)
    return bind(SEGMENT_SUM, as_operand(data), index_values(segment_ids), num_segments=n)


def _num_segments(name: str, num_segments: Any) -> int:
    """``num_segments`` as a Python int >= 0 (a Python number or a known scalar tensor)."""
    from autojit.ops.creation import python_number

    n = python_number(name, num_segments, "num_segments")
    if isinstance(n, float) or n < 0:
        raise InvalidArgumentError(f"{name}: expected num_segments >= 0 as an int, got "
                                   f"{num_segments!r}")
    return int(n)


# ----------------------------------------------------------------------------- max, min, prod


def segment_reduce(xp: Any, kind: str, values: Any, ids: Any, rows: int, empty: Any,
                   presorted: bool = False) -> Any:
    """``[rows, ...]``: the ``kind`` ("max", "min" or "prod") of the rows of ``values``
    (``[n, ...]``) per id of ``ids`` (``[n]``, in ``[0, rows]``; id ``rows`` is dropped), and
    ``empty`` in rows no id names. A kernel helper: ``xp`` is numpy or cupy.

    A segmented inclusive scan (Hillis-Steele) over the rows sorted by id: after the steps of
    shift 1, 2, 4, ... each row holds the reduction of its segment up to itself, so the last
    row of each segment holds the whole; those are scattered to distinct rows of the output
    (the others to a spare row that is cut off). ``ceil(log2(n))`` elementwise steps, no
    ``ufunc.at`` and no host read.
    Usage: ``segment_reduce(np, "max", x, ids, 4, 0.0)``
    """
    combine = {"max": xp.maximum, "min": xp.minimum, "prod": xp.multiply}[kind]
    if not presorted:
        order = xp.argsort(ids, kind="stable")
        ids, values = ids[order], values[order]
    n = ids.shape[0]
    tail = (1,) * (values.ndim - 1)
    shift = 1
    while shift < n:
        same = (ids[shift:] == ids[:-shift]).reshape((n - shift,) + tail)
        moved = xp.where(same, combine(values[shift:], values[:-shift]), values[shift:])
        values = xp.concatenate([values[:shift], moved])
        shift *= 2
    out = xp.full((rows + 1,) + values.shape[1:], empty, dtype=values.dtype)
    if n:
        last = xp.concatenate([ids[1:] != ids[:-1], xp.ones((1,), dtype=bool)])
        out[xp.where(last, ids, rows)] = values
    return out[:rows]


def _empty_value(kind: str, dtype: np.dtype, unsorted: bool) -> Any:
    """What an empty segment holds (TF's documents): 1 for products, 0 for the sorted max and
    min, the dtype's lowest (max) or highest (min) value for the unsorted ones."""
    if kind == "prod":
        return 1
    if not unsorted:
        return 0
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return info.min if kind == "max" else info.max


def _segment_reduce_kernel(xp, data, ids, num_segments, kind):
    ids = xp.asarray(ids)
    rows = num_segments
    if rows is None:  # sorted: the count is read from the ids (value-dependent shape)
        rows = int(ids.max()) + 1 if ids.size else 0
    flat_ids = ids.reshape(-1)
    values = data.reshape((flat_ids.shape[0],) + data.shape[ids.ndim:])
    if num_segments is not None:
        flat_ids = xp.where(flat_ids >= 0, flat_ids, rows)  # dropped: the spare row
    empty = _empty_value(kind, data.dtype, num_segments is not None)
    return segment_reduce(xp, kind, values, flat_ids, rows, empty,
                          presorted=num_segments is None)


def _at(values: Any, ids: Any, num_segments: int | None) -> Any:
    """``values[ids]``: each entry's row of a per-segment result (row 0 for a dropped id)."""
    return gather(values, ids if num_segments is None else maximum(ids, 0))


def _per_row(values: Any, ids: Any, num_segments: int | None) -> Any:
    """``values[ids]`` for each entry of ``ids``, 0 where an unsorted id is dropped."""
    picked = _at(values, ids, num_segments)
    if num_segments is None:
        return picked
    return where(_kept(ids, values), picked, zeros_like_value(picked))


def _kept(ids: Any, values: Any) -> Any:
    """``ids >= 0`` with size-1 dims for the trailing dims of ``values`` rows."""
    extra = tuple(range(len(ids.shape), len(ids.shape) + len(values.shape) - 1))
    return expand_dims_many(greater_equal(ids, 0), extra)


def _extreme_vjp(g, out, data, ids, *, num_segments):
    # TF's _SegmentMinOrMaxGrad: the gradient of a segment is split evenly among the
    # entries equal to its extreme.
    if not dtypes.is_floating(g.dtype):
        return None, None
    chosen = equal(data, _at(out, ids, num_segments))
    if num_segments is not None:
        chosen = logical_and(chosen, _kept(ids, out))
    ties = bind(SEGMENT_SUM, cast(chosen, g.dtype), ids, num_segments=num_segments)
    share = divide(g, maximum(ties, 1.0))  # empty segments: no entry reads them
    picked = _at(share, ids, num_segments)
    return where(chosen, picked, zeros_like_value(picked)), None


def _prod_vjp(g, out, data, ids, *, num_segments):
    # TF's _SegmentProdGrad: d out / d x is the product of the other entries of x's
    # segment; computed as out / x where the segment has no zero, as the product of the
    # non-zero entries at a segment's only zero, and 0 where a segment has two zeros.
    if not dtypes.is_floating(g.dtype):
        return None, None
    is_zero = equal(data, 0.0)
    zeros = bind(SEGMENT_SUM, cast(is_zero, g.dtype), ids, num_segments=num_segments)
    g = where(greater(zeros, 1.0), zeros_like_value(g), g)
    non_zero = where(is_zero, ones_like_value(data), data)
    non_zero_prod = bind(SEGMENT_PROD, non_zero, ids, num_segments=num_segments)
    partial = where(is_zero, _at(non_zero_prod, ids, num_segments),
                    divide(_at(out, ids, num_segments), non_zero))
    return multiply(_per_row(g, ids, num_segments), partial), None


def _reduce_op(kind: str, vjp: Any) -> Any:
    return defop(f"segment_{kind}", ["data", "ids"],
                 f"_segment_reduce(xp, data, ids, num_segments, {kind!r})", _segment_rule, vjp,
                 attrs=("num_segments",), namespace={"_segment_reduce": _segment_reduce_kernel},
                 checks_values=True, check=_segment_check)


SEGMENT_MAX = _reduce_op("max", _extreme_vjp)
SEGMENT_MIN = _reduce_op("min", _extreme_vjp)
SEGMENT_PROD = _reduce_op("prod", _prod_vjp)


def _sorted(op: Any, data: Any, segment_ids: Any) -> Any:
    return bind(op, as_operand(data), index_values(segment_ids), num_segments=None)


def _unsorted(op: Any, name: str, data: Any, segment_ids: Any, num_segments: Any) -> Any:
    return bind(op, as_operand(data), index_values(segment_ids),
                num_segments=_num_segments(name, num_segments))


def segment_max(data: Any, segment_ids: Any, name: str | None = None) -> Any:
    """The largest row of ``data`` per segment (elementwise); ``segment_ids`` 1-D, sorted,
    >= 0; ``max(id) + 1`` rows out, empty segments 0 (as TF). The gradient is split among ties.

    Usage: ``aj.math.segment_max(x, [0, 0, 1, 3])``
    """
    return _sorted(SEGMENT_MAX, data, segment_ids)


def segment_min(data: Any, segment_ids: Any, name: str | None = None) -> Any:
    """The smallest row of ``data`` per segment (sorted ids, as ``segment_max``); empty
    segments are 0. Usage: ``aj.math.segment_min(x, [0, 1, 1])``
    """
    return _sorted(SEGMENT_MIN, data, segment_ids)


def segment_prod(data: Any, segment_ids: Any, name: str | None = None) -> Any:
    """The product of the rows of ``data`` per segment (sorted ids); empty segments are 1.
    Zeros get the right gradient (the product of the other entries).

    Usage: ``aj.math.segment_prod(x, [0, 0, 2])``
    """
    return _sorted(SEGMENT_PROD, data, segment_ids)


def unsorted_segment_max(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Any:
    """The largest entry of ``data`` per segment, ids in any order (a prefix of
    ``data.shape``; negative ids dropped); empty segments hold the dtype's lowest value, as TF.

    Usage: ``aj.math.unsorted_segment_max(x, [1, 0, 1], num_segments=3)``
    """
    return _unsorted(SEGMENT_MAX, "unsorted_segment_max", data, segment_ids, num_segments)


def unsorted_segment_min(data: Any, segment_ids: Any, num_segments: Any,
                         name: str | None = None) -> Any:
    """The smallest entry of ``data`` per segment (as ``unsorted_segment_max``); empty
    segments hold the dtype's highest value. Usage: ``aj.math.unsorted_segment_min(x, ids, 3)``
    """
    return _unsorted(SEGMENT_MIN, "unsorted_segment_min", data, segment_ids, num_segments)


def unsorted_segment_prod(data: Any, segment_ids: Any, num_segments: Any,
                          name: str | None = None) -> Any:
    """The product of the entries of ``data`` per segment, ids in any order (negative ids
    dropped); empty segments are 1. Usage: ``aj.math.unsorted_segment_prod(x, ids, 3)``
    """
    return _unsorted(SEGMENT_PROD, "unsorted_segment_prod", data, segment_ids, num_segments)


# ----------------------------------------------------------------------------- mean, sqrt_n


def _sums_and_counts(data: Any, ids: Any, num_segments: int | None) -> tuple:
    """Per segment: the sum of the rows, and their number (at least 1, so empty segments
    give 0 / 1 = 0, as TF) in ``data``'s dtype, with size-1 dims to broadcast."""
    total = bind(SEGMENT_SUM, data, ids, num_segments=num_segments)
    ones = cast(ones_like_value(ids), data.dtype)
    count = bind(SEGMENT_SUM, ones, ids, num_segments=num_segments)
    count = expand_dims_many(count, tuple(range(1, len(data.shape) - len(ids.shape) + 1)))
    return total, maximum(count, 1)


def _float_data(name: str, data: Any) -> Any:
    data = as_operand(data)
    if not dtypes.is_floating(data.dtype):
        raise DTypeError(f"{name}: expected floating-point data, got {data.dtype.name}; "
                         "use aj.cast(data, aj.float32)")
    return data


def segment_mean(data: Any, segment_ids: Any, name: str | None = None) -> Any:
    """The mean of the rows of ``data`` per segment (sorted ids, as ``segment_sum``); empty
    segments are 0; integer data divides rounding toward zero, as TF's kernel.

    Usage: ``aj.math.segment_mean(x, [0, 0, 1])``
    """
    data = as_operand(data)
    total, count = _sums_and_counts(data, index_values(segment_ids), None)
    if dtypes.is_floating(data.dtype):
        return divide(total, count)
    return multiply(sign(total), floordiv(absolute(total), count))


def unsorted_segment_mean(data: Any, segment_ids: Any, num_segments: Any,
                          name: str | None = None) -> Any:
    """The mean of the entries of floating-point ``data`` per segment, ids in any order
    (negative ids dropped); empty segments are 0.

    Usage: ``aj.math.unsorted_segment_mean(x, ids, num_segments=3)``
    """
    data = _float_data("unsorted_segment_mean", data)
    n = _num_segments("unsorted_segment_mean", num_segments)
    total, count = _sums_and_counts(data, index_values(segment_ids), n)
    return divide(total, count)


def unsorted_segment_sqrt_n(data: Any, segment_ids: Any, num_segments: Any,
                            name: str | None = None) -> Any:
    """The sum of the entries of floating-point ``data`` per segment divided by the square
    root of their number (ids in any order, negative ones dropped); empty segments are 0.

    Usage: ``aj.math.unsorted_segment_sqrt_n(x, ids, num_segments=3)``
    """
    data = _float_data("unsorted_segment_sqrt_n", data)
    n = _num_segments("unsorted_segment_sqrt_n", num_segments)
    total, count = _sums_and_counts(data, index_values(segment_ids), n)
    return divide(total, sqrt(count))
