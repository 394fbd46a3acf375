"""Creation ops (constants, zeros, ones, fill, eye, range, linspace) and the helpers that
turn static arguments (shapes, counts, bounds) into attributes.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import core, shapes
from autojit.ops.core import bind, concrete, defop, known_value, to_numpy_constant
from autojit.ops.math import cast, ones_like_value, unbroadcast, zeros_like_value

# ----------------------------------------------------------------------------- static arguments


def static_ints(op_name: str, value: Any, what: str) -> tuple:
    """``value`` (an int, a sequence of ints or a concrete int tensor) as a tuple of ints.
    Symbolic tensors (also as items) count when their value is known while tracing
    (``aj.shape(x)[0]`` of a static shape: Note [Known values] in graph/tracer.py)."""
    if type(value) in (tuple, list) and all(type(d) is int for d in value):
        return tuple(value)  # the common case, kept cheap: eager dispatch speed matters
    if type(value) is int:
        return (value,)
    value = resolved(op_name, value, what, "Python ints")
    array = np.asarray(value)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise InvalidArgumentError(f"{op_name}: expected {what} as integers, got {value!r}")
    return tuple(int(d) for d in array.reshape(-1))


def resolved(op_name: str, value: Any, what: str, hint: str = "Python values") -> Any:
    """``value`` with each tensor in it (in nested lists and tuples too) replaced by its
    NumPy value (``concrete``). Usage: ``resolved("pad", paddings, "paddings")``"""
    if type(value) in (tuple, list):
        return [resolved(op_name, item, what, hint) for item in value]
    if hasattr(value, "_array") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        return concrete(op_name, value, what, hint)
    return value


def static_shape(op_name: str, shape: Any) -> tuple:
    """``shape`` (an int, a sequence or a concrete int tensor) as a tuple of dims >= 0."""
    dims = static_ints(op_name, shape, "a shape such as (3, 4)")
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"{op_name}: dimensions must be >= 0, got {list(dims)}")
    return dims


def python_number(op_name: str, value: Any, what: str) -> int | float:
    """A Python int/float from a Python number or a concrete scalar tensor (or a symbolic
    one whose value is known while tracing)."""
    if hasattr(value, "_array") and hasattr(value, "dtype"):
        value = concrete(op_name, value, what, "a Python number")
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{op_name}: expected a number for {what}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- creation

CONSTANT = defop("constant", [], "xp.asarray(value)",
                 lambda name, *, value: (value.shape, value.dtype), attrs=("value",))


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Any:
    """A tensor holding a copy of ``value`` (Python floats become float32, ints int32, as TF).

    Usage: ``aj.constant([[1.0, 2.0]])``, ``aj.constant(0, dtype=aj.float64, shape=(2, 2))``
    """
    if hasattr(value, "_array") and hasattr(value, "dtype") and not isinstance(value, np.ndarray):
        value = value.numpy()  # a Tensor: constant() copies its value
    if isinstance(value, (list, tuple)) and shape is None and _holds_tensor(value):
        return _pack(value, dtype)
    array = np.array(to_numpy_constant(value, dtype), copy=True)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if array.size == 1:
            array = np.full(shape, array.reshape(()), dtype=array.dtype)
        elif array.size == shapes.size(shape):
            array = array.reshape(shape)
        else:
            raise ShapeError(f"constant: cannot make a tensor of shape {shapes.fmt(shape)} "
                             f"from {array.size} values")
    return bind(CONSTANT, value=array)


_PLAIN = (int, float, bool, str, type(None))


def _is_tensor(value: Any) -> bool:
    return (hasattr(value, "shape") and hasattr(value, "dtype")
            and not isinstance(value, (np.ndarray, np.generic)))


def _holds_tensor(value: Any) -> bool:
    """True when a (nested) list or tuple has a tensor among its items."""
    for item in value:
        if type(item) in _PLAIN:
            continue
        if isinstance(item, (list, tuple)):
            if _holds_tensor(item):
                return True
        elif _is_tensor(item):
            return True
    return False


def _pack(value: Any, dtype: Any, cast_items: bool = True) -> Any:
    """A (nested) list holding tensors as one tensor, stacked with autojit ops (as TF packs
    such lists), so symbolic tensors work and gradients flow to each item; Python numbers
    among them take the tensors' dtype (that of the first strong one: weak tensors hold
    Python numbers, Note [Weak tensors]). Tensors of another dtype are cast to ``dtype``
    when ``cast_items`` (the user's ``aj.constant(..., dtype=)``), else an error."""
    from autojit.ops.array import stack  # array builds on creation: import late

    items = []

    def walk(item):
        if isinstance(item, (list, tuple)):
            for x in item:
                walk(x)
        elif _is_tensor(item):
            items.append(item)

    walk(value)
    strong = [t.dtype for t in items if not getattr(t, "_weak", False)] or [items[0].dtype]
    if dtype is not None:
        target = dtypes.as_dtype(dtype)
    else:  # the widest of one kind (int32 and int64 items: int64)
        target = max((d for d in strong if d.kind == strong[0].kind), key=lambda d: d.itemsize)

    def build(item):
        if isinstance(item, (list, tuple)):
            return stack([build(x) for x in item])
        if _is_tensor(item):
            if item.dtype == target:
                return item
            if not cast_items and not getattr(item, "_weak", False) and not (
                    item.dtype.kind == target.kind and item.dtype.itemsize < target.itemsize):
                raise DTypeError(f"a list of tensors given as one tensor holds {target.name} "
                                 f"and {item.dtype.name} tensors; aj.cast them to one dtype")
            return cast(item, target)
        return constant(item, dtype=target)

    return build(value)


def _pack_input(value: Any, dtype: Any) -> Any:
    """``value`` packed into one tensor when it holds a tensor, else None."""
    return _pack(value, dtype, cast_items=False) if _holds_tensor(value) else None


core._pack_hooks.append(_pack_input)

ZEROS = defop("zeros", [], "xp.zeros(shape, dtype)", lambda name, *, shape, dtype: (shape, dtype),
              attrs=("shape", "dtype"))
ONES = defop("ones", [], "xp.ones(shape, dtype)", lambda name, *, shape, dtype: (shape, dtype),
             attrs=("shape", "dtype"))


def zeros(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """A tensor of zeros. Usage: ``aj.zeros((2, 3))``; in ``@aj.function`` also
    ``aj.zeros([aj.shape(x)[0], 16])`` for an ``x`` whose first dim is unknown"""
    dt = dtypes.as_dtype(dtype)
    dynamic = _dynamic_dims(shape)
    if dynamic is not None:
        return bind(FILL_DYNAMIC, dynamic[0], np.zeros((), dt), hint=dynamic[1])
    return bind(ZEROS, shape=static_shape("zeros", shape), dtype=dt)


def ones(shape: Any, dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """A tensor of ones. Usage: ``aj.ones((2, 3), dtype=aj.int32)`` (a shape may hold tensors
    unknown while tracing, as for ``aj.zeros``)"""
    dt = dtypes.as_dtype(dtype)
    dynamic = _dynamic_dims(shape)
    if dynamic is not None:
        return bind(FILL_DYNAMIC, dynamic[0], np.ones((), dt), hint=dynamic[1])
    return bind(ONES, shape=static_shape("ones", shape), dtype=dt)


# Note [Shapes unknown while tracing]: TF code sizes new tensors from the shapes of others,
# `aj.zeros([aj.shape(x)[0], units])`, also where `x`'s batch dim is unknown (an input
# signature with None, a relaxed retrace). A shape whose items are known while tracing
# (Python ints, Note [Known values]) makes the static op; one with an item unknown makes
# `fill_dynamic`, whose dims are an int32 tensor read when the graph runs (like
# `reshape_dynamic`; on a GPU that read is a host sync, so the step is not captured). Its
# `hint` holds the dims known while tracing (None for the others): its static shape.


def _dynamic_dims(shape: Any) -> tuple | None:
    """``(dims, hint)`` for a shape with an item unknown while tracing (an int32 tensor of
    the dims, and the static dims with None where unknown), else None."""
    if type(shape) in (list, tuple):
        if all(type(d) is int for d in shape):
            return None
        items = [d if type(d) is int or not _unknown(d) else None for d in shape]
        if None not in items:
            return None
        from autojit.ops.array import stack  # array builds on creation: import late

        hint = tuple(int(resolved("fill", d, "a dimension", "Python ints"))
                     if u is not None else None for d, u in zip(shape, items))
        parts = [cast(d, dtypes.int32) if u is None else constant(h, dtype=dtypes.int32)
                 for d, u, h in zip(shape, items, hint)]
        return stack(parts), hint
    if not (hasattr(shape, "dtype") and _unknown(shape)) or len(shape.shape) != 1 \
            or shape.shape[0] is None:
        return None  # static_shape's own error for a shape of unknown length
    node = getattr(getattr(shape, "_value", None), "node", None)
    hint = (tuple(node.inputs[0].spec.shape) if node is not None and node.op.name == "shape"
            else (None,) * shape.shape[0])  # aj.shape(x) of x [None, 3]: (None, 3)
    return cast(shape, dtypes.int32), hint


def _unknown(value: Any) -> bool:
    """A symbolic tensor whose value is not known while tracing."""
    return hasattr(value, "dtype") and getattr(value, "_array", 0) is None \
        and known_value(value) is None


def _fill_dynamic_rule(name, dims, value, *, hint):
    if len(value.shape) != 0:
        raise ShapeError(f"{name}: expected a scalar value, got a tensor of shape "
                         f"{shapes.fmt(value.shape)}")
    if not dtypes.is_integer(dims.dtype) or len(dims.shape) != 1 \
            or dims.shape[0] not in (None, len(hint)):  # None: the length given by hint
        raise InvalidArgumentError(f"{name}: expected a 1-D integer shape of length "
                                   f"{len(hint)}, got {dims.dtype.name}{shapes.fmt(dims.shape)}")
    if hasattr(dims, "tolist"):  # concrete: exact
        out = tuple(int(d) for d in dims.tolist())
        if any(d < 0 for d in out):
            raise InvalidArgumentError(f"{name}: dimensions must be >= 0, got {list(out)}")
        return out, value.dtype
    return hint, value.dtype


FILL_DYNAMIC = defop(
    "fill_dynamic", ["dims", "value"],
    "xp.full(tuple(int(d) for d in dims.tolist()), value, dtype=value.dtype)",
    _fill_dynamic_rule, lambda g, out, dims, value, *, hint: (None, unbroadcast(g, value)),
    attrs=("hint",))


def zeros_like(input: Any, dtype: Any = None, name: str | None = None) -> Any:  # noqa: A002
    """Zeros with the shape (and dtype, unless given) of ``input``. Usage: ``aj.zeros_like(x)``"""
    out = zeros_like_value(input)
    return out if dtype is None else cast(out, dtype)


def ones_like(input: Any, dtype: Any = None, name: str | None = None) -> Any:  # noqa: A002
    """Ones with the shape (and dtype, unless given) of ``input``. Usage: ``aj.ones_like(x)``"""
    out = ones_like_value(input)
    return out if dtype is None else cast(out, dtype)


def _fill_rule(name, value, *, shape):
    if len(value.shape) != 0:
        raise ShapeError(f"{name}: expected a scalar value, got a tensor of shape "
                         f"{shapes.fmt(value.shape)}")
    return shape, value.dtype


FILL = defop("fill", ["value"], "xp.full(shape, value, dtype=value.dtype)", _fill_rule,
             lambda g, out, value, *, shape: (unbroadcast(g, value),), attrs=("shape",))


def fill(dims: Any, value: Any, name: str | None = None) -> Any:
    """A tensor of shape ``dims`` filled with the scalar ``value`` (its dtype).

    Usage: ``aj.fill((2, 3), 9.0)`` (``dims`` may hold tensors unknown while tracing, as
    for ``aj.zeros``)
    """
    dynamic = _dynamic_dims(dims)
    if dynamic is not None:
        value = value if hasattr(value, "dtype") else to_numpy_constant(value)
        return bind(FILL_DYNAMIC, dynamic[0], value, hint=dynamic[1])
    return bind(FILL, value, shape=static_shape("fill", dims))


EYE = defop("eye", [], "xp.eye(num_rows, num_columns, dtype=dtype)",
            lambda name, *, num_rows, num_columns, dtype: ((num_rows, num_columns), dtype),
            attrs=("num_rows", "num_columns", "dtype"))


def eye(num_rows: int, num_columns: int | None = None, batch_shape: Any = None,
        dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """An identity matrix (ones on the diagonal), optionally repeated over ``batch_shape``.

    Usage: ``aj.eye(3)``, ``aj.eye(2, 3, dtype=aj.int32)``
    """
    (n,) = static_shape("eye", num_rows)
    (m,) = (n,) if num_columns is None else static_shape("eye", num_columns)
    out = bind(EYE, num_rows=n, num_columns=m, dtype=dtypes.as_dtype(dtype))
    if batch_shape is not None:
        from autojit.ops.array import broadcast_to  # array builds on creation; import late

        out = broadcast_to(out, static_shape("eye", batch_shape) + (n, m))
    return out


def _range_rule(name, *, start, limit, delta, dtype):
    return (max(0, math.ceil((limit - start) / delta)),), dtype


RANGE = defop("range", [], "xp.arange(start, limit, delta, dtype=dtype)", _range_rule,
              attrs=("start", "limit", "delta", "dtype"))


def arange(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
           name: str | None = None) -> Any:
    """``aj.range``: the numbers ``start, start + delta, ...`` below ``limit``, as ``tf.range``.

    Usage: ``aj.range(5)`` (int32 0..4), ``aj.range(0.0, 1.0, 0.25)`` (float32)

    Ints give int32 and floats float32 unless ``dtype`` says otherwise (a tensor argument
    lends its dtype). Bounds unknown while tracing make a tensor of unknown length (Note
    [Ranges with tensor bounds]); bounds known from static shapes (Note [Known values] in
    graph/tracer.py) a range of static length.
    """
    if limit is None:
        start, limit = 0, start
    given = [v for v in (start, limit, delta) if hasattr(v, "dtype")]
    if any(getattr(v, "_array", 0) is None and known_value(v) is None for v in given):
        return _range_tensor(start, limit, delta, dtype, given)
    start, limit, delta = (python_number("range", v, what)
                           for v, what in ((start, "start"), (limit, "limit"), (delta, "delta")))
    if delta == 0:
        raise InvalidArgumentError("range: delta must not be 0, got 0")
    if dtype is not None:
        dt = dtypes.as_dtype(dtype)
    elif given:
        dt = given[0].dtype
    else:
        dt = dtypes.float32 if any(isinstance(v, float) for v in (start, limit, delta)) \
            else dtypes.int32
    out = bind(RANGE, start=start, limit=limit, delta=delta, dtype=dt)
    if getattr(out, "_array", 0) is None and dtypes.is_integer(dt):
        _remember_bounds(out, (start, limit, delta), dt)  # traced: a for loop counts
    return out


def _range_tensor_rule(name, start, limit, delta, *, dtype):
    for what, spec in (("start", start), ("limit", limit), ("delta", delta)):
        if spec.shape != ():
            raise ShapeError(f"range: expected a scalar {what}, got shape "
                             f"{shapes.fmt(spec.shape)}")
        if spec.dtype.kind not in "iuf":
            raise DTypeError(f"range: expected a number for {what}, got {spec.dtype.name}")
    return (None,), dtype


RANGE_TENSOR = defop("range_tensor", ["start", "limit", "delta"],
                     "xp.arange(start, limit, delta, dtype=dtype)", _range_tensor_rule,
                     lambda g, out, start, limit, delta, *, dtype: (None, None, None),
                     attrs=("dtype",))

# Note [Ranges with tensor bounds]: under tracing, ``aj.range`` of symbolic bounds is an
# ordinary tensor (shape [None]) made by ``range_tensor``. Its bounds are remembered here,
# keyed by the result's id (checked through a weak reference), so that ``for i in
# aj.range(n)`` can iterate a counter instead of materialising the range (as TF does). So
# are the bounds of a traced integer range with known bounds (``aj.range(100)``): its loop
# counter is then a host scalar, and ``x[t]`` in the body reads no index back on a GPU
# (a gather from the materialised range gave a device index each iteration). Float ranges
# keep their materialised values (a counter adding 0.1 drifts from ``start + k * delta``).
_RANGE_BOUNDS: dict = {}


def _remember_bounds(out: Any, raw: tuple, dt: Any) -> None:
    _RANGE_BOUNDS[id(out)] = (weakref.ref(out), raw, dt)
    weakref.finalize(out, _RANGE_BOUNDS.pop, id(out), None)


def _range_tensor(start: Any, limit: Any, delta: Any, dtype: Any, given: list) -> Any:
    if isinstance(delta, (int, float)) and delta == 0:
        raise InvalidArgumentError("range: delta must not be 0, got 0")
    dt = dtypes.as_dtype(dtype) if dtype is not None else given[0].dtype
    raw = (start, limit, delta)
    out = bind(RANGE_TENSOR, *(cast(v, dt) if hasattr(v, "dtype") else constant(v, dtype=dt)
                               for v in raw), dtype=dt)
    _remember_bounds(out, raw, dt)
    return out


def range_bounds(value: Any) -> tuple | None:
    """``(start, limit, delta, dtype)`` when ``value`` was made by ``aj.range`` with symbolic
    bounds (each a tensor or a Python number, as given), else None (Note [Ranges with tensor
    bounds])."""
    entry = _RANGE_BOUNDS.get(id(value))
    if entry is None or entry[0]() is not value:
        return None
    return entry[1] + (entry[2],)


LINSPACE = defop("linspace", [], "xp.linspace(start, stop, num, dtype=dtype)",
                 lambda name, *, start, stop, num, dtype: ((num,), dtype),
                 attrs=("start", "stop", "num", "dtype"))


def linspace(start: Any, stop: Any, num: Any, name: str | None = None) -> Any:
    """``num`` evenly spaced numbers from ``start`` to ``stop`` (both included).

    Usage: ``aj.linspace(0.0, 1.0, 5)`` (float32; a float tensor ``start`` lends its dtype)
    """
    dt = getattr(start, "dtype", dtypes.float32)
    if not dtypes.is_floating(dt):
        raise DTypeError(f"linspace: expected floating-point start and stop, got {dt.name}")
    (n,) = static_shape("linspace", num)
    return bind(LINSPACE, start=float(python_number("linspace", start, "start")),
                stop=float(python_number("linspace", stop, "stop")), num=n, dtype=dt)
