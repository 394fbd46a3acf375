"""``while`` and ``for``: plain Python loops on Python values (unrolled while tracing), one
``aj.while_loop`` node on a tensor test, ``range`` of tensors or a tensor's rows (see
Note [Tensor or Python] in operators.py)."""

from __future__ import annotations

import builtins
import functools
import sys
import warnings
from typing import Any, Callable

import autojit as aj  # public ops, looked up at call time (see operators.py)
from autojit import dtypes, nest
from autojit.autograph import aliases, origin, untracked
from autojit.autograph import values as vals
from autojit.autograph.conditionals import (
    _as_dtype,
    _graph_if,
    detach,
    no_op,
    restore,
    snapshot,
    write_back,
)
from autojit.errors import AutographError, DTypeError
from autojit.graph import control
from autojit.graph.tracer import GraphTrace
from autojit.ops import core, creation
from autojit.tensor import Tensor
from autojit.tensor_array import ListArray

UNROLL_WARNING_ITERATIONS = 100


def while_stmt(test: Callable, body: Callable, get_state: Callable | None,
               set_state: Callable | None, names: tuple, nouts: int) -> None:
    """``while test(): body()``. The test runs once per iteration; if its first value (or a
    later one) is a tensor, the rest of the loop becomes one ``aj.while_loop`` node."""
    value = test()
    unroll = _Unroll()
    while True:
        if vals.is_graph_value(value):
            where = origin.caller()

            def block(get, put, labels, n):
                loop = _GraphLoop(get, put, labels, n, (), where, "`while` loop")
                loop.run(value, (), body, lambda: (), test)

            untracked.run(block, get_state, set_state, names, nouts, where, "`while` loop",
                          sys._getframe(1), (test, body))
            return
        if not value:
            return
        unroll.step()
        body()
        value = test()


class _Unroll:
    """Counts the iterations of a Python loop run while tracing; warns once when a long loop
    that emits ops is being unrolled into the graph."""

    __slots__ = ("count", "nodes")

    def __init__(self):
        self.count = 0
        self.nodes = None

    def step(self) -> None:
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
                    "to make it one graph loop", vals.AutographWarning, stacklevel=3)


