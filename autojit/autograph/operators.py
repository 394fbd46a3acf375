"""The runtime operators: the namespace converted code calls as ``ag__`` (``ag__.if_stmt``,
``ag__.while_stmt``, ``ag__.converted_call``, ...). The control-flow ones live in
``conditionals.py`` and ``loops.py``; this module adds calls, ``assert``, ``print``, the end of
a function with ``return``s in control flow, and statements kept as Python.

Note [Tensor or Python]
~~~~~~~~~~~~~~~~~~~~~~~
Converters never look at types; the operators do, at call time, on the condition's value:

* a Python value, or a concrete (eager) tensor, runs plain Python: Python control flow on
  Python values is resolved while tracing, exactly as the original code would run;
* a symbolic tensor, or a ``Variable`` while tracing, becomes graph control flow:
  ``aj.cond`` for ``if``, ``a if c else b`` and ``and``/``or``; ``aj.while_loop`` for
  ``while`` and for ``for`` over ``range`` of tensors or over a tensor's rows.

A loop decides again at each test: a Python loop whose test turns into a tensor after some
iterations (they are unrolled) continues as one graph loop.

Statement operators get the block as functions plus ``get_state``/``set_state`` closures over
the variables it modifies (``names``); the first ``nouts`` of them are live after the block
(the loop variables or ``cond`` outputs). Errors name the variable and the user's line, found
from the caller's frame (converted code runs at the user's line numbers).

Ops are used through the public namespace ``aj`` (looked up at call time, so these modules
can be imported while ``autojit`` itself is still initializing): it is the stable contract.
"""

from __future__ import annotations

import builtins
import sys
from typing import Any, Callable

import autojit as aj  # public ops (see the module docstring)
from autojit import nest
from autojit.autograph import loops, origin, py_builtins
from autojit.autograph import values as vals
from autojit.autograph.conditionals import and_, if_exp, if_stmt, no_op, not_, or_
from autojit.autograph.conditionals import compare_chain, raised
from autojit.autograph.loops import for_stmt, while_stmt
from autojit.autograph.loops import claim_loop_list
from autojit.autograph.values import AutographWarning, Undefined, UndefinedReturnValue, ld
from autojit.ops.io import assert_that
from autojit.errors import AutographError
from autojit.tensor import Tensor
from autojit.tensor_array import ListArray, TensorArray, as_tensor_value

__all__ = ["AutographWarning", "Undefined", "UndefinedReturnValue", "and_",
           "assert_stmt", "compare_chain", "converted_call", "for_stmt", "get_attr", "if_exp",
           "if_stmt", "ld", "no_op", "not_", "or_", "print_", "python_cond", "python_iter",
           "python_operand", "raised", "retval", "set_attr", "while_stmt"]


def retval(do_return: Any, value: Any) -> Any:
    """The function's result at its end: ``value`` if a ``return`` ran, else ``None``."""
    if vals.is_graph_value(do_return):
        where = vals.flag_origin(do_return)
        frame = sys._getframe(1)
        name = frame.f_code.co_name
        raise AutographError(
            f"`{name}` returns a value on some paths through the tensor control flow at "
            f"{origin.where(where)} but reaches its end without `return` on others; inside "
            "@aj.function every path must return a value of the same structure: add a "
            f"`return` at the end of `{name}` ({frame.f_code.co_filename}:"
            f"{frame.f_code.co_firstlineno})")
    if do_return:
        return value
    return None


# ---------------------------------------------------------------------------------------
# Attributes as state (Note [Attributes in tensor control flow] in control_flow.py)


def get_attr(obj: Any, attr: str) -> Any:
    """``obj.attr`` as a block's state: ``Undefined`` when ``obj`` has no such attribute."""
    try:
        return getattr(obj, attr)
    except AttributeError:
        return Undefined(attr)


