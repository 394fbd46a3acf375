"""Other names for a list that tensor control flow turns into a ListArray.

Note [Aliases of a list grown in a tensor block]
A list appended to in a tensor loop, or in one branch of a tensor `if`, has a length known
only at run time, so the block leaves the variable bound to a new object, a ListArray (Note
[Lists appended in tensor loops] in loops.py, Note [Lists grown in one branch] in
conditionals.py). Another name for the same list (`b = a`, `d = {"h": a}`, `self.h = a`)
cannot follow: it would keep the old Python list, without the items, and read a wrong
length or items later, silently. So when the block converts a list, the user's frames being
traced (up to the traced function) are searched for other references to it: a local
variable, an item of a local list/tuple/dict/set, or an attribute of a local object. One
found is an AutographError naming the alias. References from elsewhere (a list passed in by
the caller of the traced function, a global) are not searched: like every Python side
effect inside @aj.function they happen once, while tracing.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

from autojit.autograph import origin, values as vals
from autojit.errors import AutographError
from autojit.graph.tracer import PACKAGE

_TRACE_ENTRY = os.path.join(PACKAGE, "function.py")
_MAX_ITEMS = 1000  # items of one local container looked at
_CODE = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, types.ModuleType,
         type)


def check_unaliased(old: Any, name: str, where: tuple, what: str) -> None:
    """Raise AutographError when the list ``old``, which state ``name`` of the tensor
    ``what`` at ``where`` turns into a ListArray, has another name in the traced user code
    (Note [Aliases of a list grown in a tensor block]).

    Usage (loops.py, conditionals.py): ``check_unaliased(init[slot], names[slot], where, what)``
    """
    owner, _, attr = name.rpartition(".")
    for frame in _user_frames():
        for local, value in list(frame.f_locals.items()):
            if local == name or isinstance(value, _CODE):
                continue
            alias = _refers(value, old, local, skip=attr if local == owner else None)
            if alias is not None:
                shown = vals.display_name(name)
                at = origin.where((frame.f_code.co_filename, frame.f_lineno))
                raise AutographError(
                    f"{shown} is a list grown inside the tensor {what} at "
                    f"{origin.where(where)}, so after it the list's length is known only when "
                    f"the graph runs and {shown} is bound to a new list-array; `{alias}` (in "
                    f"the code at {at}) is another name for the old list, which cannot "
                    f"follow: use {shown} itself after the {what}, or make `{alias}` after "
                    "it") from None


def _refers(value: Any, old: Any, label: str, skip: str | None) -> str | None:
    """``label`` (or ``label[k]``, ``label.attr``) when ``value`` is ``old`` or holds it one
    level down; ``skip``: an attribute that is the state itself."""
    if value is old:
        return label
    if isinstance(value, (list, tuple, set, frozenset)):
        for k, item in enumerate(list(value)[:_MAX_ITEMS]):
            if item is old:
                return f"{label}[{k}]" if not isinstance(value, (set, frozenset)) else label
    elif isinstance(value, dict):
        for key, item in list(value.items())[:_MAX_ITEMS]:
            if item is old:
                return f"{label}[{key!r}]"
    else:
        attrs = getattr(value, "__dict__", None)
        if isinstance(attrs, dict) and not isinstance(value, type):
            for key, item in list(attrs.items())[:_MAX_ITEMS]:
                if item is old and key != skip:
                    return f"{label}.{key}"
    return None


def _user_frames():
    """The frames of user code being traced, innermost first: those outside the autojit
    package, up to where ``Function`` traces (function.py)."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if filename == _TRACE_ENTRY:
            return
        if not filename.startswith(PACKAGE + os.sep):
            yield frame
        frame = frame.f_back