class _GraphLoop:
    """One ``aj.while_loop`` for (the rest of) a ``while``/``for`` loop.

    Its loop variables are ``(pred, *index, *state[:nouts])``: ``pred`` is the loop test,
    evaluated at the end of each body (so the user's test runs once per iteration), ``index``
    the iteration index of a ``for`` (empty for a ``while``).
    """

    def __init__(self, get_state, set_state, names, nouts, targets, where, what):
        self.get_state = get_state
        self.set_state = set_state
        self.names = names[:nouts]
        self.nouts = nouts
        self.targets = targets  # a `for`'s iteration variables, assigned by each step
        self.where = where
        self.what = what
        self.init = tuple(get_state()) if get_state is not None else ()
        # Note [Containers in tensor control flow] (conditionals.py): no trace of the body
        # may change the user's lists/dicts; `kept` says which slots the body mutates in place.
        self.saved = snapshot(self.init)
        self.frozen = [detach(v) for v in self.init[:nouts]]
        self.kept = [True] * nouts
        # Note [Weak numbers in tensor control flow] (conditionals.py): per loop variable,
        # which leaves start as numbers or weak tensors, and which the last body left so
        self.weak = [_weak_leaves(v) for v in self.init[:nouts]]
        self.body_weak: list = [()] * nouts

    def run(self, pred: Any, index: tuple, step: Callable, advance: Callable,
            test: Callable) -> None:
        """Loop while ``pred``: ``step(*index)`` runs the body once, ``advance(*index)`` gives
        the next index and ``test(*index)`` the next ``pred``; then set the state."""
        pred = vals.as_pred(pred, self.what, self.where)
        values = list(self.init[:self.nouts])
        _LOOP_LISTS.append((self, {}))  # Note [Lists appended in tensor loops]
        try:
            while True:
                try:
                    objects = self._fill_undefined(values, index, step)
                    casts: dict = {}
                    results = self._plan(pred, index, values, casts, objects, step, advance,
                                         test)
                    break
                except ListToArray as claim:
                    if claim.loop is not self:
                        raise
                    values[claim.slot] = self._list_array(claim)
        finally:
            _LOOP_LISTS.pop()
            restore(self.saved)
        objects = [i for i in objects if i not in casts]
        carried = [i for i in range(len(values)) if i not in objects]
        final = list(results)
        for slot in objects:  # ascending, so each lands at its own position
            final.insert(slot, values[slot])
        for slot, value in enumerate(final):
            if self.kept[slot]:
                final[slot] = write_back(self.init[slot], value)
        for slot, value in enumerate(final):
            if isinstance(value, Tensor) and value.dtype == dtypes.bool:
                before = self.init[slot]
                vals.remember_flag(value, vals.flag_origin(before) or self.where)
        for slot in carried:
            weak, body = self._start_weak(slot, casts), self.body_weak[slot]
            if len(nest.flatten(final[slot])) == len(weak) == len(body):
                _mark_weak(final[slot], [s and b for s, b in zip(weak, body)])
        if self.set_state is not None:
            self.set_state(tuple(final) + tuple(self.init[self.nouts:]))

    def _list_array(self, claim: "ListToArray") -> Any:
        """The list of state ``claim.slot`` as a ListArray (Note [Lists appended in tensor
        loops])."""
        old = self.init[claim.slot]
        aliases.check_unaliased(old, self.names[claim.slot], self.where, self.what)
        try:
            out = ListArray.like(claim.element).from_list(old)
            out.owner = (self, claim.slot)
            return out
        except DTypeError as exc:
            raise AutographError(
                f"{vals.display_name(self.names[claim.slot])} is a list appended to inside the "
                f"tensor {self.what} at {origin.where(self.where)}, so it becomes a "
                f"TensorArray, which holds tensors of one dtype and shape: {exc}") from None

    def _plan(self, pred, index, values, casts, objects, step, advance, test) -> list:
        for _ in range(len(values) + 2):
            try:
                results = self._loop(pred, index, values, casts, objects, step, advance, test)
            except vals.Replan as replan:
                casts.update(replan.updates)
                objects[:] = [i for i in objects if i not in casts]
                continue
            except DTypeError:
                # `acc = 0` then `acc += x` with a float x fails inside the body, where `acc`
                # is already an int32 tensor: find the dtype one iteration gives the Python
                # numbers (weak, as in eager code) and try again with those.
                updates = self._weak_scalar_dtypes(values, casts, index, step)
                if not updates:
                    raise
                casts.update(updates)
                continue
            return results
        raise AutographError(  # pragma: no cover  (each replan settles a variable for good)
            f"tensor {self.what} at {origin.where(self.where)}")

    def _loop(self, pred, index, values, casts, objects, step, advance, test) -> list:
        carried = [i for i in range(len(values)) if i not in objects]
        start = [values[i] if i not in casts else _cast(values[i], casts[i]) for i in carried]
        n_index = len(index)

        def cond_fn(p, *rest):
            return p

        def body_fn(p, *rest):
            idx, loop_values = rest[:n_index], rest[n_index:]
            state = list(values)
            for i, value in zip(carried, loop_values):
                state[i] = value
                _mark_weak(value, self._start_weak(i, casts))
            restore(self.saved)
            try:
                self._set(state)
                step(*idx)
                # the next test before the state is read, as Python runs it: it sees what
                # the body left, and what it binds (`while (j := f()) < n:`) is state too
                next_index = advance(*idx)
                next_pred = test(*next_index)
                new = list(self.get_state()[:self.nouts]) if self.get_state is not None else []
                for i in carried:
                    self.kept[i] = new[i] is state[i]
                    self.body_weak[i] = _weak_leaves(new[i])
                new = [detach(v) for v in new]
            finally:
                restore(self.saved)
            outputs = [self._carry(i, new[i], start[k], casts) for k, i in enumerate(carried)]
            for i in objects:
                if not vals.same_object(new[i], self.frozen[i]):
                    _replan_as_array(i, new[i], values[i])
                    raise vals.object_error(self.names[i], new[i], self.where, self.what)
            if vals.is_graph_value(next_pred):
                next_pred = vals.as_pred(next_pred, self.what, self.where)
            elif not isinstance(next_pred, Tensor):
                next_pred = builtins.bool(next_pred)
            return (next_pred, *next_index, *outputs)

        labels = ("the loop condition",) + ("the loop index",) * n_index + tuple(
            self.names[i] for i in carried)
        results = control.while_loop(cond_fn, body_fn, (pred, *index, *start), _names=labels)
        return list(results[1 + n_index:])

    def _set(self, values: list) -> None:
        # the list itself is kept with its id: a list that died could lend its id to a
        # list the body makes, which would then be claimed for the dead one's slot (and the
        # loop would convert that slot and trace again, forever)
        _LOOP_LISTS[-1][1].update((id(v), (i, v)) for i, v in enumerate(values)
                                  if type(v) is list)
        if self.set_state is not None:
            self.set_state(tuple(values) + tuple(self.init[self.nouts:]))

    def _start_weak(self, slot: int, casts: dict) -> tuple:
        """Which leaves of loop variable ``slot`` start weak in this trace: numbers or weak
        tensors before the loop that no replan gave a tensor's dtype."""
        weak, cast = self.weak[slot], casts.get(slot)
        if cast is None or isinstance(cast, _Weak):
            return weak
        if isinstance(cast, _LeafDtypes):
            return tuple(w and (c is None or isinstance(c, _Weak)) for w, c in zip(weak, cast))
        return tuple(False for _ in weak)

    def _carry(self, slot: int, value: Any, start: Any, casts: dict) -> Any:
        """The body's new value of a loop variable, checked against its value before."""
        if control.is_composite(value):  # a TensorArray (Note [Composite loop state])
            _replan_as_array(slot, value, start)
            return value
        kind = vals.kind_of(value)
        label = self.names[slot]
        if kind == "undefined":
            raise AutographError(
                f"{vals.display_name(label)} is deleted inside the tensor {self.what} at "
                f"{origin.where(self.where)}; a loop variable must keep a value")
        if kind == "object":
            raise vals.object_error(label, value, self.where, self.what)
        weak = self._start_weak(slot, casts)
        if kind in ("tensor", "scalar") and weak == (True,):
            # `acc = 0` then `acc = x` with a float x: the Python number takes x's dtype; a
            # weak tensor (a number returned in a branch) too; `acc = 0.5` makes it float.
            dtype = vals.spec_of(start).dtype
            new = _weak_start_dtype(dtype, value)
            if _dtype(new) != dtype:
                raise vals.Replan({slot: new})
        if kind == "struct":
            change = _structure_change(start, value)
            if change is not None:
                raise AutographError(
                    f"{vals.display_name(label)} changes structure inside the tensor "
                    f"{self.what} at {origin.where(self.where)}: {change}; a loop variable "
                    "must keep its structure (the same list length, the same dict keys) "
                    "across iterations. Fill it before the loop, or append to a list "
                    "(autograph turns it into an aj.TensorArray)")
        if kind == "struct" and any(weak):
            leaf_dtypes = _LeafDtypes.between(start, value, weak)
            if leaf_dtypes is not None:  # the same for numbers in a list/tuple/dict
                raise vals.Replan({slot: leaf_dtypes})
        if kind in ("scalar", "tensor", "struct"):
            # numbers and weak tensors the body puts where tensors were take their dtypes
            old, new = nest.flatten(start), nest.flatten(value)
            leaf_casts = [_takes_dtype(o, n) for o, n in zip(old, new)] \
                if len(old) == len(new) else []
            if any(c is not None for c in leaf_casts):
                return nest.pack_as(value, [n if c is None else _as_dtype(n, c)
                                            for n, c in zip(new, leaf_casts)])
        return value

    def _weak_scalar_dtypes(self, values: list, casts: dict, index: tuple,
                            step: Callable) -> dict:
        weak = [i for i, value in enumerate(values) if i not in casts and (
            vals.is_number(value) or vals.kind_of(value) == "struct"
            and any(vals.is_number(leaf) for leaf in nest.flatten(value)))]
        if not weak:
            return {}
        trial = self._trial(values, index, step, symbolic=False)
        updates = {}
        for i in weak:
            value = trial[i]
            if vals.kind_of(values[i]) == "struct":
                leaf_dtypes = _LeafDtypes.between(values[i], value,
                                              _weak_leaves(values[i]))
                if leaf_dtypes is not None:
                    updates[i] = leaf_dtypes
            elif isinstance(value, Tensor):
                dtype = vals.spec_of(values[i]).dtype
                target = _weak_start_dtype(dtype, value)
                if _dtype(target) != dtype:
                    updates[i] = target
        return updates

    def _fill_undefined(self, values: list, index: tuple, step: Callable) -> list:
        """Loop variables without a value before the loop: the iteration variables of a
        ``for`` and the function's return value get zeros of the type one trial iteration
        (traced into a throwaway graph) gives them; any other is the user's error.
        Returns the slots that stay Python objects (not loop variables)."""
        missing = [i for i, value in enumerate(values)
                   if vals.kind_of(value) in ("undefined", "noreturn")]
        for i in missing:
            if vals.kind_of(values[i]) == "undefined" and self.names[i] not in self.targets:
                used = ("is a loop variable, as every attribute the loop assigns"
                        if "." in self.names[i]
                        else "is used after the loop or read in the next iteration")
                raise AutographError(
                    f"`{self.names[i]}` is first assigned inside the tensor {self.what} at "
                    f"{origin.where(self.where)} but {used}; give it a value before the loop")
        if missing:
            trial = self._trial(values, index, step)
            for i in missing:
                value = trial[i]
                kind = vals.kind_of(value)
                if kind in ("undefined", "noreturn"):
                    continue  # the loop never assigns it (a Python condition says so)
                if kind not in ("tensor", "scalar", "struct"):
                    raise AutographError(
                        f"{vals.display_name(self.names[i])} has no value before the tensor "
                        f"{self.what} at {origin.where(self.where)}, and one iteration gives "
                        f"it {vals.describe(value)}; give it a value before the loop")
                values[i] = nest.map_structure(lambda leaf: vals.zeros(vals.spec_of(leaf)),
                                               value)
                self.weak[i] = _weak_leaves(value)
        return [i for i, value in enumerate(values) if not control.is_composite(value)
                and vals.kind_of(value) in ("object", "undefined", "noreturn")]

    def _trial(self, values: list, index: tuple, step: Callable, symbolic: bool = True) -> list:
        """The state after one iteration, traced into a throwaway graph. With ``symbolic``,
        tensors and numbers enter as symbolic values, as in the real loop body (so Python
        conditions on them become graph conditions there too); else as they are."""
        seen: list = []
        # the numbers in lists/dicts too: `D['q'] >= 0.0` must be a graph condition here as
        # it is in the real body, or the trial misses what its branches assign (`return`)
        slots = [i for i, value in enumerate(values)
                 if symbolic and vals.kind_of(value) in ("tensor", "scalar", "struct")]
        specs = [vals.spec_of(v) for v in index] + [
            vals.spec_of(leaf) for i in slots for leaf in nest.flatten(values[i])] \
            if symbolic else []

        def run(*inputs):
            state = list(values)
            it = iter(inputs[len(index):])
            for i in slots:
                state[i] = nest.pack_as(values[i], [next(it) for _ in nest.flatten(values[i])])
                _mark_weak(state[i], self.weak[i])  # as in the real body
            self._set(state)
            step(*(inputs[:len(index)] if symbolic else index))
            seen.extend(detach(v) for v in self.get_state()[:self.nouts])
            return ()

        try:
            control.trace_subgraph(run, core.current_trace(), specs, "trial_iteration",
                                   [None] * len(specs))
        finally:
            restore(self.saved)
        if self.set_state is not None:
            self.set_state(self.init)
        return seen


