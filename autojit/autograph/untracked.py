"""State that functions called inside a tensor ``if`` or loop change: found while the block is
traced, then carried by the ``cond``/``while_loop`` like the block's own variables (Note
[State changed by called functions])."""

from __future__ import annotations

import functools
import itertools
import operator
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
# body's graph where later code reads it. So before a tensor block is traced, `Watch` records
# what the frame running it reaches (its locals; the lists, dicts and objects they hold, at
# any depth and of any length; the cells, default arguments and bound objects of the
# functions and methods they hold; classes defined inside a function): a shallow copy of
# each list, dict, `__dict__` and `__slots__` and the contents of each cell. Each time the
# block reads its state after a trace, the copies are compared with what is there now by
# identity (cheap even for 100k items: C loops over pointers), and the slots that changed
# from a tensor or number to a tensor or number (`Watch.check`) are put back and the block is
# traced again with them as extra state (`run`), named by their path (`acc.count`, `c[0]`, a
# `nonlocal` by its name).
#
# A slot is left to the block only when the block's state provably writes that very slot: a
# cell of one of its variables (a cell of its own functions named in its state, compared by
# identity: another function's `total` is not the block's `total`), an attribute path it
# names whose state value is the slot's value now, or an item of a list/dict it carries in
# place (the same object at the same place in its state before the block and now, which the
# cond/loop writes back into). Anything else is carried, even when its new value is also a
# value of the block's state (`out = add(x)`, returning the `nonlocal` it set) or its
# container is bound to a block variable (`view = acc`): both only copy the value, they do
# not write the slot back, and carrying a slot twice under two paths is merely redundant.
# One case cannot be carried: a loop traces its body with copies of the lists/dicts it
# carries, so an item of the user's own list that a called function changes through another
# name (`al = root` before, `al[0] += v` in the function, `root[0] = ...` in the body) is two
# things while traced; that is an error naming the item.
#
# A trace cut short before it read its state (a list that became a TensorArray, a replan) has
# its changes put back when the block sets its state for the next one (`put_back`). A slot
# given its first tensor (it held None, or nothing), set to a value mixing tensors and other
# objects, or removed while it held a tensor or number cannot be carried and is an error
# naming it; a list a called function (or the block, through a global or closure name
# autograph does not rewrite) appends tensors to is a warning (it grew once; logging the
# tensors a trace sees is a fair use of that). Other Python values a called function sets (a
# layer's `built` flag and Variables, a number in an attribute or key it creates) are left as
# they are: tracing sets them once, as the first eager call does. Not watched: module
# globals, attributes of classes defined at module level (globals too), the contents of
# NumPy arrays, and objects reached only through the called function's own globals. A walk
# reaching more than `_BUDGET` entries stops there with a warning naming where, rather than
# leave the rest unwatched in silence.

_BUDGET = 1_000_000  # items, attributes and cells recorded per block
_MISSING = object()
_OPAQUE = (Tensor, TensorArray, np.ndarray, np.generic, str, bytes, int, float, complex,
           type(None), type, types.ModuleType, types.CodeType)
_OPAQUE_TYPES: dict = {}  # type -> whether its instances hold nothing a function could change


def _opaque_kind(kind: type) -> bool:
    """Whether every instance of ``kind`` is opaque (a class may not be: see ``_opaque``)."""
    found = _OPAQUE_TYPES.get(kind)
    if found is None:
        found = _OPAQUE_TYPES[kind] = issubclass(kind, _OPAQUE) and not issubclass(kind, type)
    return found


def _opaque(value: Any) -> bool:
    found = _opaque_kind(type(value))
    if found or not isinstance(value, type):
        return found
    # a class is watched when it is defined inside a function: its methods' cells are that
    # function's variables, and its attributes are not globals
    return "<locals>" not in value.__qualname__


