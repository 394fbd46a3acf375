"""Graphs as JSON data and back: what ``aj.saved_model`` writes (Note [Saved graphs]).

Note [Saved graphs]: a graph is written as plain data, never as code or pickles::

    graph := {"name", "inputs": [spec], "nodes": [node], "outputs": [ref]}
    node  := {"op": registered op name, "in": [ref], "attrs": {name: attr},
              "out": [spec], "where": [file, line] | null}
    spec  := [[dim | null, ...] | null, dtype name]

A ``ref`` numbers the graph's values in definition order: its inputs first, then each
node's outputs. An attribute is a JSON scalar, or an object with one tag naming what it
holds: ``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": [[key, value], ...]}``,
``{"slice": [start, stop, step]}``, ``{"ellipsis": 0}``, ``{"dtype": "float32"}``,
``{"scalar": [dtype, value]}`` (a NumPy scalar), ``{"array": n}`` (the ``n``-th array, kept
beside the JSON in the archive), ``{"graph": graph}`` (a branch or loop body),
``{"variable": n}`` (the ``n``-th Variable of the saved object), ``{"spec": spec}``,
``{"index_key": [...]}`` and ``{"slot": n}`` (an index op's key), ``{"device": "CPU:0"}``
and ``{"loop": n}`` (a forward loop's body that its saved-state reads differentiate,
written once however many nodes share it). Reading looks every op up by name in the
registry, so a loaded graph runs the kernels, rules and VJPs of this autojit, and a
graph that names an op this autojit lacks is refused with the op's name.

What cannot be written is an error naming the op, the attribute and the user's line:
Python callables, nested concrete functions, Variables the saved object does not hold,
object arrays. Ops registered in ``SAVE_AS`` are written as the op their converter gives
(``aj.custom_gradient``: its gradient traced into a graph, Note [Saved custom gradients] in
autodiff.py).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from autojit import backend
from autojit.errors import SavedModelError
from autojit.graph.control import _Loop
from autojit.graph.ir import Graph, Node, Value
from autojit.graph.tracer import where_text
from autojit.ops import core
from autojit.ops.core import TensorSpec
from autojit.ops.indexing import IndexKey, Slot

_SCALARS = (bool, int, str, type(None))

# Ops whose attributes hold Python code, with how to write them instead: the op's name ->
# ``convert(node)``, giving the op and attributes to write (registered by the layers that
# can trace that code into graphs: saved_model.py for ``custom_gradient``).
SAVE_AS: dict[str, Callable[[Node], tuple]] = {}


def spec_data(spec: TensorSpec) -> list:
    """A spec as JSON data: ``[[None, 3], "float32"]``."""
    shape = None if spec.shape is None else list(spec.shape)
    return [shape, spec.dtype.name]


def spec_from(data: list) -> TensorSpec:
    """The spec ``spec_data`` wrote."""
    shape, dtype = data
    return TensorSpec(None if shape is None else tuple(shape), np.dtype(dtype))


class GraphWriter:
    """Writes graphs as data; collects the arrays they hold.

    Usage: ``w = GraphWriter(variable_index); data = w.graph(g); w.arrays, w.loops``
    ``variable_index(id(var))`` is the Variable's number in the saved object, or ``None``.
    """

    def __init__(self, variable_index: Callable[[Any], int | None]):
        self._variable_index = variable_index
        self.arrays: list[np.ndarray] = []
        self.loops: list[dict] = []
        self._loop_ids: dict[int, int] = {}
        self._node: Node | None = None
        self._attr = ""

    def graph(self, graph: Graph) -> dict:
        """``graph`` as data (its subgraphs inside)."""
        refs: dict[int, int] = {}
        for value in graph.inputs:
            refs[value.id] = len(refs)
        nodes = []
        for node in graph.nodes:
            inputs = [refs[v.id] for v in node.inputs]
            op, node_attrs = node.op, node.attrs
            if op.name in SAVE_AS:
                op, node_attrs = SAVE_AS[op.name](node)
            attrs = {}
            outer = (self._node, self._attr)  # a subgraph's nodes name themselves in errors
            for name, value in node_attrs.items():
                self._node, self._attr = node, name
                attrs[name] = self.attr(value)
            self._node, self._attr = outer
            for value in node.outputs:
                refs[value.id] = len(refs)
            where = list(node.where) if node.where else None
            nodes.append({"op": op.name, "in": inputs, "attrs": attrs,
                          "out": [spec_data(v.spec) for v in node.outputs], "where": where})
        return {"name": graph.name, "inputs": [spec_data(v.spec) for v in graph.inputs],
                "nodes": nodes, "outputs": [refs[v.id] for v in graph.outputs]}

    def attr(self, value: Any) -> Any:
        """One attribute value as data."""
        if isinstance(value, np.generic):  # before float: np.float64 is a float
            if value.dtype.kind not in "biuf":
                self._refuse(value, f"a NumPy {value.dtype.name} scalar")
            return {"scalar": [value.dtype.name, self.attr(value.item())]}
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, IndexKey):
            return {"index_key": [self.attr(v) for v in value]}
        if isinstance(value, tuple):
            return {"tuple": [self.attr(v) for v in value]}
        if isinstance(value, list):
            return {"list": [self.attr(v) for v in value]}
        if isinstance(value, dict):
            return {"dict": [[self.attr(k), self.attr(v)] for k, v in value.items()]}
        if isinstance(value, slice):
            return {"slice": [self.attr(value.start), self.attr(value.stop),
                              self.attr(value.step)]}
        if value is Ellipsis:
            return {"ellipsis": 0}
        if isinstance(value, np.dtype):
            return {"dtype": value.name}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc":
                self._refuse(value, f"an array of dtype {value.dtype.name}")
            self.arrays.append(value)
            return {"array": len(self.arrays) - 1}
        if isinstance(value, Graph):
            return {"graph": self.graph(value)}
        if isinstance(value, TensorSpec):
            return {"spec": spec_data(value)}
        if isinstance(value, Slot):
            return {"slot": value.index}
        if isinstance(value, backend.Device):
            return {"device": value.name}
        if isinstance(value, _Loop):
            if id(value) not in self._loop_ids:
                self.loops.append({})  # its place first: the body may hold loops of its own
                index = len(self.loops) - 1
                self._loop_ids[id(value)] = index
                self.loops[index] = {"body": self.graph(value.body), "n_vars": value.n_vars}
            return {"loop": self._loop_ids[id(value)]}
        if getattr(value, "_is_variable", False):
            index = self._variable_index(id(value))
            if index is None:
                self._refuse(value, f"Variable {value.name!r}, which the saved object does not "
                                    "hold; make it an attribute of the object (or of a Module "
                                    "it holds) before saving")
            return {"variable": index}
        if callable(value):
            name = getattr(value, "__qualname__", type(value).__name__)
            self._refuse(value, f"the Python callable {name!r} (a saved model holds no Python "
                                "code)")
        self._refuse(value, f"a {type(value).__module__}.{type(value).__qualname__}")

    def _refuse(self, value: Any, what: str) -> None:
        node = self._node
        place = f"`{node.op.name}` (at {where_text(node.where)})" if node else "a graph"
        raise SavedModelError(f"aj.saved_model.save: cannot save {place}: its attribute "
                              f"{self._attr!r} is {what}")


class GraphReader:
    """Reads what ``GraphWriter`` wrote, given its arrays and the loaded Variables.

    Usage: ``r = GraphReader(arrays, variables, loops); graph = r.graph(data)``
    """

    def __init__(self, arrays: list, variables: list, loops: list, where: str):
        self._arrays = arrays
        self._variables = variables
        self._loop_data = loops
        self._loops: dict[int, _Loop] = {}
        self._registry = core.registry()
        self._where = where

    def graph(self, data: dict) -> Graph:
        """The graph ``data`` describes (verified)."""
        graph = Graph(data["name"])
        values: list[Value] = [graph.add_input(spec_from(s)) for s in data["inputs"]]
        for item in data["nodes"]:
            op = self._registry.get(item["op"])
            if op is None:
                raise SavedModelError(f"{self._where}: the saved graph {data['name']!r} uses "
                                      f"the op {item['op']!r}, which this autojit does not "
                                      "define; load it with the autojit that saved it")
            attrs = {name: self.attr(v) for name, v in item["attrs"].items()}
            where = tuple(item["where"]) if item["where"] else None
            node = graph.add_node(op, [values[i] for i in item["in"]], attrs,
                                  [spec_from(s) for s in item["out"]], where)
            values.extend(node.outputs)
        graph.outputs = [values[i] for i in data["outputs"]]
        return graph

    def attr(self, data: Any) -> Any:
        """The attribute value ``GraphWriter.attr`` wrote as ``data``."""
        if not isinstance(data, dict):
            return data
        (tag, body), = data.items()
        if tag == "tuple":
            return tuple(self.attr(v) for v in body)
        if tag == "list":
            return [self.attr(v) for v in body]
        if tag == "dict":
            return {self.attr(k): self.attr(v) for k, v in body}
        if tag == "float":
            return float(body)
        if tag == "slice":
            return slice(*(self.attr(v) for v in body))
        if tag == "ellipsis":
            return Ellipsis
        if tag == "dtype":
            return np.dtype(body)
        if tag == "scalar":
            return np.dtype(body[0]).type(self.attr(body[1]))
        if tag == "array":
            return self._arrays[body]
        if tag == "graph":
            return self.graph(body)
        if tag == "spec":
            return spec_from(body)
        if tag == "index_key":
            return IndexKey(self.attr(v) for v in body)
        if tag == "slot":
            return Slot(body)
        if tag == "device":
            return backend.get_device(body)
        if tag == "variable":
            return self._variables[body]
        if tag == "loop":
            if body not in self._loops:
                loop = self._loop_data[body]
                self._loops[body] = _Loop(self.graph(loop["body"]), loop["n_vars"])
            return self._loops[body]
        raise SavedModelError(f"{self._where}: unknown attribute tag {tag!r} in a saved graph")