# Note [Lists appended in tensor loops]
# A Python list that is state of a tensor loop and that the body appends to becomes an
# aj.TensorArray (a ``ListArray``), as the loop cannot grow a Python list once per run-time
# iteration. ``list_append`` (operators.py) asks ``claim_loop_list`` whether a tensor loop
# being traced gave its body that list (by id, for each loop: ``_LOOP_LISTS``); if so, the
# outermost such loop is told (``ListToArray``), makes the list a ListArray of its elements and
# traces again. A loop whose body still ends with a ListArray where a list was (an inner loop
# converted it) traces again the same way (``_replan_as_array``). Lists of loops that run as
# Python, and lists made inside the body, stay Python lists.
_LOOP_LISTS: list = []  # (loop, {id(list): (slot, list)}) for each tensor loop being traced


class ListToArray(Exception):
    """Raised by ``claim_loop_list``: ``loop`` must carry its state ``slot`` as a ListArray
    of elements like ``element``."""

    def __init__(self, loop: Any, slot: int, element: Any):
        super().__init__("a list appended to in a tensor loop")
        self.loop, self.slot, self.element = loop, slot, element


def claim_loop_list(value: Any, element: Any) -> None:
    """Raise ``ListToArray`` when a tensor loop being traced carries the list ``value``, or
    when ``value`` is a list-array of weak items that such a loop made and ``element`` needs a
    wider dtype (Note [Weak list items] in tensor_array.py)."""
    if isinstance(value, ListArray):
        owner = value.owner
        if owner is not None and value.widens_for(element) and \
                any(loop is owner[0] for loop, _ in _LOOP_LISTS):
            raise ListToArray(owner[0], owner[1], element)
        return
    for loop, ids in _LOOP_LISTS:
        entry = ids.get(id(value))
        if entry is not None and entry[1] is value:
            raise ListToArray(loop, entry[0], element)


