"""The graph IR: ``Graph``, ``Node`` and ``Value`` in SSA form, and ``Graph.verify``.

Grammar::

    Graph := inputs: [Value]  nodes: [Node]  outputs: [Value]
    Node  := op: Op  inputs: [Value]  attrs: {name: attr}  outputs: [Value]  where: (file, line)
    Value := spec: TensorSpec  node: Node | None (None for a graph input)  index: int

Every value is defined once (by a node or as a graph input) before it is used. Nodes are
kept in program order; nodes whose op has an effect (variable reads and writes, random
numbers, ``aj.print``), or that carry a subgraph with such a node, keep their relative
order and are never removed or merged by passes.

Subgraphs are node attributes (the branches of ``cond``, the test and body of
``while_loop``). A subgraph sees outer values only through its own inputs; the node lists
the outer values it passes in (captures are explicit).
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator, Sequence

import numpy as np

from autojit.ops.core import Op, TensorSpec

_ids = itertools.count()


class Value:
    """One SSA value: its type (``TensorSpec``) and the node that defines it."""

    __slots__ = ("spec", "node", "index", "id")

    def __init__(self, spec: TensorSpec, node: "Node | None" = None, index: int = 0):
        self.spec = spec
        self.node = node
        self.index = index
        self.id = next(_ids)

    def __repr__(self) -> str:
        return f"%{self.id}"


class Node:
    """One op application: inputs, attributes, outputs and the user's source line."""

    __slots__ = ("op", "inputs", "attrs", "outputs", "where")

    def __init__(self, op: Op, inputs: Sequence[Value], attrs: dict, where: Any = None):
        self.op = op
        self.inputs = list(inputs)
        self.attrs = attrs
        self.outputs: list[Value] = []
        self.where = where

    def subgraphs(self) -> list["Graph"]:
        """The graphs this node carries as attributes (branches, loop test and body)."""
        found = []
        for value in self.attrs.values():
            if isinstance(value, Graph):
                found.append(value)
            elif isinstance(value, tuple) and value and isinstance(value[0], Graph):
                found.extend(value)
        return found

    def written_variables(self) -> set[int]:
        """Ids of the variables this node, or any subgraph it carries, writes."""
        written = set()
        for node in (self, *(inner for sub in self.subgraphs() for inner in sub.walk())):
            if node.op.effect and "var" in node.attrs and node.op.name != "read_variable":
                written.add(id(node.attrs["var"]))
            if node.op.effect and "vars" in node.attrs:  # a merged update (fused_assigns)
                written.update(id(var) for var in node.attrs["vars"])
        return written

    @property
    def effect(self) -> bool:
        """True when the node reads or changes state (so passes keep it, in order)."""
        if self.op.effect:
            return True
        return any(g.has_effects() for g in self.subgraphs())

    def __repr__(self) -> str:
        return f"<Node {self.op.name} {self.inputs} -> {self.outputs}>"


def detached_node(op: Op, inputs: Sequence[Value], attrs: dict,
                  specs: Sequence[TensorSpec], where: Any = None) -> Node:
    """A node computing values of types ``specs`` from ``inputs``, in no graph yet: a pass that
    rewrites a graph's node list places it. Usage:
    ``n = detached_node(registry()["exp"], [x], {}, [x.spec], where)``; ``nodes.append(n)``"""
    node = Node(op, inputs, attrs, where)
    node.outputs = [Value(spec, node, i) for i, spec in enumerate(specs)]
    return node


