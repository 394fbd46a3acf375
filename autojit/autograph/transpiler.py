"""Conversion of a Python function: parse, run the converters, compile with the user's file
name and lines, and rebuild the function around the original globals, closure and defaults.

Converted code objects are cached by the original code object, so converting the same
function again (or another closure of it) costs one ``types.FunctionType`` call.
"""

from __future__ import annotations
import __future__

import functools
import inspect
import linecache
import os
import sys
import sysconfig
import types
import warnings
import weakref
from typing import Any, Callable

import gast

from autojit.autograph import operators, origin, parser
from autojit.autograph.converters import Context
from autojit.autograph.converters.asserts import AssertConverter
from autojit.autograph.converters.break_statements import BreakConverter
from autojit.autograph.converters.call_trees import CallTreeConverter
from autojit.autograph.converters.comparisons import ChainedComparisonConverter
from autojit.autograph.converters.conditional_expressions import IfExpConverter
from autojit.autograph.converters.continue_statements import ContinueConverter
from autojit.autograph.converters.control_flow import ControlFlowConverter
from autojit.autograph.converters.functions import FunctionConverter
from autojit.autograph.converters.lists import ListConverter
from autojit.autograph.converters.logical_expressions import LogicalConverter
from autojit.autograph.converters.print_functions import PrintConverter
from autojit.autograph.converters.raise_statements import RaiseConverter
from autojit.autograph.converters.return_statements import ReturnConverter
from autojit.autograph.mangling import mangle_private_names
from autojit.autograph.naming import Namer
from autojit.errors import AutographError
from autojit.ops import core

# Order matters: jumps become flags first (so the `if`s they add are converted too), calls
# are wrapped before control flow adds operator calls, expressions last.
CONVERTERS = (FunctionConverter, ListConverter, BreakConverter, ContinueConverter,
              ReturnConverter, RaiseConverter, CallTreeConverter, ControlFlowConverter,
              IfExpConverter, ChainedComparisonConverter, LogicalConverter, AssertConverter,
              PrintConverter)

# Functions from these packages (and the standard library, and anything installed under
# site-packages) are called as they are: they are libraries, not user code.
LIBRARIES = frozenset({"autojit", "numpy", "cupy", "cupyx", "scipy", "torch", "jax",
                       "tensorflow", "gast", "pytest", "_pytest", "pluggy", "sklearn",
                       "nvmath", "mpi4py"}) | frozenset(getattr(sys, "stdlib_module_names", ()))
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")})
# autojit's own code runs as it is, also a functools.wraps wrapper (whose __module__ names
# the user's module); it passes user callbacks through core.user_function
_AUTOJIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

_FUTURE_FLAGS = functools.reduce(
    lambda flags, name: flags | getattr(__future__, name).compiler_flag,
    __future__.all_feature_names, 0)


class _Entry:
    __slots__ = ("code", "source")

    def __init__(self, code: types.CodeType):
        self.code = code
        self.source: str | None = None  # made by `to_code` when asked: most never are


class _ByCode:
    """A map keyed by code object *identity*, dropping entries when the code object dies.

    Not a WeakKeyDictionary: code objects compare equal when their bytecode, constants and
    line table are, even from different files, and each file needs its own conversion.
    """

    def __init__(self):
        self._items: dict = {}

    def get(self, code: types.CodeType, default: Any = None) -> Any:
        item = self._items.get(id(code))
        return item[1] if item is not None and item[0]() is code else default

    def __setitem__(self, code: types.CodeType, value: Any) -> None:
        key = id(code)
        self._items[key] = (weakref.ref(code, lambda _: self._items.pop(key, None)), value)

    def __contains__(self, code: types.CodeType) -> bool:
        return self.get(code, _MISSING) is not _MISSING


_MISSING = object()
_CACHE = _ByCode()  # original code -> _Entry
_CONVERTED = _ByCode()  # converted code (and the code nested in it) -> True
_FAILED = _ByCode()  # original code -> why it could not be converted
_OPERATORS = types.CellType(operators)


# ---------------------------------------------------------------------------------------
# Public entry points