def _replan_as_array(slot: int, value: Any, before: Any) -> None:
    if isinstance(value, ListArray) and isinstance(before, list):
        raise vals.Replan({slot: value})


class _LeafDtypes(tuple):
    """The dtypes the Python numbers in a list/tuple/dict loop variable take (``None``: the
    leaf stays as it is), in ``nest.flatten`` order: ``st = [0, x]`` then ``st[0] += y``
    with a float ``y``."""

    @classmethod
    def between(cls, before: Any, after: Any, weak: tuple) -> "_LeafDtypes | None":
        """The dtypes the weak leaves of ``before`` take from ``after``'s, or None."""
        old, new = nest.flatten(before), nest.flatten(after)
        if len(old) != len(new) or len(weak) != len(old):
            return None
        found = []
        for o, n, w in zip(old, new, weak):
            dtype = vals.spec_of(o).dtype
            target = _weak_start_dtype(dtype, n) if w else dtype
            found.append(None if _dtype(target) == dtype else target)
        found = cls(found)
        return found if any(d is not None for d in found) else None


def _structure_change(before: Any, after: Any, path: str = "") -> str | None:
    """How ``after`` (a loop variable after one iteration) differs in structure from
    ``before``: a list or tuple of another length, a dict with other keys; else None."""
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        if len(before) != len(after):
            what = f"{type(before).__name__}{path}"
            return f"the {what} has {_items(len(before))} before an iteration and " \
                   f"{_items(len(after))} after it"
        for k, (b, a) in enumerate(zip(before, after)):
            change = _structure_change(b, a, f"{path}[{k}]")
            if change is not None:
                return change
    elif isinstance(before, dict) and isinstance(after, dict):
        gained = [k for k in after if k not in before]
        lost = [k for k in before if k not in after]
        if gained or lost:
            parts = ([f"gains key{'s' if len(gained) > 1 else ''} "
                      f"{', '.join(map(repr, gained))}"] if gained else []) + \
                ([f"loses key{'s' if len(lost) > 1 else ''} {', '.join(map(repr, lost))}"]
                 if lost else [])
            return f"the dict{path} {' and '.join(parts)}"
        for k in before:
            change = _structure_change(before[k], after[k], f"{path}[{k!r}]")
            if change is not None:
                return change
    return None


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def _cast(value: Any, cast: Any) -> Any:
    """A loop variable's start value after a replan: a list made a ListArray like ``cast``,
    a Python number given a dtype, or the numbers in a structure given theirs."""
    if isinstance(cast, ListArray):
        return cast.from_list(value)
    if isinstance(cast, _LeafDtypes):
        leaves = [_as_dtype(leaf, _dtype(dtype))
                  for leaf, dtype in zip(nest.flatten(value), cast)]
        return nest.pack_as(value, leaves)
    return _as_dtype(value, _dtype(cast))


