"""Common-subexpression elimination: one node for each (op, inputs, attrs) computed twice.

Effectful nodes and nodes carrying subgraphs are never merged. Small constants with equal
dtype, shape and bytes are merged too (scalars such as ``2.0`` appear many times).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.graph.ir import Graph
from autojit.graph.passes.rewrite import apply_substitutions


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
            seen[key] = node
            kept.append(node)
        else:
            for old, new in zip(node.outputs, previous.outputs):
                subst[old.id] = new
    graph.nodes = kept
    apply_substitutions(graph, subst)
    return graph
