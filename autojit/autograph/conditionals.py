"""``if``, ``a if c else b``, ``and``, ``or``, ``not``: plain Python on Python values, an
``aj.cond`` node on a tensor condition (see Note [Tensor or Python] in operators.py)."""

from __future__ import annotations

import builtins
import functools
import operator
import sys
from typing import Any, Callable

import numpy as np

import autojit as aj  # public ops, looked up at call time (see operators.py)
from autojit import dtypes, nest
from autojit.autograph import aliases, origin, untracked
from autojit.autograph import values as vals
from autojit.errors import AutographError, DTypeError
from autojit.graph import control
from autojit.ops import core
from autojit.ops.io import assert_that
from autojit.tensor import Tensor
from autojit.tensor_array import ListArray

# ---------------------------------------------------------------------------------------
# if / a if c else b / and / or / not


# Note [Flags known in their guards]
# What follows a block that may `return` (or `break`, `continue`) runs under the converters'
# `if not do_return: ... else: do_return = True` (rewrite_jumps; the `else` changes nothing
# in Python but makes the flag state of the `if`), called with `guard="do_return"`. When the
# flag is a tensor, that `if` becomes a graph `cond`, and inside each branch the flag's value
# is known: the true branch gets it as Python False, so ifs on it nested inside are decided
# in Python, and the `else` sets Python True. A `cond` both of whose branches end with the
# flag True then leaves a Python True, not a tensor that is True on every path: `retval`
# knows the function returned (a tensor `if` that returns on both of its paths, under a
# Python branch whose other side falls off the end, is not rejected); so does a guard whose
# true branch always raises (its `else` runs alone).


def if_stmt(cond: Any, body: Callable, orelse: Callable, get_state: Callable | None,
            set_state: Callable | None, names: tuple, nouts: int,
            guard: str | None = None) -> None:
    """``if cond: body() else: orelse()``; a tensor ``cond`` becomes an ``aj.cond`` node.
    ``guard`` names the jump flag when ``cond`` is ``not flag`` (Note [Flags known in their
    guards])."""
    if vals.is_graph_value(cond):
        where = origin.caller()
        what = _GUARDED if vals.is_guard(cond) else "`if`"

        def block(get, put, labels, n):
            _graph_if(cond, body, orelse, get, put, labels, n, where, what, guard)

        untracked.run(block, get_state, set_state, names, nouts, where, what,
                      sys._getframe(1), (body, orelse))
    elif cond:
        body()
    else:
        orelse()


_GUARDED = "`if` around the code after a `return`, `break` or `continue` (its true branch " \
    "runs that code)"


def _graph_if(cond, body, orelse, get_state, set_state, names, nouts, where,
              what: str = "`if`", guard: str | None = None) -> None:
    pred = vals.as_pred(cond, what, where)
    init = get_state() if get_state is not None else ()
    saved = snapshot(init)
    kept: list = [None, None]  # per branch: which state slots still hold their own object
    known = names.index(guard) if guard in names and set_state is not None else None

    def branch(fn: Callable, which: int) -> Callable:
        def run() -> tuple:
            restore(saved)
            try:
                if set_state is not None:
                    set_state(init)
                if known is not None and which == 0:  # Note [Flags known in their guards]
                    set_state(init[:known] + (False,) + tuple(init[known + 1:]))
                try:
                    fn()
                except Exception as exc:
                    if getattr(exc, "_aj_raised_at", None) is None:
                        raise
                    raise _BranchRaised(which, exc) from None
                out = tuple(get_state()[:nouts]) if get_state is not None else ()
                kept[which] = [a is b for a, b in zip(out, init)]
                return tuple(detach(value) for value in out)
            finally:
                restore(saved)
        return run

    try:
        final = _graph_cond(pred, branch(body, 0), branch(orelse, 1), names[:nouts], where,
                            what)
    except _BranchRaised as stop:
        # Note [raise in a tensor if]: that branch becomes a graph assert; the other runs.
        other = orelse if stop.which == 0 else body
        holds = aj.logical_not(pred) if stop.which == 0 else pred
        exc = stop.exc
        side = "true" if stop.which == 0 else "false (`else`)"
        assert_that(holds, (
            f"the tensor `if` at {origin.where(where)} took its {side} branch, which raises "
            f"{type(exc).__name__}({str(exc)!r}) at {origin.where(exc._aj_raised_at)}"))
        restore(saved)
        if set_state is not None:
            set_state(init)
        other()
        return
    for slot, value in enumerate(final):
        if isinstance(value, ListArray) and type(init[slot]) is list:
            aliases.check_unaliased(init[slot], names[slot], where, what)
        if kept[0][slot] and kept[1][slot]:
            final[slot] = write_back(init[slot], value)
    if set_state is not None:
        set_state(tuple(final) + tuple(init[nouts:]))


