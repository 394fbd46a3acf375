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
import warnings
from typing import Any, Callable

import autojit as aj  # public ops (see the module docstring)
from autojit.autograph import origin
from autojit.autograph import values as vals
from autojit.autograph.conditionals import and_, if_exp, if_stmt, no_op, not_, or_
from autojit.autograph.loops import TensorRange, for_stmt, while_stmt
from autojit.autograph.values import AutographWarning, Undefined, UndefinedReturnValue, ld
from autojit.errors import AutographError
from autojit.ops import core
from autojit.tensor import Tensor

__all__ = ["AutographWarning", "TensorRange", "Undefined", "UndefinedReturnValue", "and_",
           "assert_stmt", "converted_call", "for_stmt", "if_exp", "if_stmt", "ld", "no_op",
           "not_", "or_", "print_", "python_cond", "python_iter", "retval", "while_stmt"]


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


def python_iter(value: Any, construct: str) -> Any:
    """The iterable of a ``for`` autograph left as Python; a symbolic tensor is an error."""
    if isinstance(value, TensorRange) or vals.is_graph_value(value):
        where = origin.caller()
        raise AutographError(
            f"the `for` loop at {origin.where(where)} iterates over a tensor, but it is "
            f"{construct}, which autograph cannot turn into graph control flow; move the loop "
            "out of it, or use aj.while_loop")
    return value


# ---------------------------------------------------------------------------------------
# assert and print


def assert_stmt(test: Any, message: Callable | None = None) -> None:
    """``assert test, message()``: checked now for Python values; for a symbolic tensor,
    by the graph's ``assert`` op when the op library has one (else a warning: see below)."""
    if vals.is_graph_value(test):
        where = origin.caller()
        op = core.registry().get("assert")
        text = f"assertion failed at {origin.where(where)}: {origin.source_line(where)}"
        if message is not None:
            text += f" ({message()})"
        if op is not None:
            core.bind(op, test, message=text)
            return
        # Trade-off: no graph op can raise yet, so a tensor assert cannot be checked when
        # the graph replays; say so once rather than silently dropping it.
        warnings.warn(f"the assert at {origin.where(where)} checks a tensor inside "
                      "@aj.function; autojit has no graph assert op yet, so it is not checked "
                      "when the function runs (it is checked when run eagerly)",
                      AutographWarning, stacklevel=2)
        return
    if not test:
        if message is None:
            raise AssertionError
        raise AssertionError(message())


def print_(*values: Any, **kwargs: Any) -> None:
    """``print``: ``aj.print`` (printing at every call of a traced function) when any value is
    a tensor, Python's ``print`` otherwise (or when ``file=`` is given)."""
    if "file" not in kwargs and any(isinstance(v, Tensor) for v in values):
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
    override = (_BUILTINS or _builtins()).get(id(fn))
    if override is not None:
        return override(*args, **kwargs)
    from autojit.autograph import transpiler

    target = transpiler.convert_for_call(fn)
    return target(*args, **kwargs)


def _range(*args: Any) -> Any:
    if any(vals.is_graph_value(a) for a in args):
        return TensorRange(*args)
    return builtins.range(*args)


def _aj_range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
              name: str | None = None) -> Any:
    if any(vals.is_graph_value(a) for a in (start, limit, delta)):
        args = (start,) if limit is None else (start, limit, delta)
        return TensorRange(*args, dtype=dtype)
    return aj.range(start, limit, delta, dtype, name)


def _len(value: Any) -> Any:
    if isinstance(value, Tensor) and value._array is None and value.shape \
            and value.shape[0] is None:
        return aj.shape(value)[0]
    return builtins.len(value)


_BUILTINS: dict = {}


def _builtins() -> dict:
    if not _BUILTINS:
        _BUILTINS.update({id(builtins.range): _range, id(builtins.len): _len,
                          id(builtins.print): print_, id(aj.range): _aj_range})
    return _BUILTINS