def set_attr(obj: Any, attr: str, value: Any) -> None:
    """Write a block's state back to ``obj.attr``; ``Undefined`` removes the attribute."""
    if not isinstance(value, Undefined):
        setattr(obj, attr, value)
    elif hasattr(obj, attr):
        delattr(obj, attr)


# ---------------------------------------------------------------------------------------
# Statements kept as Python (inside `try`, or containing `yield`)


def python_cond(value: Any, construct: str) -> Any:
    """The condition of a statement autograph left as Python; a tensor here is an error."""
    if vals.is_graph_value(value):
        where = origin.caller()
        raise AutographError(
            f"the condition at {origin.where(where)} is a tensor, but the statement is "
            f"{construct}, which autograph cannot turn into graph control flow; move the "
            "tensor condition out of it, or use aj.cond / aj.while_loop")
    return value


def python_operand(value: Any, construct: str) -> Any:
    """A deciding operand of an ``and``/``or``/``a if c else b`` autograph left as Python
    (an operand after it assigns with ``:=``, or yields), or the ``if`` of a comprehension;
    a tensor here is an error."""
    if vals.is_graph_value(value):
        where = origin.caller()
        if construct == "loop test":
            raise AutographError(
                f"the loop at {origin.where(where)} assigns with `:=` in its test and has a "
                "`break` or `return` in its body; as a tensor loop autograph cannot combine "
                "the two: make the assignment a statement before the loop and at the end of "
                "its body instead")
        if construct == "comprehension":
            raise AutographError(
                f"the `if` of the comprehension at {origin.where(where)} is a tensor: a "
                "comprehension picks its items in Python, so which items it keeps cannot "
                "depend on a tensor's value while tracing; keep them all and mask them "
                "(aj.boolean_mask(x, x > 0), aj.where(x > 0, x, 0.0)), or write a `for` loop "
                "that appends under an `if` (in a tensor loop the list is a TensorArray)")
        later = "a branch" if construct == "`a if c else b`" else "an operand after it"
        raise AutographError(
            f"the condition of the {construct} at {origin.where(where)} is a tensor, but the "
            f"expression stays Python: {later} assigns with `:=` (or yields), which cannot "
            "move into a graph branch; make the assignment a statement before it, or use "
            "aj.cond / aj.where")
    return value


def python_iter(value: Any, construct: str) -> Any:
    """The iterable of a ``for`` autograph left as Python; a symbolic tensor is an error."""
    if vals.is_graph_value(value):
        where = origin.caller()
        raise AutographError(
            f"the `for` loop at {origin.where(where)} iterates over a tensor, but it is "
            f"{construct}, which autograph cannot turn into graph control flow; move the loop "
            "out of it, or use aj.while_loop")
    return value


# ---------------------------------------------------------------------------------------
# assert and print


def assert_stmt(test: Any, message: Callable | None = None) -> None:
    """``assert test, message()``: checked now for Python values; for a symbolic tensor, by
    the graph's ``assert`` op at every call."""
    if vals.is_graph_value(test):
        where = origin.caller()
        text = f"assertion failed at {origin.where(where)}: {origin.source_line(where)}"
        if message is not None:
            text += f" ({message()})"
        assert_that(test, text)
        return
    if not test:
        # tagged like a `raise` (Note [raise in a tensor if]): failing while a branch of a
        # tensor `if` is traced, it turns into a graph assert that the branch is not taken
        exc = AssertionError() if message is None else AssertionError(message())
        exc._aj_raised_at = origin.caller()
        raise exc


def print_(*values: Any, **kwargs: Any) -> None:
    """``print``: ``aj.print`` (printing at every call of a traced function) when any value is
    a tensor, Python's ``print`` otherwise (or when ``file=`` is given)."""
    if "file" not in kwargs and any(isinstance(v, Tensor) for v in nest.flatten(list(values))):
        aj.print(*values, sep=kwargs.get("sep", " ") or " ",
                 end=kwargs.get("end", "\n") if kwargs.get("end") is not None else "\n")
    else:
        builtins.print(*values, **kwargs)