# Note [raise in a tensor if]
# A branch of a tensor `if` that raises while it is traced (a `raise` statement of converted
# code, which `raised` tags with its line; directly, in a Python-decided `if` inside the
# branch, or in a user function it calls) is not traced as a branch: the graph asserts the
# other branch's condition (an `assert` node: AssertionError at run time, naming both
# lines, as TF's autograph turns `raise` into a failed check) and the other branch runs
# unconditionally. So a raising branch need not define what the other one defines. When
# both branches raise, the exception of the second escapes the trace, as in Python.


class _BranchRaised(Exception):
    """A branch of a tensor ``if`` raised ``exc`` while traced (Note [raise in a tensor if])."""

    def __init__(self, which: int, exc: BaseException):
        super().__init__("a branch raised")
        self.which, self.exc = which, exc


def raised(exc: Any) -> Any:
    """The exception of a user's ``raise`` statement (``raise ag__.raised(E)``), tagged with
    its line (Note [raise in a tensor if]); an exception class is instantiated, as ``raise``
    does."""
    if isinstance(exc, type) and issubclass(exc, BaseException):
        exc = exc()
    if isinstance(exc, BaseException):
        try:
            exc._aj_raised_at = origin.caller()
        except AttributeError:  # an exception type with __slots__
            pass
    return exc


# Note [Containers in tensor control flow]
# A Python list or dict whose items a tensor `if` branch or loop body assigns (`l[i] = v`,
# `d[k] += v`) is state of the block, like a rebound variable (the converter adds it: see
# activity.mutated). Both branches of a `cond` and a loop's trial and real bodies are traced
# one after the other in Python, so nothing they do to a container may outlive the trace:
# the operators `snapshot` every list/dict reachable from the state before tracing and
# `restore` their contents after each branch/body. A branch's containers leave it as
# `detach`ed copies (fresh lists/dicts, the same leaves), which the `cond`/`while_loop`
# merges like any nested structure; the merged contents are then written back into the
# user's own container (`write_back`), so aliases see them as in Python, when every branch
# (or the body) kept that object; a branch that rebinds the name gives it the merged copy.


def _is_container(value: Any) -> bool:
    return type(value) is list or type(value) is dict


def snapshot(values: Any) -> list:
    """``(container, shallow copy)`` for every list/dict reachable from ``values`` (through
    lists, tuples and dicts), for ``restore``. Usage: ``saved = snapshot(state)``"""
    saved: list = []
    seen: set = set()
    stack = [values]
    while stack:
        value = stack.pop()
        if _is_container(value):
            if id(value) in seen:
                continue
            seen.add(id(value))
            saved.append((value, value.copy()))
            stack.extend(value.values() if type(value) is dict else value)
        elif type(value) is tuple:
            stack.extend(value)
    return saved


def restore(saved: list) -> None:
    """Put back the contents ``snapshot`` saw, in place (the objects keep their identity)."""
    for container, contents in saved:
        if type(container) is list:
            container[:] = contents
        else:
            container.clear()
            container.update(contents)