class _Slot:
    """One place a called function can change: an attribute (``attr`` in ``__dict__``,
    ``slot`` in ``__slots__``), a list/dict item, a cell."""

    __slots__ = ("holder", "key", "kind", "label", "before")

    def __init__(self, holder: Any, key: Any, kind: str, label: str, before: Any):
        self.holder, self.key, self.kind, self.label, self.before = \
            holder, key, kind, label, before

    def read(self) -> Any:
        if self.kind == "attr":
            attributes = _attributes(self.holder)
            return _MISSING if attributes is None else attributes.get(self.key, _MISSING)
        if self.kind == "slot":
            return getattr(self.holder, self.key, _MISSING)
        if self.kind == "cell":
            return _contents(self.holder)
        if isinstance(self.holder, list):
            return list.__getitem__(self.holder, self.key) \
                if self.key < list.__len__(self.holder) else _MISSING
        return dict.get(self.holder, self.key, _MISSING)

    def write(self, value: Any) -> None:
        """Put ``value`` in the slot; ``_MISSING`` removes what is there."""
        if value is _MISSING:
            self._remove()
        elif self.kind in ("attr", "slot"):
            setattr(self.holder, self.key, value)
        elif self.kind == "cell":
            self.holder.cell_contents = value
        elif isinstance(self.holder, dict) or self.key < len(self.holder):
            self.holder[self.key] = value

    def _remove(self) -> None:
        if self.read() is _MISSING:
            return
        if self.kind in ("attr", "slot"):
            delattr(self.holder, self.key)
        elif self.kind == "cell":
            del self.holder.cell_contents
        elif isinstance(self.holder, dict):
            del self.holder[self.key]


class _Held:
    """A list, dict, ``__dict__``, ``__slots__`` or cell the watch copied (``before``)."""

    __slots__ = ("obj", "kind", "label", "before")

    def __init__(self, obj: Any, kind: str, label: str, before: Any):
        self.obj, self.kind, self.label, self.before = obj, kind, label, before

    def changes(self):
        """``(slot, value now)`` for each entry that is not the object it was."""
        obj, before, kind = self.obj, self.before, self.kind
        if kind == "cell":
            slot = _Slot(obj, None, "cell", self.label, before)
            now = slot.read()
            if now is not before:
                yield slot, now
        elif kind == "list":
            now = obj if type(obj) is list else list.copy(obj)
            if len(now) == len(before) and all(map(operator.is_, now, before)):
                return
            for k in itertools.compress(itertools.count(), map(operator.is_not, now, before)):
                yield _Slot(obj, k, "item", f"{self.label}[{k}]", before[k]), now[k]
        elif kind == "slots":
            for key, was in before.items():
                now = getattr(obj, key, _MISSING)
                if now is not was:
                    yield _Slot(obj, key, "slot", f"{self.label}.{key}", was), now
        else:
            now = _attributes(obj) if kind == "attrs" else \
                obj if type(obj) is dict else dict.copy(obj)
            if now is None:
                return
            if len(now) == len(before) and all(map(operator.is_, now, before)) and \
                    all(map(operator.is_, now.values(), before.values())):
                return  # the same keys in the same order, each with the same value
            slot_kind, style = ("item", "[r]") if kind == "dict" else ("attr", ".")
            for key in itertools.chain(now, [k for k in before if k not in now]):
                was, value = before.get(key, _MISSING), now.get(key, _MISSING)
                if value is not was:
                    label = _label(self.label, style, key)
                    yield _Slot(obj, key, slot_kind, label, was), value


class Untracked(Exception):
    """Raised by ``Watch.check``: ``slots`` changed inside the block; trace it again with
    them as state. Usage: ``except Untracked as found: watch.carry(found.slots)``"""

    def __init__(self, watch: "Watch", slots: list):
        super().__init__("state changed by a called function")
        self.watch, self.slots = watch, slots


