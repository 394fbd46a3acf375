"""Array ops: shapes as tensors, reshaping and transposing, broadcasting, tiling and padding,
joining and splitting. Creation ops live in ``creation`` and indexing in ``indexing``; both
are re-exported here, the module the rest of autojit imports them from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError, TracingError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.creation import (  # noqa: F401  (re-exported: autojit imports them from here)
    arange,
    constant,
    eye,
    fill,
    linspace,
    ones,
    ones_like,
    python_number,
    resolved,
    static_ints,
    static_shape,
    zeros,
    zeros_like,
)
from autojit.ops.indexing import getitem  # Tensor.__getitem__ calls it through this module
from autojit.ops.math import cast, unbroadcast, zeros_like_value


def _shape_of(x: Any) -> tuple:
    """The static shape of a tensor, array, Python scalar or nested list."""
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else np.shape(x)


# ----------------------------------------------------------------------------- shapes as tensors


def _shape_rule(name, x, *, out_type):
    if out_type not in (dtypes.int32, dtypes.int64):
        raise DTypeError(f"{name}: expected out_type int32 or int64, got {out_type.name}")
    return ((len(x.shape),) if name == "shape" else ()), out_type


SHAPE = defop("shape", ["x"], "xp.asarray(x.shape, dtype=out_type)", _shape_rule,
              attrs=("out_type",))
SIZE = defop("size", ["x"], "xp.asarray(x.size, dtype=out_type)", _shape_rule,
             attrs=("out_type",))
RANK = defop("rank", ["x"], "xp.asarray(x.ndim, dtype=xp.int32)",
             lambda name, x: ((), dtypes.int32))


def shape(input: Any, out_type: Any = dtypes.int32, name: str | None = None) -> Any:  # noqa: A002
    """The shape of ``input`` as a 1-D int tensor, computed at run time (dynamic in graphs).

    Usage: ``batch = aj.shape(x)[0]``
    """
    return bind(SHAPE, input, out_type=dtypes.as_dtype(out_type))


def size(input: Any, out_type: Any = dtypes.int32, name: str | None = None) -> Any:  # noqa: A002
    """The number of elements of ``input`` as a scalar int tensor. Usage: ``aj.size(x)``"""
    return bind(SIZE, input, out_type=dtypes.as_dtype(out_type))


def rank(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The number of dimensions of ``input`` as a scalar int32 tensor. Usage: ``aj.rank(x)``"""
    return bind(RANK, input)


# ----------------------------------------------------------------------------- reshaping


def _reshape_rule(name, x, *, shape):
    return _resolve_reshape(name, x.shape, shape), x.dtype


def _resolve_reshape(name, old, new):
    new = tuple(new)
    if new.count(-1) > 1 or any(d < -1 for d in new):
        raise InvalidArgumentError(f"{name}: expected dims >= 0 and at most one -1, got shape "
                                   f"{list(new)}")
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
    """The same values in a new shape (one dim may be -1).

    Usage: ``aj.reshape(x, (-1, 784))``; inside ``@aj.function`` the shape may hold tensors:
    ``aj.reshape(x, [aj.shape(x)[0], -1])``
    """
    if _symbolic(shape) or (type(shape) in (list, tuple) and any(_symbolic(d) for d in shape)):
        try:  # known while tracing: a static reshape (Note [Known values])
            shape = static_ints("reshape", shape, "a shape such as (-1, 784)")
        except TracingError:
            return _reshape_dynamic(tensor, shape)
    return bind(RESHAPE, tensor, shape=static_ints("reshape", shape, "a shape such as (-1, 784)"))


def _symbolic(value: Any) -> bool:
    return hasattr(value, "dtype") and getattr(value, "_array", 0) is None


def _reshape_dynamic(tensor: Any, shape: Any) -> Any:
    """Reshape to a shape known only when the graph runs; Python ints in it stay static."""
    if type(shape) in (list, tuple):
        hint = tuple(d if type(d) is int else None for d in shape)
        parts = [d if type(d) is int else cast(d, dtypes.int32) for d in shape]
        shape = stack(parts) if any(_symbolic(d) for d in parts) else parts
    else:
        hint = (None,) * (shape.shape[0] if shape.shape and shape.shape[0] is not None else 0)
    return bind(RESHAPE_DYNAMIC, tensor, shape, hint=hint)