def detach(value: Any) -> Any:
    """``value`` with every list/dict (and tuple holding one) copied, the leaves shared."""
    if type(value) is list:
        return [detach(v) for v in value]
    if type(value) is dict:
        return {k: detach(v) for k, v in value.items()}
    if type(value) is tuple and any(_is_container(v) or type(v) is tuple for v in value):
        return tuple(detach(v) for v in value)
    return value


def write_back(target: Any, value: Any) -> Any:
    """Make the container ``target`` hold ``value``'s contents (nested containers of the
    same shape updated in place too) and return it; other values are returned as they are."""
    if not (_is_container(target) and type(value) is type(target)):
        return value
    if type(target) is list:
        keys = range(len(target)) if len(value) == len(target) else None
    else:
        keys = list(target) if set(value) == set(target) else None
    if keys is None:
        if type(target) is list:
            target[:] = value
        else:
            target.clear()
            target.update(value)
        return target
    for key in keys:
        target[key] = write_back(target[key], value[key])
    return target


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


def _graph_logical(a: Any, b: Callable, cheap: bool, where: tuple, is_and: bool,
                   word: str | None = None) -> Any:
    word = word or ("`and`" if is_and else "`or`")
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


_COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge, "is": operator.is_,
                "is not": operator.is_not, "in": lambda a, b: a in b,
                "not in": lambda a, b: a not in b}


def compare_chain(left: Any, ops: tuple, rights: tuple, cheap: bool = False) -> Any:
    """``left ops[0] rights[0]() ops[1] rights[1]() ...`` (``lo < x < hi``): the pairwise
    comparisons joined by ``and_``, each operand evaluated once, a later one only when the
    comparisons before it held (the converter says when the operands are ``cheap``)."""
    return _compare_chain(left, ops, rights, cheap, origin.caller())


def _compare_chain(left, ops, rights, cheap, where) -> Any:
    right = rights[0]()
    value = _COMPARISONS[ops[0]](left, right)
    if len(ops) == 1:
        return value
    rest = functools.partial(_compare_chain, right, ops[1:], rights[1:], cheap, where)
    if vals.is_graph_value(value):
        return _graph_logical(value, rest, cheap, where, True, "chained comparison")
    return rest() if value else value


def not_(a: Any) -> Any:
    """``not a``; for a symbolic tensor, ``aj.logical_not`` (``x == 0`` for numbers)."""
    if vals.is_graph_value(a):
        if a.dtype != dtypes.bool:
            return aj.equal(a, 0)
        out = aj.logical_not(a)
        if vals.flag_origin(a) is not None:  # `not do_return`: a guard the converters made
            vals.remember_guard(out)
        return out
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
    plan: dict = {}  # slot -> ("cast", dtype) | ("zeros", template) | ("pyleaves", ...) | ...
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
            if plan.get(slot, ("",))[0] == "pyleaves":
                value = _with_python_leaves(value, plan[slot])
            _remember_weak(value, t, f)
            if isinstance(value, Tensor) and value.dtype == dtypes.bool:
                # A flag (`do_return`) keeps the statement that first made it a tensor.
                vals.remember_flag(value, vals.flag_origin(t) or vals.flag_origin(f) or where)
            final.append(value)
        else:
            final.append(t)  # the same Python object (or Undefined) in both branches
    return final


def _remember_weak(value: Any, t: Any, f: Any) -> None:
    """Mark the output tensors whose leaves were numbers or weak tensors in every branch
    that gave them a value (Note [Weak numbers in tensor control flow])."""
    leaves = nest.flatten(value)
    sides = [nest.flatten(side) for side in (t, f)
             if vals.kind_of(side) not in ("noreturn", "undefined")]
    if not sides or any(len(side) != len(leaves) for side in sides):
        return
    for k, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor) and all(vals.weakish(side[k]) for side in sides):
            vals.remember_weak(leaf)


