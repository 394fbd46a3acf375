"""``select_cheap_conds``: a ``cond`` whose branches are small and pure becomes both branches
computed inline and one ``where(pred, true, false)`` per output, so the choice is made on the
device instead of reading the predicate back to the host.

The GPU executor runs it before fusion: an ``if`` on a device scalar is a host round trip
and makes the step impossible to capture as a CUDA graph, while computing a few elementwise
nodes twice costs almost nothing next to a launch. The CPU keeps its ``if`` (a host branch is
free there). Only branches with no effects, no nested control flow, no value checks and at
most ``max_nodes`` nodes qualify, and every output must have a fully known shape, so the
selected values have the branch outputs' types exactly.
"""

from __future__ import annotations

from autojit.graph.ir import Graph, Node, Value, detached_node
from autojit.graph.scalars import host_scalars
from autojit.ops.core import registry


def _cheap(node: Node, max_nodes: int) -> bool:
    if node.op.name != "cond" or node.effect:
        return False
    pred = node.inputs[0]
    if pred.spec.shape != () or pred.spec.dtype.name != "bool":
        return False
    for branch in node.attrs["branches"]:
        if len(branch.nodes) > max_nodes:
            return False
        for inner in branch.nodes:
            if inner.subgraphs() or inner.op.check is not None or inner.op.effect:
                return False
    return all(v.spec.shape is not None and None not in v.spec.shape for v in node.outputs)


def _inline(branch: Graph, outer_inputs: list[Value], nodes: list[Node]) -> list[Value]:
    mapping = {inner.id: outer for inner, outer in zip(branch.inputs, outer_inputs)}
    for inner in branch.nodes:
        copy = detached_node(inner.op, [mapping[v.id] for v in inner.inputs], dict(inner.attrs),
                             [v.spec for v in inner.outputs], inner.where)
        mapping.update({old.id: new for old, new in zip(inner.outputs, copy.outputs)})
        nodes.append(copy)
    return [mapping[v.id] for v in branch.outputs]


def select_cheap_conds(graph: Graph, max_nodes: int = 16, host: set[int] | None = None
                       ) -> Graph:
    """Replace each cheap, pure ``cond`` by both branches and a ``where`` per output. A cond
    on a host scalar (``if t % 2 == 0`` on a Python loop counter) stays: replay branches on
    it in Python for free, and a ``where`` would make its results (maybe host scalars too)
    device values. ``host``: the host scalars of the outermost graph.

    Usage: ``g = select_cheap_conds(g.clone())`` (the GPU executor does this)
    """
    if host is None:
        host = host_scalars(graph)
    where = registry()["where"]
    nodes: list[Node] = []
    replace: dict[int, Value] = {}
    for node in graph.nodes:
        node.inputs = [replace.get(v.id, v) for v in node.inputs]
        if not _cheap(node, max_nodes) or node.inputs[0].id in host:
            for sub in node.subgraphs():
                select_cheap_conds(sub, max_nodes, host)
            nodes.append(node)
            continue
        pred, captures = node.inputs[0], node.inputs[1:]
        true_branch, false_branch = node.attrs["branches"]
        yes = _inline(true_branch, captures, nodes)
        no = _inline(false_branch, captures, nodes)
        for out, a, b in zip(node.outputs, yes, no):
            select = detached_node(where, [a, b, pred], {}, [out.spec], node.where)  # (x, y, c)
            nodes.append(select)
            replace[out.id] = select.outputs[0]
    graph.nodes = nodes
    graph.outputs = [replace.get(v.id, v) for v in graph.outputs]
    graph._effects = None
    return graph


__all__ = ["select_cheap_conds"]
