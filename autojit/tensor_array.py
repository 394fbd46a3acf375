"""``aj.TensorArray``: a growable array of same-shaped tensors, as ``tf.TensorArray``, usable
eagerly and as loop state of ``aj.while_loop`` and tensor ``for``/``while`` loops; and the
list that autograph turns into one when a tensor loop appends to it.

The elements live in one buffer tensor (Note [TensorArray buffers] in ops/tensor_array.py);
until the first write (or ``unstack``) an array whose ``element_shape`` is unknown has no
buffer yet, only its dtype and size ("pending"). Inside a loop a pending array settles when
one traced iteration shows what the body writes (Note [Composite loop state] in
graph/control.py).

Differences from TF: reading an element never written gives zeros (as TF's TensorList);
``clear_after_read`` and the other graph-mode options are accepted and ignored; ``concat``
needs elements of one shape.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import array as array_ops
from autojit.ops import tensor_array as ta_ops
from autojit.ops.core import to_numpy_constant
from autojit.tensor import Tensor, convert_to_tensor, is_symbolic


def _static_int(value: Any) -> int | None:
    """``value`` as a Python int when it is known now (a Python int or an eager tensor)."""
    if isinstance(value, (bool, np.bool_)):
        raise DTypeError(f"TensorArray: expected an integer index or size, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, Tensor) and not is_symbolic(value) and not value._is_variable:
        if not dtypes.is_integer(value.dtype) or value.shape != ():
            raise DTypeError(f"TensorArray: expected a scalar integer index, got "
                             f"{value.dtype.name}{list(value.shape)}")
        return int(value.numpy())
    return None


def _index(value: Any, op: str) -> Any:
    """An index as the ops take it: an int32 array for Python ints, tensors as they are."""
    known = _static_int(value)
    if known is not None:
        if known < 0:
            raise InvalidArgumentError(f"TensorArray.{op}: index {known} is negative; "
                                       "TensorArray indices start at 0")
        return to_numpy_constant(known, dtypes.int32)
    if not isinstance(value, Tensor):
        raise DTypeError(f"TensorArray.{op}: expected an integer index, got "
                         f"{type(value).__name__} {value!r:.40}")
    return value


def _compatible(a: tuple | None, b: tuple) -> bool:
    if a is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


class TensorArray:
    """An array of tensors of one dtype and shape, written and read by index, as
    ``tf.TensorArray``: ``write`` and ``unstack`` return a new array (use the result).

    Usage::

        ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True)
        for i in aj.range(n):          # inside @aj.function, a graph loop
            ta = ta.write(i, h * i)
        out = ta.stack()               # [n, *h.shape]

    ``size`` omitted means an empty array that grows (``dynamic_size`` defaults to True then,
    to False when a size is given, as TF). Writes past the size of an array that is not
    ``dynamic_size``, negative indices, reads outside ``[0, size)`` and elements of another
    dtype or shape are errors naming the index, eagerly and at every graph replay.
    """

    def __init__(self, dtype: Any, size: Any = None, dynamic_size: bool | None = None,
                 clear_after_read: bool | None = None, tensor_array_name: str | None = None,
                 handle: Any = None, flow: Any = None, infer_shape: bool = True,
                 element_shape: Sequence[int | None] | None = None,
                 colocate_with_first_write_call: bool = True, name: str | None = None):
        self._dtype = dtypes.as_dtype(dtype)
        self._dynamic = (size is None) if dynamic_size is None else bool(dynamic_size)
        size = 0 if size is None else size
        known = _static_int(size)
        if known is not None and known < 0:
            raise InvalidArgumentError(f"TensorArray: expected a size >= 0, got {known}")
        self._size = known if known is not None else size
        self._element_shape = None if element_shape is None else tuple(
            None if d is None else int(d) for d in element_shape)
        self._infer_shape = infer_shape
        self._buffer = None
        if self._element_shape is not None and None not in self._element_shape:
            self._buffer = ta_ops.zeros(self._size, self._element_shape, self._dtype)

    # --- construction of new arrays (values are never changed in place)
    def _with(self, buffer: Any) -> "TensorArray":
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._buffer = buffer
        if buffer is not None:
            new._element_shape = tuple(buffer.shape[1:])
        return new

    # --- properties
    @property
    def dtype(self) -> np.dtype:
        """The dtype of the elements."""
        return self._dtype

    @property
    def dynamic_size(self) -> bool:
        """Whether writes past the end grow the array."""
        return self._dynamic

    @property
    def element_shape(self) -> tuple | None:
        """The elements' shape (``None`` dims unknown), or None before it is known."""
        return self._element_shape

    @property
    def buffer(self) -> Any:
        """The ``[size, *element_shape]`` tensor holding the elements (None while pending)."""
        return self._buffer

    def identity(self) -> "TensorArray":
        """The same array (TF API). Usage: ``ta = ta.identity()``"""
        return self

    def close(self, name: str | None = None) -> None:
        """Nothing to release (TF API)."""

    def mark_used(self) -> None:
        """Nothing to do (TF API)."""

    # --- size
    def size(self, name: str | None = None) -> Any:
        """The number of elements, an int32 scalar tensor. Usage: ``n = ta.size()``"""
        if self._buffer is None:
            if isinstance(self._size, Tensor):
                return self._size
            return array_ops.constant(self._size, dtype=dtypes.int32)
        rows = self._buffer.shape[0]
        if rows is not None:
            return array_ops.constant(rows, dtype=dtypes.int32)
        return array_ops.shape(self._buffer, out_type=dtypes.int32)[0]

    # --- writes
    def _value(self, value: Any, where: str) -> Any:
        if isinstance(value, Tensor):
            if value.dtype != self._dtype:
                raise DTypeError(f"TensorArray.write: {where}: the array holds "
                                 f"{self._dtype.name} elements, got a {value.dtype.name} value; "
                                 "aj.cast it first")
            return value
        return convert_to_tensor(value, dtype=self._dtype)

    def write(self, index: Any, value: Any, name: str | None = None) -> "TensorArray":
        """A new array with element ``index`` set to ``value``.

        Usage: ``ta = ta.write(i, x)``
        """
        known = _static_int(index)
        where = f"index {known}" if known is not None else "at a tensor index"
        value = self._value(value, where)
        index = _index(index, "write")
        shape = tuple(value.shape)
        if self._infer_shape and not _compatible(self._element_shape, shape):
            raise ta_ops.element_shape_error("write", where, self._element_shape, shape)
        buffer = self._buffer
        if buffer is None:
            buffer = self._empty(shape)
        return self._with(ta_ops.write(buffer, index, value, dynamic=self._dynamic))

    def _empty(self, shape: tuple) -> Any:
        """The buffer of the unwritten array, for elements of ``shape``."""
        if None in shape:
            if not (isinstance(self._size, int) and self._size == 0):
                raise ShapeError(
                    f"TensorArray: the elements have shape {list(shape)} with dims known only "
                    f"at run time, and the array has {self._size} elements before any is "
                    "written; pass element_shape, or start from size 0 with dynamic_size=True")
            shape = tuple(1 if d is None else d for d in shape)  # no rows: dims unused
        return ta_ops.zeros(self._size, shape, self._dtype)

    def unstack(self, value: Any, name: str | None = None) -> "TensorArray":
        """A new array whose elements are the rows of ``value``.

        Usage: ``ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True).unstack(xs)``
        """
        value = self._value(value, "unstack")
        if not value.shape:
            raise ShapeError("TensorArray.unstack: expected a tensor of rank >= 1, got a scalar")
        shape = tuple(value.shape[1:])
        if self._infer_shape and not _compatible(self._element_shape, shape):
            raise ta_ops.element_shape_error("unstack", "its rows", self._element_shape, shape)
        rows = value.shape[0]
        size = self._size if self._buffer is None else self._buffer.shape[0]
        if isinstance(size, int) and rows is not None and rows != size:
            if rows > size and not self._dynamic:
                raise InvalidArgumentError(
                    f"TensorArray.unstack: {rows} rows do not fit an array of size {size} "
                    "(make it with dynamic_size=True to let it grow)")
            if rows < size and self._buffer is not None:  # later elements keep their values
                return self._with(array_ops.concat([value, self._buffer[rows:]], 0))
            if rows < size:
                return self._with(ta_ops.fit(value, self._empty(shape)))
        return self._with(array_ops.identity(value))

    def scatter(self, indices: Any, value: Any, name: str | None = None) -> "TensorArray":
        """A new array with element ``indices[k]`` set to ``value[k]`` (Python ints).

        Usage: ``ta = ta.scatter([0, 2], xs)``
        """
        out = self
        for k, i in enumerate(indices):
            out = out.write(i, value[k])
        return out

    # --- reads
    def _stacked(self, op: str) -> Any:
        if self._buffer is not None:
            return self._buffer
        if self._element_shape is None and isinstance(self._size, int) and self._size == 0:
            return array_ops.zeros((0,), self._dtype)
        if self._element_shape is None or None in self._element_shape:
            raise ShapeError(f"TensorArray.{op}: no element was written and the element shape "
                             "is unknown; pass element_shape to make an array of zeros")
        return self._empty(self._element_shape)

    def read(self, index: Any, name: str | None = None) -> Any:
        """Element ``index``. Usage: ``h = ta.read(i)``"""
        index = _index(index, "read")
        return ta_ops.read(self._stacked("read"), index)

    def stack(self, name: str | None = None) -> Any:
        """All elements stacked along a new first axis: ``[size, *element_shape]``.

        Usage: ``outputs = ta.stack()``
        """
        return self._stacked("stack")

    def gather(self, indices: Any, element_shape: Any = None, name: str | None = None) -> Any:
        """The elements at ``indices`` stacked. Usage: ``ta.gather([0, 2])``"""
        from autojit.ops.indexing import gather

        return gather(self._stacked("gather"), indices)

    def concat(self, name: str | None = None) -> Any:
        """The elements joined along their first axis: ``[size * d0, *rest]``.

        Usage: ``ta.concat()``
        """
        buffer = self._stacked("concat")
        if len(buffer.shape) < 2:
            raise ShapeError("TensorArray.concat: the elements are scalars; use stack()")
        rest = buffer.shape[2:]
        if None in rest:
            dims = array_ops.shape(buffer)
            return array_ops.reshape(buffer, [-1, *[dims[k] for k in range(2, len(buffer.shape))]])
        return array_ops.reshape(buffer, (-1, *rest))

    # --- composite loop state (Note [Composite loop state] in graph/control.py)
    def _aj_components(self) -> list:
        return [] if self._buffer is None else [self._buffer]

    def _aj_rebuild(self, tensors: list) -> "TensorArray":
        return self._with(tensors[0] if tensors else None)

    def _aj_key(self) -> tuple:
        return (type(self), self._dtype, self._dynamic, self._buffer is None)

    def _aj_settle(self, after: Any) -> "TensorArray":
        """This pending array as it must enter a loop whose body gives ``after``."""
        if after._buffer is None:
            return self
        return self._with(self._empty(tuple(after._buffer.shape[1:])))

    # --- crossing an @aj.function boundary (Note [TensorArrays across functions])
    def _aj_signature(self, tensors: list) -> tuple:
        """This array's part of a call's signature key; its buffer joins ``tensors``."""
        if self._buffer is None:
            return ("TensorArray", self._dtype, self._dynamic, self._infer_shape,
                    self._element_shape, self._size)
        buffer = self._buffer
        tensors.append(buffer)
        return ("TensorArray", self._dtype, self._dynamic, self._infer_shape,
                (tuple(buffer.shape), buffer.dtype, buffer._device))

    def _aj_outputs(self) -> list:
        """The tensors standing for this array among a function's results."""
        if self._buffer is None and isinstance(self._size, Tensor):
            return [self._size]
        return self._aj_components()

    def _aj_from_outputs(self, tensors: list) -> "TensorArray":
        """This array over ``tensors`` (the results ``_aj_outputs`` named), as it leaves."""
        if self._buffer is None and tensors:
            new = self._with(None)
            new._size = tensors[0]
            if not is_symbolic(tensors[0]):
                new._size = int(tensors[0].numpy())
            return new
        new = self._with(tensors[0] if tensors else None)
        if new._buffer is not None:
            rows = new._buffer.shape[0]
            new._size = rows if rows is not None else new._size
        return new

    def __repr__(self) -> str:
        shape = "?" if self._element_shape is None else list(self._element_shape)
        size = self._size if self._buffer is None else self._buffer.shape[0]
        return f"<aj.TensorArray dtype={self._dtype.name} size={size} element_shape={shape}>"


