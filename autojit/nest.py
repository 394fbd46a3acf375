"""Nested structures (lists, tuples, namedtuples, dicts): flatten and rebuild.

Used by ``GradientTape.gradient`` sources, ``@function`` signatures and loop variables.
Dicts flatten in sorted-key order, so the order never depends on insertion.
"""

from __future__ import annotations

import collections
from typing import Any, Callable

_NESTS = (list, tuple, dict)


def is_namedtuple(value: Any) -> bool:
    """True for instances of ``collections.namedtuple`` classes."""
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def flatten(structure: Any) -> list:
    """The leaves of ``structure`` in a fixed order. Usage: ``flatten({'a': [x, y]}) == [x, y]``

    Anything that is not a list, tuple or dict is a leaf (``None`` too).
    """
    if not isinstance(structure, _NESTS):
        return [structure]  # the common cases (one tensor, a flat list) stay cheap
    leaves: list = []
    if isinstance(structure, dict):
        _flatten(structure, leaves)
        return leaves
    for item in structure:
        if isinstance(item, _NESTS):
            _flatten(item, leaves)
        else:
            leaves.append(item)
    return leaves


def _flatten(value: Any, leaves: list) -> None:
    if isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, leaves)
    elif isinstance(value, dict):
        for key in sorted(value, key=_sort_key):
            _flatten(value[key], leaves)
    else:
        leaves.append(value)


def _sort_key(key: Any) -> tuple:
    # Strings before numbers before anything else (by type name and repr), so keys of mixed
    # types still sort without comparing a str to an int.
    if isinstance(key, str):
        return ("", key)
    if isinstance(key, (int, float)):
        return ("#", key)
    return (type(key).__name__, repr(key))


def pack_as(structure: Any, leaves: list) -> Any:
    """Rebuild ``structure`` with ``leaves`` in place of its own (inverse of ``flatten``).

    Usage: ``pack_as({'a': [0, 0]}, [x, y]) == {'a': [x, y]}``
    """
    leaves = list(leaves)
    if not isinstance(structure, _NESTS):
        if len(leaves) != 1:
            raise ValueError(f"pack_as: the structure is a single leaf but {len(leaves)} "
                             "leaves were given")
        return leaves[0]
    if type(structure) in (list, tuple) and len(structure) == len(leaves):
        for item in structure:
            if isinstance(item, _NESTS):
                break
        else:
            return leaves if type(structure) is list else tuple(leaves)
    iterator = iter(leaves)
    try:
        result = _pack(structure, iterator)
    except StopIteration:
        raise ValueError(f"pack_as: the structure has more leaves than the {len(leaves)} "
                         "given") from None
    if next(iterator, iterator) is not iterator:
        raise ValueError(f"pack_as: the structure has fewer leaves than the {len(leaves)} "
                         "given")
    return result


def _pack(value: Any, iterator) -> Any:
    if is_namedtuple(value):
        return type(value)(*[_pack(v, iterator) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)([_pack(v, iterator) for v in value])
    if isinstance(value, dict):
        packed = {key: _pack(value[key], iterator) for key in sorted(value, key=_sort_key)}
        if type(value) is dict:
            return {key: packed[key] for key in value}
        if isinstance(value, collections.defaultdict):
            out = type(value)(value.default_factory)
            out.update((key, packed[key]) for key in value)
            return out
        return type(value)((key, packed[key]) for key in value)
    return next(iterator)


def map_structure(fn: Callable, structure: Any) -> Any:
    """Apply ``fn`` to every leaf. Usage: ``map_structure(aj.identity, state)``"""
    return pack_as(structure, [fn(leaf) for leaf in flatten(structure)])


def structure_key(value: Any, leaf_key: Callable) -> Any:
    """A hashable description of ``value``'s nesting with ``leaf_key(leaf)`` at each leaf."""
    if is_namedtuple(value):
        return (type(value), tuple(structure_key(v, leaf_key) for v in value))
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(structure_key(v, leaf_key) for v in value))
    if isinstance(value, dict):
        return (type(value), tuple((k, structure_key(value[k], leaf_key))
                                   for k in sorted(value, key=_sort_key)))
    return leaf_key(value)