class Watch:
    """What the frame running a tensor block reaches, copied to be compared after each trace.

    ``own``: the block's functions; ``names``/``nouts``/``init``: its state (the first
    ``nouts`` carried) before it runs. Usage (``run``):
    ``watch = Watch(frame, (body, set_state), names, nouts, init, where, "`for` loop")``"""

    def __init__(self, frame: Any, own: tuple, names: tuple, nouts: int, init: tuple,
                 where: tuple, what: str):
        self.where, self.what, self.names, self.nouts = where, what, tuple(names), nouts
        self.held: list[_Held] = []
        self.size = 0  # entries recorded
        self.extra: list[_Slot] = []  # slots carried as extra state
        self._carried: set = set()
        self.warned: set = set()
        self._init, self._init_ids = init, None
        self._in_place = _containers(init[:nouts])
        self._put = None  # the state the block last set (a loop: the body's copies)
        # the cells of the block's own variables are its state: walked, not watched
        self._own_cells = _state_cells(own, names)
        self._seen: set = set()
        # the block's own functions too: a function its body defines and calls reaches the
        # frame's variables through the body's cells
        self._walk([(f, "") for f in own if f is not None] + [
            (value, name) for name, value in frame.f_locals.items()
            if not name.startswith("ag__")])

    def _walk(self, stack: list) -> None:
        """Record everything ``stack`` (value, label) reaches, depth first."""
        seen = self._seen
        while stack:
            value, label = stack.pop()
            if id(value) in seen or _opaque(value):
                continue
            seen.add(id(value))
            if self.size > _BUDGET:
                warnings.warn_explicit(
                    f"the tensor {self.what} at {origin.where(self.where)} runs where its "
                    f"function's variables reach more than {_BUDGET} Python items; from "
                    f"`{label}` on they are not watched, so a change a function called inside "
                    "the block makes there happens once, while tracing, and is not carried "
                    "(Note [State changed by called functions])",
                    vals.AutographWarning, *self.where)
                return
            stack.extend(self._open(value, label))

    def _hold(self, obj: Any, kind: str, label: str, before: Any) -> None:
        self.held.append(_Held(obj, kind, label, before))
        self.size += len(before) if kind != "cell" else 1

    def _open(self, value: Any, label: str) -> list:
        """Record what ``value`` holds; return the (value, label) pairs to walk on."""
        if type(value) is types.FunctionType:  # the most common, first
            return self._open_function(value, label)
        if isinstance(value, type):  # a class defined in a function
            label = value.__name__
            attributes = dict(vars(value))
            self._hold(value, "attrs", label, attributes)
            return _inner(list(attributes), list(attributes.values()), label, ".")
        if isinstance(value, tuple):
            return _inner(range(len(value)), value, label, "[]")
        if isinstance(value, types.MethodType):
            return [(value.__self__, label), (value.__func__, label)]
        if isinstance(value, types.BuiltinMethodType):  # `push = items.append`
            return [(value.__self__, label)]
        if isinstance(value, (staticmethod, classmethod)):
            return [(value.__func__, label)]
        if isinstance(value, property):
            return [(f, label) for f in (value.fget, value.fset, value.fdel) if f is not None]
        if isinstance(value, functools.partial):
            keywords = value.keywords
            return [(value.func, label)] + _inner(range(len(value.args)), value.args, label, "[]") \
                + _inner(list(keywords), list(keywords.values()), label, "[r]")
        if isinstance(value, types.FunctionType):
            return self._open_function(value, label)
        if isinstance(value, Variable) or type(value).__module__.startswith("autojit."):
            return []  # the library's own objects (functions, layers) keep their state
        out = []
        if isinstance(value, list):
            items = list.copy(value)
            self._hold(value, "list", label, items)
            out += _inner(range(len(items)), items, label, "[]")
        elif isinstance(value, dict):
            items = dict.copy(value)
            self._hold(value, "dict", label, items)
            out += _inner(list(items), list(items.values()), label, "[r]")
        attributes = _attributes(value)
        if attributes is not None:
            attributes = {k: v for k, v in attributes.items() if isinstance(k, str)}
            self._hold(value, "attrs", label, attributes)
            out += _inner(list(attributes), list(attributes.values()), label, ".")
        names = _slot_names(type(value))
        if names:
            slots = {name: getattr(value, name, _MISSING) for name in names}
            self._hold(value, "slots", label, slots)
            out += _inner(names, list(slots.values()), label, ".")
        if "<locals>" in type(value).__qualname__:
            out.append((type(value), label))
        return out

    def _open_function(self, fn: types.FunctionType, label: str) -> list:
        out = []
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            if name.startswith("ag__") or id(cell) in self._seen:
                continue
            self._seen.add(id(cell))
            contents = _contents(cell)
            if id(cell) not in self._own_cells:
                self._hold(cell, "cell", name, contents)
            if contents is not _MISSING:
                out.append((contents, name))
        if fn.__defaults__ or fn.__kwdefaults__:
            # a mutable default (`def bump(v, acc=[0.0])`) is state the function keeps
            defaults = list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
            out += _inner(range(len(defaults)), defaults, f"{fn.__name__}.__defaults__", "[]")
        return out

    def labels(self) -> tuple:
        """The names of the extended state: the carried ones, the extra slots, the rest."""
        nouts = self.nouts
        return self.names[:nouts] + tuple(s.label for s in self.extra) + self.names[nouts:]

    def check(self, state: tuple) -> None:
        """Raise ``Untracked`` for the slots a trace changed that the block can carry, an
        ``AutographError`` for a change it cannot; ``state`` is the extended state."""
        found = []
        copied = None
        for slot, now in self._changed(state):
            if slot.kind == "item":
                copied = self._copied(state) if copied is None else copied
                if id(slot.holder) in copied:
                    raise self._copy_error(slot, self._path_label(copied[id(slot.holder)]))
            if _carriable(slot.before) and _carriable(now):
                found.append(slot)
            elif _has_tensor(now) or (now is _MISSING and _carriable(slot.before)):
                raise self._error(slot, now)
        for held in self.held:
            if held.kind != "list":
                continue
            items, length = held.obj, len(held.before)
            if len(items) <= length or id(items) in self.warned:
                continue
            if _has_tensor(list.__getitem__(items, slice(length, None))) and not \
                    (id(items) in _ids(state) and id(items) in self._ids_before()):
                self.warned.add(id(items))
                warnings.warn_explicit(
                    f"`{held.label}` is a list that tensors are appended to inside the tensor "
                    f"{self.what} at {origin.where(self.where)}, by a function called there or "
                    "through a name the function does not own (a global or closure variable); "
                    "the block is traced once, so the list grows once, not once per iteration "
                    "(or whether or not the branch runs). Append to a list the function itself "
                    "makes (autograph makes it an aj.TensorArray), or use an aj.TensorArray",
                    vals.AutographWarning, *self.where)
        if found:
            raise Untracked(self, found)

    def _error(self, slot: _Slot, now: Any) -> AutographError:
        before = "has no value" if slot.before is _MISSING else \
            f"is {vals.describe(slot.before)}"
        at = f"{before} before the tensor {self.what} at {origin.where(self.where)}"
        if now is _MISSING:
            return AutographError(
                f"`{slot.label}` {at}, and a function called inside it removes it; the "
                f"{self.what} cannot carry that (whether it happens depends on the run): "
                "keep it and set it to a value instead")
        given = "a tensor" if isinstance(now, Tensor) else vals.describe(now)
        if not _carriable(slot.before):
            return AutographError(
                f"`{slot.label}` {at}, and a function called inside it sets it to {given}; the "
                f"{self.what} can carry it only from a tensor or number: give it one before "
                f"the {self.what} (e.g. 0.0), or return the value instead")
        return AutographError(
            f"`{slot.label}` {at}, and a function called inside it sets it to {given}; the "
            f"{self.what} can carry only tensors and numbers (and lists, tuples and dicts of "
            "them): keep tensors and other Python values in separate places, or return the "
            "value instead")

    def _copy_error(self, slot: _Slot, state: str) -> AutographError:
        return AutographError(
            f"`{state}[{slot.key!r}]` changes inside the tensor {self.what} at "
            f"{origin.where(self.where)} through a function called there that reaches `{state}` "
            f"by another name (an alias, an attribute); the {self.what} carries `{state}` as "
            "its own state, a copy of the list or dict while it is traced, so what the function "
            f"sets and what the {self.what} sets are not one: use `{state}` itself in that "
            "function (pass it as an argument), or return the value instead")

    def _changed(self, state: tuple) -> list:
        """(slot, value now) for the watched slots that changed and that the block's own
        state (``state``, extended with the extra slots) does not write back."""
        out = []
        in_place = None
        for held in self.held:
            if held.kind == "cell" and _contents(held.obj) is held.before:
                continue  # the common case, without a generator
            for slot, now in held.changes():
                if _same(now, slot.before) or \
                        (id(slot.holder), slot.kind, slot.key) in self._carried:
                    continue  # unchanged (an equal number), or carried already
                # (a cell is never the block's own variable: `Watch` leaves those out)
                if slot.kind == "item":
                    if in_place is None:
                        in_place = self._written_in_place(state)
                    if id(slot.holder) in in_place:
                        continue  # an item of a container the block writes back
                elif slot.kind != "cell" and self._named(slot, now, state):
                    continue  # an attribute the block names (`acc.total` it assigns)
                out.append((slot, now))
        return out

    def _named(self, slot: _Slot, now: Any, state: tuple) -> bool:
        k = len(self.extra)
        values = tuple(state[:self.nouts]) + tuple(state[self.nouts + k:])
        return any(name == slot.label and (value is now or _same(value, now))
                   for name, value in zip(self.names, values))

    def _written_in_place(self, state: tuple) -> set:
        """The ids of the lists/dicts the block writes back into: each the same object at the
        same place in its carried state before the block (``init``) and now."""
        return {id(obj) for path, obj in self._in_place.items() if _at(state, path) is obj}

    def _copied(self, state: tuple) -> dict:
        """{id: path} for the user's lists/dicts of the block's carried state for which the
        block holds a copy in this trace (a loop body's variables are copies its loop made):
        what the copy and the original get are two things, not one."""
        if self._put is None:
            return {}
        out = {}
        for path, obj in self._in_place.items():
            now = _at(state, path)
            if now is not obj and now is _at(self._put, path) and type(now) is type(obj):
                out[id(obj)] = path
        return out

    def _path_label(self, path: Any) -> str:
        if type(path) is int:
            return self.names[path]
        parent, key = path
        return f"{self._path_label(parent)}[{key!r}]"

    def _ids_before(self) -> set:
        if self._init_ids is None:
            self._init_ids = _ids(self._init)
        return self._init_ids

    def put_back(self, state: tuple) -> None:
        """Undo the tensor and number changes of a trace that was cut short (a list that
        became a TensorArray, a replan) before the block sets ``state`` for the next one."""
        self._put = state
        for slot, now in self._changed(state):
            if _has_tensor(now) or (_carriable(slot.before) and _carriable(now)):
                slot.write(slot.before)

    def carry(self, slots: list) -> None:
        """Carry ``slots`` as extra state from now on, and put back their values."""
        self._carried |= {(id(s.holder), s.kind, s.key) for s in slots}
        self.extra += slots
        for slot in slots:
            slot.write(slot.before)


