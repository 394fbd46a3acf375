"""``if``, ``a if c else b``, ``and``, ``or``, ``not``: plain Python on Python values, an
``aj.cond`` node on a tensor condition (see Note [Tensor or Python] in operators.py)."""

from __future__ import annotations

import builtins
import functools
from typing import Any, Callable

import numpy as np

import autojit as aj  # public ops, looked up at call time (see operators.py)
from autojit import dtypes, nest
from autojit.autograph import origin
from autojit.autograph import values as vals
from autojit.errors import AutographError
from autojit.graph import control
from autojit.tensor import Tensor

# ---------------------------------------------------------------------------------------
# if / a if c else b / and / or / not


def if_stmt(cond: Any, body: Callable, orelse: Callable, get_state: Callable | None,
            set_state: Callable | None, names: tuple, nouts: int) -> None:
    """``if cond: body() else: orelse()``; a tensor ``cond`` becomes an ``aj.cond`` node."""
    if vals.is_graph_value(cond):
        _graph_if(cond, body, orelse, get_state, set_state, names, nouts, origin.caller())
    elif cond:
        body()
    else:
        orelse()


def _graph_if(cond, body, orelse, get_state, set_state, names, nouts, where) -> None:
    pred = vals.as_pred(cond, "`if`", where)
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
    if vals.is_graph_value(cond):
        where = origin.caller()
        pred = vals.as_pred(cond, "`... if ... else ...`", where)
        (value,) = _graph_cond(pred, lambda: (if_true(),), lambda: (if_false(),),
                               ("the expression",), where, "`... if ... else ...`")
        return value
    return if_true() if cond else if_false()


def and_(a: Any, b: Callable, cheap: bool = False) -> Any:
    """``a and b()``. With a tensor ``a``: ``logical_and`` when ``b`` is cheap (the converter
    says so: names, constants and comparisons of them), else an ``aj.cond``, so ``b`` still
    runs only when ``a`` holds (``i < n and x[i] > 0``)."""
    if vals.is_graph_value(a):
        return _graph_logical(a, b, cheap, origin.caller(), is_and=True)
    return b() if a else a


def or_(a: Any, b: Callable, cheap: bool = False) -> Any:
    """``a or b()``; see ``and_``."""
    if vals.is_graph_value(a):
        return _graph_logical(a, b, cheap, origin.caller(), is_and=False)
    return a if a else b()


def _graph_logical(a: Any, b: Callable, cheap: bool, where: tuple, is_and: bool) -> Any:
    word = "`and`" if is_and else "`or`"
    pred = vals.as_pred(a, word, where)
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
    if vals.is_graph_value(a):
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
# a Python scalar, fill a missing return value), both are traced again (`vals.Replan`).

def _graph_cond(pred: Any, true_fn: Callable, false_fn: Callable, labels: tuple,
                where: tuple, what: str) -> list:
    plan: dict = {}  # slot -> ("cast", dtype) | ("zeros", template)
    for _ in range(len(labels) + 2):
        seen: list = [None, None]
        try:
            outputs = control.cond(pred, _branch(true_fn, 0, seen, plan, labels, where, what),
                                   _branch(false_fn, 1, seen, plan, labels, where, what))
        except vals.Replan as replan:
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
            if isinstance(value, Tensor) and value.dtype == dtypes.bool:
                # A flag (`do_return`) keeps the statement that first made it a tensor.
                vals.remember_flag(value, vals.flag_origin(t) or vals.flag_origin(f) or where)
            final.append(value)
        else:
            final.append(t)  # the same Python object (or Undefined) in both branches
    return final


def _included(slot: int, value: Any, plan: dict) -> bool:
    kind = vals.kind_of(value)
    return kind in ("tensor", "scalar", "struct") or (kind == "noreturn" and slot in plan) \
        or control.is_composite(value)  # a TensorArray (Note [Composite loop state])


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
    kind = vals.kind_of(value)
    if kind == "noreturn":
        template = step[1] if step else nest.map_structure(vals.spec_of, first)
        return nest.map_structure(vals.zeros, template)
    if kind == "scalar":
        dtype = step[1] if step and step[0] == "cast" else None
        if which == 1 and dtype is None:
            dtype = vals.spec_of(first).dtype  # the false branch follows the true one
        return aj.constant(value, dtype=dtype)
    return value


def _check_branches(true_values, false_values, plan, labels, where, what) -> None:
    """Compare the branches slot by slot; raise the user's error or a ``vals.Replan``."""
    updates = {}
    for slot, (t, f) in enumerate(zip(true_values, false_values)):
        tk, fk = vals.kind_of(t), vals.kind_of(f)
        label = labels[slot]
        name = vals.display_name(label)
        if tk == "undefined" or fk == "undefined":
            if tk != fk:
                side = "true" if fk == "undefined" else "false (`else`)"
                raise AutographError(
                    f"{name} is assigned only in the {side} branch of the tensor {what} at "
                    f"{origin.where(where)} but is used after it; give it a value before the "
                    f"{what} or assign it in both branches")
            continue
        if tk == "noreturn" or fk == "noreturn":
            other = f if tk == "noreturn" else t
            if vals.kind_of(other) == "object":
                raise vals.branches_error(label, t, f, where, what)
            if tk == "noreturn" and fk != "noreturn" and slot not in plan:
                updates[slot] = ("zeros", nest.map_structure(vals.spec_of, f))
            continue
        if control.is_composite(t) or control.is_composite(f):  # a TensorArray
            if not (control.is_composite(f) and control.is_composite(t)
                    and t._aj_key() == f._aj_key()):
                raise vals.branches_error(label, t, f, where, what)
            continue
        if tk == "object" or fk == "object":
            if not vals.same_object(t, f):
                raise vals.branches_error(label, t, f, where, what)
            continue
        if tk == "struct" or fk == "struct":
            if nest.structure_key(t, lambda leaf: None) != nest.structure_key(f, lambda leaf: None):
                raise AutographError(
                    f"{name} has a different structure in the two branches of the tensor "
                    f"{what} at {origin.where(where)}: {vals.describe(t)} and {vals.describe(f)}")
            continue
        t_shape, t_dtype = vals.spec_of(t).shape, vals.spec_of(t).dtype
        f_shape, f_dtype = vals.spec_of(f).shape, vals.spec_of(f).dtype
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
                f"{name} is {t_dtype.name} in the true branch but {f_dtype.name} in the false "
                f"branch of the tensor {what} at {origin.where(where)}; cast one with aj.cast so "
                "both have the same dtype")
        if len(t_shape) != len(f_shape):
            raise AutographError(
                f"{name} has shape {list(t_shape)} in the true branch but {list(f_shape)} in "
                f"the false branch of the tensor {what} at {origin.where(where)}; both branches "
                "must give it the same rank")
    if updates:
        raise vals.Replan(updates)


def no_op() -> None:
    """A block that does nothing (the missing ``else`` of an ``if``)."""
    return None
