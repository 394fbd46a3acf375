"""The ops behind ``aj.TensorArray``: its elements live in one dense buffer ``[size, *element]``
that every write copies (Note [TensorArray buffers]).

Note [TensorArray buffers]
~~~~~~~~~~~~~~~~~~~~~~~~~~
A TensorArray is a value, as ``tf.TensorArray`` is: ``write`` returns a new array and leaves the
old one as it was. Its state is a single tensor, the buffer, whose first dim is the array's
size, so it can be a ``while_loop`` variable like any tensor, its shape relaxes to ``[None,
...]`` when the loop grows it, and its gradient is an ordinary tensor of the same shape (the
loop VJP, saved states and higher orders need nothing new). The trade-off: a write copies the
buffer (O(size)), so filling an array of n elements costs O(n^2) element copies, where TF's
TensorList writes in place when nobody else holds the list. For the sizes a loop body
accumulates (outputs of an RNN over 100s of steps) the copies are cheap next to the body.

Index values are checked at every call (eagerly and at each graph replay, Note [Value checks]
in core.py): reads outside ``[0, size)``, negative writes, writes past the size of an array
that is not ``dynamic_size``, and (at run time, where a shape was unknown while tracing) an
element whose shape differs from the elements already written.
"""

from __future__ import annotations

import weakref
from typing import Any

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import bind, defop


def _fmt(shape: Any) -> str:
    return shapes.fmt(tuple(shape))


def _index_rule(op: str, index: Any) -> None:
    if not dtypes.is_integer(index.dtype) or tuple(index.shape) != ():
        raise DTypeError(f"TensorArray.{op}: expected a scalar integer index, got "
                         f"{index.dtype.name}{list(index.shape)}")


def _concrete_int(index: Any) -> int | None:
    """The index as an int when its value is known (eagerly), else None (a TensorSpec)."""
    if type(index) is int:
        return index
    if hasattr(index, "ndim") and not hasattr(index, "is_compatible_with"):
        return int(index)
    return None


def element_shape_error(op: str, where: str, element: tuple, given: tuple) -> ShapeError:
    """The error for an element whose shape does not fit the array's (``where`` names the
    index)."""
    return ShapeError(f"TensorArray.{op}: {where}: the array's elements have shape "
                      f"{_fmt(element)}, got a value of shape {_fmt(given)}; every element of "
                      "a TensorArray has the same shape")


# ----------------------------------------------------------------------------- write


def _write_rule(name, buf, index, value, *, dynamic):
    _index_rule("write", index)
    i = _concrete_int(index)
    where = f"index {i}" if i is not None else "at a tensor index"
    if value.dtype != buf.dtype:
        raise DTypeError(f"TensorArray.write: {where}: the array holds {buf.dtype.name} "
                         f"elements, got a {value.dtype.name} value; aj.cast it first")
    element, given, rows = tuple(buf.shape[1:]), tuple(value.shape), buf.shape[0]
    if rows == 0 or len(element) != len(given):
        if rows != 0:
            raise element_shape_error("write", where, element, given)
        out = given  # an empty buffer's element dims are placeholders: the value's shape wins
    else:
        if any(a is not None and b is not None and a != b for a, b in zip(element, given)):
            raise element_shape_error("write", where, element, given)
        out = tuple(b if v is None else v for b, v in zip(element, given))
    if not dynamic:
        size = rows
    elif i is None or rows is None:
        size = None
    else:
        size = max(rows, i + 1)
    return (size,) + out, buf.dtype


def _write_check(name, buf, index, value, *, dynamic):
    i, n = int(index), buf.shape[0]
    if i < 0:
        raise InvalidArgumentError(f"TensorArray.write: index {i} is negative; TensorArray "
                                   "indices start at 0")
    if i >= n and not dynamic:
        raise InvalidArgumentError(
            f"TensorArray.write: index {i} is out of range for an array of size {n}; "
            f"expected 0 <= index < {n} (make it with dynamic_size=True to let writes grow it)")
    if n and buf.shape[1:] != value.shape:
        raise element_shape_error("write", f"index {i}", buf.shape[1:], value.shape)


def _write(xp, buf, index, value, dynamic):
    i, n = int(index), buf.shape[0]
    if i == n and dynamic:
        return _append(xp, buf, value)
    if i < n:
        out = buf.copy()
    else:  # grow; the elements between the old end and ``i`` are zeros
        out = xp.zeros((i + 1,) + value.shape, buf.dtype)
        out[:n] = buf
    out[i] = value
    return out


# Note [Appends in place]: an append (a write at index == size) would copy the whole buffer.
# Instead, a buffer grown by an append is a prefix view ``owner[:n]`` of a larger ``owner``
# (capacity doubling), and ``_USED`` records, per owner, how many of its rows any view
# returned so far covers. Appending to a view that covers exactly those rows writes the next
# row in place: no other value can see that row (every view made from an owner covers fewer
# rows, or starts later, and a view covering ``used`` rows with the owner's strides is
# ``owner[:used]``), and rows below ``used`` are never written again, so every array value
# stays unchanged, as values must. Any other append copies into a new owner. Filling n
# elements by appends costs O(n) element copies instead of O(n^2).
_USED: dict = {}


def _append(xp, buf, value):
    n = buf.shape[0]
    owner = buf.base
    if owner is not None and _USED.get(id(owner)) == n and owner.shape[0] > n \
            and buf.strides == owner.strides and buf.shape[1:] == owner.shape[1:]:
        owner[n] = value
        _USED[id(owner)] = n + 1
        return owner[:n + 1]
    owner = xp.empty((max(2 * n, 4),) + value.shape, buf.dtype)
    owner[:n] = buf
    owner[n] = value
    try:
        weakref.finalize(owner, _USED.pop, id(owner), None)
    except TypeError:  # an array type without weak references: appends copy
        return owner[:n + 1].copy()
    _USED[id(owner)] = n + 1
    return owner[:n + 1]


