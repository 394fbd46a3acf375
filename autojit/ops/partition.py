"""``dynamic_partition`` and ``dynamic_stitch`` (``aj.*``), as TF: split the rows of a tensor
into ``num_partitions`` tensors by a partition id per row, and merge tensors back by a
target index per row.

Both give tensors whose first dim depends on the values (how many rows a partition gets, the
largest index): eagerly it is counted, inside ``@aj.function`` it is ``None`` (as
``boolean_mask`` and ``unique``), so one trace serves every count. Each is the other's VJP,
as TF's gradients: a partition's gradient is stitched back to the rows it came from, and a
stitched row's gradient is gathered at each index (every row gets it, also one a later
duplicate index overwrote, as TF).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import _is_concrete, check_index_range, gather, index_values
from autojit.ops.math import zeros_like_value
from autojit.ops.segments import segment_reduce


def _host(array: Any) -> np.ndarray:
    """A concrete (NumPy or CuPy) array as NumPy: a read back to the host for CuPy."""
    return np.asarray(array.get() if hasattr(array, "get") else array)


def _fits_prefix(name: str, what: str, prefix: Sequence, shape: Sequence, other: str) -> None:
    lead = tuple(shape[:len(prefix)])
    if len(prefix) > len(shape) or any(a is not None and b is not None and a != b
                                       for a, b in zip(prefix, lead)):
        raise ShapeError(f"{name}: the shape of {what} {shapes.fmt(prefix)} must be a prefix "
                         f"of the shape of {other} {shapes.fmt(shape)}")


# ----------------------------------------------------------------------------- dynamic_partition


def _partition(xp, data, partitions, num_partitions):
    # One host read (the counts); the rows are sorted by partition, stable, then split.
    ids = xp.asarray(partitions).reshape(-1)
    rows = data.reshape((ids.shape[0],) + data.shape[partitions.ndim:])
    order = xp.argsort(ids, kind="stable")
    counts = _host(xp.bincount(ids, minlength=num_partitions)) if ids.size else \
        np.zeros(num_partitions, np.int64)
    return tuple(xp.split(rows[order], np.cumsum(counts)[:-1].tolist()))


def _partition_rule(name, data, partitions, *, num_partitions):
    if not dtypes.is_integer(partitions.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 partitions, got "
                         f"{partitions.dtype.name}")
    _fits_prefix(name, "partitions", partitions.shape, data.shape, "data")
    rest = tuple(data.shape[len(partitions.shape):])
    if _is_concrete(partitions):
        ids = _host(partitions).reshape(-1)
        counts = np.bincount(ids[(ids >= 0) & (ids < num_partitions)],
                             minlength=num_partitions).tolist()
    else:
        counts = [None] * num_partitions
    return [((count,) + rest, data.dtype) for count in counts]


def _partition_check(name, data, partitions, *, num_partitions):
    check_index_range(name, partitions, num_partitions,
                      lambda: f"{num_partitions} partitions", negative=False, noun="partition")


def _partition_vjp(gs, outs, data, partitions, *, num_partitions):
    # TF's _DynamicPartitionGrads: partition the row positions as the rows were, and stitch
    # each partition's gradient back to them.
    if not dtypes.is_floating(data.dtype):
        return None, None
    from autojit.ops.array import reshape_like, size
    from autojit.ops.creation import arange

    positions = reshape_like(arange(size(partitions)), partitions)
    moved = bind(DYNAMIC_PARTITION, positions, partitions, num_partitions=num_partitions)
    cts = [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]
    stitched = bind(DYNAMIC_STITCH, *moved, *cts, n=num_partitions)
    return reshape_like(stitched, data), None


DYNAMIC_PARTITION = defop(
    "dynamic_partition", ["data", "partitions"], "_partition(xp, data, partitions, num_partitions)",
    _partition_rule, _partition_vjp, attrs=("num_partitions",), multiple=True,
    namespace={"_partition": _partition}, checks_values=True, check=_partition_check)


def dynamic_partition(data: Any, partitions: Any, num_partitions: int,
                      name: str | None = None) -> list:
    """``num_partitions`` tensors: the ``i``-th holds, in order, the rows of ``data`` whose
    entry of ``partitions`` (int, its shape a prefix of ``data.shape``, values in
    ``[0, num_partitions)``) is ``i``. In graphs their first dim is unknown.

    Usage: ``evens, odds = aj.dynamic_partition(x, x % 2, 2)``
    """
    if isinstance(num_partitions, bool) or not isinstance(num_partitions, (int, np.integer)) \
            or num_partitions < 1:
        raise InvalidArgumentError(f"dynamic_partition: expected num_partitions >= 1 as a "
                                   f"Python int, got {num_partitions!r}")
    data = as_operand(data)
    return list(bind(DYNAMIC_PARTITION, data, index_values(partitions),
                     num_partitions=int(num_partitions)))


# ----------------------------------------------------------------------------- dynamic_stitch


def _stitch(xp, *values, n):
    indices, data = values[:n], values[n:]
    tail = data[0].shape[indices[0].ndim:]
    flat = xp.concatenate([xp.asarray(i).reshape(-1).astype(xp.int64) for i in indices])
    rows = xp.concatenate([d.reshape((i.size,) + tail) for i, d in zip(indices, data)])
    count = int(flat.max()) + 1 if flat.size else 0  # the value-dependent length: a host read
    # The last row written to an index wins: the largest position per index (-1: none).
    position = xp.arange(flat.shape[0], dtype=xp.int64)
    winner = segment_reduce(xp, "max", position, flat, count, -1)
    picked = rows[xp.maximum(winner, 0)]
    written = (winner >= 0).reshape((count,) + (1,) * len(tail))
    return xp.where(written, picked, xp.zeros_like(picked))


def _stitch_rule(name, *values, n):
    indices, data = values[:n], values[n:]
    for k, i in enumerate(indices):
        if not dtypes.is_integer(i.dtype):
            raise DTypeError(f"{name}: expected int32 or int64 indices, got {i.dtype.name} "
                             f"for indices[{k}]")
    dt = dtypes.same_dtype(name, tuple(d.dtype for d in data))
    tail = None
    for k, (i, d) in enumerate(zip(indices, data)):
        _fits_prefix(name, f"indices[{k}]", i.shape, d.shape, f"data[{k}]")
        rest = tuple(d.shape[len(i.shape):])
        if tail is None:
            tail = rest
        elif len(rest) != len(tail) or any(a is not None and b is not None and a != b
                                           for a, b in zip(rest, tail)):
            raise ShapeError(f"{name}: data[{k}] has rows of shape {shapes.fmt(rest)} but "
                             f"data[0] rows of shape {shapes.fmt(tail)}; expected "
                             "data[k].shape = indices[k].shape + one shape for all k")
        else:
            tail = tuple(a if a is not None else b for a, b in zip(tail, rest))
    count = None
    if all(_is_concrete(i) for i in indices):
        sizes = [int(i.size) for i in indices]
        count = max(int(i.max()) for i, s in zip(indices, sizes) if s) + 1 if any(sizes) else 0
    return (count,) + tail, dt


def _stitch_check(name, *values, n):
    for k, i in enumerate(values[:n]):
        low = int(i) if type(i) is int else (int(i.min()) if i.size else 0)
        if low < 0:
            raise InvalidArgumentError(f"{name}: expected indices >= 0, got {low} in "
                                       f"indices[{k}]")


def _stitch_vjp(g, out, *values, n):
    # TF's _DynamicStitchGrads: each data row gets the gradient at its index.
    if not dtypes.is_floating(g.dtype):
        return (None,) * len(values)
    return (None,) * n + tuple(gather(g, i) for i in values[:n])


DYNAMIC_STITCH = defop("dynamic_stitch", ["*values"], _stitch, _stitch_rule, _stitch_vjp,
                       attrs=("n",), checks_values=True, check=_stitch_check)


def dynamic_stitch(indices: Sequence[Any], data: Sequence[Any], name: str | None = None) -> Any:
    """One tensor with ``merged[indices[m][i, ...]] = data[m][i, ...]`` for every ``m`` and
    position ``i`` (``data[m].shape = indices[m].shape + shape``); ``max(index) + 1`` rows,
    a later index overwriting an earlier one and rows no index names 0, as TF.

    Usage: ``aj.dynamic_stitch([[0, 2], [1]], [[1.0, 3.0], [2.0]])``
    """
    if not isinstance(indices, (list, tuple)) or not isinstance(data, (list, tuple)):
        raise InvalidArgumentError(f"dynamic_stitch: expected lists of indices and data, got "
                                   f"{type(indices).__name__} and {type(data).__name__}")
    if not indices or len(indices) != len(data):
        raise InvalidArgumentError(f"dynamic_stitch: expected as many data tensors as index "
                                   f"tensors (at least one), got {len(indices)} indices and "
                                   f"{len(data)} data")
    index_tensors = [index_values(i) for i in indices]
    # Python data takes the dtype of the first tensor among the data
    dt = next((d.dtype for d in data if hasattr(d, "dtype")), None)
    values = [as_operand(d, None if hasattr(d, "dtype") else dt) for d in data]
    return bind(DYNAMIC_STITCH, *index_tensors, *values, n=len(index_tensors))