class _Weak:
    """A replan's dtype for a loop variable (or leaf) that starts weak and stays weak: what
    the body makes of its number with numbers and weak tensors (``n = 0``, then ``n +=
    0.5``: a weak float, which still meets float32 and float64 tensors as the Python float
    does), not a strong tensor's dtype (``acc = 0.0``, then ``acc += x``: strong float32)."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any):
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"_Weak({self.dtype.name})"


def _dtype(cast: Any) -> Any:
    """The dtype of a replan's ``cast`` (a dtype or ``_Weak``; None for none)."""
    return cast.dtype if isinstance(cast, _Weak) else cast


def _mark_weak(value: Any, flags: Any) -> None:
    """Mark weak the symbolic leaves of ``value`` whose ``flags`` are set (Note [Weak
    numbers in tensor control flow])."""
    for leaf, weak in zip(nest.flatten(value), flags):
        if weak:
            vals.remember_weak(leaf)


def _weak_start_dtype(dtype: Any, new: Any) -> Any:
    """The dtype a loop variable (or leaf) that starts weak with ``dtype`` must start with
    when the body leaves ``new``: a strong tensor's, else the weak promotion of both, which
    keeps it weak (``_Weak``)."""
    if isinstance(new, Tensor) and not vals.is_weak(new):
        return new.dtype
    return _Weak(dtypes.weak_promotion(dtype, vals.spec_of(new).dtype))