def _included(slot: int, value: Any, plan: dict) -> bool:
    if plan.get(slot) == ("python",):
        return False  # the same Python number in both branches
    kind = vals.kind_of(value)
    return kind in ("tensor", "scalar", "struct") \
        or (kind in ("noreturn", "undefined") and slot in plan) \
        or plan.get(slot, ("",))[0] in ("listarray", "pyleaves") \
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
    if step and step[0] == "pyleaves":  # Note [Numbers returned from one branch]
        _, mask, specs, _, _ = step
        if kind in ("noreturn", "undefined"):
            return tuple(vals.zeros(spec) for spec in specs)
        kept = [leaf for leaf, python in zip(nest.flatten(value), mask) if not python]
        return tuple(_as_dtype(leaf, spec.dtype) for leaf, spec in zip(kept, specs))
    if kind in ("noreturn", "undefined"):  # no `return` ran / a branch that jumped
        template = step[1] if step else nest.map_structure(vals.spec_of, first)
        return nest.map_structure(vals.zeros, template)
    if kind == "scalar":
        dtype = step[1] if step and step[0] == "cast" else None
        if step and step[0] == "zeros" and isinstance(step[1], core.TensorSpec):
            dtype = step[1].dtype
        if which == 1 and dtype is None:
            dtype = vals.spec_of(first).dtype  # the false branch follows the true one
        return aj.constant(value, dtype=dtype)
    if step and step[0] == "listarray":  # Note [Lists grown in one branch]
        if isinstance(value, ListArray):
            return value
        return ListArray.empty(*step[1]).from_list(list(value))
    if kind == "struct" and step and step[0] == "leafcast":
        leaves = [_as_dtype(leaf, dtype) for leaf, dtype in zip(nest.flatten(value), step[1])]
        return nest.pack_as(value, leaves)
    if kind == "tensor" and step and step[0] == "cast":
        return _as_dtype(value, step[1])  # a weak tensor meeting another dtype
    return value


def _as_dtype(leaf: Any, dtype: Any) -> Any:
    """A branch's leaf as a ``cond`` output of ``dtype`` (None: as it is)."""
    if isinstance(leaf, Tensor):
        return leaf if dtype is None or leaf.dtype == dtype else aj.cast(leaf, dtype)
    return aj.constant(leaf, dtype=dtype)


# Note [Numbers returned from one branch]
# `if n == 0: return 0` in a tensor `if` whose other branch does not return: the return
# value's slot holds the Python 0 in one branch and a placeholder nobody reads in the other
# (the `do_return` flag says which). Made a cond output, the 0 would become a strong int32
# tensor, and `return x * 2.0` later could not merge with it. So the Python numbers of the
# returning branch's value stay out of the cond's outputs ("pyleaves": which leaves, the
# specs of the others, the numbers and the structure) and are put back after it: wherever
# the slot is read, it holds them, still weak.


def _python_leaves(value: Any) -> tuple | None:
    """The "pyleaves" plan step for a value returned in one branch only, or None when it
    holds no Python number."""
    leaves = nest.flatten(value)
    mask = tuple(vals.is_number(leaf) for leaf in leaves)
    if not any(mask):
        return None
    specs = tuple(vals.spec_of(leaf) for leaf, python in zip(leaves, mask) if not python)
    numbers = tuple(leaf for leaf, python in zip(leaves, mask) if python)
    return ("pyleaves", mask, specs, numbers, value)


def _with_python_leaves(tensors: Any, step: tuple) -> Any:
    _, mask, _, numbers, template = step
    tensors, numbers = iter(tensors), iter(numbers)
    leaves = [next(numbers) if python else next(tensors) for python in mask]
    return nest.pack_as(template, leaves)


