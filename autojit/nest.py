"""Nested structures (lists, tuples, namedtuples, dicts): flatten and rebuild.

Used by ``GradientTape.gradient`` sources, ``@function`` signatures and loop variables.
Dicts flatten in sorted-key order, so the order never depends on insertion.
"""

from __future__ import annotations

from typing import Any, Callable


def is_namedtuple(value: Any) -> bool:
    """True for instances of ``collections.namedtuple`` classes."""
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def flatten(structure: Any) -> list:
    """The leaves of ``structure`` in a fixed order. Usage: ``flatten({'a': [x, y]}) == [x, y]``"""
    leaves: list = []
    _flatten(structure, leaves)
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
    return (type(key).__name__, repr(key)) if not isinstance(key, (int, float, str)) \
        else ("", key) if isinstance(key, str) else ("#", key)


def pack_as(structure: Any, leaves: list) -> Any:
    """Rebuild ``structure`` with ``leaves`` in place of its own (inverse of ``flatten``)."""
    iterator = iter(leaves)
    result = _pack(structure, iterator)
    return result


def _pack(value: Any, iterator) -> Any:
    if is_namedtuple(value):
        return type(value)(*[_pack(v, iterator) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_pack(v, iterator) for v in value)
    if isinstance(value, dict):
        packed = {key: _pack(value[key], iterator) for key in sorted(value, key=_sort_key)}
        return type(value)((key, packed[key]) for key in value) if type(value) is not dict \
            else {key: packed[key] for key in value}
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