def _reshape_dynamic_rule(name, x, shape, *, hint):
    if len(shape.shape) == 1 and shape.shape[0] is not None:
        rank = shape.shape[0]
    else:  # a length unknown while tracing: the rank recorded when the op was bound
        rank = len(hint) if hint else None
    if not dtypes.is_integer(shape.dtype) or len(shape.shape) != 1 or rank is None:
        raise InvalidArgumentError(f"{name}: expected a 1-D integer shape of known length, got "
                                   f"{shape.dtype.name}{shapes.fmt(shape.shape)}")
    if hasattr(shape, "tolist"):  # concrete (eager, or folded): check it exactly
        return _resolve_reshape(name, x.shape, tuple(int(d) for d in shape.tolist())), x.dtype
    if len(hint) != rank:
        hint = (None,) * rank
    return tuple(None if d in (None, -1) else d for d in hint), x.dtype


RESHAPE_DYNAMIC = defop(
    "reshape_dynamic", ["x", "shape"], "xp.reshape(x, tuple(int(d) for d in shape.tolist()))",
    _reshape_dynamic_rule, lambda g, out, x, shape, *, hint: (reshape_like(g, x), None),
    attrs=("hint",))


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


def _squeeze_rule(name, x, *, axis):
    axes = shapes.normalize_axes(name, axis, len(x.shape))
    for a in axes:
        if x.shape[a] not in (1, None):
            raise ShapeError(f"{name}: cannot squeeze axis {a} of a tensor of shape "
                             f"{shapes.fmt(x.shape)}: expected size 1, got {x.shape[a]}")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


SQUEEZE = defop("squeeze", ["x"], "xp.squeeze(x, axis)", _squeeze_rule,
                lambda g, out, x, *, axis: (reshape_like(g, x),), attrs=("axis",))


def squeeze(input: Any, axis: Any = None, name: str | None = None) -> Any:  # noqa: A002
    """Remove size-1 dims (all of them, or those in ``axis``). Usage: ``aj.squeeze(x, axis=1)``

    With ``axis=None`` inside a graph, only dims known to be 1 are removed.
    """
    dims = _shape_of(input)
    if axis is None:
        axes = tuple(i for i, d in enumerate(dims) if d == 1)
    else:
        axes = shapes.normalize_axes("squeeze", axis, len(dims))
    return bind(SQUEEZE, input, axis=axes)


def _transpose_rule(name, x, *, perm):
    ndim = len(x.shape)
    if sorted(perm) != list(range(ndim)):
        raise InvalidArgumentError(
            f"{name}: perm {list(perm)} is not a permutation of the axes of a tensor of shape "
            f"{shapes.fmt(x.shape)}; expected an ordering of {list(range(ndim))}")
    return tuple(x.shape[p] for p in perm), x.dtype


def _transpose_vjp(g, out, x, *, perm):
    return (bind(TRANSPOSE, g, perm=tuple(int(i) for i in np.argsort(perm))),)


TRANSPOSE = defop("transpose", ["x"], "xp.transpose(x, perm)", _transpose_rule, _transpose_vjp,
                  attrs=("perm",))


def transpose(a: Any, perm: Any = None, conjugate: bool = False, name: str | None = None) -> Any:
    """Permute the axes of ``a`` (reverse them when ``perm`` is None).

    Usage: ``aj.transpose(x)``, ``aj.transpose(x, perm=[0, 2, 1])``
    """
    if perm is None:
        perm = tuple(reversed(range(len(_shape_of(a)))))
    else:
        perm = static_ints("transpose", perm, "perm")
    return bind(TRANSPOSE, a, perm=perm)


def _broadcast_to_rule(name, x, *, shape):
    lead = len(shape) - len(x.shape)
    if lead < 0 or any(d is not None and d != 1 and d != t
                       for d, t in zip(x.shape, shape[lead:])):
        raise ShapeError(f"{name}: cannot broadcast a tensor of shape {shapes.fmt(x.shape)} "
                         f"to shape {shapes.fmt(shape)}")
    return shape, x.dtype


