"""The reference interpreter: the semantic oracle that generated replay code is tested against.

``interpret`` runs a graph node by node with each op's kernel on concrete arrays.
``evaluate`` runs a graph's nodes through ``bind`` instead, so the current trace decides
what happens: eagerly it computes (and tapes record), while tracing it copies the nodes
into the graph being built (inlining, and the forward pass a VJP recomputes).
"""

from __future__ import annotations

from typing import Any, Sequence

from autojit.graph.ir import Graph, clone_subgraphs
from autojit.graph.tracer import GraphTrace
from autojit.ops.core import active_tapes, bind, current_trace


def interpret(graph: Graph, arrays: Sequence[Any], xp: Any) -> list:
    """The outputs of ``graph`` for input ``arrays``, computed one kernel at a time.

    Usage: ``interpret(concrete.graph, [x.numpy()], np)``
    """
    env = {value.id: array for value, array in zip(graph.inputs, arrays)}
    for node in graph.nodes:
        arrays = [env[v.id] for v in node.inputs]
        if node.op.check is not None:  # Note [Value checks] in ops/core.py
            node.op.check(node.op.name, *arrays, **node.attrs)
        result = node.op.kernel(xp, *arrays, **node.attrs)
        if node.op.no_outputs:
            continue
        if node.op.name == "read_variable":
            # A read is a snapshot: a later assign (in place) must not change it. The
            # replay code gets the same result by copying only where needed (Note [Reads
            # alias buffers] in codegen.py); the reference interpreter always copies.
            result = result.copy()
        outs = result if node.op.multiple else (result,)
        for value, array in zip(node.outputs, outs):
            env[value.id] = array
    return [env[v.id] for v in graph.outputs]


def evaluate(graph: Graph, inputs: Sequence[Any], states: dict | None = None) -> list:
    """The outputs of ``graph`` computed by binding each node's op in the current trace.

    Variable reads evaluate to the ``Variable`` itself, so tapes key gradients on it, or to
    ``states[id(variable)]`` where given (a value it had before, for a VJP). Before
    a node writes a variable, values still standing for it become snapshots
    (``read_value``, differentiable), so a value read before a write keeps the old value,
    and no output is the live Variable.
    """
    env = {value.id: x for value, x in zip(graph.inputs, inputs)}
    tracing = isinstance(current_trace(), GraphTrace)
    for node in graph.nodes:
        if node.op.name == "read_variable":
            var = node.attrs["var"]
            env[node.outputs[0].id] = var if states is None else states.get(id(var), var)
            continue
        written = node.written_variables()
        if written:
            _snapshot(env, written)
        attrs = node.attrs
        if node.op.name == "while_loop" and not attrs["save"] and active_tapes():
            # The loop was traced with no tape (a subgraph, or a function later called
            # under a tape): now one records it, so keep the iterations its VJP replays.
            attrs = {**attrs, "save": True}
        if tracing and node.subgraphs():
            attrs = clone_subgraphs(attrs)  # Note [Owned subgraphs] in ir.py
        result = bind(node.op, *[env[v.id] for v in node.inputs], **attrs)
        outs = result if node.op.multiple else (result,)
        for value, out in zip(node.outputs, outs):  # a saved loop's stack comes last
            env[value.id] = out
    outputs = [env[v.id] for v in graph.outputs]
    return [x.read_value() if getattr(x, "_is_variable", False) else x for x in outputs]


def _snapshot(env: dict, written: set) -> None:
    """Replace the Variables in ``written`` standing in ``env`` by ``read_value`` snapshots."""
    snaps: dict = {}
    for key, value in env.items():
        if getattr(value, "_is_variable", False) and id(value) in written:
            if id(value) not in snaps:
                snaps[id(value)] = value.read_value()
            env[key] = snaps[id(value)]
