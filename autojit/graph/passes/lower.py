"""``lower_one_hot``: ``one_hot`` as the elementwise comparison it is, for an executor that fuses.

On the GPU an op is a kernel launch per array operation its own kernel makes: ``one_hot`` is
a comparison against ``arange``, a cast and a copy. Written as graph nodes,
``cast(equal(expand_dims(indices), arange(depth)))`` (``where`` for other on/off values),
its comparison and cast join the fused kernel that reads them (the softmax cross-entropy's
gradient subtracts it), so it costs no launch of its own. Only ``one_hot`` along the last
axis of int32/int64 indices is rewritten; indices outside ``[0, depth)`` still give rows of
``off_value`` (no position equals them). The GPU executor runs this before fusion; the CPU
keeps the op (one NumPy call per array operation either way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.graph.ir import Graph, Node, Value
from autojit.graph.passes.rewrite import apply_substitutions
from autojit.ops.core import TensorSpec, registry


def _node(op: str, inputs: list, attrs: dict, spec: TensorSpec, where: Any) -> Node:
    node = Node(registry()[op], inputs, attrs, where)
    node.outputs = [Value(spec, node, 0)]
    return node


def _constant(array: np.ndarray, where: Any) -> Node:
    return _node("constant", [], {"value": array}, TensorSpec(array.shape, array.dtype), where)


def lower_one_hot(graph: Graph) -> Graph:
    """Rewrite each last-axis ``one_hot`` of int indices into fusable nodes (subgraphs too).

    Usage: ``g = fuse_elementwise(lower_one_hot(g.clone()))`` (the GPU executor does this)
    """
    subst: dict[int, Value] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        for sub in node.subgraphs():
            lower_one_hot(sub)
        lowered = _lowered(node) if node.op.name == "one_hot" else None
        if lowered is None:
            nodes.append(node)
            continue
        nodes.extend(lowered)
        subst[node.outputs[0].id] = lowered[-1].outputs[0]
    graph.nodes = nodes
    apply_substitutions(graph, subst)
    return graph


def _lowered(node: Node) -> list[Node] | None:
    (indices,) = node.inputs
    attrs, out = node.attrs, node.outputs[0].spec
    shape = indices.spec.shape
    if (shape is None or None in shape or indices.spec.dtype.name not in ("int32", "int64")
            or attrs["axis"] != len(shape) or out.shape is None):
        return None
    where, depth, dtype = node.where, attrs["depth"], out.dtype
    positions = _constant(np.arange(depth, dtype=indices.spec.dtype), where)
    column = _node("expand_dims", [indices], {"axis": len(shape)},
                   TensorSpec(shape + (1,), indices.spec.dtype), where)
    hot = _node("equal", [column.outputs[0], positions.outputs[0]], {},
                TensorSpec(out.shape, np.dtype(np.bool_)), where)
    made = [positions, column, hot]
    if attrs["on_value"] == 1 and attrs["off_value"] == 0:
        made.append(_node("cast", [hot.outputs[0]], {"dtype": dtype}, out, where))
        return made
    on = _constant(np.asarray(attrs["on_value"], dtype), where)
    off = _constant(np.asarray(attrs["off_value"], dtype), where)
    made += [on, off, _node("where", [on.outputs[0], off.outputs[0], hot.outputs[0]], {},
                            out, where)]
    return made


__all__ = ["lower_one_hot"]
