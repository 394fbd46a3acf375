"""More array ops, as TF 2 has them: ``reverse`` and ``repeat`` (primitives with their VJPs),
``meshgrid`` and ``sequence_mask`` (built from reshapes, broadcasts, ranges and comparisons).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import (arange, broadcast_to, concat, expand_dims, identity, reshape,
                               static_ints, zeros)
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.math import add, broadcast_like, cast, less, zeros_like_value
from autojit.ops.reduce import reduce_max


# ----------------------------------------------------------------------------- reverse


def _reverse_rule(name, x, *, axis):
    for a in axis:
        shapes.normalize_axis(name, a, len(x.shape))
    return x.shape, x.dtype


REVERSE = defop("reverse", ["x"], "xp.flip(x, axis)", _reverse_rule,
                lambda g, out, x, *, axis: (bind(REVERSE, g, axis=axis),), attrs=("axis",))


def reverse(tensor: Any, axis: Any, name: str | None = None) -> Any:
    """``tensor`` with the order of its entries reversed along each axis in ``axis`` (a list
    of ints, negative ones counting from the end; an empty list changes nothing), as
    ``tf.reverse``. Usage: ``aj.reverse(x, [1])``, ``aj.reverse(images, axis=[-2])``
    """
    x = as_operand(tensor)
    given = static_ints("reverse", axis, "axis")
    axes = [shapes.normalize_axis("reverse", a, len(x.shape)) for a in given]
    if len(set(axes)) != len(axes):
        raise InvalidArgumentError(f"reverse: axis {list(given)} names a dimension more than "
                                   "once; expected distinct axes")
    if not axes:
        return identity(x)
    return bind(REVERSE, x, axis=tuple(sorted(axes)))


# ----------------------------------------------------------------------------- repeat
# ``repeats`` is an attribute (an int, or a tuple with one count per entry of the axis): it
# decides the output's shape, so it must be known on the host, as TF's shape inference needs.


def _repeat_rule(name, x, *, repeats, axis):
    a = shapes.normalize_axis(name, axis, len(x.shape))
    d = x.shape[a]
    if isinstance(repeats, int):
        size = None if d is None else d * repeats
    else:
        if d is not None and len(repeats) != d:
            raise InvalidArgumentError(
                f"{name}: expected {d} repeats (one per entry of axis {a} of a tensor of shape "
                f"{shapes.fmt(x.shape)}) or a single count, got {len(repeats)}")
        size = sum(repeats)
    return x.shape[:a] + (size,) + x.shape[a + 1:], x.dtype


def _repeat_check(name, x, *, repeats, axis):
    # Note [Value checks]: a dim unknown while tracing (after a boolean_mask, say) meets the
    # counts when the graph runs, with the eager error.
    if not isinstance(repeats, int):
        _repeat_rule(name, x, repeats=repeats, axis=axis)


def _repeat_grad(xp, g, like, repeats, axis):
    d = like.shape[axis]
    if isinstance(repeats, int):  # [.., d * r, ..] viewed as [.., d, r, ..]: sum the copies
        split = g.shape[:axis] + (d, repeats) + g.shape[axis + 1:]
        return g.reshape(split).sum(axis=axis + 1, dtype=g.dtype)
    out = xp.zeros(like.shape, g.dtype)
    source = xp.asarray(np.repeat(np.arange(d), repeats))  # the entry each copy came from
    xp.add.at(out, (slice(None),) * axis + (source,), g)
    return out


REPEAT = defop("repeat", ["x"], "xp.repeat(x, repeats, axis=axis)", _repeat_rule,
               lambda g, out, x, *, repeats, axis: (
                   bind(REPEAT_GRAD, g, x, repeats=repeats, axis=axis),),
               attrs=("repeats", "axis"), check=_repeat_check)
REPEAT_GRAD = defop("repeat_grad", ["g", "like"], "_repeat_grad(xp, g, like, repeats, axis)",
                    lambda name, g, like, *, repeats, axis: (like.shape, g.dtype),
                    lambda gg, out, g, like, *, repeats, axis: (
                        bind(REPEAT, gg, repeats=repeats, axis=axis), None),
                    attrs=("repeats", "axis"), namespace={"_repeat_grad": _repeat_grad})


def _repeat_counts(repeats: Any) -> int | tuple:
    rank = len(repeats.shape) if hasattr(repeats, "shape") else np.ndim(repeats)
    if rank > 1:
        raise InvalidArgumentError(f"repeat: expected repeats as an int or a 1-D list of ints, "
                                   f"got a value of rank {rank}")
    counts = static_ints("repeat", repeats, "repeats")
    if any(c < 0 for c in counts):
        raise InvalidArgumentError(f"repeat: repeats must be >= 0, got {list(counts)}")
    if rank == 0 or len(counts) == 1:
        return counts[0]  # one count serves every entry (TF broadcasts it)
    return counts


def repeat(input: Any, repeats: Any, axis: int | None = None,  # noqa: A002
           name: str | None = None) -> Any:
    """Repeat each entry of ``input`` along ``axis`` (of the flattened input when None):
    ``repeats`` times (an int), or ``repeats[i]`` times for entry ``i`` (a 1-D list known on
    the host), as ``tf.repeat`` and ``np.repeat``.

    Usage: ``aj.repeat(x, 2, axis=0)``, ``aj.repeat([1, 2], [3, 1])`` (``[1, 1, 1, 2]``)
    """
    counts = _repeat_counts(repeats)
    x = as_operand(input)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = shapes.normalize_axis("repeat", axis, len(x.shape))
    return bind(REPEAT, x, repeats=counts, axis=axis)


# ----------------------------------------------------------------------------- meshgrid


def meshgrid(*args: Any, indexing: str = "xy", name: str | None = None) -> list:
    """N coordinate grids from N 1-D tensors (others are flattened): grid ``i`` holds
    ``args[i]`` along its own axis, repeated along the others. ``indexing="xy"`` (Cartesian,
    the default) swaps the first two axes, ``"ij"`` (matrix) does not, as ``tf.meshgrid``.

    Usage: ``X, Y = aj.meshgrid(x, y)`` (both of shape ``[len(y), len(x)]``)
    """
    if indexing not in ("xy", "ij"):
        raise InvalidArgumentError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    flats = [reshape(as_operand(a), (-1,)) for a in args]
    n = len(flats)
    position = list(range(n))  # the output axis each input runs along
    if indexing == "xy" and n >= 2:
        position[0], position[1] = 1, 0
    views = [reshape(f, (1,) * p + (-1,) + (1,) * (n - p - 1)) for f, p in zip(flats, position)]
    sizes = [None] * n
    for f, p in zip(flats, position):
        sizes[p] = f.shape[0]
    if None not in sizes:
        return [broadcast_to(v, sizes) for v in views]
    # A size known only when the graph runs: broadcast against a grid of zeros built from all
    # inputs (int8, so that bools and every dtype add up; no gradient flows through it).
    grid = zeros_like_value(cast(views[0], dtypes.int8))
    for v in views[1:]:
        grid = add(grid, zeros_like_value(cast(v, dtypes.int8)))
    return [broadcast_like(v, grid) for v in views]


# ----------------------------------------------------------------------------- sequence_mask


def sequence_mask(lengths: Any, maxlen: Any = None, dtype: Any = dtypes.bool,
                  name: str | None = None) -> Any:
    """``mask[i..., j] = j < lengths[i...]`` of shape ``lengths.shape + [maxlen]``, as
    ``dtype``, as ``tf.sequence_mask``. Without ``maxlen`` it is the largest length: counted
    eagerly, an unknown dim (``None``) in traced graphs, like ``aj.boolean_mask``'s.

    Usage: ``aj.sequence_mask([1, 3, 2], 4)``, ``aj.sequence_mask(lengths, dtype=aj.float32)``
    """
    lengths = as_operand(lengths)
    if isinstance(lengths, np.ndarray) and lengths.size == 0 and lengths.dtype.kind == "f":
        lengths = lengths.astype(dtypes.int32)  # ``[]``: no lengths, not float ones
    if not dtypes.is_integer(lengths.dtype):
        raise DTypeError(f"sequence_mask: expected integer lengths, got {lengths.dtype.name}")
    out_dtype = dtypes.as_dtype(dtype)
    if maxlen is None:
        # max(0, max(lengths)): defined for no lengths too; a negative max gives no columns,
        # as TF's (its range of a negative maxlen is empty)
        flat = concat([reshape(lengths, (-1,)), zeros((1,), lengths.dtype)], 0)
        maxlen = reduce_max(flat)
    else:
        _check_maxlen(maxlen)
    columns = arange(maxlen, dtype=lengths.dtype)
    mask = less(columns, expand_dims(lengths, -1))
    return mask if out_dtype == dtypes.bool else cast(mask, out_dtype)


def _check_maxlen(maxlen: Any) -> None:
    if hasattr(maxlen, "shape") and hasattr(maxlen, "dtype"):
        if tuple(maxlen.shape) != ():
            raise ShapeError(f"sequence_mask: expected a scalar maxlen, got shape "
                             f"{shapes.fmt(maxlen.shape)}")
        if not dtypes.is_integer(maxlen.dtype):
            raise DTypeError(f"sequence_mask: expected an integer maxlen, got "
                             f"{maxlen.dtype.name}")
        if getattr(maxlen, "_array", 0) is None:
            return  # symbolic: its columns are counted when the graph runs
        value = int(np.asarray(maxlen))
    elif isinstance(maxlen, (int, np.integer)) and not isinstance(maxlen, bool):
        value = int(maxlen)
    else:
        raise DTypeError(f"sequence_mask: expected an integer maxlen, got {maxlen!r}")
    if value < 0:
        raise InvalidArgumentError(f"sequence_mask: expected maxlen >= 0, got {value}")



def roll(input: Any, shift: Any, axis: Any, name: str | None = None) -> Any:  # noqa: A002
    """Elements shifted by ``shift`` along ``axis``, those past the end wrapping around (as
    ``tf.roll``/``np.roll``; ints or lists of them, known while tracing). Built from slices
    and a concat, so it differentiates as they do.

    Usage: ``aj.roll(x, shift=1, axis=0)``, ``aj.roll(x, [1, -2], [0, 1])``
    """
    x = as_operand(input)
    shifts = static_ints("roll", shift, "shift")
    axes = static_ints("roll", axis, "axis")
    if len(shifts) != len(axes):
        raise InvalidArgumentError(f"roll: expected as many shifts as axes, got {list(shifts)} "
                                   f"and {list(axes)}")
    out = x
    for s, a in zip(shifts, axes):
        a = shapes.normalize_axis("roll", a, len(x.shape))
        n = x.shape[a]
        if n is None:
            raise InvalidArgumentError(f"roll: axis {a} has a size unknown while tracing")
        k = s % n if n else 0
        if k:
            lead = (slice(None),) * a
            out = concat([out[lead + (slice(n - k, None),)], out[lead + (slice(0, n - k),)]],
                         axis=a)
    return out
