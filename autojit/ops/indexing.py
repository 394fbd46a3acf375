"""Indexing ops: ``getitem`` (NumPy-style ``x[key]``), ``gather`` and ``one_hot``.

Note [Index keys]: ``x[key]`` binds one of two ops. A key made only of ints, slices, None
and ``...`` binds ``getitem`` with the key as an attribute (basic indexing: the kernel is
just ``x[key]``). A key holding index arrays (int or bool tensors, lists, NumPy arrays)
binds ``getitem_advanced``: the arrays become op INPUTS, so they may be symbolic inside
graphs, and the key attribute holds a ``Slot(i)`` where the i-th array goes. Attributes
must be hashable and slices are not (before Python 3.12), so keys are ``IndexKey``s:
tuples that hash slices by their fields and index as plain tuples.

A bool mask selects a number of elements known only from its values: eagerly the rule
counts them; in a graph that dim is ``None``.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from typing import Any, Callable, Iterator

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError, TracingError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, concrete, defop, to_numpy_constant


class IndexKey(tuple):
    """An index tuple usable as an op attribute: hashable although it holds slices.

    Usage: ``x[IndexKey((slice(None, None, -1), 0))]`` (the kernel indexes with it directly)
    """

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(tuple(("slice", k.start, k.stop, k.step) if isinstance(k, slice) else k
                          for k in self))


class Slot:
    """Marks where the ``index``-th index array (an op input) goes in an ``IndexKey``."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slot) and other.index == self.index

    def __hash__(self) -> int:
        return hash(("Slot", self.index))

    def __repr__(self) -> str:
        return f"Slot({self.index})"


def _is_concrete(aval: Any) -> bool:
    """True for a NumPy/CuPy array (eager), False for a ``TensorSpec`` (tracing)."""
    return isinstance(aval, (np.ndarray, np.generic)) or type(aval).__module__.startswith("cupy")


def check_index_range(name: str, indices: Any, size: Any, where: str, negative: bool,
                      noun: str = "index") -> None:
    """An error for index values outside a dim of ``size`` (negatives count from the end
    when ``negative``). Ops call it from their value ``check`` (Note [Value checks] in
    core.py), which sees concrete arrays eagerly and at every graph replay. ``where`` (the
    dim, for the message) may be a function making the text: checks that pass build none."""
    if size is None:
        return
    sink = _DEFERRED.sink
    if sink is not None and type(indices) not in (int, np.ndarray) and not isinstance(
            indices, np.generic):  # a device array: test it on the device
        low = -size if negative else 0
        sink(indices, low, size, lambda: _range_message(name, noun, where, low, size))
        return
    if type(indices) is int or (_is_concrete(indices) and indices.ndim == 0):
        # one index (a loop's counter, every iteration): no array reductions
        lo = hi = int(indices)
    elif not _is_concrete(indices) or indices.size == 0:
        return
    else:
        lo, hi = int(indices.min()), int(indices.max())
    low = -size if negative else 0
    if lo < low or hi >= size:
        bad = lo if lo < low else hi
        if callable(where):
            where = where()
        raise InvalidArgumentError(f"{name}: {noun} {bad} is out of range for {where}; "
                                   f"expected {low} <= {noun} < {size}")


def _range_message(name: str, noun: str, where: Any, low: int, size: int) -> str:
    where = where() if callable(where) else where
    return f"{name}: {noun} out of range for {where}; expected {low} <= {noun} < {size}"


class _Deferred(threading.local):
    sink: Callable | None = None


_DEFERRED = _Deferred()


@contextlib.contextmanager
def deferred_index_checks(sink: Callable) -> Iterator[None]:
    """Within the block, ``check_index_range`` given a device array reads nothing back: it
    calls ``sink(indices, low, size, message)`` (``message()`` makes the error text) for the
    caller to test ``low <= indices < size`` on the device (the GPU replay's deferred checks,
    Note [Deferred checks] in graph/executors/device_checks.py).

    Usage: ``with deferred_index_checks(sink): op.check(name, *inputs, **attrs)``
    """
    previous, _DEFERRED.sink = _DEFERRED.sink, sink
    try:
        yield
    finally:
        _DEFERRED.sink = previous


# ----------------------------------------------------------------------------- getitem


