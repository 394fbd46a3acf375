"""Buffer planning: let an elementwise node write into an input buffer that dies there.

``plan_buffers(graph)`` picks, for some nodes of the top-level graph, an input whose
buffer the node may overwrite (codegen then emits ``xp.add(a, b, out=a)``). It is safe when:

* the node's kernel is a single NumPy/CuPy ufunc call (``xp.add(x, y)``),
* the input was produced by an op known to return a fresh buffer (a ufunc or ``matmul``)
  — never a graph input, constant, variable read or a view (reshape, transpose, broadcast,
  getitem, ...) that may share memory with another value,
* no other value aliases that buffer and its last use is this node (it is not a graph
  output, and no ``cond``/``while_loop`` node reads it: loops may keep it in a stack),
* it has exactly the output's known shape and dtype, and is big enough to matter.

Reusing a dying buffer saves an allocation and keeps the working set in cache; on small
arrays it gains nothing, hence ``MIN_ELEMENTS``.
"""

from __future__ import annotations

import re

import numpy as np

from autojit.graph.ir import Graph, Node
from autojit.ops.shapes import size

MIN_ELEMENTS = 4096
_UFUNC_CALL = re.compile(r"^xp\.(\w+)\(([\w, ]*)\)$")


def ufunc_name(node: Node) -> str | None:
    """The ufunc a node's kernel calls, when the kernel is exactly one ufunc call."""
    source = node.op.source
    if not source:
        return None
    match = _UFUNC_CALL.match(source)
    if match is None or not isinstance(getattr(np, match.group(1), None), np.ufunc):
        return None
    return match.group(1)


def _fresh(node: Node | None) -> bool:
    return node is not None and (node.op.name == "matmul" or ufunc_name(node) is not None)


def plan_buffers(graph: Graph) -> dict[int, int]:
    """``{node index: input position}`` of the in-place writes that are safe."""
    users: dict[int, list[int]] = {}
    for i, node in enumerate(graph.nodes):
        for value in node.inputs:
            users.setdefault(value.id, []).append(i)
    pinned = {v.id for v in graph.outputs}
    for node in graph.nodes:
        if node.subgraphs():
            pinned.update(v.id for v in node.inputs)
    plan: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        if ufunc_name(node) is None or len(node.outputs) != 1:
            continue
        out = node.outputs[0].spec
        n = size(out.shape)
        if n is None or n < MIN_ELEMENTS:
            continue
        for position, value in enumerate(node.inputs):
            if (value.id in pinned or not _fresh(value.node)
                    or value.spec.shape != out.shape or value.spec.dtype != out.dtype
                    or max(users[value.id]) != i
                    or any(not _fresh(graph.nodes[u]) for u in users[value.id])):
                continue
            plan[i] = position
            break
    return plan
