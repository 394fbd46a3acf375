"""Python builtins with a tensor meaning in converted code: ``converted_call`` calls these in
place of the builtins (``operators._builtins``).

Note [Builtins on tensors]
~~~~~~~~~~~~~~~~~~~~~~~~~~
Called on Python values or eager tensors, each runs the builtin itself. Called on a symbolic
tensor (or a ``Variable`` while tracing), where the builtin would need the tensor's value, it
computes the same number in the graph instead (as TF's autograph does for ``float``, ``int``,
``max`` and ``min``):

* ``float(t)`` / ``int(t)`` / ``bool(t)``: a cast to float32 (float64 stays), to int32
  (integer tensors stay; floats truncate toward zero, as ``int``), or ``t != 0``;
* ``round(t)`` / ``round(t, k)``: ``aj.round`` (half to even, as ``round``) of ``t`` or of
  ``t * 10**k``, divided back;
* ``max(a, b, ...)`` / ``min(...)`` of scalars, or of one list or 1-D tensor: the first
  largest (smallest) item, as Python picks it, by ``aj.where`` on ``>`` (``<``);
* ``any(...)`` / ``all(...)`` of a list, generator or 1-D tensor: ``aj.reduce_any`` /
  ``aj.reduce_all`` of the items' truth.

The results are tensors where Python's would be numbers; those of ``float``, ``int`` and
``round`` are weak (Note [Weak numbers in tensor control flow] in conditionals.py), so
``round(t)`` next to a float32 in a later ``if`` or sum takes float32 as the int would. A
scalar is required wherever Python would take a tensor's truth (a 2-D tensor's rows in
``max(t)``), and the error says so, as eager code's ``bool()`` would.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

import autojit as aj  # public ops (operators.py's module docstring says why)
from autojit import dtypes
from autojit.autograph import origin
from autojit.autograph import values as vals
from autojit.errors import AutographError
from autojit.graph.tracer import user_location
from autojit.tensor_array import ListArray

__all__ = ["all_", "any_", "bool_", "float_", "int_", "max_", "min_", "round_"]

def _scalar(value: Any, what: str) -> Any:
    """``value`` as a scalar tensor read into the graph, or an error naming ``what``."""
    value = vals.read(value)
    if any(d != 1 for d in value.shape):
        raise AutographError(
            f"{what} at {origin.where(user_location())} needs a tensor with one element, got a "
            f"{value.dtype.name} tensor of shape {list(value.shape)}")
    return aj.reshape(value, []) if value.shape else value


def float_(*args: Any) -> Any:
    """``float(x)``; a float32 (or float64) scalar tensor for a graph tensor ``x``."""
    if len(args) != 1 or not vals.is_graph_value(args[0]):
        return builtins.float(*args)
    x = _scalar(args[0], "float()")
    return _weak(aj.cast(x, x.dtype if x.dtype == dtypes.float64 else dtypes.float32), args[0])


def int_(*args: Any, **kwargs: Any) -> Any:
    """``int(x)``; an int32 scalar tensor (truncated toward zero) for a graph tensor ``x``."""
    if len(args) != 1 or kwargs or not vals.is_graph_value(args[0]):
        return builtins.int(*args, **kwargs)
    x = _scalar(args[0], "int()")
    return _weak(x if dtypes.is_integer(x.dtype) else aj.cast(x, dtypes.int32), args[0])


def bool_(*args: Any) -> Any:
    """``bool(x)``; a bool scalar tensor (``x != 0``) for a graph tensor ``x``."""
    if len(args) != 1 or not vals.is_graph_value(args[0]):
        return builtins.bool(*args)
    return vals.as_pred(args[0], "bool()", user_location())


def round_(number: Any, ndigits: Any = None) -> Any:
    """``round(x, ndigits)``; ``aj.round`` (half to even) for a graph tensor ``x``: a weak
    int32 for a scalar ``x`` without ``ndigits``, as Python's ``round`` gives an int."""
    if not vals.is_graph_value(number) or vals.is_graph_value(ndigits):
        return builtins.round(number, ndigits)
    value = vals.read(number)
    if not dtypes.is_floating(value.dtype):
        return _weak(value, number)  # an integer rounds to itself
    if ndigits is None and not value.shape:  # an int, as round() of an eager scalar gives
        return _weak(aj.cast(aj.round(value), dtypes.int32), number)
    if not ndigits:
        return _weak(aj.round(value), number)
    scale = 10.0 ** ndigits
    return _weak(aj.round(value * scale) / scale, number)


