"""Runtime operators called by converted code (as ``ag__.if_stmt(...)`` etc.).

Converters never look at types; these functions do, at call time (Note [Tensor or Python]):

* a Python value (or a concrete, eager tensor) as a condition runs plain Python, so Python
  control flow on Python values is resolved while tracing, exactly as the original code;
* a symbolic tensor (or a ``Variable`` while tracing) becomes graph control flow:
  ``aj.cond`` for ``if``, ``a if c else b``, ``and``/``or``, and ``aj.while_loop`` for
  ``while`` and ``for`` over ``range(tensor)`` or over a tensor's rows.

Statement operators get the block as functions plus ``get_state``/``set_state`` closures over
the variables it modifies (``names``); the first ``nouts`` of them are live after the block
(the loop variables or ``cond`` outputs). Errors name the variable and the user's line, found
from the caller's frame (converted code runs at the user's line numbers).
"""

from __future__ import annotations

import builtins
import functools
import sys
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from autojit import dtypes, nest
from autojit.autograph import origin
from autojit.errors import AutographError, DTypeError
from autojit.graph import control
from autojit.graph.tracer import GraphTrace
from autojit.ops import core
from autojit.tensor import Tensor

# Ops are used through the public namespace (looked up at call time, so this module can be
# imported while `autojit` itself is still initializing): it is the stable contract.
import autojit as aj  # noqa: E402

UNROLL_WARNING_ITERATIONS = 100


class AutographWarning(UserWarning):
    """Autograph ran something as plain Python where the user may expect a graph."""


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


def _remember_flag(value: Any, where: tuple) -> None:
    key = id(value)
    _FLAG_ORIGINS[key] = (weakref.ref(value, lambda _: _FLAG_ORIGINS.pop(key, None)), where)


def _flag_origin(value: Any) -> tuple | None:
    entry = _FLAG_ORIGINS.get(id(value))
    if entry is not None and entry[0]() is value:
        return entry[1]
    return None


def retval(do_return: Any, value: Any) -> Any:
    """The function's result at its end: ``value`` if a ``return`` ran, else ``None``."""
    if _is_graph_value(do_return):
        where = _flag_origin(do_return)
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
# Tensor or Python (Note [Tensor or Python])


def _tracing() -> bool:
    return isinstance(core.current_trace(), GraphTrace)


def _is_graph_value(value: Any) -> bool:
    """True when ``value`` must become graph control flow (see the module docstring)."""
    if not isinstance(value, Tensor):
        return False
    if value._array is None:
        return True
    return value._is_variable and _tracing()


def _as_pred(value: Any, what: str, where: tuple) -> Any:
    """A scalar bool tensor standing for ``value``'s truth in a graph condition."""
    if not isinstance(value, Tensor):
        return aj.constant(builtins.bool(value))
    if value._is_variable:
        value = aj.identity(value)
    if any(d != 1 for d in value.shape):
        raise AutographError(
            f"the condition of the tensor {what} at {origin.where(where)} must be a scalar, "
            f"got a {value.dtype.name} tensor of shape {list(value.shape)}; reduce it with "
            "aj.reduce_any / aj.reduce_all")
    if value.dtype != dtypes.bool:
        value = aj.not_equal(value, 0)  # Python's truth of a number
    return value


def _pred_of(value: Any, what: str, where: tuple) -> Any:
    """A bool for Python values, a graph predicate for tensors (inside loop bodies)."""
    if _is_graph_value(value):
        return _as_pred(value, what, where)
    return bool(value)


# ---------------------------------------------------------------------------------------
# if / a if c else b / and / or / not


def if_stmt(cond: Any, body: Callable, orelse: Callable, get_state: Callable | None,
            set_state: Callable | None, names: tuple, nouts: int) -> None:
    """``if cond: body() else: orelse()``; a tensor ``cond`` becomes an ``aj.cond`` node."""
    if _is_graph_value(cond):
        _graph_if(cond, body, orelse, get_state, set_state, names, nouts, origin.caller())
    elif cond:
        body()
    else:
        orelse()