def getitem(x: Any, key: Any) -> Any:
    """``x[key]`` with NumPy semantics: ints, slices (any step), None, ``...``, integer
    index arrays (lists, NumPy arrays, int tensors) and bool masks.

    Usage: ``x[0]``, ``x[:, ::-1]``, ``x[..., None]``, ``x[[0, 2]]``, ``x[x > 0]``
    """
    if type(key) is not tuple:
        key = (key,)
    parts = []
    arrays = []
    for k in key:
        if isinstance(k, slice):
            parts.append(_slice(k))
        elif k is None or k is Ellipsis:
            parts.append(k)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            parts.append(int(k))
        else:
            parts.append(Slot(len(arrays)))
            arrays.append(_index_array(k))
    if arrays:
        axis = _scalar_index_axis(parts, arrays)
        if axis is not None:
            return bind(INDEX_AT, x, arrays[0], axis=axis)
        return bind(GETITEM_ADVANCED, x, *arrays, key=IndexKey(parts))
    return bind(GETITEM, x, key=IndexKey(parts))


def _scalar_index_axis(parts: list, arrays: list) -> int | None:
    """The axis of ``x[:, ..., :, i]`` for one 0-d integer tensor ``i`` (None otherwise):
    the common ``xs[t]`` of a loop, which ``index_at`` does without advanced indexing."""
    if len(arrays) != 1 or getattr(arrays[0], "shape", None) != () \
            or not dtypes.is_integer(getattr(arrays[0], "dtype", None)):
        return None
    *lead, last = parts
    if not isinstance(last, Slot) or any(p != slice(None) for p in lead):
        return None
    return len(lead)


def _slice(k: slice) -> slice:
    bounds = (k.start, k.stop, k.step)
    if all(b is None or type(b) is int for b in bounds):
        normal = k
    else:
        try:
            normal = slice(*(None if b is None else operator.index(b) for b in bounds))
        except TracingError:
            raise
        except TypeError:
            raise InvalidArgumentError(f"getitem: slice bounds must be ints or int tensors, "
                                       f"got {k!r}") from None
    if normal.step == 0:
        raise InvalidArgumentError("getitem: slice step cannot be zero")
    return normal


def _index_array(k: Any) -> Any:
    if isinstance(k, (bool, np.bool_)):
        raise InvalidArgumentError(f"getitem: a scalar bool ({k!r}) is not a valid index; "
                                   "use a bool tensor mask")
    if hasattr(k, "dtype") and hasattr(k, "shape"):
        return k  # a tensor or NumPy array: its dtype is checked by the rule
    array = np.asarray(k)
    return array.astype(np.int64) if array.size == 0 else array


def _index_shape(name: str, shape: tuple, key: tuple, indices: tuple,
                 ranges: bool = False) -> tuple:
    """The shape of ``x[key]`` by NumPy's rules, computed from shapes alone (plus, eagerly,
    the number of True values of each mask). ``indices`` are the avals of the Slots; with
    ``ranges``, the values of integer index arrays are checked against their dims."""
    ndim = len(shape)
    used = 0
    for k in key:
        if isinstance(k, Slot):
            aval = indices[k.index]
            used += len(aval.shape) if aval.dtype == dtypes.bool else 1
        elif k is not None and k is not Ellipsis:
            used += 1
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise InvalidArgumentError(f"{name}: an index can have only one '...', got {key!r}")
    if used > ndim:
        raise InvalidArgumentError(f"{name}: too many indices for a tensor of shape "
                                   f"{shapes.fmt(shape)}: the key indexes {used} dimensions, "
                                   f"the tensor has {ndim}")
    out: list = []  # dims from None, slices and the dims the key does not touch
    advanced: list = []  # (position in out, broadcast shape) of ints and index arrays
    dim = 0
    for k in key:
        if k is Ellipsis:
            out.extend(shape[dim:dim + ndim - used])
            dim += ndim - used
        elif k is None:
            out.append(1)
        elif isinstance(k, slice):
            d = shape[dim]
            out.append(None if d is None else len(range(*k.indices(d))))
            dim += 1
        elif isinstance(k, Slot):
            aval = indices[k.index]
            if aval.dtype == dtypes.bool:
                n = len(aval.shape)
                covered = shape[dim:dim + n]
                if any(m is not None and d is not None and m != d
                       for m, d in zip(aval.shape, covered)):
                    raise ShapeError(
                        f"{name}: a bool mask of shape {shapes.fmt(aval.shape)} does not fit "
                        f"a tensor of shape {shapes.fmt(shape)} at dimension {dim}; expected a "
                        f"mask of shape {shapes.fmt(covered)}")
                count = int(aval.sum()) if _is_concrete(aval) else None
                advanced.append((len(out), (count,)))
                dim += n
            elif dtypes.is_integer(aval.dtype):
                if ranges:
                    check_index_range(name, aval, shape[dim],
                                      f"dimension {dim} of size {shape[dim]} (tensor shape "
                                      f"{shapes.fmt(shape)})", negative=True)
                advanced.append((len(out), tuple(aval.shape)))
                dim += 1
            else:
                raise DTypeError(f"{name}: expected int or bool index arrays, got "
                                 f"{aval.dtype.name}")
        else:
            d = shape[dim]
            if d is not None and not -d <= k < d:
                raise InvalidArgumentError(
                    f"{name}: index {k} is out of range for dimension {dim} of size {d} "
                    f"(tensor shape {shapes.fmt(shape)}); expected {-d} <= index < {d}")
            advanced.append((len(out), ()))
            dim += 1
    out.extend(shape[dim:])
    if not any(isinstance(k, Slot) for k in key):
        return tuple(out)  # basic indexing: ints just drop their dim
    joined: tuple = ()
    for _, s in advanced:
        try:
            joined = shapes.broadcast(name, joined, s)
        except ShapeError:
            raise ShapeError(f"{name}: index arrays of shapes {shapes.fmt(joined)} and "
                             f"{shapes.fmt(s)} cannot be broadcast together") from None
    places = {p for p, _ in advanced}
    if len(places) == 1:  # adjacent index arrays: their dims replace them in place
        p = places.pop()
        return tuple(out[:p]) + joined + tuple(out[p:])
    return joined + tuple(out)  # separated: NumPy puts their dims first