def run(block: Callable, get_state: Callable | None, set_state: Callable | None,
        names: tuple, nouts: int, where: tuple, what: str, frame: Any, own: tuple) -> Any:
    """``block(get_state, set_state, names, nouts)``, traced again with the slots that the
    functions it calls change as extra state (Note [State changed by called functions]).

    Usage (operators): ``untracked.run(block, get_state, ..., sys._getframe(1), (body,))``
    """
    init = tuple(get_state()) if get_state is not None else ()
    watch = Watch(frame, own + (get_state, set_state), names, nouts, init, where, what)
    if not watch.held:
        return block(get_state, set_state, names, nouts)
    for _ in range(watch.size + 1):
        get, put = _extended(get_state, set_state, nouts, watch)
        try:
            return block(get, put, watch.labels(), nouts + len(watch.extra))
        except Untracked as found:
            if found.watch is not watch:
                raise
            for slot in watch.extra:
                slot.write(slot.before)
            watch.carry(found.slots)
            if set_state is not None:
                set_state(init)
    raise AutographError(  # pragma: no cover  (each retry carries a slot for good)
        f"tensor {what} at {origin.where(where)}: state changed by called functions")


def _extended(get_state, set_state, nouts: int, watch: Watch) -> tuple:
    extra = list(watch.extra)

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


