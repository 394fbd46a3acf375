"""State that functions called inside a tensor ``if`` or loop change: found while the block is
traced, then carried by the ``cond``/``while_loop`` like the block's own variables (Note
[State changed by called functions])."""

from __future__ import annotations

import dis
import types
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from autojit import nest
from autojit.autograph import origin
from autojit.autograph import values as vals
from autojit.errors import AutographError
from autojit.tensor import Tensor
from autojit.tensor_array import TensorArray
from autojit.variables import Variable

# Note [State changed by called functions]
# A tensor `if` or loop carries what its own code assigns (the converter names it: variables,
# attributes, container items). A function it calls can change more: `acc.add(x)` sets
# `acc.total` and `acc.count += 1`, a nested `bump()` rebinds a `nonlocal` or sets `c[0]`.
# Each branch and body is traced once, so such a change happened once (a count of 1 after a
# loop of n, a count of 1 after an `if` whose branch may not run), or left a tensor of the
# body's graph where later code reads it. So before a tensor block is traced, `watch` records
# the slots reachable from the frame running it (its locals, the objects, lists and dicts
# they hold, the cells of the functions they hold, a few levels deep) that its own code does
# not assign; each time the block reads its state after a trace, the slots that changed from
# a tensor or number to a tensor or number are found (`Watch.check`), put back, and the block
# is traced again with them as extra state (`run`), named by their path (`acc.count`, `c[0]`,
# a `nonlocal` by its name). A trace cut short before it read its state (a list that became a
# TensorArray, a replan) has its changes put back when the block sets its state for the next
# one (`put_back`). A slot given its first tensor (it held None, or nothing) cannot be
# carried and is an error naming it; a list a called function (or the block, through a
# global or closure name autograph does not rewrite) appends tensors to is a warning
# (it grew once; logging the tensors a trace sees is a fair use of that). Other
# Python values a called function sets (a layer's `built` flag and Variables) are left as
# they are: tracing sets them once, as the first eager call does. Not watched: module
# globals, and objects reached only through the called function's own globals.

_DEPTH = 4  # levels below the frame's locals
_MAX_SLOTS = 2000
_MAX_ITEMS = 64  # longer lists and dicts are checked for growth only
_MISSING = object()
_OPAQUE = (Tensor, TensorArray, np.ndarray, np.generic, str, bytes, int, float, complex,
           type(None), type, types.ModuleType, types.BuiltinFunctionType, types.CodeType)


class _Slot:
    """One place a called function can change: an attribute, a list/dict item, a cell."""

    __slots__ = ("holder", "key", "kind", "label", "before")

    def __init__(self, holder: Any, key: Any, kind: str, label: str, before: Any):
        self.holder, self.key, self.kind, self.label, self.before = \
            holder, key, kind, label, before

    def read(self) -> Any:
        if self.kind == "attr":
            return vars(self.holder).get(self.key, _MISSING)
        if self.kind == "cell":
            try:
                return self.holder.cell_contents
            except ValueError:
                return _MISSING
        if type(self.holder) is list:
            return self.holder[self.key] if self.key < len(self.holder) else _MISSING
        return self.holder.get(self.key, _MISSING)

    def write(self, value: Any) -> None:
        if value is _MISSING:
            return
        if self.kind == "attr":
            setattr(self.holder, self.key, value)
        elif self.kind == "cell":
            self.holder.cell_contents = value
        elif type(self.holder) is dict or self.key < len(self.holder):
            self.holder[self.key] = value


class Untracked(Exception):
    """Raised by ``Watch.check``: ``slots`` changed inside the block; trace it again with
    them as state. Usage: ``except Untracked as found: extra += found.slots``"""

    def __init__(self, watch: "Watch", slots: list):
        super().__init__("state changed by a called function")
        self.watch, self.slots = watch, slots