def _write_vjp(g, out, buf, index, value, *, dynamic):
    return bind(WRITE_GRAD, g, index, buf), None, bind(READ, g, index)


WRITE = defop("tensor_array_write", ["buf", "index", "value"], _write, _write_rule,
              _write_vjp, attrs=("dynamic",), checks_values=True, check=_write_check)


# ----------------------------------------------------------------------------- write_grad


def _write_grad(xp, g, index, like):
    i, n = int(index), like.shape[0]
    if i >= n:  # the written row lies past the old buffer (an append): nothing to clear
        return g[:n]
    out = g[:n].copy()
    out[i] = 0
    return out


# The cotangent of a write's buffer: ``g``'s first ``len(like)`` rows with row ``index``
# cleared (the write replaced it). Its adjoint clears the row and pads back to ``g``'s rows.
WRITE_GRAD = defop(
    "tensor_array_write_grad", ["g", "index", "like"], _write_grad,
    lambda name, g, index, like: ((like.shape[0],) + tuple(g.shape[1:]), g.dtype),
    lambda gg, out, g, index, like: (
        bind(FIT, bind(WRITE_GRAD, gg, index, gg), g), None, None))


# ----------------------------------------------------------------------------- read


def _read_rule(name, buf, index):
    _index_rule("read", index)
    if not buf.shape:
        raise ShapeError("TensorArray.read: expected a buffer of rank >= 1, got a scalar")
    return tuple(buf.shape[1:]), buf.dtype


def _read_check(name, buf, index):
    i, n = int(index), buf.shape[0]
    if not 0 <= i < n:
        raise InvalidArgumentError(f"TensorArray.read: index {i} is out of range for an array "
                                   f"of size {n}; expected 0 <= index < {n}")


def _read_vjp(g, out, buf, index):
    from autojit.ops.math import zeros_like_value

    return bind(WRITE, zeros_like_value(buf), index, g, dynamic=False), None


# A copy, not a view: the row must not change when the buffer it came from is reused.
READ = defop("tensor_array_read", ["buf", "index"], "buf[int(index)].copy()", _read_rule,
             _read_vjp, check=_read_check)


# ----------------------------------------------------------------------------- fit


def _fit(xp, x, like):
    n, m = like.shape[0], x.shape[0]
    if m >= n:
        return x if m == n else x[:n]
    out = xp.zeros((n,) + x.shape[1:], x.dtype)
    out[:m] = x
    return out


def _fit_rule(name, x, like):
    if not x.shape or not like.shape:
        raise ShapeError(f"{name}: expected tensors of rank >= 1, got {_fmt(x.shape)} and "
                         f"{_fmt(like.shape)}")
    return (like.shape[0],) + tuple(x.shape[1:]), x.dtype


# ``x`` with its rows cut or zero-padded to as many as ``like`` has: the VJP of a write that
# grew the buffer (and its own adjoint: cutting and padding are each other's transposes).
FIT = defop("tensor_array_fit", ["x", "like"], _fit, _fit_rule,
            lambda g, out, x, like: (bind(FIT, g, x), None))


# ----------------------------------------------------------------------------- zeros


def _zeros_rule(name, size, *, element_shape, dtype):
    if not dtypes.is_integer(size.dtype) or tuple(size.shape) != ():
        raise DTypeError(f"TensorArray: expected a scalar integer size, got "
                         f"{size.dtype.name}{list(size.shape)}")
    i = _concrete_int(size)
    return (i,) + tuple(element_shape), dtype


def _zeros_check(name, size, *, element_shape, dtype):
    if int(size) < 0:
        raise InvalidArgumentError(f"TensorArray: expected a size >= 0, got {int(size)}")


# The buffer of an array of ``size`` unwritten elements (``size`` may be known only at run time).
ZEROS = defop("tensor_array_zeros", ["size"],
              "xp.zeros((int(size),) + element_shape, dtype)", _zeros_rule,
              attrs=("element_shape", "dtype"), checks_values=True, check=_zeros_check)


# ----------------------------------------------------------------------------- functions


def write(buf: Any, index: Any, value: Any, dynamic: bool = True) -> Any:
    """``buf`` with row ``index`` set to ``value`` (grown to ``index + 1`` rows when ``dynamic``).

    Usage: ``buf = write(buf, i, h)`` (users call ``aj.TensorArray.write``)
    """
    return bind(WRITE, buf, index, value, dynamic=bool(dynamic))


def read(buf: Any, index: Any) -> Any:
    """Row ``index`` of ``buf``. Usage: ``h = read(buf, i)``"""
    return bind(READ, buf, index)


def fit(x: Any, like: Any) -> Any:
    """``x`` cut or zero-padded to ``like``'s number of rows. Usage: ``fit(g, buf)``"""
    return bind(FIT, x, like)


def zeros(size: Any, element_shape: tuple, dtype: Any) -> Any:
    """A buffer of ``size`` zero elements. Usage: ``zeros(n, (64,), aj.float32)``"""
    if type(size) is int and size >= 0:  # a static shape (the op's rows are known only
        from autojit.ops.creation import zeros as full_zeros  # at run time in graphs)

        return full_zeros((size,) + tuple(int(d) for d in element_shape), dtype)
    return bind(ZEROS, size, element_shape=tuple(int(d) for d in element_shape),
                dtype=dtypes.as_dtype(dtype))