def _inner(keys, values, label: str, style: str) -> list:
    """The (value, label) pairs worth walking into among ``values`` (``keys`` aligned with
    them), labelled ``label[key]`` (``style`` "[]"), ``label[key!r]`` ("[r]") or
    ``label.key`` ("."). The set of the values' types is made first, so that a list of 100k
    numbers costs a C loop, not a Python one."""
    if all(_opaque_kind(kind) for kind in set(map(type, values))):
        return []
    return [(v, _label(label, style, k)) for k, v in zip(keys, values) if not _opaque(v)]


def _label(label: str, style: str, key: Any) -> str:
    if style == ".":
        return f"{label}.{key}"
    return f"{label}[{key!r}]" if style == "[r]" else f"{label}[{key}]"


def _contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # empty
        return _MISSING


def _attributes(value: Any) -> Any:
    """``value``'s ``__dict__`` (a class's too), or None."""
    try:
        attributes = vars(value)
    except TypeError:  # no __dict__
        return None
    return attributes if type(attributes) is dict or isinstance(value, type) else None


_SLOT_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _slot_names(kind: type) -> tuple:
    """The ``__slots__`` attributes of instances of ``kind`` (its bases' too), mangled."""
    found = _SLOT_NAMES.get(kind)
    if found is None:
        names = []
        for base in kind.__mro__:
            declared = vars(base).get("__slots__", ())
            for name in (declared,) if isinstance(declared, str) else declared:
                if name in ("__dict__", "__weakref__"):
                    continue
                if name.startswith("__") and not name.endswith("__"):
                    name = f"_{base.__name__.lstrip('_')}{name}"
                names.append(name)
        found = _SLOT_NAMES[kind] = tuple(names)
    return found


