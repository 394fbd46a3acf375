"""N-d indexing: ``gather_nd``, ``scatter_nd``, ``tensor_scatter_nd_update``/``_add``, and the
value-dependent selections ``boolean_mask`` and one-argument ``where`` (``aj.*``).

Indices are ``[..., M]`` int tensors: each row of the last axis addresses a slice of the
first ``M`` dims. The gathers and scatters are each other's VJPs, so gradients of any order
close over these four ops. ``boolean_mask`` and ``where(condition)`` return a number of rows
known only from the values: eagerly it is counted, in graphs that dim is ``None``.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import _is_concrete, check_index_range, getitem, index_values
from autojit.ops.math import where as _where3
from autojit.ops.math import zeros_like_value


def _nd_key(xp, indices, depth):
    index = xp.asarray(indices)
    return tuple(index[..., k] for k in range(depth))


def _depth_of(name: str, indices: Any) -> int:
    """``M``, the number of leading dims each index row addresses: the static last dim of
    ``indices`` (an attribute of the ops, so their rules hold for indices of unknown shape)."""
    shape = getattr(indices, "shape", None)
    if not shape:
        raise ShapeError(f"{name}: expected indices of rank >= 1 ([..., M]), got a scalar")
    if shape[-1] is None:
        raise ShapeError(f"{name}: the last dim of the indices (M) must be known, got "
                         f"{shapes.fmt(shape)}")
    return int(shape[-1])


def _depth(name: str, indices: Any, shape: tuple, m: int) -> int:
    """``m`` checked against the indices and the shape they index."""
    if not dtypes.is_integer(indices.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 indices, got {indices.dtype.name}")
    if len(indices.shape) < 1 or indices.shape[-1] not in (None, m):
        raise ShapeError(f"{name}: expected indices of shape [..., {m}], got "
                         f"{shapes.fmt(indices.shape)}")
    if not 1 <= m <= len(shape):
        raise ShapeError(f"{name}: indices of shape {shapes.fmt(indices.shape)} address {m} "
                         f"dims, but the tensor has shape {shapes.fmt(shape)}; expected "
                         f"1 <= indices.shape[-1] <= {len(shape)}")
    return m


def _check_rows(name: str, indices: Any, shape: tuple, depth: int) -> None:
    if not _is_concrete(indices) or indices.size == 0:
        return
    for k in range(depth):
        d = shape[k]
        check_index_range(name, indices[..., k], d,
                          lambda k=k, d=d: f"dimension {k} of size {d} (shape "
                          f"{shapes.fmt(shape)})", negative=False)


def _updates_shape(name: str, indices: Any, updates: Any, shape: tuple, m: int) -> None:
    m = _depth(name, indices, shape, m)
    expected = tuple(indices.shape[:-1]) + tuple(shape[m:])
    if len(updates.shape) != len(expected) or any(
            a is not None and b is not None and a != b for a, b in zip(updates.shape, expected)):
        raise ShapeError(f"{name}: expected updates of shape {shapes.fmt(expected)} "
                         f"(indices.shape[:-1] + shape[{m}:]), got "
                         f"{shapes.fmt(updates.shape)}")


# ----------------------------------------------------------------------------- gather_nd


def _gather_nd_rule(name, params, indices, *, depth):
    m = _depth(name, indices, params.shape, depth)
    return tuple(indices.shape[:-1]) + tuple(params.shape[m:]), params.dtype


GATHER_ND = defop(
    "gather_nd", ["params", "indices"], "params[_nd_key(xp, indices, depth)]", _gather_nd_rule,
    lambda g, out, params, indices, *, depth: (
        bind(TENSOR_SCATTER_ND_ADD, zeros_like_value(params), indices, g, depth=depth), None),
    attrs=("depth",), namespace={"_nd_key": _nd_key},
    check=lambda name, params, indices, *, depth: _check_rows(name, indices, params.shape,
                                                              depth))


def gather_nd(params: Any, indices: Any, batch_dims: int = 0, name: str | None = None) -> Any:
    """Slices of ``params`` at ``indices`` of shape ``[..., M]`` (each row indexes the first
    ``M`` dims); out-of-range indices are an error, as TF on the CPU.

    Usage: ``aj.gather_nd(x, [[0, 1], [2, 0]])`` (two elements of a matrix)
    """
    if batch_dims:
        raise InvalidArgumentError(f"gather_nd: batch_dims is not supported, got {batch_dims}")
    indices = index_values(indices)
    return bind(GATHER_ND, as_operand(params), indices, depth=_depth_of("gather_nd", indices))


# ----------------------------------------------------------------------------- scatters


def _scatter_rule(name, tensor, indices, updates, *, depth):
    dtypes.same_dtype(name, (tensor.dtype, updates.dtype))
    _updates_shape(name, indices, updates, tensor.shape, depth)
    return tensor.shape, tensor.dtype


def _scatter_check(name, tensor, indices, updates, *, depth):
    _check_rows(name, indices, tensor.shape, depth)


def _scatter_add(xp, tensor, indices, updates, depth):
    out = tensor.copy()
    xp.add.at(out, _nd_key(xp, indices, depth), updates)  # repeated indices add up
    return out


def _scatter_update(xp, tensor, indices, updates, depth):
    out = tensor.copy()
    out[_nd_key(xp, indices, depth)] = updates  # repeated indices: the last update wins
    return out


TENSOR_SCATTER_ND_ADD = defop(
    "tensor_scatter_nd_add", ["tensor", "indices", "updates"],
    "_scatter_add(xp, tensor, indices, updates, depth)", _scatter_rule,
    lambda g, out, tensor, indices, updates, *, depth: (
        g, None, bind(GATHER_ND, g, indices, depth=depth)),
    attrs=("depth",), namespace={"_scatter_add": _scatter_add}, check=_scatter_check)


def _update_vjp(g, out, tensor, indices, updates, *, depth):
    # Overwritten entries of ``tensor`` get no gradient; each update gets the gradient at its
    # place (with repeated indices every update gets it, as TF).
    kept = bind(TENSOR_SCATTER_ND_UPDATE, g, indices, zeros_like_value(updates), depth=depth)
    return kept, None, bind(GATHER_ND, g, indices, depth=depth)


TENSOR_SCATTER_ND_UPDATE = defop(
    "tensor_scatter_nd_update", ["tensor", "indices", "updates"],
    "_scatter_update(xp, tensor, indices, updates, depth)", _scatter_rule, _update_vjp,
    attrs=("depth",), namespace={"_scatter_update": _scatter_update}, check=_scatter_check)


def tensor_scatter_nd_add(tensor: Any, indices: Any, updates: Any,
                          name: str | None = None) -> Any:
    """A copy of ``tensor`` with ``updates`` added at ``indices`` (repeats add up).

    Usage: ``aj.tensor_scatter_nd_add(x, [[0], [2]], rows)``
    """
    tensor, indices = as_operand(tensor), index_values(indices)
    return bind(TENSOR_SCATTER_ND_ADD, tensor, indices, _like(updates, tensor),
                depth=_depth_of("tensor_scatter_nd_add", indices))


def tensor_scatter_nd_update(tensor: Any, indices: Any, updates: Any,
                             name: str | None = None) -> Any:
    """A copy of ``tensor`` with the entries at ``indices`` replaced by ``updates``.

    Usage: ``aj.tensor_scatter_nd_update(x, [[1, 1]], [0.0])``
    """
    tensor, indices = as_operand(tensor), index_values(indices)
    return bind(TENSOR_SCATTER_ND_UPDATE, tensor, indices, _like(updates, tensor),
                depth=_depth_of("tensor_scatter_nd_update", indices))


def _like(updates: Any, tensor: Any) -> Any:
    """Python data for ``updates`` takes the tensor's dtype (``[0.0]`` next to float64)."""
    return as_operand(updates, tensor.dtype)


