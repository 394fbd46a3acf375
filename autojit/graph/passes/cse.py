"""Common-subexpression elimination: one node for each (op, inputs, attrs) computed twice.

Effectful nodes and nodes carrying subgraphs are never merged. Small constants with equal
dtype, shape and bytes are merged too (scalars such as ``2.0`` appear many times). A
reduction that differs from an earlier one only in ``keepdims`` (a softmax's
``sum(e, axis=1, keepdims=True)`` beside a loss's ``sum(e, axis=1)``) becomes a reshape of
it, for a known shape: a view, where the reduction is a pass over the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.graph.ir import Graph, Node, detached_node
from autojit.graph.passes.fuse import REDUCIBLE
from autojit.graph.passes.rewrite import apply_substitutions
from autojit.ops.core import registry

# reductions whose keepdims result is a reshape of the other (attrs: axis, keepdims)
_REDUCTIONS = REDUCIBLE | {"reduce_any", "reduce_all"}


def _attr_key(value: Any) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        if value.size <= 64:
            return ("array", value.dtype.str, value.shape, np.asarray(value).tobytes())
        return ("id", id(value))
    if isinstance(value, tuple):
        return tuple(_attr_key(v) for v in value)
    if isinstance(value, slice):
        return ("slice", value.start, value.stop, value.step)
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return (type(value), value)


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """Merge duplicate pure nodes. Usage: ``g = eliminate_common_subexpressions(g)``"""
    seen: dict = {}
    subst: dict = {}
    kept = []
    for node in graph.nodes:
        node.inputs = [subst.get(v.id, v) for v in node.inputs]
        for sub in node.subgraphs():
            eliminate_common_subexpressions(sub)
        if node.effect or node.subgraphs():
            kept.append(node)
            continue
        try:
            key = (node.op.name, tuple(v.id for v in node.inputs),
                   tuple((k, _attr_key(v)) for k, v in node.attrs.items()))
            hash(key)
        except TypeError:
            kept.append(node)
            continue
        previous = seen.get(key)
        if previous is None:
            previous = _reshaped_twin(node, seen, key)
            if previous is not None:
                kept.append(previous)
        if previous is None:
            seen[key] = node
            kept.append(node)
        else:
            seen.setdefault(key, previous)
            for old, new in zip(node.outputs, previous.outputs):
                subst[old.id] = new
    graph.nodes = kept
    apply_substitutions(graph, subst)
    return graph


def _reshaped_twin(node: Node, seen: dict, key: tuple) -> Node | None:
    """A reshape of an earlier reduction that differs from ``node`` only in ``keepdims``; None
    when there is none (or ``node``'s shape is not known)."""
    if node.op.name not in _REDUCTIONS or "keepdims" not in node.attrs:
        return None
    spec = node.outputs[0].spec
    if spec.shape is None or None in spec.shape:
        return None
    flipped = tuple((k, _attr_key(not node.attrs[k]) if k == "keepdims" else v)
                    for k, v in key[2])
    twin = seen.get((key[0], key[1], flipped))
    if twin is None:
        return None
    return detached_node(registry()["reshape"], [twin.outputs[0]], {"shape": tuple(spec.shape)},
                         [spec], node.where)
