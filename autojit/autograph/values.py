"""What the runtime operators share: ``Undefined`` values, the tensor-or-Python test, the
kinds of values state variables hold, and the wording of errors about them."""

from __future__ import annotations

import builtins
import weakref
from typing import Any

import numpy as np

import autojit as aj  # public ops, looked up at call time (see operators.py)
from autojit import dtypes, nest
from autojit.autograph import origin
from autojit.errors import AutographError
from autojit.graph.tracer import GraphTrace, SymbolicTensor, is_weak
from autojit.ops import core
from autojit.tensor import Tensor, is_symbolic


class AutographWarning(UserWarning):
    """Autograph ran something as plain Python where the user may expect a graph (a long
    unrolled loop, ...).

    Usage: ``warnings.simplefilter("error", aj.autograph.AutographWarning)``
    """


# ---------------------------------------------------------------------------------------
# Undefined values


class Undefined:
    """The value of a local that has no value yet (assigned in only one branch, or first
    inside a loop). Converted code reads such names through ``ld``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"


class UndefinedReturnValue:
    """The return value of a function before any ``return`` ran (``retval_``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no return value>"


def ld(value: Any) -> Any:
    """``value``, or Python's own ``UnboundLocalError`` when it is ``Undefined``."""
    if isinstance(value, Undefined):
        raise UnboundLocalError(f"cannot access local variable '{value.name}' where it is "
                                "not associated with a value")
    return value


# Symbolic `do_return` flags (and other bool state) made by a tensor `if`/loop, mapped to
# that statement's location, so `retval` can say which statement returned on only some paths.
# Keyed by id with a weak reference: a WeakKeyDictionary would compare tensors with `==`,
# which is elementwise for tensors.
_FLAG_ORIGINS: dict = {}


def remember_flag(value: Any, where: tuple) -> None:
    """Record that the statement at ``where`` made the symbolic bool ``value``."""
    key = id(value)
    _FLAG_ORIGINS[key] = (weakref.ref(value, lambda _: _FLAG_ORIGINS.pop(key, None)), where)


def remember_guard(value: Any) -> None:
    """Record that the symbolic bool ``value`` is ``not flag`` of a jump flag: the test of the
    `if` the converters put around the code after a `return`/`break`/`continue`.
    Usage: ``vals.remember_guard(aj.logical_not(do_return))``"""
    key = id(value)
    _GUARDS[key] = weakref.ref(value, lambda _: _GUARDS.pop(key, None))


def is_guard(value: Any) -> bool:
    """True for a value ``remember_guard`` saw. Usage: ``if vals.is_guard(cond): ...``"""
    entry = _GUARDS.get(id(value))
    return entry is not None and entry() is value


_GUARDS: dict = {}


def flag_origin(value: Any) -> tuple | None:
    """Where ``remember_flag`` saw ``value`` made, or None."""
    entry = _FLAG_ORIGINS.get(id(value))
    if entry is not None and entry[0]() is value:
        return entry[1]
    return None


def remember_weak(value: Any) -> None:
    """Mark the symbolic tensor ``value`` weak: it holds what were Python numbers in every
    branch or iteration that made it (Note [Weak numbers in tensor control flow] in
    conditionals.py), so it takes the dtype of the tensors it meets.
    Usage: ``vals.remember_weak(cond_output)``"""
    if isinstance(value, SymbolicTensor) and value.dtype != dtypes.bool:
        value._weak = True


def weak_view(value: Any) -> Any:
    """``value`` as Python code would hold it: for a strong symbolic tensor, a weak tensor of
    the same graph value (no new node); anything else as it is. What Python itself makes is
    an int in eager code: the index of ``range`` with tensor bounds and of ``enumerate``, the
    ``len`` of an unknown dimension (Note [Weak numbers in tensor control flow]).
    Usage: ``body(vals.weak_view(i))``"""
    if isinstance(value, SymbolicTensor) and not value._weak and value.dtype != dtypes.bool:
        view = SymbolicTensor(value._value, value._trace)
        view._weak = True
        return view
    return value


def weakish(value: Any) -> bool:
    """A Python int or float, or a weak tensor: it takes the dtype of the tensors it meets.
    Usage: ``if vals.weakish(item): ...``"""
    return is_number(value) or is_weak(value)


# ---------------------------------------------------------------------------------------
# Tensor or Python (Note [Tensor or Python] in operators.py)


def tracing() -> bool:
    """True while a graph is being traced in this thread."""
    return isinstance(core.current_trace(), GraphTrace)


def is_graph_value(value: Any) -> bool:
    """True when ``value`` must become graph control flow: a symbolic tensor, or a
    ``Variable`` while tracing (its value may change between calls, so it cannot be read
    once and baked in). Everything else, eager tensors included, runs plain Python."""
    if is_symbolic(value):
        return True
    return isinstance(value, Tensor) and value._is_variable and tracing()


def read(value: Any) -> Any:
    """A Variable read into the graph (its value may change between calls); anything else as
    it is. Usage: ``x = read(x)`` before using ``x`` as a graph value"""
    return aj.identity(value) if isinstance(value, Tensor) and value._is_variable else value


def as_pred(value: Any, what: str, where: tuple) -> Any:
    """A scalar bool tensor standing for ``value``'s truth in a graph condition."""
    if not isinstance(value, Tensor):
        return aj.constant(builtins.bool(value))
    value = read(value)
    if any(d != 1 for d in value.shape):
        raise AutographError(
            f"the condition of the tensor {what} at {origin.where(where)} must be a scalar, "
            f"got a {value.dtype.name} tensor of shape {list(value.shape)}; reduce it with "
            "aj.reduce_any / aj.reduce_all")
    if value.dtype != dtypes.bool:
        value = aj.not_equal(value, 0)  # Python's truth of a number
    return value


# ---------------------------------------------------------------------------------------
# Values as cond outputs and loop variables


class Replan(Exception):
    """Raised while tracing a branch or loop body when an earlier choice must change (a
    Python number takes a tensor's dtype, a missing return value needs a placeholder);
    the operator traces again with ``updates`` (slot -> what to do)."""

    def __init__(self, updates: dict):
        super().__init__("replan")
        self.updates = updates


def kind_of(value: Any) -> str:
    """What a state variable holds: ``tensor``, ``scalar`` (a Python/NumPy number or array,
    which becomes a constant), ``struct`` (lists/tuples/dicts of those), ``undefined``,
    ``noreturn`` (no ``return`` ran yet) or ``object`` (anything else: stays Python)."""
    if isinstance(value, Tensor):
        return "tensor"
    if isinstance(value, (builtins.bool, int, float, np.number, np.bool_, np.ndarray)):
        return "scalar"
    if isinstance(value, Undefined):
        return "undefined"
    if isinstance(value, UndefinedReturnValue):
        return "noreturn"
    if isinstance(value, (list, tuple, dict)):
        leaves = nest.flatten(value)
        if leaves and all(kind_of(leaf) in ("tensor", "scalar") for leaf in leaves):
            return "struct"
    return "object"


def is_number(value: Any) -> bool:
    """A Python int or float (not bool): weak, it takes the dtype of the tensors it meets."""
    return isinstance(value, (int, float)) and not isinstance(value, builtins.bool)


def spec_of(value: Any) -> core.TensorSpec:
    """The type a value has as a tensor."""
    if isinstance(value, Tensor):
        return core.TensorSpec(value.shape, value.dtype)
    array = core.to_numpy_constant(value)
    return core.TensorSpec(array.shape, array.dtype)


def zeros(spec: core.TensorSpec) -> Any:
    """A placeholder of type ``spec``. Unknown dims get 1: nobody reads the value, and
    ``cond`` relaxes a shape it disagrees on to unknown anyway."""
    return aj.zeros([1 if d is None else d for d in spec.shape], spec.dtype)


def same_object(a: Any, b: Any) -> bool:
    """True when a Python value is the same in both branches (or before and after a loop
    body), so it can stay Python."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and builtins.bool(a == b)
    except Exception:  # noqa: BLE001  (objects whose == is not a plain bool)
        return False


def branches_error(label, true_value, false_value, where, what) -> AutographError:
    """The error for a Python value that differs between the branches of a tensor ``if``."""
    return AutographError(
        f"{display_name(label)} is {describe(true_value)} in the true branch but "
        f"{describe(false_value)} in the false branch of the tensor {what} at "
        f"{origin.where(where)}; only tensors and numbers can depend on a tensor condition")


def object_error(label, value, where, what) -> AutographError:
    """The error for a Python value that a tensor loop's body changes."""
    return AutographError(
        f"{display_name(label)} holds a Python {type(value).__name__} ({describe(value)}) that "
        f"changes inside the tensor {what} at {origin.where(where)}; only tensors and numbers "
        "can change in a graph loop")


def display_name(label: str) -> str:
    """How errors name a variable: `x`, or what a generated flag stands for."""
    base = label.rstrip("0123456789")
    if base == "retval_":
        return "the return value"
    if base in ("do_return", "break_", "continue_"):
        return f"the `{base.rstrip('_')}` flag"
    return f"`{label}`" if label.isidentifier() else label


def describe(value: Any) -> str:
    """A short repr for error messages (tensors shown as ``'tensor'``)."""
    text = repr(nest.map_structure(lambda leaf: "tensor" if isinstance(leaf, Tensor) else leaf,
                                   value)) if isinstance(value, (list, tuple, dict)) else \
        repr(value)
    return text if len(text) < 60 else text[:57] + "..."