class Watch:
    """The slots reachable from ``frame`` that code other than ``own`` could change.

    Usage (``run``): ``watch = Watch(frame, (body,), names, where, "`for` loop")``"""

    def __init__(self, frame: Any, own: tuple, names: tuple, where: tuple, what: str):
        self.where, self.what, self.names = where, what, frozenset(names)
        self.slots: list[_Slot] = []
        self.lists: list[tuple[list, int, str]] = []
        self.warned: set = set()
        self._own, self._assigned = own, None
        seen = {id(f) for f in own}  # the block's own functions: their cells are its state
        stack = [(value, name, 0) for name, value in frame.f_locals.items()
                 if not name.startswith("ag__")]
        while stack and len(self.slots) < _MAX_SLOTS:
            value, label, depth = stack.pop()
            if depth > _DEPTH or isinstance(value, _OPAQUE) or id(value) in seen:
                continue
            seen.add(id(value))
            if type(value) is tuple:  # no slots of its own: a way to more
                stack.extend((v, f"{label}[{k}]", depth + 1) for k, v in enumerate(value))
                continue
            if isinstance(value, types.MethodType):
                stack.append((value.__self__, label, depth + 1))
                continue
            for slot in self._slots_of(value, label, seen):
                self.slots.append(slot)
                stack.append((slot.before, slot.label, depth + 1))

    def _assigned_by_block(self) -> set:
        """The variables the block's own code assigns (read from its bytecode the first
        time a cell changes)."""
        if self._assigned is None:
            self._assigned = _assigned_names(self._own)
        return self._assigned

    def _slots_of(self, value: Any, label: str, seen: set) -> list[_Slot]:
        if type(value) is list:
            self.lists.append((value, len(value), label))
            if len(value) > _MAX_ITEMS:
                return []
            return [_Slot(value, k, "item", f"{label}[{k}]", v) for k, v in enumerate(value)]
        if type(value) is dict:
            if len(value) > _MAX_ITEMS:
                return []
            return [_Slot(value, k, "item", f"{label}[{k!r}]", v) for k, v in value.items()]
        if isinstance(value, types.FunctionType):
            out = []
            for name, cell in zip(value.__code__.co_freevars, value.__closure__ or ()):
                if name.startswith("ag__") or id(cell) in seen:
                    continue
                seen.add(id(cell))
                try:
                    out.append(_Slot(cell, None, "cell", name, cell.cell_contents))
                except ValueError:  # a cell not yet assigned
                    out.append(_Slot(cell, None, "cell", name, _MISSING))
            return out
        if isinstance(value, Variable) or type(value).__module__.startswith("autojit."):
            return []  # the library's own objects (functions, layers) keep their state
        try:
            attributes = vars(value)
        except TypeError:  # no __dict__
            return []
        if type(attributes) is not dict:
            return []
        return [_Slot(value, k, "attr", f"{label}.{k}", v) for k, v in attributes.items()
                if isinstance(k, str)]

    def check(self, state: tuple) -> None:
        """Raise ``Untracked`` for the slots a trace changed that the block can carry, an
        ``AutographError`` for a change it cannot; ``state`` is what the block carries."""
        carried = _ids(state)
        found = []
        for slot, now in self._changed(carried):
            if _carriable(slot.before) and _carriable(now):
                found.append(slot)
            elif _has_tensor(now) and not _carriable(slot.before):
                before = "has no value" if slot.before is _MISSING else \
                    f"is {vals.describe(slot.before)}"
                raise AutographError(
                    f"`{slot.label}` {before} before the tensor {self.what} at "
                    f"{origin.where(self.where)}, and a function called inside it sets it to a "
                    f"tensor; the {self.what} can carry it only from a tensor or number: give it "
                    f"one before the {self.what} (e.g. 0.0), or return the value instead")
        for items, length, label in self.lists:
            if id(items) not in carried and id(items) not in self.warned and \
                    len(items) > length and _has_tensor(items[length:]):
                self.warned.add(id(items))
                warnings.warn_explicit(
                    f"`{label}` is a list that tensors are appended to inside the tensor "
                    f"{self.what} at {origin.where(self.where)}, by a function called there or "
                    "through a name the function does not own (a global or closure variable); "
                    "the block is traced once, so the list grows once, not once per iteration "
                    "(or whether or not the branch runs). Append to a list the function itself "
                    "makes (autograph makes it an aj.TensorArray), or use an aj.TensorArray",
                    vals.AutographWarning, *self.where)
        if found:
            raise Untracked(self, found)

    def _changed(self, carried: set) -> list:
        """(slot, value now) for the watched slots that changed and that the block's own
        state (whose ids are ``carried``) does not cover."""
        out = []
        for slot in self.slots:
            now = slot.read()
            if _same(now, slot.before) or slot.label in self.names:
                continue  # unchanged, or state the block names (`acc.total` it assigns)
            if id(slot.holder) in carried or (id(now) in carried and not vals.is_number(now)):
                continue  # an item of a container the block carries, or what it carries
            if slot.kind == "cell" and slot.label in self._assigned_by_block():
                continue  # the block's own variable (state, or a temporary of its body)
            out.append((slot, now))
        return out

    def put_back(self, state: tuple) -> None:
        """Undo the tensor and number changes of a trace that was cut short (a list that
        became a TensorArray, a replan) before the block sets ``state`` for the next one."""
        for slot, now in self._changed(_ids(state)):
            if _has_tensor(now) or (_carriable(slot.before) and _carriable(now)):
                slot.write(slot.before)

    def drop(self, slots: list) -> None:
        """Stop watching ``slots`` (they are state now) and put back their values."""
        ids = {id(s) for s in slots}
        self.slots = [s for s in self.slots if id(s) not in ids]
        for slot in slots:
            slot.write(slot.before)


