"""Dead-code elimination: drop nodes whose outputs nobody reads and that have no effect.

This is also what prunes gradient work nobody reads: a VJP computed for a value that no
output or effect needs disappears here, including ``cond`` outputs nobody reads (the
branches stop computing them) and, then, the branch nodes that only fed them.
"""

from __future__ import annotations

from autojit.graph.ir import Graph, Node


def _prune_cond_outputs(node: Node, live: set) -> None:
    keep = [i for i, v in enumerate(node.outputs) if v.id in live]
    if len(keep) == len(node.outputs):
        return
    node.outputs = [node.outputs[i] for i in keep]
    for index, value in enumerate(node.outputs):
        value.index = index
    for branch in node.attrs["branches"]:
        branch.outputs = [branch.outputs[i] for i in keep]


def eliminate_dead_code(graph: Graph) -> Graph:
    """Remove unused, effect-free nodes (subgraphs too). Usage: ``g = eliminate_dead_code(g)``"""
    live = {v.id for v in graph.outputs}
    kept = []
    for node in reversed(graph.nodes):
        if node.effect or any(v.id in live for v in node.outputs):
            if node.op.name == "cond" and not node.effect:
                _prune_cond_outputs(node, live)
            kept.append(node)
            live.update(v.id for v in node.inputs)
            for sub in node.subgraphs():
                eliminate_dead_code(sub)
    kept.reverse()
    graph.nodes = kept
    graph._effects = None
    return graph