def _takes_dtype(start: Any, new: Any) -> Any:
    """The dtype a number or weak tensor ``new`` that the body leaves where ``start`` was
    must take (Note [Weak numbers in tensor control flow]), or None."""
    if isinstance(start, Tensor):
        dtype, weak = start.dtype, vals.is_weak(start)
    elif vals.is_number(start):
        dtype, weak = vals.spec_of(start).dtype, True
    else:
        return None
    if not isinstance(new, Tensor):  # a number: the loop variable's dtype
        return dtype if isinstance(start, Tensor) or vals.spec_of(new).dtype != dtype else None
    if new.dtype == dtype or not vals.is_weak(new):
        return None
    if weak:  # two weak ones: the loop's replan gave `start` their dtype
        return dtype if dtypes.weak_promotion(new.dtype, dtype) == dtype else None
    return dtype if dtypes.weak_meets(new.dtype, dtype) is not None else None


def _weak_leaves(value: Any) -> tuple:
    """Per leaf of a loop variable: a number or a weak tensor."""
    if vals.kind_of(value) not in ("tensor", "scalar", "struct"):
        return ()
    return tuple(vals.weakish(leaf) for leaf in nest.flatten(value))


# ---------------------------------------------------------------------------------------
# for


def _range_test(step: Any, stop: Any) -> Callable:
    """The ``index < stop`` (``>`` for a negative step) test of a counter over a range."""
    if isinstance(step, (int, float)):
        compare = aj.less if step > 0 else aj.greater
        return lambda index: compare(index, stop)
    return lambda index: aj.where(aj.greater(step, 0), aj.less(index, stop),
                                  aj.greater(index, stop))


_GUARD = "condition on a `break`/`return` flag that guards each later iteration of the `for`"


def for_stmt(iterable: Any, extra_test: Callable | None, body: Callable,
             get_state: Callable | None, set_state: Callable | None, names: tuple, nouts: int,
             targets: tuple = ()) -> None:
    """``for x in iterable: body(x)`` while ``extra_test()`` (break/return flags) holds.

    ``range`` of tensors and symbolic tensors become one ``aj.while_loop`` (iterating rows
    with ``aj.gather``); Python iterables (and eager tensors' rows) are unrolled.
    """
    own = (body, extra_test)  # the block's own code (Note [State changed by called functions])
    if isinstance(iterable, ListArray):  # a list grown in a tensor loop: its stacked rows
        items, iterable = iterable, iterable.stack()
        if items.weak:  # rows of Python numbers (Note [Weak list items] in tensor_array.py)
            body = functools.partial(_weak_row, body, items)
    if isinstance(iterable, GraphIteration) or vals.is_graph_value(iterable):
        where = origin.caller()

        def block(get, put, labels, n):
            loop = _GraphLoop(get, put, labels, n, targets, where, "`for` loop")
            _graph_for(loop, iterable, extra_test, body)

        untracked.run(block, get_state, set_state, names, nouts, where, "`for` loop",
                      sys._getframe(1), own)
        return
    unroll = _Unroll()
    for item in iterable:
        if extra_test is not None:
            go = extra_test()
            if vals.is_graph_value(go):
                # A tensor `break`/`return` in a Python loop: every later iteration runs
                # under a graph condition.
                where = origin.caller()  # errors name the `for`
                step = functools.partial(body, item)
                untracked.run(
                    lambda get, put, labels, n: _graph_if(go, step, no_op, get, put, labels, n,
                                                          where, _GUARD),
                    get_state, set_state, names, nouts, where, _GUARD, sys._getframe(1), own)
                continue
            if not go:
                return
        unroll.step()
        body(item)


def _same(value: Any) -> Any:
    return value


def _weak_row(body: Callable, items: ListArray, row: Any) -> Any:
    return body(items.item(row))