# Note [Weak numbers in tensor control flow]
# Eager code keeps Python numbers Python: `k = 2 if ... else 3` then `x * k` is float32 for
# a float32 `x`, and so is `n = 0`, `n += 1` in a loop, then `total / n`. A tensor `if` or
# loop cannot leave a number Python when it depends on a run-time condition, so:
# * the same Python number in both branches (`k = 1` in each, `do_return = True` in each,
#   a returned 0 carried through a later `if`) stays that Python number: the slot (or leaf
#   of a list/tuple/dict) is no output of the cond ("python" / "pyleaves" plan steps);
# * numbers that differ become a cond output whose tensor is marked *weak*, as are loop
#   variables that start as numbers (or weak tensors) and that the body leaves so, and the
#   results of float()/int()/round() of tensors (py_builtins.py), and the ints Python's own
#   builtins give in eager code: the index of `for i in range(n)` with a tensor `n`, of
#   `enumerate` in a graph loop, and `len` of an unknown dimension (`vals.weak_view`; the
#   index of `aj.range(n)` stays a strong int32, as in TF);
# * a weak tensor meeting a strong one of another dtype in a later cond or loop takes its
#   dtype (cast in its branch, or the loop restarted with that dtype) where no value is
#   lost (`dtypes.weak_meets`), and two weak ones take their common dtype
#   (`dtypes.weak_promotion`: an int and a float give float32); arithmetic on weak tensors
#   does the same while tracing (Note [Weak tensors] in graph/tracer.py);
# * a Python number meeting a strong tensor takes its dtype if it converts exactly; else
#   the error names the variable, both branches and the `if`'s line.
# A weak tensor returned from the function is a tensor, as TF returns one (eager code would
# give the number). A strong tensor keeps its dtype: `n = aj.constant(0)` is int32 and
# `x * n` still needs aj.cast.

_PYTHON = object()  # _meet: both branches hold the same Python number


def _meet(t: Any, f: Any, t_out: Any, label: str, where: tuple, what: str) -> Any:
    """The dtype the two branches' values of one leaf take as a ``cond`` output, ``_PYTHON``
    when both are the same Python number, or the user's error
    (Note [Weak numbers in tensor control flow]). ``t_out`` is the true branch's dtype."""
    t_tensor, f_tensor = isinstance(t, Tensor), isinstance(f, Tensor)
    if not (t_tensor or f_tensor):
        if type(t) is type(f) and not isinstance(t, np.ndarray) and builtins.bool(t == f):
            return _PYTHON
        t_dtype, f_dtype = t_out, vals.spec_of(f).dtype
        wide = np.promote_types(t_dtype, f_dtype)
        return dtypes.as_dtype("float32" if wide.kind == "f" and wide != t_dtype
                               and wide != f_dtype else wide.name)
    t_dtype, f_dtype = (t.dtype if t_tensor else t_out), (f.dtype if f_tensor else None)
    if t_tensor and f_tensor:
        if t_dtype == f_dtype:
            return t_dtype
        t_weak, f_weak = vals.is_weak(t), vals.is_weak(f)
        target = (dtypes.weak_promotion(t_dtype, f_dtype) if t_weak and f_weak else
                  dtypes.weak_meets(t_dtype, f_dtype) if t_weak else
                  dtypes.weak_meets(f_dtype, t_dtype) if f_weak else None)
        if target is None:
            raise AutographError(
                f"{vals.display_name(label)} is {t_dtype.name} in the true branch but "
                f"{f_dtype.name} in the false branch of the tensor {what} at "
                f"{origin.where(where)}; cast one with aj.cast so both have the same dtype")
        return target
    number, tensor, side = (f, t, "false") if t_tensor else (t, f, "true")
    if vals.is_weak(tensor) and vals.is_number(number):
        target = dtypes.weak_promotion(tensor.dtype, vals.spec_of(number).dtype)
    else:
        target = tensor.dtype
    try:
        core.to_numpy_constant(number, target)
    except DTypeError as exc:
        other = "true" if side == "false" else "false"
        raise AutographError(
            f"{vals.display_name(label)} is {tensor.dtype.name} in the {other} branch and "
            f"{_number_text(number)} in the {side} branch of the tensor "
            f"{what} at {origin.where(where)}: {exc}") from None
    return target


