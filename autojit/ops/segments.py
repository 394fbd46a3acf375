"""Segment reductions: ``math.segment_sum`` (sorted ids) and ``math.unsorted_segment_sum``.

One op serves both: rows of ``data`` are summed into the segment their id names. With
``num_segments`` given (unsorted) the output has that many rows and negative ids are dropped,
as TF; without it (sorted) the ids must be non-negative and non-decreasing and the output has
``max(id) + 1`` rows, a count known only from the values (``None`` in graphs). The VJP
gathers the cotangent back along the ids.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims_many
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import _is_concrete, check_index_range, gather, index_values
from autojit.ops.math import greater_equal, maximum, where, zeros_like_value


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
                                   f"(non-decreasing); use aj.math.unsorted_segment_sum for "
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
    from autojit.ops.creation import python_number

    n = python_number("unsorted_segment_sum", num_segments, "num_segments")
    if isinstance(n, float) or n < 0:
        raise InvalidArgumentError(f"unsorted_segment_sum: expected num_segments >= 0 as an "
                                   f"int, got {num_segments!r}")
    return bind(SEGMENT_SUM, as_operand(data), index_values(segment_ids), num_segments=int(n))