# ---------------------------------------------------------------------------------------
# Calls


def converted_call(fn: Any, args: tuple, kwargs: dict | None = None) -> Any:
    """``fn(*args, **kwargs)`` with ``fn`` converted first when it is user code.

    Library code (autojit, numpy, cupy, the standard library, installed packages) and
    builtins run as they are, except a few builtins with tensor meanings (``range``,
    ``len``, ``print``). Conversions are cached by code object, so this is cheap.
    """
    kwargs = kwargs or {}
    if _has_list_array(args, kwargs):
        return _list_call(fn, args, kwargs)
    override = (_BUILTINS or _builtins()).get(id(fn))
    if override is not None:
        return override(*args, **kwargs)
    from autojit.autograph import transpiler

    target = transpiler.convert_for_call(fn)
    return target(*args, **kwargs)


def _range(*args: Any) -> Any:
    if any(vals.is_graph_value(a) for a in args):  # a tensor; `for` iterates its counter
        out = aj.range(*(vals.read(a) for a in args))
        vals.remember_weak(out)  # Python's range gives ints: its items are weak
        return out
    return builtins.range(*args)


def _aj_range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
              name: str | None = None) -> Any:
    return aj.range(vals.read(start), vals.read(limit), vals.read(delta), dtype, name)


def _enumerate(iterable: Any, start: int = 0) -> Any:
    return loops.graph_iteration("enumerate", (iterable,), start) or \
        builtins.enumerate(iterable, start)


def _zip(*iterables: Any, **kwargs: Any) -> Any:
    return (None if kwargs else loops.graph_iteration("zip", iterables)) or \
        builtins.zip(*iterables, **kwargs)


def _reversed(sequence: Any) -> Any:
    return loops.graph_iteration("reversed", (sequence,)) or builtins.reversed(sequence)


def _len(value: Any) -> Any:
    if isinstance(value, Tensor) and value._array is None and value.shape \
            and value.shape[0] is None:
        return vals.weak_view(aj.shape(value)[0])  # an int in eager code
    return builtins.len(value)


_BUILTINS: dict = {}


def _builtins() -> dict:
    if not _BUILTINS:
        _BUILTINS.update({id(builtins.range): _range, id(builtins.len): _len,
                          id(builtins.print): print_, id(aj.range): _aj_range,
                          id(builtins.enumerate): _enumerate, id(builtins.zip): _zip,
                          id(builtins.reversed): _reversed,
                          **{id(getattr(builtins, name)): getattr(py_builtins, name + "_")
                             for name in ("float", "int", "bool", "round", "max", "min",
                                          "any", "all", "sum")}})
    return _BUILTINS


# ---------------------------------------------------------------------------------------
# Lists appended to in tensor loops (Note [Lists appended in tensor loops] in loops.py)

__all__ += ["list_append", "list_extend", "list_iadd", "list_return"]


def list_append(target: Any, element: Any) -> Any:
    """``target.append(element)``, returning the list: converted code rebinds
    ``l = ag__.list_append(l, x)``, so a list that a tensor loop carries can become a
    TensorArray (``ListArray``) that grows once per run-time iteration. Any other list (or
    object with an ``append``) is appended to in place, as in Python.

    Usage (converted code): ``out = ag__.list_append(out, x * 2)``
    """
    if isinstance(target, ListArray):
        claim_loop_list(target, element)  # raises when a float meets a list of weak ints
        return target.append(element)
    if isinstance(target, TensorArray):
        return target.write(target.size(), element)
    if type(target) is list:
        claim_loop_list(target, element)  # raises when a tensor loop carries the list
    target.append(element)
    return target


def list_extend(target: Any, items: Any) -> Any:
    """``target.extend(items)``, returning the list: one ``list_append`` per item of a
    list or tuple (so a tensor loop's list grows as a TensorArray); any other iterable, or
    any other ``target``, is extended as in Python.

    Usage (converted code): ``out = ag__.list_extend(out, [x, y])``
    """
    if (type(target) is list or isinstance(target, ListArray)) and type(items) in (list, tuple):
        for item in items:
            target = list_append(target, item)
        return target
    if isinstance(target, ListArray) and isinstance(items, ListArray):
        return target + items
    target.extend(items)
    return target