def _weak(result: Any, argument: Any) -> Any:
    """``result`` marked weak, as the Python number the builtin gives (Note [Weak numbers in
    tensor control flow] in conditionals.py); never the user's own tensor ``argument``."""
    if result is argument:  # a Variable's read is a fresh tensor already
        result = aj.identity(result)
    vals.remember_weak(result)
    return result


def max_(*args: Any, **kwargs: Any) -> Any:
    """``max(...)``; the first largest item, computed in the graph, when items are tensors."""
    return _extreme(args, kwargs, builtins.max, "max()", aj.greater)


def min_(*args: Any, **kwargs: Any) -> Any:
    """``min(...)``; the first smallest item, computed in the graph, when items are tensors."""
    return _extreme(args, kwargs, builtins.min, "min()", aj.less)


def any_(iterable: Any) -> Any:
    """``any(iterable)``; ``aj.reduce_any`` of the items' truth when items are tensors."""
    return _truth(iterable, builtins.any, "any()", aj.reduce_any)


def all_(iterable: Any) -> Any:
    """``all(iterable)``; ``aj.reduce_all`` of the items' truth when items are tensors."""
    return _truth(iterable, builtins.all, "all()", aj.reduce_all)


def sum_(iterable: Any, /, start: Any = 0) -> Any:
    """``sum(iterable, start)``; over a graph tensor's rows (or a list grown in a tensor
    loop, its stacked items), ``aj.reduce_sum`` along the first axis, plus ``start``."""
    if isinstance(iterable, ListArray):
        iterable = iterable.stack()
    if not vals.is_graph_value(iterable):
        return builtins.sum(iterable, start)
    rows = vals.read(iterable)
    if rows.dtype == dtypes.bool:
        rows = aj.cast(rows, dtypes.int32)  # Python adds bools as ints
    total = aj.reduce_sum(rows, axis=0)
    zero = isinstance(start, (int, float)) and not isinstance(start, bool) and start == 0
    return total if zero else start + total


def _items(args: tuple, what: str) -> tuple[list, bool]:
    """The items ``max``/``min``/``any``/``all`` compare, and whether a graph value is among
    them; a graph tensor argument alone is iterated along its first axis."""
    if len(args) == 1:
        (arg,) = args
        if vals.is_graph_value(arg):
            arg = vals.read(arg)
            if len(arg.shape) != 1:
                raise AutographError(
                    f"{what} at {origin.where(user_location())} of a tensor compares its rows, "
                    f"so it needs a 1-D tensor, got shape {list(arg.shape)}; use "
                    "aj.reduce_max / aj.reduce_min / aj.reduce_any / aj.reduce_all")
            return [arg], True
        items = arg if isinstance(arg, list) else list(arg)
    else:
        items = list(args)
    return items, builtins.any(vals.is_graph_value(v) for v in items)


def _extreme(args: tuple, kwargs: dict, builtin: Callable, what: str, beats: Callable) -> Any:
    if kwargs or not args:
        return builtin(*args, **kwargs)
    items, graph = _items(args, what)
    if not graph:  # (a generator argument has been read into ``items``)
        return builtin(items)
    if len(args) == 1 and vals.is_graph_value(args[0]):  # a 1-D tensor's items
        reduce = aj.reduce_max if builtin is builtins.max else aj.reduce_min
        return reduce(items[0], axis=0)
    if len(items) == 1:  # compared with nothing
        return items[0]
    items = _common_dtype([_scalar(v, what) if vals.is_graph_value(v) else v for v in items])
    best = items[0]
    for item in items[1:]:  # Python keeps the first of equal items
        best = aj.where(beats(item, best), item, best)
    return best


def _common_dtype(items: list) -> list:
    """Tensors cast to one dtype (a float one when any item is a float), Python numbers
    left weak."""
    tensors = [v for v in items if isinstance(v, aj.Tensor)]
    floats = [v.dtype for v in tensors if dtypes.is_floating(v.dtype)]
    if floats:
        target = dtypes.float64 if dtypes.float64 in floats else floats[0]
    elif builtins.any(isinstance(v, float) for v in items):
        target = dtypes.float32
    else:
        return items
    return [aj.cast(v, target) if isinstance(v, aj.Tensor) and v.dtype != target else v
            for v in items]


def _truth(iterable: Any, builtin: Callable, what: str, reduce: Callable) -> Any:
    items, graph = _items((iterable,), what)
    if not graph:
        return builtin(items)
    if vals.is_graph_value(iterable):  # a 1-D tensor's items
        values = items[0]
        return reduce(values if values.dtype == dtypes.bool else aj.not_equal(values, 0))
    where = user_location()
    return reduce(aj.stack([vals.as_pred(v, what, where) for v in items]))