def convert(fn: Callable) -> Callable:
    """``fn`` converted by autograph: Python control flow on tensors becomes graph control
    flow when it is traced, and behaves exactly as before on Python values.

    Usage: ``g = aj.autograph.convert(f); g(x)``

    Methods are converted and bound again; objects other than Python functions, functions
    marked ``do_not_convert`` and library functions are returned as they are. A function
    whose source cannot be read is returned as is with a warning.
    """
    if isinstance(fn, types.MethodType):
        return types.MethodType(convert(fn.__func__), fn.__self__)
    if isinstance(fn, functools.partial):
        return functools.partial(convert(fn.func), *fn.args, **fn.keywords)
    if not isinstance(fn, types.FunctionType) and callable(fn) and not isinstance(fn, type):
        call = getattr(type(fn), "__call__", None)  # an object: its __call__, as TF
        if isinstance(call, types.FunctionType) and _should_convert(call):
            return types.MethodType(convert(call), fn)
        return fn
    if not isinstance(fn, types.FunctionType) or fn.__code__ in _CONVERTED:
        return fn
    if _generated(fn):
        _warn_unconverted(fn, AutographError(f"cannot read the source of {fn.__qualname__}"))
        return fn
    if not _should_convert(fn):
        return fn
    return _convert_function(fn, strict=True)


def to_code(fn: Callable) -> str:
    """The converted source of ``fn`` (a function, method or ``@aj.function``), as text.

    Usage: ``print(aj.autograph.to_code(f))``
    """
    fn = getattr(fn, "python_function", fn)
    fn = getattr(fn, "__func__", fn)
    if is_converted(fn):
        fn = getattr(fn, "__wrapped__", fn)
    if not isinstance(fn, types.FunctionType):
        raise AutographError(f"to_code: expected a Python function, got {type(fn).__name__}")
    entry = _entry(fn)
    if entry.source is None:
        entry.source = parser.unparse(_convert_tree(fn)[0])
    return entry.source


def do_not_convert(fn: Callable) -> Callable:
    """Mark ``fn`` so autograph calls it as it is (its control flow stays Python).

    Usage: ``@aj.autograph.do_not_convert`` above a helper ``def``.
    """
    fn.__ag_do_not_convert__ = True
    return fn


def is_converted(fn: Callable) -> bool:
    """True for a function made by autograph (or nested in one).

    Usage: ``aj.autograph.is_converted(aj.autograph.convert(f))``
    """
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    return code is not None and code in _CONVERTED


def convert_for_call(fn: Any) -> Callable:
    """What ``converted_call`` calls: ``fn`` converted when it is user code, else ``fn``.

    Never raises for a conversion problem: the function then runs unconverted, with one
    warning per function (as TF's "AutoGraph could not transform ... and will run it as-is").
    """
    if isinstance(fn, types.FunctionType):
        if fn.__code__ in _CONVERTED or not _should_convert(fn):
            return fn
        return _convert_function(fn, strict=False)
    if isinstance(fn, types.MethodType):
        func = fn.__func__
        if isinstance(func, types.FunctionType) and func.__code__ not in _CONVERTED \
                and _should_convert(func):
            return types.MethodType(_convert_function(func, strict=False), fn.__self__)
        return fn
    if isinstance(fn, functools.partial):
        return functools.partial(convert_for_call(fn.func), *fn.args, **fn.keywords)
    if isinstance(fn, type):
        return fn
    call = getattr(type(fn), "__call__", None)
    if isinstance(call, types.FunctionType) and call.__code__ not in _CONVERTED \
            and _should_convert(call):
        return types.MethodType(_convert_function(call, strict=False), fn)
    return fn


# ---------------------------------------------------------------------------------------
# Which functions are user code


def _should_convert(fn: types.FunctionType) -> bool:
    if getattr(fn, "__ag_do_not_convert__", False):
        return False
    module = (getattr(fn, "__module__", None) or "").partition(".")[0]
    if module in LIBRARIES:
        return False
    filename = fn.__code__.co_filename
    if filename.startswith(_AUTOJIT_DIR):
        return False
    if filename.startswith(_LIBRARY_DIRS) or "site-packages" in filename \
            or "dist-packages" in filename:
        return False
    if _generated(fn):
        return False
    return not (fn.__code__.co_flags & (0x80 | 0x200))  # coroutines, async generators


def _generated(fn: types.FunctionType) -> bool:
    """True for a function made by exec/eval without source (generated code)."""
    filename = fn.__code__.co_filename
    return filename.startswith("<") and not linecache.getlines(filename)


def _convert_function(fn: types.FunctionType, strict: bool) -> Callable:
    code = fn.__code__
    entry = _CACHE.get(code)
    if entry is None:
        if not strict and code in _FAILED:
            return fn
        try:
            entry = _entry(fn)
        except AutographError as exc:
            if strict and "cannot read the source" not in str(exc):
                raise
            _warn_unconverted(fn, exc)
            return fn
        except Exception as exc:  # noqa: BLE001  (a converter bug must not stop the user)
            if strict:
                raise AutographError(
                    f"autograph could not convert `{fn.__qualname__}` "
                    f"({code.co_filename}:{code.co_firstlineno}): {type(exc).__name__}: {exc}. "
                    "Use @aj.function(autograph=False) to trace it unconverted") from exc
            _warn_unconverted(fn, exc)
            return fn
    return _instantiate(entry, fn)


