"""Signature keys of ``@aj.function`` calls (Note [Signature keys] in function.py): what a
call's arguments contribute to choosing a trace, and how two keys differ."""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import backend, nest
from autojit.errors import TracingError
from autojit.ops.core import TensorSpec
from autojit.tensor import Tensor

SCALARS = (bool, int, float, str, type(None))


class FloatKey:
    """The key of a float that ``==`` does not tell apart: ``-0.0`` from ``0.0`` (``1 / x``
    differs), ``nan`` from itself (every call would retrace). Compared by ``repr``.

    Usage: ``key_of(-0.0, [])  # (float, FloatKey(-0.0))``"""

    __slots__ = ("text",)

    def __init__(self, value: float):
        self.text = repr(value)

    def __eq__(self, other: object) -> bool:
        return type(other) is FloatKey and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return self.text


def key_of(value: Any, tensors: list) -> Any:
    kind = type(value)
    if kind in SCALARS:
        if kind is float and (value == 0.0 or value != value):
            return (kind, FloatKey(value))
        return (kind, value)
    if isinstance(value, Tensor):
        if value._is_variable:
            return ("var", id(value))
        if value._array is None:
            raise TracingError("a symbolic tensor was passed to an @aj.function from outside "
                               "a trace; return it from its own function first")
        tensors.append(value)
        array = value._array
        return (array.shape, array.dtype, value._device)
    if kind is tuple or kind is list:
        return (kind, tuple([key_of(v, tensors) for v in value]))
    if isinstance(value, dict):  # OrderedDict and defaultdict too; keys in nest's order, so
        # tensors are listed in the order nest.flatten gives them to the trace; the body
        # sees the insertion order (`list(d)`), so another order is another key
        keys = sorted(value, key=nest._sort_key)
        entries = tuple((k, key_of(value[k], tensors)) for k in keys)
        order = list(value)
        return (kind, entries) if order == keys else (kind, entries, tuple(order))
    if isinstance(value, np.ndarray):
        tensors.append(Tensor(value))
        return (value.shape, value.dtype, backend.CPU)
    if kind is TensorSpec:  # get_concrete_function(spec): a tensor of that type
        tensors.append(value)
        return (value.shape, value.dtype, backend.scope_device() or backend.CPU)
    if hasattr(kind, "_aj_signature"):  # aj.TensorArray: by type, its buffer an input
        return value._aj_signature(tensors)
    if nest.is_namedtuple(value) or isinstance(value, (list, tuple)):  # subclasses too
        return (kind, tuple([key_of(v, tensors) for v in value]))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (kind, value)


def describe_key(key: Any) -> str:
    if isinstance(key, tuple) and len(key) == 3 and isinstance(key[1], np.dtype):
        return f"a {key[1].name} tensor of shape {tuple(key[0])}"
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "var":
        return "a Variable"
    if isinstance(key, tuple) and len(key) == 2 and key[0] in SCALARS:
        return f"the Python value {key[1]!r}"
    return "a different structure"


def first_difference(old: Any, new: Any):
    """(argument index or keyword name, old key, new key) of the first argument whose key
    changed between two call keys, or None."""
    try:
        old_args, new_args = old[0], new[0]
        if isinstance(old_args, tuple) and old_args and old_args[0] is tuple:
            for i, (a, b) in enumerate(zip(old_args[1], new_args[1])):
                if a != b:
                    return i, a, b
        old_kw = dict(old[1][1]) if old[1] is not None else {}
        new_kw = dict(new[1][1]) if new[1] is not None else {}
        for name in sorted(set(old_kw) & set(new_kw), key=repr):
            if old_kw[name] != new_kw[name]:
                return name, old_kw[name], new_kw[name]
    except (TypeError, IndexError):
        pass
    return None


def strip_shapes(key: Any) -> Any:
    if isinstance(key, tuple) and len(key) == 3 and isinstance(key[1], np.dtype):
        return ("tensor", key[1], len(key[0]), key[2])
    if isinstance(key, tuple):
        return tuple(strip_shapes(k) for k in key)
    return key


def key_tensor_shapes(key: Any, out: list) -> None:
    if isinstance(key, tuple) and len(key) == 3 and isinstance(key[1], np.dtype):
        out.append(tuple(key[0]))
    elif isinstance(key, tuple):
        for k in key:
            key_tensor_shapes(k, out)