def _scatter_basic(xp, g, like, key):
    out = xp.zeros(like.shape, g.dtype)
    out[key] = g
    return out


def _fill_slots(xp, key, indices, masks_as_ints=False):
    """The key with each Slot replaced by its index array (masks by their ``nonzero()``)."""
    parts = []
    for k in key:
        if type(k) is Slot:
            index = xp.asarray(indices[k.index])
            if masks_as_ints and index.dtype == np.bool_:
                parts.extend(index.nonzero())  # x[mask] is x[mask.nonzero()]
            else:
                parts.append(index)
        else:
            parts.append(k)
    return tuple(parts)


def _scatter_advanced(xp, g, like, key, indices):
    out = xp.zeros(like.shape, g.dtype)
    xp.add.at(out, _fill_slots(xp, key, indices, masks_as_ints=True), g)  # repeats add up
    return out


GETITEM = defop("getitem", ["x"], "x[key]",
                lambda name, x, *, key: (_index_shape(name, x.shape, key, ()), x.dtype),
                lambda g, out, x, *, key: (bind(GETITEM_GRAD, g, x, key=key),),
                attrs=("key",))
GETITEM_GRAD = defop("getitem_grad", ["g", "like"], "_scatter_basic(xp, g, like, key)",
                     lambda name, g, like, *, key: (like.shape, g.dtype),
                     lambda gg, out, g, like, *, key: (bind(GETITEM, gg, key=key), None),
                     attrs=("key",), namespace={"_scatter_basic": _scatter_basic})
GETITEM_ADVANCED = defop(
    "getitem_advanced", ["*values"], "values[0][_fill_slots(xp, key, values[1:])]",
    lambda name, x, *indices, key: (_index_shape("getitem", x.shape, key, indices), x.dtype),
    lambda g, out, x, *indices, key: (
        bind(GETITEM_ADVANCED_GRAD, g, x, *indices, key=key), *([None] * len(indices))),
    attrs=("key",), namespace={"_fill_slots": _fill_slots}, checks_values=True,
    check=lambda name, x, *indices, key: _index_shape("getitem", x.shape, key, indices,
                                                      ranges=True))
GETITEM_ADVANCED_GRAD = defop(
    "getitem_advanced_grad", ["*values"],
    "_scatter_advanced(xp, values[0], values[1], key, values[2:])",
    lambda name, g, like, *indices, key: (like.shape, g.dtype),
    lambda gg, out, g, like, *indices, key: (
        bind(GETITEM_ADVANCED, gg, *indices, key=key), None, *([None] * len(indices))),
    attrs=("key",), namespace={"_scatter_advanced": _scatter_advanced})


# ----------------------------------------------------------------------------- index_at


def _index_at_rule(name, x, i, *, axis):
    if not dtypes.is_integer(i.dtype) or tuple(i.shape) != ():
        raise DTypeError(f"getitem: expected a scalar integer index, got "
                         f"{i.dtype.name}{list(i.shape)}")
    return x.shape[:axis] + x.shape[axis + 1:], x.dtype