def _number_text(value: Any) -> str:
    if type(value) in (builtins.bool, int, float):  # np.float64 is a float subclass
        return f"the Python {type(value).__name__} {value!r}"
    return f"the NumPy {np.asarray(value).dtype.name} value {value!s:.40}"


def _plan_leaves(slot, t, f, plan, updates, label, where, what) -> None:
    """The plan step of a list/tuple/dict slot: leaves holding the same Python number in
    both branches stay Python ("pyleaves"); numbers and weak tensors take the dtype of the
    leaf they meet ("leafcast")."""
    t_leaves, f_leaves = nest.flatten(t), nest.flatten(f)
    targets = [_meet(a, b, vals.spec_of(a).dtype, label, where, what)
               for a, b in zip(t_leaves, f_leaves)]
    mask = tuple(target is _PYTHON for target in targets)
    old = plan.get(slot, ("",))
    if any(mask):
        specs = tuple(core.TensorSpec(vals.spec_of(a).shape, target)
                      for a, target in zip(t_leaves, targets) if target is not _PYTHON)
        numbers = tuple(a for a, python in zip(t_leaves, mask) if python)
        if old[0] != "pyleaves" or old[1:3] != (mask, specs):
            updates[slot] = ("pyleaves", mask, specs, numbers, t)
        return
    casts = tuple(None if vals.spec_of(a).dtype == target and vals.spec_of(b).dtype == target
                  else target for a, b, target in zip(t_leaves, f_leaves, targets))
    if all(c is None for c in casts) or old == ("leafcast", casts):
        return
    if all(c is None or vals.spec_of(a).dtype == c for a, c in zip(t_leaves, casts)):
        plan[slot] = ("leafcast", casts)  # only the false branch, traced next, changes
    else:
        updates[slot] = ("leafcast", casts)


def _check_branches(true_values, false_values, plan, labels, where, what) -> None:
    """Compare the branches slot by slot; raise the user's error or a ``vals.Replan``."""
    updates = {}
    for slot, (t, f) in enumerate(zip(true_values, false_values)):
        tk, fk = vals.kind_of(t), vals.kind_of(f)
        label = labels[slot]
        name = vals.display_name(label)
        if tk == "undefined" or fk == "undefined":
            other = f if tk == "undefined" else t
            if tk != fk and vals.kind_of(other) in ("tensor", "scalar", "struct") and _jumped(
                    true_values if tk == "undefined" else false_values, labels):
                # That branch returned (or did `break`/`continue`): nothing reads its value.
                if tk == "undefined" and slot not in plan:
                    updates[slot] = ("zeros", nest.map_structure(vals.spec_of, f))
                continue
            if tk != fk:
                side = "true" if fk == "undefined" else "false (`else`)"
                used = ("is an output of it, as every attribute it assigns" if "." in name
                        else "is used after it")
                raise AutographError(
                    f"{name} is assigned only in the {side} branch of the tensor {what} at "
                    f"{origin.where(where)} but {used}; give it a value before the "
                    f"{what} or assign it in both branches")
            continue
        if tk == "noreturn" or fk == "noreturn":
            other = f if tk == "noreturn" else t
            if vals.kind_of(other) == "object":
                raise vals.branches_error(label, t, f, where, what)
            if tk != fk and slot not in plan:
                step = _python_leaves(other)  # Note [Numbers returned from one branch]
                if step is not None:
                    updates[slot] = step
                elif tk == "noreturn":
                    updates[slot] = ("zeros", nest.map_structure(vals.spec_of, f))
            continue
        element = _grown_list(t, f)
        if element is not None:  # Note [Lists grown in one branch]
            if plan.get(slot) != ("listarray", element):
                updates[slot] = ("listarray", element)
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
            _plan_leaves(slot, t, f, plan, updates, label, where, what)
            continue
        # Note [Weak numbers in tensor control flow]
        t_out = plan[slot][1] if plan.get(slot, ("",))[0] == "cast" else vals.spec_of(t).dtype
        target = _meet(t, f, t_out, label, where, what)
        if target is _PYTHON:
            if plan.get(slot) != ("python",):
                updates[slot] = ("python",)
            continue
        t_shape, f_shape = vals.spec_of(t).shape, vals.spec_of(f).shape
        if len(t_shape) != len(f_shape):
            raise AutographError(
                f"{name} has shape {list(t_shape)} in the true branch but {list(f_shape)} in "
                f"the false branch of the tensor {what} at {origin.where(where)}; both branches "
                "must give it the same rank")
        f_out = f.dtype if isinstance(f, Tensor) else t_out  # a number follows the true branch
        if (target != t_out or target != f_out) and plan.get(slot) != ("cast", target):
            if target == t_out:
                plan[slot] = ("cast", target)  # only the false branch, traced next, changes
            else:
                updates[slot] = ("cast", target)
    if updates:
        raise vals.Replan(updates)