def _scatter_nd_rule(name, indices, updates, *, shape, depth):
    _updates_shape(name, indices, updates, shape, depth)
    return shape, updates.dtype


def _scatter_nd(xp, indices, updates, shape, depth):
    out = xp.zeros(shape, updates.dtype)
    xp.add.at(out, _nd_key(xp, indices, depth), updates)
    return out


SCATTER_ND = defop(
    "scatter_nd", ["indices", "updates"], "_scatter_nd(xp, indices, updates, shape, depth)",
    _scatter_nd_rule, lambda g, out, indices, updates, *, shape, depth: (
        None, bind(GATHER_ND, g, indices, depth=depth)),
    attrs=("shape", "depth"), namespace={"_scatter_nd": _scatter_nd},
    check=lambda name, indices, updates, *, shape, depth: _check_rows(name, indices, shape,
                                                                      depth))


def scatter_nd(indices: Any, updates: Any, shape: Any, name: str | None = None) -> Any:
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (repeats add up), as TF.

    Usage: ``aj.scatter_nd([[1], [3]], [9.0, 10.0], [5])``
    """
    from autojit.ops.creation import static_shape

    indices = index_values(indices)
    return bind(SCATTER_ND, indices, as_operand(updates), shape=static_shape("scatter_nd", shape),
                depth=_depth_of("scatter_nd", indices))


# ----------------------------------------------------------------------------- boolean_mask


def boolean_mask(tensor: Any, mask: Any, axis: int | None = None, name: str | None = None) -> Any:
    """The entries of ``tensor`` where the bool ``mask`` (covering dims ``axis`` ..
    ``axis + mask.ndim``) is True, flattened into one dim; in graphs that dim is unknown.

    Usage: ``aj.boolean_mask(x, x > 0)``, ``aj.boolean_mask(rows, keep, axis=1)``
    """
    tensor = as_operand(tensor)
    mask = as_operand(mask)
    if mask.dtype != dtypes.bool:
        raise DTypeError(f"boolean_mask: expected a bool mask, got {mask.dtype.name}")
    k, n = len(mask.shape), len(tensor.shape)
    if k == 0:
        raise ShapeError("boolean_mask: the mask cannot be a scalar; expected rank >= 1")
    axis = 0 if axis is None else shapes.normalize_axis("boolean_mask", axis, n)
    covered = tuple(tensor.shape[axis:axis + k])
    if axis + k > n or any(a is not None and b is not None and a != b
                           for a, b in zip(mask.shape, covered)):
        raise ShapeError(f"boolean_mask: a mask of shape {shapes.fmt(mask.shape)} does not fit "
                         f"dims {axis}..{axis + k - 1} of a tensor of shape "
                         f"{shapes.fmt(tensor.shape)}")
    return getitem(tensor, (slice(None),) * axis + (mask,))


# ----------------------------------------------------------------------------- where(condition)


def _where_indices_rule(name, condition):
    count = int((condition != 0).sum()) if _is_concrete(condition) else None
    return (count, len(condition.shape)), dtypes.int64


WHERE_INDICES = defop("where_indices", ["condition"], "xp.argwhere(condition).astype(xp.int64)",
                      _where_indices_rule, checks_values=True)


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Any:
    """``where(c, x, y)``: elementwise ``x`` where ``c`` else ``y``; ``where(c)``: the int64
    coordinates ``[num_true, rank]`` of the True (non-zero) entries of ``c``, as TF.

    Usage: ``aj.where(m, x, 0.0)``, ``rows = aj.where(labels == 3)``
    """
    if x is None and y is None:
        return bind(WHERE_INDICES, as_operand(condition))
    if x is None or y is None:
        raise InvalidArgumentError("where: pass both x and y, or neither (for the coordinates "
                                   "of the True entries)")
    return _where3(condition, x, y)