BROADCAST_TO = defop("broadcast_to", ["x"], "xp.broadcast_to(x, shape)", _broadcast_to_rule,
                     lambda g, out, x, *, shape: (unbroadcast(g, x),), attrs=("shape",))


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Any:  # noqa: A002
    """``input`` broadcast to ``shape`` (NumPy rules). Usage: ``aj.broadcast_to(b, (32, 10))``"""
    return bind(BROADCAST_TO, input, shape=static_shape("broadcast_to", shape))


# ----------------------------------------------------------------------------- tile and pad


def _tile_rule(name, x, *, multiples):
    if len(multiples) != len(x.shape):
        raise InvalidArgumentError(
            f"{name}: expected {len(x.shape)} multiples (one per dimension of a tensor of shape "
            f"{shapes.fmt(x.shape)}), got {list(multiples)}")
    if any(m < 0 for m in multiples):
        raise InvalidArgumentError(f"{name}: multiples must be >= 0, got {list(multiples)}")
    return tuple(None if d is None else d * m for d, m in zip(x.shape, multiples)), x.dtype


def _tile_grad(xp, g, like, multiples):
    # Tile's output viewed as [m0, d0, m1, d1, ...]: the gradient sums over each m axis.
    split = tuple(n for pair in zip(multiples, like.shape) for n in pair)
    return g.reshape(split).sum(axis=tuple(range(0, len(split), 2)), dtype=g.dtype)


TILE = defop("tile", ["x"], "xp.tile(x, multiples)", _tile_rule,
             lambda g, out, x, *, multiples: (bind(TILE_GRAD, g, x, multiples=multiples),),
             attrs=("multiples",))
TILE_GRAD = defop("tile_grad", ["g", "like"], "_tile_grad(xp, g, like, multiples)",
                  lambda name, g, like, *, multiples: (like.shape, g.dtype),
                  lambda gg, out, g, like, *, multiples: (bind(TILE, gg, multiples=multiples),
                                                          None),
                  attrs=("multiples",), namespace={"_tile_grad": _tile_grad})


def tile(input: Any, multiples: Any, name: str | None = None) -> Any:  # noqa: A002
    """Repeat ``input`` ``multiples[i]`` times along each axis ``i``.

    Usage: ``aj.tile(x, [2, 1])``
    """
    return bind(TILE, input, multiples=static_ints("tile", multiples, "multiples"))


_PAD_MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")


def _pad_rule(name, x, *, paddings, mode, constant_values):
    if mode not in _PAD_MODES:
        raise InvalidArgumentError(f"{name}: mode must be one of {list(_PAD_MODES)}, "
                                   f"got {mode!r}")
    if len(paddings) != len(x.shape):
        raise InvalidArgumentError(
            f"{name}: expected paddings of shape [{len(x.shape)}, 2] for a tensor of shape "
            f"{shapes.fmt(x.shape)}, got {len(paddings)} rows")
    out = []
    for axis, ((before, after), d) in enumerate(zip(paddings, x.shape)):
        if before < 0 or after < 0:
            raise InvalidArgumentError(f"{name}: paddings must be >= 0, got "
                                       f"{[list(p) for p in paddings]}")
        limit = None if d is None else d - 1 if mode == "REFLECT" else d
        if mode != "CONSTANT" and limit is not None and max(before, after) > limit:
            raise InvalidArgumentError(
                f"{name}: {mode} padding of axis {axis} (size {d}) can be at most {limit} "
                f"on each side, got {[before, after]}")
        out.append(None if d is None else d + before + after)
    return tuple(out), x.dtype


def _pad(xp, x, paddings, mode, constant_values):
    if not paddings:
        return x.copy()  # a scalar: nothing to pad (np.pad refuses empty paddings); no alias
    if mode == "CONSTANT":
        return xp.pad(x, paddings, mode="constant", constant_values=constant_values)
    return xp.pad(x, paddings, mode=mode.lower())


def _pad_vjp(g, out, x, *, paddings, mode, constant_values):
    if mode == "CONSTANT":  # the cheap common case: slice the padding off
        return (getitem(g, tuple(slice(b, -a if a else None) for b, a in paddings)),)
    return (bind(PAD_GRAD, g, x, paddings=paddings, mode=mode),)


def _pad_grad(xp, g, like, paddings, mode):
    # Pad the positions 0..n-1 the same way, then add each gradient entry to the position
    # it was copied from: the adjoint of any padding mode.
    n = like.size
    source = xp.pad(xp.arange(n).reshape(like.shape), paddings, mode=mode.lower())
    total = xp.bincount(source.reshape(-1), weights=g.reshape(-1), minlength=n)
    return total.astype(g.dtype).reshape(like.shape)