# Note [TensorArrays across functions]
# A TensorArray returned from an @aj.function leaves as its buffer tensor (a graph output) and
# is rebuilt around the eager result, so ``stack``/``read``/``size`` work after the call and a
# tape around the call sees the buffer (gradients flow through the ``call`` op). A pending
# array (nothing written, element shape unknown) has no buffer; its size leaves instead when
# it is a tensor. Passed in, an array is keyed by its dtype, options and buffer type (not its
# identity, so a new array of the same type replays the same trace) and its buffer becomes a
# graph input, as TF's TensorArraySpec does. A ListArray (a list grown in a tensor loop)
# leaves as the stacked tensor instead: it was a Python list.


# Note [Weak list items]
# In eager code ``out.append(int(x))`` appends a Python int, and ``out[0] * 0.25`` is a float.
# A list appended to in a tensor loop is a ListArray of int32 tensors, so a ListArray whose
# every item is a Python number or a weak tensor is weak (``like``, ``from_list``, ``append``
# keep the flag) and the items it gives back (``out[i]``, iteration, a tensor ``for`` over it)
# are weak tensors (Note [Weak tensors] in graph/tracer.py), which take the dtype of what they
# meet; a weak int meeting a list of floats is cast, and a float appended to a list of weak
# ints makes the loop that owns the list trace again with a float list (``widens_for``, as
# ``o.extend([int(x), x * 0.5])`` needs). ``aj.stack(out)`` and ``out`` returned stay
# strong, as a stack of Python ints is an int32 tensor in eager code. Where two ListArrays
# meet (a cond's branches, a loop's start and body), the result keeps the flag of the one it
# is rebuilt from.