def _index_at_check(name, x, i, *, axis):
    d = x.shape[axis]
    if type(i) is int and -d <= i < d:  # the loop counter of ``for row in x``: fast path
        return
    check_index_range("getitem", i, d, lambda: f"dimension {axis} of size {d} (tensor shape "
                      f"{shapes.fmt(x.shape)})", negative=True)


def _index_at_grad(xp, g, like, i, axis):
    # ``i`` as it comes (a Python int, or a 0-d array that indexes as one): int() of a
    # device scalar would read it back on a GPU
    out = xp.zeros(like.shape, g.dtype)
    out[(slice(None),) * axis + (i,)] = g
    return out


# ``x[i]`` for a scalar integer tensor ``i`` (a view); codegen keeps only the live arm, so
# the replay line of a loop's ``xs[t]`` is ``v = a0[int(t)]``.
INDEX_AT = defop(
    "index_at", ["x", "i"], "x[int(i)] if axis == 0 else x[(slice(None),) * axis + (int(i),)]",
    _index_at_rule,
    lambda g, out, x, i, *, axis: (bind(INDEX_AT_GRAD, g, x, i, axis=axis), None),
    attrs=("axis",), check=_index_at_check)
INDEX_AT_GRAD = defop(
    "index_at_grad", ["g", "like", "i"], "_index_at_grad(xp, g, like, i, axis)",
    lambda name, g, like, i, *, axis: (like.shape, g.dtype),
    lambda gg, out, g, like, i, *, axis: (bind(INDEX_AT, gg, i, axis=axis), None, None),
    attrs=("axis",), namespace={"_index_at_grad": _index_at_grad})


# ----------------------------------------------------------------------------- gather