# Note [Lists grown in one branch]
# A Python list of tensors that one branch of a tensor `if` appends to (or that is a list grown
# in a tensor loop, a ListArray, in one branch and still a list in the other) has a length
# known only at run time after the `if`. When its items are tensors (or numbers) of one dtype
# and shape, both branches leave it as a ListArray (Note [Lists appended in tensor loops] in
# loops.py), whose buffer the `cond` merges with its first dim relaxed; it then reads like the
# list (`out[-1]`, `len(out)`, iteration, more appends). This is what a Python loop needs once
# a tensor `break`/`return` puts its later iterations under a graph condition, and what
# `if c: out.append(x)` needs in a tensor loop. Items of mixed types keep the structure error.


def _grown_list(t: Any, f: Any) -> tuple | None:
    """(dtype, element shape) when ``t`` and ``f`` are the two branches' values of a list
    grown in one of them (Note [Lists grown in one branch]), else None."""
    t_list, f_list = type(t) is list, type(f) is list
    if not ((t_list or isinstance(t, ListArray)) and (f_list or isinstance(f, ListArray))):
        return None
    if t_list and f_list and len(t) == len(f):
        return None
    if not (t_list or f_list):
        return None  # two ListArrays: a TensorArray slot like any other
    items = [v for v in (t if t_list else []) + (f if f_list else [])]
    if not all(vals.kind_of(v) in ("tensor", "scalar") for v in items):
        return None
    arrays = [v for v in (t, f) if isinstance(v, ListArray)]
    # Note [Weak numbers in tensor control flow]: numbers and weak tensors take the dtype of
    # the strong items, or of each other (an int and a float make a float list)
    # (NumPy values are strong, as constants)
    strong = [vals.spec_of(v) for v in items if not vals.weakish(v)]
    weak = [vals.spec_of(v) for v in items if vals.weakish(v)]
    if arrays:
        if arrays[0].element_shape is None:
            return None
        spec = core.TensorSpec(arrays[0].element_shape, arrays[0].dtype)
        (weak if arrays[0].weak else strong).append(spec)
    specs = strong + weak
    shape = tuple(specs[0].shape)
    if any(tuple(s.shape) != shape for s in specs):
        return None
    if strong:
        dtype = strong[0].dtype
        if any(s.dtype != dtype for s in strong) or any(
                s.dtype != dtype and dtypes.weak_meets(s.dtype, dtype) is None for s in weak):
            return None
        return dtype, shape
    return functools.reduce(dtypes.weak_promotion, [s.dtype for s in weak]), shape


def _jumped(values: tuple, labels: tuple) -> bool:
    """True when a branch's state says it ran ``return``/``break``/``continue`` for sure (the
    flag the jump converters set is Python ``True``)."""
    return any(value is True and label.rstrip("0123456789") in ("do_return", "break_",
                                                                 "continue_")
               for value, label in zip(values, labels))


def no_op() -> None:
    """A block that does nothing (the missing ``else`` of an ``if``)."""
    return None