class GraphIteration:
    """``enumerate``/``zip``/``reversed`` of symbolic tensors (or ranges with tensor bounds):
    what ``for_stmt`` turns into one graph loop over a counter. Made by ``converted_call``;
    only a ``for`` can iterate it (Python cannot iterate a tensor of unknown length)."""

    __slots__ = ("kind", "parts", "start")

    def __init__(self, kind: str, parts: tuple, start: Any = 0):
        self.kind, self.parts, self.start = kind, parts, start

    def __iter__(self):
        raise AutographError(
            f"{self.kind}() of a symbolic tensor can only be iterated by a `for` loop inside "
            f"@aj.function (at {origin.where(origin.caller())}); use aj.unstack for a "
            "tensor of known length")

    def __repr__(self) -> str:
        return f"GraphIteration({self.kind!r}, {self.parts!r})"


def graph_iteration(kind: str, parts: tuple, start: Any = 0) -> Any:
    """``GraphIteration`` when any of ``parts`` must be iterated in the graph, else None."""
    if any(isinstance(p, GraphIteration) or vals.is_graph_value(p) for p in parts):
        return GraphIteration(kind, parts, start)
    return None


def _sequence(iterable: Any, where: tuple) -> tuple:
    """``(length, item_of)`` for a graph loop over ``iterable``: a symbolic tensor's rows, a
    range with tensor bounds (its numbers computed from the counter, never materialised),
    or a ``GraphIteration`` of those."""
    if isinstance(iterable, GraphIteration):
        if iterable.kind == "enumerate":
            length, item = _sequence(iterable.parts[0], where)
            first = iterable.start  # Python's enumerate counts in ints: a weak index
            shifted = not (vals.is_number(first) and first == 0)  # a tensor start too
            return length, lambda i: (vals.weak_view(aj.add(i, first) if shifted else i),
                                      item(i))
        if iterable.kind == "reversed":
            length, item = _sequence(iterable.parts[0], where)
            return length, lambda i: item(aj.subtract(aj.subtract(length, 1), i))
        seqs = [_sequence(p, where) for p in iterable.parts]  # zip: the shortest
        length = seqs[0][0]
        for n, _ in seqs[1:]:
            length = aj.minimum(length, n)
        return length, lambda i: tuple(item(i) for _, item in seqs)
    if not isinstance(iterable, Tensor):  # a Python sequence zipped with a tensor
        iterable = aj.constant(iterable)
    bounds = creation.range_bounds(iterable)
    if bounds is not None:  # start + i * step, for i below the range's length
        start, stop, step, dtype = bounds
        first = aj.cast(start, dtype) if isinstance(start, Tensor) else start
        span = aj.cast(aj.subtract(stop, start), dtypes.float64)
        count = aj.negative(aj.math.floordiv(aj.negative(span), aj.cast(step, dtypes.float64)))
        length = aj.cast(aj.maximum(count, 0.0), dtypes.int32)
        view = vals.weak_view if vals.is_weak(iterable) else _same  # Python's range
        return length, lambda i: view(aj.add(first, aj.multiply(aj.cast(i, dtype), step)))
    x = vals.read(iterable)
    if not x.shape:
        raise AutographError(f"cannot iterate over a 0-d tensor in the `for` loop at "
                             f"{origin.where(where)}")
    length = x.shape[0] if x.shape[0] is not None else aj.shape(x)[0]
    return length, lambda i: aj.gather(x, i)


def _graph_for(loop: _GraphLoop, iterable: Any, extra_test: Callable | None,
               body: Callable) -> None:
    """The ``for`` as one graph loop over an int32 (or the range's dtype) index."""
    bounds = creation.range_bounds(iterable)
    if bounds is not None:  # Note [Ranges with tensor bounds]: a counter, not the range
        start, stop, step, dtype = bounds
        start = aj.cast(start, dtype) if isinstance(start, Tensor) \
            else aj.constant(start, dtype=dtype)
        in_range = _range_test(step, stop)
        item_of = vals.weak_view if vals.is_weak(iterable) else _same  # Python's range

        def advance(i):
            return (aj.add(i, step),)
    else:
        length, item_of = _sequence(iterable, loop.where)
        start = aj.constant(0, dtype=dtypes.int32)

        def in_range(i):
            return aj.less(i, length)

        def advance(i):
            return (aj.add(i, 1),)

    def test(i):
        go = in_range(i)
        if extra_test is None:
            return go
        more = extra_test()
        if vals.is_graph_value(more):
            return aj.logical_and(go, vals.as_pred(more, loop.what, loop.where))
        return go if more else False

    loop.run(test(start), (start,), lambda i: body(item_of(i)), advance, test)