def _gather_rule(name, params, indices, *, axis):
    if not dtypes.is_integer(indices.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 indices, got {indices.dtype.name}")
    a = shapes.normalize_axis(name, axis, len(params.shape))
    return params.shape[:a] + tuple(indices.shape) + params.shape[a + 1:], params.dtype


def _gather_check(name, params, indices, *, axis):
    d = params.shape[axis]
    if type(indices) is int and 0 <= indices < d:  # a loop's row index: fast path
        return
    check_index_range(name, indices, d, lambda: f"axis {axis} of size {d} (params shape "
                      f"{shapes.fmt(params.shape)})", negative=False)


def _gather_grad(xp, g, indices, like, axis):
    out = xp.zeros(like.shape, g.dtype)
    xp.add.at(out, (slice(None),) * axis + (xp.asarray(indices),), g)  # repeats add up
    return out


GATHER = defop("gather", ["params", "indices"],
               "xp.take(params, xp.asarray(indices), axis=axis)", _gather_rule,
               lambda g, out, params, indices, *, axis: (
                   bind(GATHER_GRAD, g, indices, params, axis=axis), None),
               attrs=("axis",), check=_gather_check)
GATHER_GRAD = defop("gather_grad", ["g", "indices", "like"],
                    "_gather_grad(xp, g, indices, like, axis)",
                    lambda name, g, indices, like, *, axis: (like.shape, g.dtype),
                    lambda gg, out, g, indices, like, *, axis: (
                        bind(GATHER, gg, indices, axis=axis), None, None),
                    attrs=("axis",), namespace={"_gather_grad": _gather_grad})


def gather(params: Any, indices: Any, validate_indices: Any = None, axis: int = 0,
           batch_dims: int = 0, name: str | None = None) -> Any:
    """Slices of ``params`` along ``axis`` at ``indices`` (int tensor of any shape).

    Usage: ``aj.gather(embeddings, token_ids)``, ``aj.gather(x, [2, 0], axis=1)``

    Indices outside ``[0, params.shape[axis])`` are an error eagerly (as TF on CPU).
    """
    if batch_dims:
        raise InvalidArgumentError(f"gather: batch_dims is not supported, got {batch_dims}")
    axis = shapes.normalize_axis("gather", axis, len(params.shape) if hasattr(params, "shape")
                                 else np.ndim(params))
    return bind(GATHER, params, index_values(indices), axis=axis)


def index_values(indices: Any) -> Any:
    """Python ints and lists of them as an int32 array (not weak scalars that would take
    the dtype of a float partner); tensors and arrays unchanged."""
    return as_operand(indices)


# ----------------------------------------------------------------------------- one_hot


def _one_hot_rule(name, indices, *, depth, on_value, off_value, axis, dtype):
    if not dtypes.is_integer(indices.dtype):
        raise DTypeError(f"{name}: expected int32 or int64 indices, got {indices.dtype.name}")
    shape = tuple(indices.shape)
    return shape[:axis] + (depth,) + shape[axis:], dtype


def _one_hot(xp, indices, depth, on_value, off_value, axis, dtype):
    # The positions in int64: in the indices' own dtype they would wrap (int8 indices with
    # depth 200 would count -100 as position 156), or overflow (uint8 with depth 300).
    hot = xp.expand_dims(xp.asarray(indices), -1) == xp.arange(depth, dtype=xp.int64)
    if on_value == 1 and off_value == 0:
        out = hot.astype(dtype)
    else:
        out = xp.where(hot, dtype.type(on_value), dtype.type(off_value)).astype(dtype)
    return out if axis == out.ndim - 1 else xp.moveaxis(out, -1, axis)


ONE_HOT = defop("one_hot", ["indices"],
                "_one_hot(xp, indices, depth, on_value, off_value, axis, dtype)", _one_hot_rule,
                attrs=("depth", "on_value", "off_value", "axis", "dtype"),
                namespace={"_one_hot": _one_hot})


def one_hot(indices: Any, depth: int, on_value: Any = None, off_value: Any = None,
            axis: int = -1, dtype: Any = None, name: str | None = None) -> Any:
    """A tensor with ``on_value`` (default 1) where the new ``axis`` equals ``indices``, else
    ``off_value`` (default 0); indices outside ``[0, depth)`` give rows of ``off_value``. The
    dtype is TF's: ``dtype``, else that of ``on_value`` or ``off_value`` (a Python int is
    int32, a float float32), else float32.

    Usage: ``aj.one_hot(labels, 10)`` (float32 ``[batch, 10]``),
    ``aj.one_hot(labels, 10, on_value=1, off_value=0)`` (int32)
    """
    (depth,) = _positive("one_hot", depth, "depth")
    dtype, on_value, off_value = _one_hot_values(on_value, off_value, dtype)
    ndim = len(indices.shape) if hasattr(indices, "shape") else np.ndim(indices)
    axis = shapes.normalize_axis("one_hot", axis, ndim + 1)
    return bind(ONE_HOT, indices, depth=depth, on_value=on_value, off_value=off_value,
                axis=axis, dtype=dtype)


def _one_hot_values(on_value: Any, off_value: Any, dtype: Any) -> tuple:
    """``(dtype, on, off)`` by TF's rule (``one_hot``), the values as Python scalars (hashable
    attributes). A Python value takes ``dtype`` when it fits, as TF's ``dtype_hint``."""
    want = None if dtype is None else dtypes.as_dtype(dtype)
    given = {}
    for what, value in (("on_value", on_value), ("off_value", off_value)):
        if value is not None:
            given[what] = _one_hot_scalar(what, value, want)
    for what, value in given.items():
        if want is not None and value.dtype != want:
            raise DTypeError(f"one_hot: {what} is {value.dtype.name} but dtype is {want.name}; "
                             "pass matching values or no dtype")
    if len(given) == 2 and given["on_value"].dtype != given["off_value"].dtype:
        raise DTypeError(f"one_hot: on_value is {given['on_value'].dtype.name} but off_value "
                         f"is {given['off_value'].dtype.name}; give both one dtype")
    if want is None:
        want = next(iter(given.values())).dtype if given else dtypes.float32
    on = given["on_value"] if "on_value" in given else np.asarray(1, want)
    off = given["off_value"] if "off_value" in given else np.asarray(0, want)
    return want, on.item(), off.item()


def _one_hot_scalar(what: str, value: Any, want: Any) -> np.ndarray:
    if hasattr(value, "_array") and hasattr(value, "dtype"):  # a Tensor: its own dtype
        value = np.asarray(concrete("one_hot", value, what, "a Python number"))
    elif not isinstance(value, (np.ndarray, np.generic)) and want is not None:
        try:
            value = to_numpy_constant(value, want)
        except DTypeError:  # it does not fit ``dtype``: its own dtype names the mismatch
            value = to_numpy_constant(value)
    else:
        value = to_numpy_constant(value)
    if value.shape != ():
        raise InvalidArgumentError(f"one_hot: expected {what} as a scalar, got shape "
                                   f"{shapes.fmt(value.shape)}")
    return value


def _positive(name: str, value: Any, what: str) -> tuple:
    if hasattr(value, "_array") and hasattr(value, "dtype"):
        value = concrete(name, value, what, "a Python int")
    if isinstance(value, (bool, np.bool_)) or int(value) != value or value < 0:
        raise InvalidArgumentError(f"{name}: expected {what} >= 0 as an int, got {value!r}")
    return (int(value),)