def _warn_unconverted(fn: types.FunctionType, exc: Exception) -> None:
    _FAILED[fn.__code__] = str(exc)
    warnings.warn(f"autograph could not convert `{fn.__qualname__}` and runs it as it is "
                  f"(its Python control flow cannot use tensor conditions): {exc}",
                  operators.AutographWarning, stacklevel=4)


def _entry(fn: types.FunctionType) -> _Entry:
    entry = _CACHE.get(fn.__code__)
    if entry is None:
        entry = _transpile(fn)
        _CACHE[fn.__code__] = entry
    return entry


# ---------------------------------------------------------------------------------------
# Transpiling


def _convert_tree(fn: types.FunctionType) -> tuple:
    """(converted gast node, source, namer) for ``fn``."""
    source = parser.parse_function(fn)
    node = source.node
    mangle_private_names(node, fn.__qualname__)  # Note [Private names]
    namer = Namer.for_tree(node)
    if "ag__" in namer.taken:
        raise AutographError(f"autograph: `{fn.__qualname__}` uses the name `ag__`, which "
                             "converted code reserves for its operators; rename it")
    namer.taken.add("ag__")
    ctx = Context(namer, source.filename, node)
    for converter in CONVERTERS:
        node = converter.transform(node, ctx)
    origin.set_location(node, node, deep=True)
    return node, source, namer


def _transpile(fn: types.FunctionType) -> _Entry:
    node, source, namer = _convert_tree(fn)

    # The converted function is compiled inside a factory whose parameters are the
    # original's free variables (and `ag__`), so they compile as closure cells, which
    # `_instantiate` fills with the original cells. A `def` gets a fresh name in the
    # factory, so a recursive call by its own (global) name stays a global lookup.
    freevars = ["ag__"] + [v for v in fn.__code__.co_freevars if v != "ag__"]
    if isinstance(node, gast.Lambda):
        body = [gast.Return(value=node)]
        inner_name = "<lambda>"
    else:
        inner_name = namer.new("ag__converted")
        node.name = inner_name
        body = [node]
    factory = gast.FunctionDef(
        name="ag__factory",
        args=gast.arguments(args=[templates_name(v) for v in freevars], posonlyargs=[],
                            vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                            defaults=[]),
        body=body, decorator_list=[], returns=None, type_comment=None, type_params=[])
    origin.set_location(factory, node)
    origin.close_locations(factory, source.filename)
    module = parser.to_ast(gast.Module(body=[factory], type_ignores=[]))
    flags = fn.__code__.co_flags & _FUTURE_FLAGS
    code = compile(module, source.filename, "exec", flags=flags, dont_inherit=True)
    (factory_code,) = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    inner = next(c for c in factory_code.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == inner_name)
    inner = inner.replace(co_name=fn.__code__.co_name, co_qualname=fn.__code__.co_qualname)
    _register(inner)
    return _Entry(inner)


def templates_name(identifier: str) -> Any:
    """A parameter node for the factory."""
    return gast.Name(id=identifier, ctx=gast.Param(), annotation=None, type_comment=None)


def _register(code: types.CodeType) -> None:
    """Mark ``code`` and the functions nested in it as converted. A class body's code (no
    ``CO_OPTIMIZED`` flag) is left out with all it holds: converters leave class bodies
    alone, so the methods of a class defined inside a converted function are converted
    when they are called (``convert_for_call``), like those of any other user class."""
    _CONVERTED[code] = True
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_flags & inspect.CO_OPTIMIZED:
            _register(const)


def _instantiate(entry: _Entry, fn: types.FunctionType) -> types.FunctionType:
    original = fn.__code__.co_freevars
    cells = []
    for name in entry.code.co_freevars:
        if name == "ag__":
            cells.append(_OPERATORS)
        else:
            cells.append(fn.__closure__[original.index(name)])
    new = types.FunctionType(entry.code, fn.__globals__, fn.__name__, fn.__defaults__,
                             tuple(cells) or None)
    new.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    new.__qualname__ = fn.__qualname__
    new.__module__ = fn.__module__
    new.__doc__ = fn.__doc__
    new.__annotations__ = fn.__annotations__
    new.__dict__.update(fn.__dict__)
    new.__wrapped__ = fn
    return new


core._convert_hooks.append(convert_for_call)  # Note [Library code calling user code]