def _graph_if(cond, body, orelse, get_state, set_state, names, nouts, where) -> None:
    pred = _as_pred(cond, "`if`", where)
    init = get_state() if get_state is not None else ()

    def branch(fn: Callable) -> Callable:
        def run() -> tuple:
            if set_state is not None:
                set_state(init)
            fn()
            return tuple(get_state()[:nouts]) if get_state is not None else ()
        return run

    final = _graph_cond(pred, branch(body), branch(orelse), names[:nouts], where, "`if`")
    if set_state is not None:
        set_state(tuple(final) + tuple(init[nouts:]))


def if_exp(cond: Any, if_true: Callable, if_false: Callable) -> Any:
    """``if_true() if cond else if_false()``; a tensor ``cond`` becomes an ``aj.cond`` node."""
    if _is_graph_value(cond):
        where = origin.caller()
        pred = _as_pred(cond, "`... if ... else ...`", where)
        (value,) = _graph_cond(pred, lambda: (if_true(),), lambda: (if_false(),),
                               ("the expression",), where, "`... if ... else ...`")
        return value
    return if_true() if cond else if_false()


def and_(a: Any, b: Callable, cheap: bool = False) -> Any:
    """``a and b()``. With a tensor ``a``: ``logical_and`` when ``b`` is cheap (the converter
    says so: names, constants and comparisons of them), else an ``aj.cond``, so ``b`` still
    runs only when ``a`` holds (``i < n and x[i] > 0``)."""
    if _is_graph_value(a):
        return _graph_logical(a, b, cheap, origin.caller(), is_and=True)
    return b() if a else a


def or_(a: Any, b: Callable, cheap: bool = False) -> Any:
    """``a or b()``; see ``and_``."""
    if _is_graph_value(a):
        return _graph_logical(a, b, cheap, origin.caller(), is_and=False)
    return a if a else b()


def _graph_logical(a: Any, b: Callable, cheap: bool, where: tuple, is_and: bool) -> Any:
    word = "`and`" if is_and else "`or`"
    pred = _as_pred(a, word, where)
    if cheap:
        value = b()
        if (isinstance(value, builtins.bool) or isinstance(value, Tensor)
                and value.dtype == dtypes.bool and a.dtype == dtypes.bool):
            op = aj.logical_and if is_and else aj.logical_or
            return op(a, value)
        b = functools.partial(_identity, value)
    a_fn = functools.partial(_identity, a)
    true_fn, false_fn = (b, a_fn) if is_and else (a_fn, b)
    (value,) = _graph_cond(pred, lambda: (true_fn(),), lambda: (false_fn(),),
                           ("the expression",), where, word)
    return value


def _identity(value: Any) -> Any:
    return value


def not_(a: Any) -> Any:
    """``not a``; for a symbolic tensor, ``aj.logical_not`` (``x == 0`` for numbers)."""
    if _is_graph_value(a):
        if a.dtype == dtypes.bool:
            return aj.logical_not(a)
        return aj.equal(a, 0)
    return not a


# ---------------------------------------------------------------------------------------
# The graph `cond` behind if / if_exp / and / or.
#
# Each branch returns one value per slot (a variable). Slots holding tensors, Python numbers
# or nested structures of them become outputs of the `cond` node; a slot holding the same
# Python object in both branches passes through; `Undefined` in one branch only is the
# user's error; `UndefinedReturnValue` (no `return` ran) in one branch gets zeros of the
# other branch's type, which nothing reads (`do_return` says which value counts). Branches
# are traced in order, so when the false branch shows the true branch needs a change (cast
# a Python scalar, fill a missing return value), both are traced again (`_Replan`).


class _Replan(Exception):
    def __init__(self, updates: dict):
        super().__init__("replan")
        self.updates = updates


def _kind(value: Any) -> str:
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
        if leaves and all(_kind(leaf) in ("tensor", "scalar") for leaf in leaves):
            return "struct"
    return "object"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, builtins.bool)


def _spec_of(value: Any) -> core.TensorSpec:
    """The type a value has as a tensor."""
    if isinstance(value, Tensor):
        return core.TensorSpec(value.shape, value.dtype)
    array = core.to_numpy_constant(value)
    return core.TensorSpec(array.shape, array.dtype)


def _zeros(spec: core.TensorSpec) -> Any:
    # Unknown dims get 1: the value is a placeholder nobody reads, and `cond` relaxes the
    # shape it disagrees on to unknown anyway.
    return aj.zeros([1 if d is None else d for d in spec.shape], spec.dtype)


