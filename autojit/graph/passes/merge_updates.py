"""``merge_updates``: an optimizer's chain of fused assignments (a slot, then the parameter
that reads the slot's new value) becomes one ``fused_assigns`` kernel writing every buffer.

Note [Merged updates]: Adam updates each parameter ``p`` with three assignments, each one
kernel after ``fuse_assignments``: ``m += (1 - b1) * (g - m)``, ``v += (1 - b2) * (g * g -
v)``, then ``p -= lr_t * m / (sqrt(v) + eps)``, whose reads of ``m`` and ``v`` come after
their writes. Every one of them writes element ``i`` of its buffer from element ``i`` of its
inputs, and the buffers have one shape, so one kernel can compute ``m'``, ``v'`` and ``p'``
per element and write all three: the later assignment reads the earlier one's new value
from the kernel instead of from memory. An earlier assignment ``A`` of variable ``X`` joins
a later one ``C`` when

* ``A`` is a ``fused_assign`` (or already merged) node of the top-level graph, ``C`` one too
  or a plain assignment of a value of its variable's shape, their variables of one shape;
* ``C`` reads ``X`` through a ``read_variable`` node that only ``C`` uses;
* nothing between them reads or writes ``X`` otherwise (subgraphs included), so computing
  ``A``'s value at ``C``'s position, and writing it there, changes nothing anyone sees.

The merged node computes each variable's new value (an ``assign_add``/``assign_sub`` adds
the variable's read to its expression) and writes them in order, after computing all of
them; it sits at ``C``'s position. Momentum SGD (``m = mu * m + g``; ``p -= lr * m``)
merges the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from autojit.graph.ir import Graph, Node, Value, detached_node
from autojit.graph.passes.fuse import (_ASSIGNS, FUSED_ASSIGN, FusedExpr, Step, _assigned_value,
                                       evaluate_fused)
from autojit.ops.core import TensorSpec, defop, registry


def _fused_assigns_kernel(xp: Any, *inputs: Any, expr: FusedExpr, vars: tuple) -> tuple:
    values = evaluate_fused(xp, *inputs, expr=expr)  # every new value before any write
    for var, value in zip(vars, values):
        xp.copyto(var._array, value)
    return ()


FUSED_ASSIGNS = defop("fused_assigns", ["*inputs"], _fused_assigns_kernel,
                      lambda name, *inputs, expr, vars: [], attrs=("expr", "vars"),
                      effect=True, multiple=True)


def merge_updates(graph: Graph) -> Graph:
    """Merge fused assignments into the later ones that read their new values (Note [Merged
    updates]); top-level graph only. Run after ``fuse_assignments``.

    Usage: ``g = merge_updates(fuse_assignments(fuse_elementwise(g)))``
    """
    users: dict[int, list] = {}  # value id -> the nodes reading it (None: an output)
    for node in graph.nodes:
        for value in node.inputs:
            users.setdefault(value.id, []).append(node)
    for value in graph.outputs:  # a read the graph returns is used after any merged node
        users.setdefault(value.id, []).append(None)
    last: dict[int, Node] = {}  # variable id -> its latest fused writer
    gone: set[int] = set()  # merged writers and the reads they made unused
    before: dict[int, list[Node]] = {}  # node id -> reads it needs placed just before it
    nodes = graph.nodes
    for at, node in enumerate(nodes):
        if node.op is FUSED_ASSIGN or node.op is FUSED_ASSIGNS or _plain(node):
            for value in list(node.inputs):
                earlier = _forwardable(value, node, last, users, nodes, at)
                if earlier is None:
                    continue
                before.setdefault(id(node), []).extend(_as_new_values(earlier))
                before[id(node)].extend(_as_new_values(node))
                before[id(node)].extend(before.pop(id(earlier), []))
                _merge(earlier, node, value)
                gone.update((id(earlier), id(value.node)))
                for var in earlier.attrs["vars"]:
                    last.pop(id(var), None)
            if node.op is not FUSED_ASSIGN and node.op is not FUSED_ASSIGNS:
                continue  # a plain assignment merges into nothing later
            for var in _written(node):
                last[id(var)] = node
    if gone:
        graph.nodes = [placed for n in nodes if id(n) not in gone
                       for placed in (*before.get(id(n), []), n)]
        graph._effects = None
    return graph


def _written(node: Node) -> tuple:
    return node.attrs["vars"] if node.op is FUSED_ASSIGNS else (node.attrs["var"],)


def _plain(node: Node) -> bool:
    """An unfused assignment of a value of the variable's own shape (momentum's
    ``p.assign_add(m)`` of a slot's read): it may take earlier updates in."""
    return (node.op.name in _ASSIGNS and len(node.inputs) == 1
            and node.inputs[0].spec.shape == tuple(node.attrs["var"].shape))