class Graph:
    """A function in SSA form: typed inputs, nodes in program order, outputs.

    Usage: ``print(fn.get_concrete_function(x).graph)``
    """

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self._effects: bool | None = None

    def add_input(self, spec: TensorSpec) -> Value:
        """A new graph input of type ``spec``."""
        value = Value(spec)
        self.inputs.append(value)
        return value

    def add_node(self, op: Op, inputs: Sequence[Value], attrs: dict,
                 specs: Sequence[TensorSpec], where: Any = None) -> Node:
        """Append a node computing values of types ``specs`` from ``inputs``."""
        node = detached_node(op, inputs, attrs, specs, where)
        self.nodes.append(node)
        self._effects = None
        return node

    def has_effects(self) -> bool:
        """True when any node (or nested subgraph) has an effect."""
        if self._effects is None:
            self._effects = any(node.effect for node in self.nodes)
        return self._effects

    def walk(self) -> Iterator[Node]:
        """Every node, including those in subgraphs (depth first, program order)."""
        for node in self.nodes:
            yield node
            for sub in node.subgraphs():
                yield from sub.walk()

    def clone(self) -> "Graph":
        """A copy with fresh values and nodes (subgraphs cloned too): passes may then change
        one without touching the other (Note [Owned subgraphs]).

        Usage: ``branch = graph.clone()``
        """
        copy = Graph(self.name)
        mapping: dict[int, Value] = {}
        for value in self.inputs:
            mapping[value.id] = copy.add_input(value.spec)
        for node in self.nodes:
            attrs = clone_subgraphs(node.attrs)
            new = copy.add_node(node.op, [mapping[v.id] for v in node.inputs], attrs,
                                [v.spec for v in node.outputs], node.where)
            for old, value in zip(node.outputs, new.outputs):
                mapping[old.id] = value
        copy.outputs = [mapping[v.id] for v in self.outputs]
        return copy

    def verify(self, _owned: set | None = None) -> "Graph":
        """Check SSA and typing rules, and that each subgraph belongs to one node; raise
        ``AssertionError`` naming the bad node."""
        owned = set() if _owned is None else _owned
        defined = set()
        for value in self.inputs:
            assert value.node is None, f"{self.name}: input {value} has a defining node"
            defined.add(value.id)
        for node in self.nodes:
            for value in node.inputs:
                assert isinstance(value, Value), f"{node}: input {value!r} is not a Value"
                assert value.id in defined, f"{node}: uses {value} before it is defined"
            for i, value in enumerate(node.outputs):
                assert value.node is node and value.index == i, f"{node}: bad output {value}"
                assert value.id not in defined, f"{node}: redefines {value}"
                assert isinstance(value.spec, TensorSpec), f"{node}: untyped output {value}"
                defined.add(value.id)
            for sub in node.subgraphs():
                assert id(sub) not in owned, f"{node}: subgraph {sub.name} has another owner"
                owned.add(id(sub))
                sub.verify(owned)
        for value in self.outputs:
            assert value.id in defined, f"{self.name}: output {value} is not defined"
        return self

    def __str__(self) -> str:
        from autojit.graph.printer import format_graph

        return format_graph(self)

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes>"


# Note [Owned subgraphs]: passes change subgraphs in place, for their node's context: DCE
# drops the ``cond`` outputs its node does not use from both branches, constant folding
# pastes the node's constant captures into them. So a subgraph must belong to one node only.
# ``cond``/``while_loop`` trace fresh subgraphs; a node copied from another graph (``evaluate``
# while tracing: a VJP recomputing a branch that holds a loop) gets clones of its subgraphs.


def clone_subgraphs(attrs: dict) -> dict:
    """``attrs`` with each subgraph (or tuple of subgraphs) replaced by a clone."""
    if not any(isinstance(v, Graph) or (isinstance(v, tuple) and v and isinstance(v[0], Graph))
               for v in attrs.values()):
        return attrs
    out = {}
    for key, value in attrs.items():
        if isinstance(value, Graph):
            value = value.clone()
        elif isinstance(value, tuple) and value and isinstance(value[0], Graph):
            value = tuple(g.clone() for g in value)
        out[key] = value
    return out


def uses(graph: Graph) -> dict[int, int]:
    """How many times each value id is used by nodes and outputs (subgraph captures count)."""
    counts: dict[int, int] = {}
    for node in graph.nodes:
        for value in node.inputs:
            counts[value.id] = counts.get(value.id, 0) + 1
    for value in graph.outputs:
        counts[value.id] = counts.get(value.id, 0) + 1
    return counts


_SHAPE_OPS = frozenset(("shape", "size", "rank"))


def static_shape_value(node: Node) -> Any:
    """The value of a ``shape``/``size``/``rank`` node whose input shape is fully known (a
    NumPy array of the node's dtype), else None. Usage: ``static_shape_value(node)``"""
    if node.op.name not in _SHAPE_OPS or len(node.inputs) != 1:
        return None
    shape = node.inputs[0].spec.shape
    if shape is None or any(d is None for d in shape):
        return None
    value = {"shape": list(shape), "size": int(np.prod(shape, dtype=np.int64)),
             "rank": len(shape)}[node.op.name]
    return np.asarray(value, dtype=node.outputs[0].spec.dtype)