def _containers(values: tuple) -> dict:
    """{path: list or dict} for the containers of ``values`` (through lists and dicts), a
    path being an index of ``values`` or (path, key)."""
    out: dict = {}
    stack = list(enumerate(values))
    seen: set = set()
    while stack:
        path, value = stack.pop()
        if not isinstance(value, (list, dict)) or id(value) in seen:
            continue
        seen.add(id(value))
        out[path] = value
        items = enumerate(value) if isinstance(value, list) else value.items()
        stack.extend(((path, k), v) for k, v in items if isinstance(v, (list, dict)))
    return out


def _at(values: tuple, path: Any) -> Any:
    """The value at ``path`` (``_containers``'s) in ``values``, or ``_MISSING``."""
    if type(path) is int:
        return values[path] if path < len(values) else _MISSING
    parent, key = path
    container = _at(values, parent)
    if isinstance(container, list):
        return list.__getitem__(container, key) if key < len(container) else _MISSING
    if isinstance(container, dict):
        return dict.get(container, key, _MISSING)
    return _MISSING


def _state_cells(functions: tuple, names: tuple) -> set:
    """The ids of the cells of the block's variables: those of its own ``functions`` (body,
    ``get_state``, ``set_state``) named in its state ``names``. (A variable the block's code
    assigns is state; a function nested in its body that rebinds a ``nonlocal`` is a called
    function like any other, its variable not state.)"""
    names = set(names)
    out: set = set()
    for f in functions:
        f = getattr(f, "func", f)  # a functools.partial of the body
        if isinstance(f, types.FunctionType) and f.__closure__:
            out |= {id(cell) for name, cell in zip(f.__code__.co_freevars, f.__closure__)
                    if name in names}
    return out


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