def _forwardable(value: Value, node: Node, last: dict[int, Node],
                 users: dict[int, list], nodes: list[Node], at: int) -> Node | None:
    """The earlier fused writer whose new value ``value`` (a read only ``node`` takes) is,
    when it may join ``node`` (Note [Merged updates]); else None."""
    read = value.node
    if read is None or read.op.name != "read_variable" or any(
            u is not node for u in users.get(value.id, [])):
        return None
    earlier = last.get(id(read.attrs["var"]))
    shape = tuple(_written(node)[0].shape)
    if earlier is None or any(tuple(v.shape) != shape for v in _written(earlier)):
        return None
    start = next(i for i in range(at - 1, -1, -1) if nodes[i] is earlier)
    for between in nodes[start + 1:at]:
        if between is read:
            continue
        written = between.written_variables()
        if any(id(v) in written or _reads(between, v) for v in _written(earlier)):
            return None
    return earlier


def _reads(node: Node, var: Any) -> bool:
    """True when ``node`` (or a subgraph it carries) reads ``var``."""
    return any(inner.op.name == "read_variable" and inner.attrs["var"] is var
               for inner in (node, *(n for sub in node.subgraphs() for n in sub.walk())))


def _as_new_values(node: Node) -> list[Node]:
    """Make a ``fused_assign`` a ``fused_assigns`` node of one variable, in place: its
    expression then ends in the variable's new value (``read + x`` for ``assign_add``).
    Returns the read it had to make (to be placed just before the merged node: nothing
    writes the variable in between), if any."""
    if node.op is FUSED_ASSIGNS:
        return []
    if node.op is FUSED_ASSIGN:
        expr, how, var = node.attrs["expr"], node.attrs["how"], node.attrs["var"]
    else:  # a plain assignment: the identity of its value
        (value,), how, var = node.inputs, node.op.name, node.attrs["var"]
        expr = FusedExpr((Step("identity", (("in", 0),), (), value.spec),), (0,),
                         (node.where,), (value.spec,))
    inputs, made, k = list(node.inputs), [], 0
    if how != "assign":  # the new value combines the variable's read with the value
        k = next((i for i, v in enumerate(inputs) if v.node is not None
                  and v.node.op.name == "read_variable" and v.node.attrs["var"] is var), None)
        if k is None:
            spec = TensorSpec(tuple(var.shape), var.dtype)
            made.append(detached_node(registry()["read_variable"], [], {"var": var}, [spec],
                                      node.where))
            inputs.append(made[0].outputs[0])
            k = len(inputs) - 1
    expr = _assigned_value(expr, how, k, tuple(v.spec for v in inputs), node.where)
    node.op = FUSED_ASSIGNS
    node.inputs = inputs
    node.attrs = {"expr": expr, "vars": (var,)}
    return made


def _merge(earlier: Node, node: Node, value: Value) -> None:
    """Put ``earlier``'s steps before ``node``'s, ``value`` (a read of a variable
    ``earlier`` writes) becoming ``earlier``'s new value; ``node`` writes all their
    variables. Both are ``fused_assigns`` nodes."""
    first, second = earlier.attrs["expr"], node.attrs["expr"]
    var = value.node.attrs["var"]
    source = first.outputs[[id(v) for v in earlier.attrs["vars"]].index(id(var))]
    inputs = list(earlier.inputs)
    index = {id(v): i for i, v in enumerate(inputs)}
    for v in node.inputs:
        if v is not value and id(v) not in index:
            index[id(v)] = len(inputs)
            inputs.append(v)
    n = len(first.steps)

    def arg(kind: str, what: Any) -> tuple:
        if kind == "in":
            v = node.inputs[what]
            return ("t", source) if v is value else ("in", index[id(v)])
        return ("t", what + n) if kind == "t" else (kind, what)

    steps = first.steps + tuple(dataclasses.replace(st, args=tuple(arg(k, w) for k, w in st.args))
                                for st in second.steps)
    wheres = ((first.wheres or (earlier.where,) * n)
              + (second.wheres or (node.where,) * len(second.steps)))
    outputs = first.outputs + tuple(j + n for j in second.outputs)
    writes = earlier.attrs["vars"] + node.attrs["vars"]
    final = {id(var): k for k, var in enumerate(writes)}  # a variable written twice keeps
    kept = [k for k, var in enumerate(writes) if final[id(var)] == k]  # its later value
    node.attrs = {"expr": FusedExpr(steps, tuple(outputs[k] for k in kept), wheres,
                                    tuple(v.spec for v in inputs)),
                  "vars": tuple(writes[k] for k in kept)}
    node.inputs = inputs


__all__ = ["FUSED_ASSIGNS", "merge_updates"]