def run(block: Callable, get_state: Callable | None, set_state: Callable | None,
        names: tuple, nouts: int, where: tuple, what: str, frame: Any, own: tuple) -> Any:
    """``block(get_state, set_state, names, nouts)``, traced again with the slots that the
    functions it calls change as extra state (Note [State changed by called functions]).

    Usage (operators): ``untracked.run(block, get_state, ..., sys._getframe(1), (body,))``
    """
    watch = Watch(frame, own + (get_state, set_state), names, where, what)
    if not watch.slots and not watch.lists:
        return block(get_state, set_state, names, nouts)
    init = tuple(get_state()) if get_state is not None else ()
    extra: list[_Slot] = []
    for _ in range(len(watch.slots) + 1):
        get, put = _extended(get_state, set_state, nouts, extra, watch)
        labels = tuple(names[:nouts]) + tuple(s.label for s in extra) + tuple(names[nouts:])
        try:
            return block(get, put, labels, nouts + len(extra))
        except Untracked as found:
            if found.watch is not watch:
                raise
            watch.drop(found.slots)
            for slot in extra:
                slot.write(slot.before)
            if set_state is not None:
                set_state(init)
            extra += found.slots
    raise AutographError(  # pragma: no cover  (each retry carries a slot for good)
        f"tensor {what} at {origin.where(where)}: state changed by called functions")


def _extended(get_state, set_state, nouts: int, extra: list, watch: Watch) -> tuple:
    def get() -> tuple:
        state = tuple(get_state()) if get_state is not None else ()
        state = state[:nouts] + tuple(s.read() for s in extra) + state[nouts:]
        watch.check(state)
        return state

    def put(values: tuple) -> None:
        values = tuple(values)
        k = len(extra)
        watch.put_back(values)
        if set_state is not None:
            set_state(values[:nouts] + values[nouts + k:])
        for slot, value in zip(extra, values[nouts:nouts + k]):
            slot.write(value)

    return get, put


def _assigned_names(functions: tuple) -> set:
    """The variables the block's own code (and the functions nested in it) assigns."""
    names: set = set()
    for f in functions:
        f = getattr(f, "func", f)  # a functools.partial of the body
        if isinstance(f, types.FunctionType):
            names |= _stores(f.__code__)
    return names


_STORES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _stores(code: types.CodeType) -> frozenset:
    """The names ``code`` and the code nested in it store to (cached per code object)."""
    found = _STORES.get(code)
    if found is None:
        names = {ins.argval for ins in dis.get_instructions(code)
                 if ins.opname in ("STORE_DEREF", "DELETE_DEREF", "STORE_FAST", "STORE_NAME")}
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _stores(const)
        found = _STORES[code] = frozenset(names)
    return found


def _ids(state: Any) -> set:
    out: set = set()
    stack = [state]
    while stack:
        value = stack.pop()
        out.add(id(value))
        if type(value) in (list, tuple):
            stack.extend(value)
        elif type(value) is dict:
            stack.extend(value.values())
    return out


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    return vals.is_number(a) and type(a) is type(b) and a == b


def _carriable(value: Any) -> bool:
    """A tensor (not a Variable), a Python number, a TensorArray, or a list/tuple/dict of
    those: what a cond or loop can carry."""
    if isinstance(value, Variable):
        return False
    if isinstance(value, (Tensor, TensorArray)) or vals.is_number(value):
        return True
    if type(value) in (list, tuple, dict):
        leaves = nest.flatten(value)
        return bool(leaves) and all(_carriable(leaf) for leaf in leaves)
    return False


def _has_tensor(value: Any) -> bool:
    if isinstance(value, Variable):
        return False
    if isinstance(value, Tensor):
        return True
    if type(value) in (list, tuple, dict):
        return any(_has_tensor(v) for v in (value.values() if type(value) is dict else value))
    return False

