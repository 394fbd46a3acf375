"""Shared machinery for passes: substitute values through a graph, in place."""

from __future__ import annotations

from autojit.graph.ir import Graph, Value


def apply_substitutions(graph: Graph, subst: dict[int, Value]) -> None:
    """Replace every use of value ``id`` in ``subst`` (node inputs and graph outputs)."""
    if not subst:
        return

    def resolve(value: Value) -> Value:
        while value.id in subst:
            value = subst[value.id]
        return value

    for node in graph.nodes:
        node.inputs = [resolve(v) for v in node.inputs]
    graph.outputs = [resolve(v) for v in graph.outputs]
    graph._effects = None


def is_constant(value: Value) -> bool:
    """True when ``value`` is produced by a ``constant`` node."""
    return value.node is not None and value.node.op.name == "constant"


def constant_array(value: Value):
    """The array of a constant value."""
    return value.node.attrs["value"]