PAD = defop("pad", ["x"], "_pad(xp, x, paddings, mode, constant_values)", _pad_rule, _pad_vjp,
            attrs=("paddings", "mode", "constant_values"), namespace={"_pad": _pad})
PAD_GRAD = defop("pad_grad", ["g", "like"], "_pad_grad(xp, g, like, paddings, mode)",
                 lambda name, g, like, *, paddings, mode: (like.shape, g.dtype),
                 lambda gg, out, g, like, *, paddings, mode: (
                     bind(PAD, gg, paddings=paddings, mode=mode, constant_values=0), None),
                 attrs=("paddings", "mode"), namespace={"_pad_grad": _pad_grad})


def pad(tensor: Any, paddings: Any, mode: str = "CONSTANT", constant_values: Any = 0,
        name: str | None = None) -> Any:
    """Pad ``tensor``: ``paddings[i] = [before, after]`` for axis ``i``; ``mode`` is
    ``"CONSTANT"`` (with ``constant_values``), ``"REFLECT"`` or ``"SYMMETRIC"``, as TF.

    Usage: ``aj.pad(x, [[1, 1], [2, 2]])``
    """
    paddings = resolved("pad", paddings, "paddings", "Python ints")
    flat = static_ints("pad", paddings, "paddings")
    rows = np.shape(paddings)
    if flat and (len(rows) != 2 or rows[1] != 2):  # (empty paddings pad a scalar)
        raise InvalidArgumentError(f"pad: expected paddings of shape [rank, 2], got "
                                   f"{paddings!r}")
    pairs = tuple(zip(flat[0::2], flat[1::2]))
    value = python_number("pad", constant_values, "constant_values")
    return bind(PAD, tensor, paddings=pairs, mode=str(mode).upper(), constant_values=value)


# ----------------------------------------------------------------------------- join and split


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


def _fill_missing(gs, outs):
    """The cotangents of a multi-output op, with zeros for outputs nobody used."""
    return [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]