def _same_object(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return type(a) is type(b) and builtins.bool(a == b)
    except Exception:  # noqa: BLE001  (objects whose == is not a plain bool)
        return False


def _graph_cond(pred: Any, true_fn: Callable, false_fn: Callable, labels: tuple,
                where: tuple, what: str) -> list:
    plan: dict = {}  # slot -> ("cast", dtype) | ("zeros", template)
    for _ in range(len(labels) + 2):
        seen: list = [None, None]
        try:
            outputs = control.cond(pred, _branch(true_fn, 0, seen, plan, labels, where, what),
                                   _branch(false_fn, 1, seen, plan, labels, where, what))
        except _Replan as replan:
            plan.update(replan.updates)
            continue
        break
    else:  # pragma: no cover  (each replan fixes a slot for good)
        raise AutographError(f"tensor {what} at {origin.where(where)}: branches disagree")
    true_values, false_values = seen
    final = []
    out = iter(outputs)
    for slot, (t, f) in enumerate(zip(true_values, false_values)):
        if _included(slot, t, plan):
            value = next(out)
            if isinstance(t, builtins.bool) or isinstance(f, builtins.bool):
                _remember_flag(value, where)
            final.append(value)
        else:
            final.append(t)  # the same Python object (or Undefined) in both branches
    return final


def _included(slot: int, value: Any, plan: dict) -> bool:
    kind = _kind(value)
    return kind in ("tensor", "scalar", "struct") or (kind == "noreturn" and slot in plan)


def _branch(fn, which, seen, plan, labels, where, what) -> Callable:
    def run() -> tuple:
        values = tuple(fn())
        seen[which] = values
        if which == 1:
            _check_branches(seen[0], values, plan, labels, where, what)
        outputs = []
        for slot, value in enumerate(values):
            first = seen[0][slot]
            if not _included(slot, first, plan):
                continue
            outputs.append(_branch_output(slot, value, first, which, plan))
        return tuple(outputs)
    return run


def _branch_output(slot: int, value: Any, first: Any, which: int, plan: dict) -> Any:
    step = plan.get(slot)
    kind = _kind(value)
    if kind == "noreturn":
        template = step[1] if step else nest.map_structure(_spec_of, first)
        return nest.map_structure(_zeros, template)
    if kind == "scalar":
        dtype = step[1] if step and step[0] == "cast" else None
        if which == 1 and dtype is None:
            dtype = _spec_of(first).dtype  # the false branch follows the true one
        return aj.constant(value, dtype=dtype)
    return value


def _check_branches(true_values, false_values, plan, labels, where, what) -> None:
    """Compare the branches slot by slot; raise the user's error or a ``_Replan``."""
    updates = {}
    for slot, (t, f) in enumerate(zip(true_values, false_values)):
        tk, fk = _kind(t), _kind(f)
        label = labels[slot]
        if tk == "undefined" or fk == "undefined":
            if tk != fk:
                side = "true" if fk == "undefined" else "false (`else`)"
                raise AutographError(
                    f"{_name(label)} is assigned only in the {side} branch of the tensor {what} at "
                    f"{origin.where(where)} but is used after it; give it a value before the "
                    f"{what} or assign it in both branches")
            continue
        if tk == "noreturn" or fk == "noreturn":
            other = f if tk == "noreturn" else t
            if _kind(other) == "object":
                raise _branches_error(label, t, f, where, what)
            if tk == "noreturn" and fk != "noreturn" and slot not in plan:
                updates[slot] = ("zeros", nest.map_structure(_spec_of, f))
            continue
        if tk == "object" or fk == "object":
            if not _same_object(t, f):
                raise _branches_error(label, t, f, where, what)
            continue
        if tk == "struct" or fk == "struct":
            if nest.structure_key(t, lambda leaf: None) != nest.structure_key(f, lambda leaf: None):
                raise AutographError(
                    f"{_name(label)} has a different structure in the two branches of the tensor "
                    f"{what} at {origin.where(where)}: {_describe(t)} and {_describe(f)}")
            continue
        t_shape, t_dtype = _spec_of(t).shape, _spec_of(t).dtype
        f_shape, f_dtype = _spec_of(f).shape, _spec_of(f).dtype
        if slot in plan and plan[slot][0] == "cast":
            t_dtype = plan[slot][1]
        if tk == "scalar" and fk == "tensor" and t_dtype != f_dtype:
            updates[slot] = ("cast", f_dtype)  # a weak Python scalar takes the tensor's dtype
            continue
        if tk == "scalar" and fk == "scalar" and t_dtype != f_dtype:
            wide = np.promote_types(t_dtype, f_dtype)
            if wide != t_dtype:
                updates[slot] = ("cast", dtypes.as_dtype(
                    "float32" if wide.kind == "f" else wide.name))
            continue
        if fk == "tensor" and t_dtype != f_dtype:
            raise AutographError(
                f"{_name(label)} is {t_dtype.name} in the true branch but {f_dtype.name} in the false "
                f"branch of the tensor {what} at {origin.where(where)}; cast one with aj.cast so "
                "both have the same dtype")
        if len(t_shape) != len(f_shape):
            raise AutographError(
                f"{_name(label)} has shape {list(t_shape)} in the true branch but {list(f_shape)} in "
                f"the false branch of the tensor {what} at {origin.where(where)}; both branches "
                "must give it the same rank")
    if updates:
        raise _Replan(updates)


def _branches_error(label, true_value, false_value, where, what) -> AutographError:
    return AutographError(
        f"{_name(label)} is {_describe(true_value)} in the true branch but "
        f"{_describe(false_value)} in the false branch of the tensor {what} at "
        f"{origin.where(where)}; only tensors and numbers can depend on a tensor condition")


def _object_error(label, value, where, what) -> AutographError:
    return AutographError(
        f"{_name(label)} holds a Python {type(value).__name__} ({_describe(value)}) that "
        f"changes inside the tensor {what} at {origin.where(where)}; only tensors and numbers "
        "can change in a graph loop")


def _name(label: str) -> str:
    """How errors name a variable: `x`, or what a generated flag stands for."""
    base = label.rstrip("0123456789")
    if base == "retval_":
        return "the return value"
    if base in ("do_return", "break_", "continue_"):
        return f"the `{base.rstrip('_')}` flag"
    return f"`{label}`" if label.isidentifier() else label


def _describe(value: Any) -> str:
    text = repr(nest.map_structure(lambda leaf: "tensor" if isinstance(leaf, Tensor) else leaf,
                                   value)) if isinstance(value, (list, tuple, dict)) else \
        repr(value)
    return text if len(text) < 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------
# while


def while_stmt(test: Callable, body: Callable, get_state: Callable | None,
               set_state: Callable | None, names: tuple, nouts: int) -> None:
    """``while test(): body()``. The test runs once per iteration; if its first value (or a
    later one) is a tensor, the rest of the loop becomes one ``aj.while_loop`` node."""
    value = test()
    unroll = _Unroll()
    while True:
        if _is_graph_value(value):
            where = origin.caller()
            loop = _GraphLoop(get_state, set_state, names, nouts, (), where, "`while` loop")
            loop.run(value, lambda: (), body, test)
            return
        if not value:
            return
        unroll.step(get_state)
        body()
        value = test()


class _Unroll:
    """Counts the iterations of a Python loop run while tracing; warns once when a long loop
    that emits ops is being unrolled into the graph."""

    __slots__ = ("count", "nodes")

    def __init__(self):
        self.count = 0
        self.nodes = None

    def step(self, get_state) -> None:
        self.count += 1
        if self.count == 2 or self.count == UNROLL_WARNING_ITERATIONS + 1:
            trace = core.current_trace()
            if not isinstance(trace, GraphTrace):
                return
            if self.count == 2:
                self.nodes = len(trace.graph.nodes)
            elif self.nodes is not None and len(trace.graph.nodes) > self.nodes:
                where = origin.caller(3)
                warnings.warn(
                    f"a Python loop at {origin.where(where)} has run more than "
                    f"{UNROLL_WARNING_ITERATIONS} iterations while tracing; each one adds its "
                    "ops to the graph. Loop over a tensor (aj.range(n), or range() of a tensor) "
                    "to make it one graph loop", AutographWarning, stacklevel=3)


class _GraphLoop:
    """One ``aj.while_loop`` for the rest of a ``while``/``for`` loop.

    Loop variables are ``(pred, *extra, *state[:nouts])``: the test is evaluated at the end of
    each body (so once per iteration), ``extra`` is the iteration index of a ``for``.
    """

    def __init__(self, get_state, set_state, names, nouts, targets, where, what):
        self.get_state = get_state
        self.set_state = set_state
        self.names = names[:nouts]
        self.nouts = nouts
        self.targets = targets
        self.where = where
        self.what = what
        self.init = tuple(get_state()) if get_state is not None else ()

    def run(self, pred: Any, extra: Callable, body: Callable, test: Callable,
            extra_next: Callable | None = None, step_body: Callable | None = None) -> None:
        """``extra()`` gives the index variables' initial values; ``step_body(*extra)`` runs
        one iteration; ``test(*extra)`` gives the next predicate."""
        pred = _as_pred(pred, self.what, self.where)
        values = list(self.init[:self.nouts])
        objects = self._fill_undefined(values, extra, step_body or body)
        casts: dict = {}
        for _ in range(len(values) + 2):
            try:
                results = self._loop(pred, extra(), values, casts, objects, body, test,
                                     extra_next, step_body)
            except _Replan as replan:
                casts.update(replan.updates)
                continue
            except DTypeError:
                # `acc = 0` then `acc += x` with a float x fails inside the body, where `acc`
                # is already an int32 tensor: find the dtype one iteration gives the Python
                # numbers (weak, as in eager code) and try again with those.
                updates = self._weak_scalar_dtypes(values, casts, extra, step_body or body)
                if not updates:
                    raise
                casts.update(updates)
                continue
            break
        else:  # pragma: no cover
            raise AutographError(f"tensor {self.what} at {origin.where(self.where)}")
        final = list(results)
        for slot in objects:
            final.insert(slot, values[slot])
        for slot, value in enumerate(final):
            if isinstance(self.init[slot], builtins.bool):
                _remember_flag(value, self.where)
        if self.set_state is not None:
            self.set_state(tuple(final) + tuple(self.init[self.nouts:]))

    def _loop(self, pred, index, values, casts, objects, body, test, extra_next, step_body):
        carried = [i for i in range(len(values)) if i not in objects]
        start = [values[i] if i not in casts else aj.constant(values[i], dtype=casts[i])
                 for i in carried]
        n_index = len(index)

        def cond_fn(p, *rest):
            return p

        def body_fn(p, *rest):
            idx, loop_values = rest[:n_index], rest[n_index:]
            state = list(values)
            for i, v in zip(carried, loop_values):
                state[i] = v
            if self.set_state is not None:
                self.set_state(tuple(state) + tuple(self.init[self.nouts:]))
            if step_body is not None:
                step_body(*idx)
            else:
                body()
            new = list(self.get_state()[:self.nouts]) if self.get_state is not None else []
            outputs = [self._carry(i, new[i], start[k]) for k, i in enumerate(carried)]
            for i in objects:
                if not _same_object(new[i], values[i]):
                    raise _object_error(self.names[i], new[i], self.where, self.what)
            next_index = extra_next(*idx) if extra_next is not None else ()
            next_pred = test(*next_index) if extra_next is not None else test()
            if _is_graph_value(next_pred):
                next_pred = _as_pred(next_pred, self.what, self.where)
            elif not isinstance(next_pred, Tensor):
                next_pred = builtins.bool(next_pred)
            return (next_pred, *next_index, *outputs)

        labels = ("the loop condition",) + ("the loop index",) * n_index + tuple(
            self.names[i] for i in carried)
        try:
            results = control.while_loop(cond_fn, body_fn, (pred, *index, *start),
                                         _names=labels)
        except _Replan:
            raise
        return results[1 + n_index:]

    def _carry(self, slot: int, value: Any, start: Any) -> Any:
        """The body's new value of a loop variable, checked against its value before."""
        kind = _kind(value)
        label = self.names[slot]
        if kind == "undefined":
            raise AutographError(
                f"`{label}` is deleted inside the tensor {self.what} at "
                f"{origin.where(self.where)}; a loop variable must keep a value")
        if kind == "object":
            raise _object_error(label, value, self.where, self.what)
        before = self.init[slot]
        if _is_number(before) and isinstance(value, Tensor) and start is before \
                and value.dtype != core.to_numpy_constant(before).dtype:
            # `acc = 0` then `acc += x` with float x: the Python scalar takes x's dtype.
            raise _Replan({slot: value.dtype})
        if kind == "scalar" and isinstance(start, Tensor):
            return aj.constant(value, dtype=start.dtype)
        return value

    def _weak_scalar_dtypes(self, values: list, casts: dict, extra: Callable,
                            body: Callable) -> dict:
        weak = [i for i, v in enumerate(values) if i not in casts and _is_number(v)]
        if not weak:
            return {}
        trial = self._trial(values, extra, body, symbolic=False)
        updates = {}
        for i in weak:
            value = trial[i]
            if isinstance(value, Tensor) and value.dtype != _spec_of(values[i]).dtype:
                updates[i] = value.dtype
        return updates

    def _fill_undefined(self, values: list, extra: Callable, body: Callable) -> list:
        """Loop variables without a value before the loop: the iteration variable of a
        ``for`` and the function's return value get zeros of the type one trial iteration
        (traced into a throwaway graph) gives them; any other is the user's error.
        Returns the slots that hold Python objects (not loop variables)."""
        missing = [i for i, v in enumerate(values)
                   if _kind(v) in ("undefined", "noreturn")]
        for i in missing:
            if _kind(values[i]) == "undefined" and self.names[i] not in self.targets:
                raise AutographError(
                    f"`{self.names[i]}` is first assigned inside the tensor {self.what} at "
                    f"{origin.where(self.where)} but is used after the loop or read in the "
                    f"next iteration; give it a value before the loop")
        if missing:
            trial = self._trial(values, extra, body)
            for i in missing:
                value = trial[i]
                kind = _kind(value)
                if kind in ("undefined", "noreturn"):
                    continue  # the loop never assigns it (a Python condition says so)
                if kind not in ("tensor", "scalar", "struct"):
                    raise AutographError(
                        f"{_name(self.names[i])} has no value before the tensor {self.what} "
                        f"at {origin.where(self.where)}, and one iteration gives it "
                        f"{_describe(value)}; give it a value before the loop")
                values[i] = nest.map_structure(
                    lambda leaf: _zeros(_spec_of(leaf)), value)
        return [i for i, v in enumerate(values)
                if _kind(v) in ("object", "undefined", "noreturn")]

    def _trial(self, values: list, extra: Callable, body: Callable,
               symbolic: bool = True) -> list:
        """The state after one iteration, traced into a throwaway graph. With ``symbolic``,
        tensors and numbers enter as symbolic values, as in the real loop body (so Python
        conditions on them become graph conditions there too); else as they are."""
        seen: list = []
        index = list(extra())
        slots = [i for i, v in enumerate(values) if symbolic and _kind(v) in ("tensor", "scalar")]
        specs = [_spec_of(v) for v in index] + [_spec_of(values[i]) for i in slots] \
            if symbolic else []

        def run(*inputs):
            state = list(values)
            for i, value in zip(slots, inputs[len(index):]):
                state[i] = value
            if self.set_state is not None:
                self.set_state(tuple(state) + tuple(self.init[self.nouts:]))
            body(*(inputs[:len(index)] if symbolic else index))
            seen.extend(self.get_state()[:self.nouts])
            return ()

        control.trace_subgraph(run, core.current_trace(), specs, "trial_iteration",
                               [None] * len(specs))
        if self.set_state is not None:
            self.set_state(self.init)
        return seen


# ---------------------------------------------------------------------------------------
# for


class TensorRange:
    """``range(start, stop, step)`` with tensor bounds, as an iterable ``for_stmt`` turns into
    a graph loop. Made by ``converted_call`` for ``range(...)``/``aj.range(...)`` of tensors."""

    __slots__ = ("start", "stop", "step", "dtype")

    def __init__(self, *args: Any, dtype: Any = None):
        if len(args) == 1:
            start, stop, step = 0, args[0], 1
        elif len(args) == 2:
            (start, stop), step = args, 1
        else:
            start, stop, step = args
        self.start, self.stop, self.step = start, stop, step
        given = [a for a in (start, stop, step) if isinstance(a, Tensor)]
        self.dtype = dtypes.as_dtype(dtype) if dtype is not None else given[0].dtype

    def __repr__(self) -> str:
        return f"TensorRange({self.start!r}, {self.stop!r}, {self.step!r})"

    def test(self, index: Any) -> Any:
        step = self.step
        if isinstance(step, (int, float)):
            compare = aj.less if step > 0 else aj.greater
            return compare(index, self.stop)
        return aj.where(aj.greater(step, 0), aj.less(index, self.stop),
                              aj.greater(index, self.stop))

    def eager(self) -> Any:
        return aj.range(*(v.item() if isinstance(v, Tensor) else v
                                  for v in (self.start, self.stop, self.step)),
                                dtype=self.dtype)


def for_stmt(iterable: Any, extra_test: Callable | None, body: Callable,
             get_state: Callable | None, set_state: Callable | None, names: tuple, nouts: int,
             targets: tuple = ()) -> None:
    """``for x in iterable: body(x)`` while ``extra_test()`` (break/return flags) holds.

    ``range`` of tensors and symbolic tensors become one ``aj.while_loop`` (iterating rows
    with ``aj.gather``); Python iterables (and eager tensors' rows) are unrolled.
    """
    if isinstance(iterable, TensorRange) and not _tracing():
        iterable = iterable.eager()
    if isinstance(iterable, TensorRange) or _is_graph_value(iterable):
        where = origin.caller()
        loop = _GraphLoop(get_state, set_state, names, nouts, targets, where, "`for` loop")
        _graph_for(loop, iterable, extra_test, body)
        return
    unroll = _Unroll()
    for item in iterable:
        if extra_test is not None:
            go = extra_test()
            if _is_graph_value(go):
                # A tensor `break`/`return` in a Python loop: every later iteration runs
                # under a graph condition.
                if_stmt(go, functools.partial(body, item), no_op, get_state, set_state,
                        names, nouts)
                continue
            if not go:
                return
        unroll.step(get_state)
        body(item)


def no_op() -> None:
    """A block that does nothing (the missing ``else`` of an ``if``)."""
    return None


def _graph_for(loop: _GraphLoop, iterable: Any, extra_test: Callable | None,
               body: Callable) -> None:
    if isinstance(iterable, TensorRange):
        rng = iterable
        start = aj.constant(rng.start, dtype=rng.dtype) \
            if not isinstance(rng.start, Tensor) else aj.cast(rng.start, rng.dtype)
        item_of = _identity
        in_range = rng.test

        def advance(i):
            return aj.add(i, rng.step)
    else:
        x = iterable
        if x._is_variable:
            x = aj.identity(x)
        if not x.shape:
            raise AutographError(f"cannot iterate over a 0-d tensor in the `for` loop at "
                                 f"{origin.where(loop.where)}")
        length = x.shape[0] if x.shape[0] is not None else aj.shape(x)[0]
        start = aj.constant(0, dtype=dtypes.int32)

        def item_of(i):
            return aj.gather(x, i)

        def in_range(i):
            return aj.less(i, length)

        def advance(i):
            return aj.add(i, 1)

    def test(i):
        go = in_range(i)
        if extra_test is None:
            return go
        more = extra_test()
        if _is_graph_value(more):
            return aj.logical_and(go, _as_pred(more, loop.what, loop.where))
        return go if more else False

    def step(i):
        body(item_of(i))

    loop.run(test(start), lambda: (start,), body=None, test=test,
             extra_next=lambda i: (advance(i),), step_body=step)


# ---------------------------------------------------------------------------------------
# Statements kept as Python (inside `try`, or containing `yield`)


def python_cond(value: Any, construct: str) -> Any:
    """The condition of a statement autograph left as Python; a tensor here is an error."""
    if _is_graph_value(value):
        where = origin.caller()
        raise AutographError(
            f"the condition at {origin.where(where)} is a tensor, but the statement is "
            f"{construct}, which autograph cannot turn into graph control flow; move the "
            "tensor condition out of it, or use aj.cond / aj.while_loop")
    return value


def python_iter(value: Any, construct: str) -> Any:
    """The iterable of a ``for`` autograph left as Python; a symbolic tensor is an error."""
    if isinstance(value, TensorRange) or _is_graph_value(value):
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
    if _is_graph_value(test):
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
    if any(_is_graph_value(a) for a in args):
        return TensorRange(*args)
    return builtins.range(*args)


def _aj_range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None,
              name: str | None = None) -> Any:
    if any(_is_graph_value(a) for a in (start, limit, delta)):
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