def _cast(value: Any, dtype: Any) -> Any:
    from autojit.ops.math import cast  # the math ops build on arrays: import late

    return cast(value, dtype)


def _weakish(value: Any) -> bool:
    """A Python int or float, or a weak symbolic tensor."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return getattr(value, "_weak", False) is True


class ListArray(TensorArray):
    """A Python list that a tensor loop appends to, as autograph carries it: a growable
    TensorArray that still reads like the list (Note [Lists appended in tensor loops] in
    autograph/loops.py). ``aj.stack(out)``, returning it, passing it to an op, ``out[i]``,
    ``len(out)`` and arithmetic with tensors see the stacked tensor; ``out * k`` with a
    Python int repeats it, ``out + other_list`` joins, as for lists.

    Usage (made by autograph): ``out = []; for x in xs: out.append(2 * x)`` with a tensor ``xs``
    """

    _weak = False  # every item is a Python number or a weak tensor (Note [Weak list items])
    owner = None  # (loop, slot) of the tensor loop that made this list one, while it traces

    @classmethod
    def like(cls, value: Any) -> "ListArray":
        """An empty list-array for elements of ``value``'s dtype and shape."""
        if isinstance(value, (tuple, list, dict)) and any(
                isinstance(leaf, Tensor) for leaf in _leaves(value)):
            raise DTypeError(f"an item is a {type(value).__name__} of tensors, and a "
                             "TensorArray's items are single tensors: append each part to "
                             "a list of its own, or aj.stack the parts into one tensor first")
        weak = _weakish(value)
        value = value if isinstance(value, Tensor) else convert_to_tensor(value)
        out = cls(value.dtype, dynamic_size=True)
        out._element_shape = tuple(value.shape)
        out._weak = weak
        return out

    @classmethod
    def empty(cls, dtype: Any, element_shape: tuple) -> "ListArray":
        """An empty list-array for elements of ``dtype`` and ``element_shape``."""
        out = cls(dtype, dynamic_size=True)
        out._element_shape = tuple(element_shape)
        return out

    def from_list(self, items: list) -> "ListArray":
        """A list-array of this one's dtype holding ``items``."""
        if not items:
            shape = self._element_shape
            return self._with(None if shape is None else self._empty(shape))
        values = [self._value(self._fitted(item), f"element {k} of the list")
                  for k, item in enumerate(items)]
        out = self._with(array_ops.stack(values))
        out._weak = all(_weakish(item) for item in items)
        return out

    def _fitted(self, value: Any) -> Any:
        """``value`` cast to this list's dtype when it is a weak tensor that takes it
        without loss (a weak int into a list of floats)."""
        if is_symbolic(value) and value.dtype != self._dtype and _weakish(value) and \
                dtypes.weak_meets(value.dtype, self._dtype) is not None:
            return _cast(value, self._dtype)
        return value

    def widens_for(self, value: Any) -> bool:
        """True when this list holds weak items of a dtype that ``value``'s takes without
        loss (weak ints, then a float): the list must hold ``value``'s dtype instead.

        Usage (autograph's ``list_append``): ``if out.widens_for(x): ...trace again...``"""
        if not self._weak:
            return False
        if isinstance(value, Tensor):
            dtype = value.dtype
            if _weakish(value) and dtypes.weak_meets(dtype, self._dtype) is not None:
                return False  # it takes this list's dtype instead
        elif isinstance(value, float):
            dtype = dtypes.float32
        else:
            return False
        return dtype != self._dtype and dtypes.weak_meets(self._dtype, dtype) is not None

    @property
    def weak(self) -> bool:
        """True when every item is a Python number or a weak tensor: items read back are
        weak tensors (Note [Weak list items]). Usage: ``if out.weak: ...``"""
        return self._weak

    def append(self, value: Any) -> "ListArray":
        """A new list-array with ``value`` at the end."""
        out = self.write(self.size(), self._fitted(value))
        out._weak = self._weak and _weakish(value)
        return out

    def item(self, value: Any) -> Any:
        """``value`` (an item read from this list) marked weak when the list's items are.

        Usage: ``row = out.item(out.read(i))``"""
        if self._weak and is_symbolic(value) and value.dtype != dtypes.bool:
            value._weak = True
        return value

    def __getitem__(self, index: Any) -> Any:
        known = _static_int(index) if not isinstance(index, slice) else None
        if isinstance(index, slice):
            return self.stack()[index]
        if known is not None and known < 0:
            index = self.size() + known
        return self.item(self.read(index))

    def __len__(self) -> int:
        rows = None if self._buffer is None else self._buffer.shape[0]
        if rows is None:
            raise TypeError("len() of a list grown in a tensor loop is known only at run time; "
                            "use aj.size(aj.stack(out)) or aj.shape(aj.stack(out))[0]")
        return rows

    def __iter__(self):
        stacked = self.stack()
        if is_symbolic(stacked) and stacked.shape[0] is None:
            raise _unsupported("iterating in Python (sum(), list(), a comprehension, "
                               "unpacking)", "its length is known only when the graph runs: "
                               "use a `for` statement over it (autograph makes that a graph "
                               "loop), or tensor ops on aj.stack(out) (aj.reduce_sum(aj.stack("
                               "out), axis=0))")
        return (self.item(row) for row in stacked)

    def __contains__(self, value: Any) -> bool:
        raise _unsupported("`in`", "aj.reduce_any(aj.equal(aj.stack(out), value)) gives it "
                           "as a tensor")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise _unsupported("item assignment", "build the changed list with aj.tensor_scatter_"
                           "nd_update(aj.stack(out), [[i]], [value]), or append the values in "
                           "their final form")

    def _no_method(name: str, hint: str):  # noqa: N805  (a factory run in the class body)
        def method(self, *args: Any, **kwargs: Any) -> Any:
            raise _unsupported(f"`.{name}()`", hint)
        method.__name__ = name
        method.__doc__ = "Not available on a list grown in a tensor loop (a clear error)."
        return method

    _SLICE = "slice or gather aj.stack(out) instead (aj.stack(out)[:-1], aj.reverse(...))"
    pop = _no_method("pop", _SLICE)
    insert = _no_method("insert", "append in the order wanted, or aj.concat the stacked parts")
    remove = _no_method("remove", "aj.boolean_mask(aj.stack(out), aj.not_equal(...)) keeps "
                        "the others")
    clear = _no_method("clear", "start a new list instead: out = []")
    reverse = _no_method("reverse", _SLICE)
    sort = _no_method("sort", "aj.sort(aj.stack(out), axis=0)")
    index = _no_method("index", "aj.where(aj.equal(aj.stack(out), value)) finds it")
    count = _no_method("count", "aj.reduce_sum(aj.cast(aj.equal(aj.stack(out), value), "
                       "aj.int32))")
    del _no_method

    def __mul__(self, other: Any) -> Any:
        if isinstance(other, (int, np.integer)) and not isinstance(other, bool):
            return self._with(array_ops.tile(self.stack(), [int(other)] + [1] * len(
                self.stack().shape[1:]))) if other > 0 else self.from_list([])
        return NotImplemented if not isinstance(other, Tensor) else self.stack() * other

    __rmul__ = __mul__

    def __add__(self, other: Any) -> Any:
        if isinstance(other, ListArray):
            return self._with(array_ops.concat([self.stack(), other.stack()], axis=0))
        if isinstance(other, list):
            return self + self.from_list(other)
        return NotImplemented if not isinstance(other, Tensor) else self.stack() + other

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, list):
            return self.from_list(other) + self
        return NotImplemented if not isinstance(other, Tensor) else other + self.stack()

    def __sub__(self, other: Any) -> Any:
        return self.stack() - other

    def __rsub__(self, other: Any) -> Any:
        return other - self.stack()

    def __truediv__(self, other: Any) -> Any:
        return self.stack() / other

    def __rtruediv__(self, other: Any) -> Any:
        return other / self.stack()

    def __matmul__(self, other: Any) -> Any:
        return self.stack() @ other

    def __rmatmul__(self, other: Any) -> Any:
        return other @ self.stack()

    def __repr__(self) -> str:
        return "<list grown in a tensor loop, as " + super().__repr__()[1:]


def _unsupported(what: str, hint: str) -> TypeError:
    """The error for a list operation a list grown in a tensor block cannot do, at the
    user's line."""
    from autojit.graph.tracer import user_location, where_text  # the graph builds on us

    return TypeError(f"{what} on a list grown in a tensor loop (or in one branch of a tensor "
                     f"`if`) at {where_text(user_location(2))}: while the graph runs its "
                     f"items live in a TensorArray, which grows only by `append`; {hint}")


def _leaves(value: Any) -> list:
    from autojit import nest

    return nest.flatten(value)


def as_tensor_value(value: Any) -> Any:
    """``value`` with list-arrays (at any depth of lists/tuples/dicts) stacked into tensors:
    what a list grown in a tensor loop is once it leaves the function or enters an op."""
    from autojit import nest

    if isinstance(value, ListArray):
        return value.stack()
    if isinstance(value, (list, tuple, dict)):
        leaves = nest.flatten(value)
        if any(isinstance(leaf, ListArray) for leaf in leaves):
            return nest.map_structure(
                lambda leaf: leaf.stack() if isinstance(leaf, ListArray) else leaf, value)
    return value