UNSTACK = defop("unstack", ["x"], "_unstack(xp, x, axis)", _unstack_rule,
                lambda gs, outs, x, *, axis, num: (stack(_fill_missing(gs, outs), axis=axis),),
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


def _same_shapes(name, xs, skip_axis=None):
    """The merged shape of ``xs`` (``None`` dims filled from others); all must agree except
    along ``skip_axis``."""
    shape = list(xs[0].shape)
    for x in xs[1:]:
        if len(x.shape) != len(shape):
            raise ShapeError(f"{name}: expected tensors of one rank, got shapes "
                             f"{shapes.fmt(xs[0].shape)} and {shapes.fmt(x.shape)}")
        for i, d in enumerate(x.shape):
            if i == skip_axis or d is None:
                continue
            if shape[i] is None:
                shape[i] = d
            elif shape[i] != d:
                where = "" if skip_axis is None else \
                    f"; only axis {skip_axis} (the {name} axis) may differ"
                raise ShapeError(f"{name}: shapes {shapes.fmt(xs[0].shape)} and "
                                 f"{shapes.fmt(x.shape)} differ in dimension {i} "
                                 f"({shape[i]} vs {d}){where}")
    return tuple(shape)


def _stack_rule(name, *xs, axis):
    if not xs:
        raise InvalidArgumentError(f"{name}: expected at least one tensor")
    dt = dtypes.same_dtype(name, tuple(x.dtype for x in xs))
    shape = _same_shapes(name, xs)
    a = shapes.normalize_axis(name, axis, len(shape) + 1)
    return shape[:a] + (len(xs),) + shape[a:], dt


STACK = defop("stack", ["*values"], "xp.stack(values, axis=axis)", _stack_rule,
              lambda g, out, *xs, axis: tuple(unstack(g, num=len(xs), axis=axis)),
              attrs=("axis",))


def stack(values: list, axis: int = 0, name: str | None = None) -> Any:
    """Join equal-shaped tensors along a new axis. Usage: ``aj.stack([a, b], axis=1)``"""
    return bind(STACK, *values, axis=axis)


def _concat_rule(name, *xs, axis):
    if not xs:
        raise InvalidArgumentError(f"{name}: expected at least one tensor")
    dt = dtypes.same_dtype(name, tuple(x.dtype for x in xs))
    if not xs[0].shape:
        raise ShapeError(f"{name}: cannot concatenate scalars (rank 0); use aj.stack")
    a = shapes.normalize_axis(name, axis, len(xs[0].shape))
    shape = _same_shapes(name, xs, skip_axis=a)
    sizes = [x.shape[a] for x in xs]
    total = None if None in sizes else sum(sizes)
    return shape[:a] + (total,) + shape[a + 1:], dt


def _concat_vjp(g, out, *xs, axis):
    sizes = tuple(x.shape[axis] for x in xs)
    if None not in sizes:  # static sizes: split, which does not keep the inputs alive
        return tuple(bind(SPLIT, g, num_or_size_splits=sizes, axis=axis))
    return tuple(bind(CONCAT_GRAD, g, *xs, axis=axis))  # sizes read at run time


def _split_like(xp, values, axis):
    g, likes = values[0], values[1:]
    bounds = np.cumsum([like.shape[axis] for like in likes[:-1]]).tolist()
    return tuple(xp.split(g, bounds, axis=axis))


CONCAT = defop("concat", ["*values"], "xp.concatenate(values, axis=axis)", _concat_rule,
               _concat_vjp, attrs=("axis",))
CONCAT_GRAD = defop(
    "concat_grad", ["*values"], "_split_like(xp, values, axis)",
    lambda name, g, *likes, axis: [(like.shape, g.dtype) for like in likes],
    lambda gs, outs, g, *likes, axis: (concat(_fill_missing(gs, outs), axis),
                                       *([None] * len(likes))),
    attrs=("axis",), multiple=True, namespace={"_split_like": _split_like})


def concat(values: list, axis: int, name: str | None = None) -> Any:
    """Join tensors along an existing axis. Usage: ``aj.concat([a, b], axis=0)``"""
    if not values:
        raise InvalidArgumentError("concat: expected at least one tensor, got []")
    axis = shapes.normalize_axis("concat", axis, len(_shape_of(values[0])) or 1)
    return bind(CONCAT, *values, axis=axis)


def _split_rule(name, x, *, num_or_size_splits, axis):
    a = shapes.normalize_axis(name, axis, len(x.shape))
    d = x.shape[a]
    spec = num_or_size_splits
    if isinstance(spec, int):
        if spec < 1:
            raise InvalidArgumentError(f"{name}: expected a number of splits >= 1, got {spec}")
        if d is not None and d % spec:
            raise ShapeError(f"{name}: cannot split axis {a} of size {d} (tensor shape "
                             f"{shapes.fmt(x.shape)}) into {spec} equal parts")
        sizes = [None if d is None else d // spec] * spec
    else:
        if spec.count(-1) > 1 or any(s < -1 for s in spec):
            raise InvalidArgumentError(f"{name}: size_splits must be >= 0 with at most one -1, "
                                       f"got {list(spec)}")
        known = sum(s for s in spec if s != -1)
        rest = None if d is None else d - known
        if d is not None and (rest < 0 or (-1 not in spec and rest != 0)):
            raise ShapeError(f"{name}: size_splits {list(spec)} sum to {known}, but axis {a} "
                             f"of the tensor (shape {shapes.fmt(x.shape)}) has size {d}")
        sizes = [rest if s == -1 else s for s in spec]
    return [(x.shape[:a] + (s,) + x.shape[a + 1:], x.dtype) for s in sizes]


def _split(xp, x, spec, axis):
    if isinstance(spec, int):
        return tuple(xp.split(x, spec, axis=axis))
    if -1 in spec:
        rest = x.shape[axis] - sum(s for s in spec if s != -1)
        spec = [rest if s == -1 else s for s in spec]
    return tuple(xp.split(x, np.cumsum(spec[:-1]).tolist(), axis=axis))


SPLIT = defop("split", ["x"], "_split(xp, x, num_or_size_splits, axis)", _split_rule,
              lambda gs, outs, x, *, num_or_size_splits, axis: (
                  concat(_fill_missing(gs, outs), axis),),
              attrs=("num_or_size_splits", "axis"), multiple=True,
              namespace={"_split": _split})


def split(value: Any, num_or_size_splits: Any, axis: int = 0, name: str | None = None) -> list:
    """Split ``value`` along ``axis`` into equal parts (an int) or parts of the given sizes
    (a list; one size may be -1 for the rest).

    Usage: ``a, b = aj.split(x, 2, axis=1)``, ``head, tail = aj.split(x, [1, -1])``
    """
    axis = shapes.normalize_axis("split", axis, len(_shape_of(value)))
    if isinstance(num_or_size_splits, (int, np.integer)) and not isinstance(num_or_size_splits,
                                                                             bool):
        spec = int(num_or_size_splits)
    else:
        spec = static_ints("split", num_or_size_splits, "num_or_size_splits")
    return list(bind(SPLIT, value, num_or_size_splits=spec, axis=axis))


def _add_n_rule(name, *xs):
    if not xs:
        raise InvalidArgumentError(f"{name}: expected at least one tensor")
    dt = dtypes.same_dtype(name, tuple(x.dtype for x in xs))
    if dt == dtypes.bool:
        raise DTypeError(f"{name}: expected numeric tensors, got bool")
    return _same_shapes(name, xs), dt


def _add_n(xp, inputs):
    if len(inputs) == 1:
        return inputs[0].copy()  # a new buffer, never an alias of the input (a variable's)
    out = xp.add(inputs[0], inputs[1])
    for x in inputs[2:]:
        out += x  # in place: one new buffer for the whole sum
    return out


ADD_N = defop("add_n", ["*inputs"], "_add_n(xp, inputs)", _add_n_rule,
              lambda g, out, *xs: (g,) * len(xs), namespace={"_add_n": _add_n})


def add_n(inputs: list, name: str | None = None) -> Any:
    """The elementwise sum of a list of tensors of one shape and dtype.

    Usage: ``aj.add_n([a, b, c])``
    """
    if not inputs:
        raise InvalidArgumentError("add_n: expected at least one tensor, got []")
    return bind(ADD_N, *inputs)


# ----------------------------------------------------------------------------- identity

IDENTITY = defop("identity", ["x"], "x", lambda name, x: (x.shape, x.dtype),
                 lambda g, out, x: (g,))
STOP_GRADIENT = defop("stop_gradient", ["x"], "x", lambda name, x: (x.shape, x.dtype),
                      lambda g, out, x: (None,))


def identity(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The same value (a new tensor). Usage: ``aj.identity(x)``"""
    return bind(IDENTITY, input)


def identity_n(input: Any, name: str | None = None) -> list:  # noqa: A002
    """``identity`` of each tensor of a list. Usage: ``a, b = aj.identity_n([x, y])``"""
    return [identity(x) for x in input]


def _ensure_rule(name, x, *, shape):
    if len(x.shape) != len(shape) or any(
            a is not None and b is not None and a != b for a, b in zip(x.shape, shape)):
        raise ShapeError(f"ensure_shape: expected a tensor of shape {shapes.fmt(shape)}, got "
                         f"{x.dtype.name}{shapes.fmt(x.shape)}")
    return tuple(a if a is not None else b for a, b in zip(x.shape, shape)), x.dtype


def _ensure(xp, x, shape):
    if len(x.shape) != len(shape) or any(b is not None and a != b
                                         for a, b in zip(x.shape, shape)):
        raise ShapeError(f"ensure_shape: expected a tensor of shape {shapes.fmt(shape)}, got "
                         f"{x.dtype.name}{shapes.fmt(x.shape)}")
    return x


ENSURE_SHAPE = defop("ensure_shape", ["x"], _ensure, _ensure_rule, lambda g, out, x, shape: (g,),
                     attrs=("shape",))


def ensure_shape(x: Any, shape: Any, name: str | None = None) -> Any:
    """``x``, checked to have ``shape`` (``None`` dims: any size): while tracing for the dims
    known then (and the result's shape takes the dims ``shape`` gives), at every call for
    the others. Usage: ``x = aj.ensure_shape(x, [None, 28, 28, 1])``
    """
    dims = tuple(None if d is None else int(d) for d in (
        shape.as_list() if hasattr(shape, "as_list") else shape))
    return bind(ENSURE_SHAPE, as_operand(x), shape=dims)


def stop_gradient(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The same value, but gradients do not flow through it. Usage: ``aj.stop_gradient(t)``"""
    return bind(STOP_GRADIENT, input)