def list_iadd(target: Any, value: Any) -> Any:
    """``target += value`` with a list display ``value``: ``list_extend`` for a list, the
    ``+=`` operator for anything else (a tensor plus a list is arithmetic).

    Usage (converted code): ``out = ag__.list_iadd(out, [x])``
    """
    if type(target) is list or isinstance(target, ListArray):
        return list_extend(target, value)
    target += value
    return target


def list_return(value: Any) -> Any:
    """A function's return value with lists grown in tensor loops stacked into tensors, so
    they leave the function (and ``@aj.function``) as the tensors they stand for.

    Usage (converted code): ``return ag__.list_return(out)``
    """
    return as_tensor_value(value)


def _has_list_array(args: tuple, kwargs: dict) -> bool:
    for arg in args:
        if isinstance(arg, ListArray) or (type(arg) in (list, tuple) and any(
                isinstance(a, ListArray) for a in arg)):
            return True
    return any(isinstance(v, ListArray) for v in kwargs.values()) if kwargs else False


def _list_call(fn: Any, args: tuple, kwargs: dict) -> Any:
    """A call given a list grown in a tensor loop: the list ops that take a list of tensors
    see its elements (``aj.stack``, ``aj.concat``, ``aj.add_n``, ``len``), other library
    functions the stacked tensor (what they would make of a list of tensors), and user
    functions the list-array itself."""
    special = _list_functions().get(id(fn))
    if special is not None and args and isinstance(args[0], ListArray):
        return special(*args, **kwargs)
    from autojit.autograph import transpiler

    module = (getattr(fn, "__module__", None) or "").partition(".")[0]
    if module in transpiler.LIBRARIES or module == "builtins" or isinstance(fn, type):
        args = tuple(as_tensor_value(a) for a in args)
        kwargs = {k: as_tensor_value(v) for k, v in kwargs.items()}
        return converted_call(fn, args, kwargs)
    return transpiler.convert_for_call(fn)(*args, **kwargs)


def _stack_list(values: ListArray, axis: int = 0, name: str | None = None) -> Any:
    stacked = values.stack()
    if axis in (0, -len(stacked.shape)):
        return stacked
    rank = len(stacked.shape)
    axis = axis % rank
    perm = list(range(1, axis + 1)) + [0] + list(range(axis + 1, rank))
    return aj.transpose(stacked, perm)


def _concat_list(values: ListArray, axis: int = 0, name: str | None = None) -> Any:
    stacked = values.stack()
    rank = len(stacked.shape) - 1  # of the elements
    if not rank:
        return values.concat()  # the error for scalars
    axis = axis % rank
    if axis == 0:
        return values.concat()
    # [n, d0, ..., da, ...] -> [d0, ..., n, da, ...] -> merge n and da: element k's slice
    # along ``axis`` lands at k * da, as concatenating the elements along ``axis`` would.
    perm = list(range(1, axis + 1)) + [0] + list(range(axis + 1, rank + 1))
    moved = aj.transpose(stacked, perm)
    dims = [d if d is not None else aj.shape(moved)[k] for k, d in enumerate(moved.shape)]
    return aj.reshape(moved, dims[:axis] + [-1] + dims[axis + 2:])


def _list_functions() -> dict:
    if not _LIST_FUNCTIONS:
        _LIST_FUNCTIONS.update({
            id(aj.stack): _stack_list, id(aj.concat): _concat_list,
            id(aj.add_n): lambda values, name=None: aj.reduce_sum(values.stack(), axis=0),
            id(builtins.len): lambda value: value.size()})
    return _LIST_FUNCTIONS


_LIST_FUNCTIONS: dict = {}
