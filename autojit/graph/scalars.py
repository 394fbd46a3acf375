"""Host scalars: which 0-d integer/bool values replay can keep as Python ints and bools.

Loop counters, their bounds and the tests on them (``i + 1``, ``i < n``) are 0-d int/bool
tensors in the graph. As NumPy 0-d arrays each such op costs about half a microsecond (and
on a GPU a device round trip per test); as Python values, a few tens of nanoseconds. So
codegen emits them as Python arithmetic when it is safe:

A value is a host scalar when it is 0-d int32/int64/bool and is: a constant; ``len`` of a
while loop's saved stack; ``shape(x)[k]``; the result of an op in ``PYTHON_EXPR`` whose
inputs are all host scalars; a loop variable whose initial value and body result both are;
a ``cond`` result both branches give as one; a subgraph input whose outer value is; or a
state a reverse loop reads back (``stack_get``) from a loop variable that is. Everything
else stays an array. The analysis is the greatest fixpoint of those rules (assume every
candidate is one, drop those that break a rule, repeat).

Where a host scalar meets an op that needs an array, codegen converts it
(``xp.asarray(v, dtype=...)``); the inputs ``INT_ARGUMENTS`` names are passed as Python
ints (their kernels and checks call ``int()`` themselves), and those ``SCALAR_ARGUMENTS``
names as they are (their kernels hand them to a ufunc, which takes a Python scalar: on a GPU
a kernel argument, where a 0-d array would be a fill kernel of its own).
Python ints do not wrap around at 2**31 as int32 does, so the results of ``WRAPPING`` ops
are wrapped to their dtype's range (``(v + 2**31) % 2**32 - 2**31``, a few tens of
nanoseconds): ``m = m * 4`` in a tensor loop overflows as the array op does.
"""

from __future__ import annotations

import numpy as np

from autojit.graph.ir import Graph, Node, Value

PYTHON_EXPR = {
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}",
    "floordiv": "{0} // {1}", "mod": "{0} % {1}", "negative": "-{0}",
    "less": "{0} < {1}", "less_equal": "{0} <= {1}", "greater": "{0} > {1}",
    "greater_equal": "{0} >= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
    "logical_and": "({0} and {1})", "logical_or": "({0} or {1})", "logical_not": "(not {0})",
    "maximum": "max({0}, {1})", "minimum": "min({0}, {1})", "identity": "{0}",
}
WRAPPING = frozenset({"add", "subtract", "multiply", "negative"})  # may leave the range
WRAPS = {np.dtype("int32"): 32, np.dtype("int64"): 64}  # dtype -> bits
# op -> the positions of its inputs whose kernel and value check call int() on them, so a
# host scalar goes in as a Python int. Only those: tensor_array_write's ``value`` may be a
# 0-d host scalar too (``ta.write(i, i * 2)``), and its kernel and check read value.shape.
INT_ARGUMENTS: dict[str, frozenset[int]] = {
    "stack_get": frozenset({0, 1}), "index_at": frozenset({1}), "index_at_grad": frozenset({2}),
    "tensor_array_read": frozenset({1}), "tensor_array_write": frozenset({1}),
    "tensor_array_write_grad": frozenset({1}), "tensor_array_zeros": frozenset({0}),
}
# op -> positions whose kernel passes the input to a ufunc (``xp.add(buffer, value,
# out=buffer)``): a Python int or bool does as well as a 0-d array of the same dtype there (an
# assignment's value has the variable's dtype, and a Python scalar is weak: it keeps it).
SCALAR_ARGUMENTS: dict[str, frozenset[int]] = {
    "assign_add": frozenset({0}), "assign_sub": frozenset({0}),
}
_TYPES = (np.dtype("int32"), np.dtype("int64"), np.dtype("bool"))


def _candidate(value: Value) -> bool:
    return value.spec.shape == () and value.spec.dtype in _TYPES


def shape_item(node: Node) -> tuple | None:
    """For ``shape(x)[k]`` (a ``getitem`` with one int key on a ``shape`` node): (x, k)."""
    if node.op.name != "getitem" or not node.inputs:
        return None
    source = node.inputs[0].node
    key = node.attrs.get("key")
    if source is None or source.op.name != "shape" or not isinstance(key, tuple) \
            or len(key) != 1 or type(key[0]) is not int:
        return None
    return source.inputs[0], key[0]


def host_scalars(graph: Graph) -> set[int]:
    """Ids of the values (in ``graph`` and its subgraphs) replay keeps as Python scalars."""
    graphs = _graphs(graph)
    host = {v.id for g in graphs for v in _values(g) if _candidate(v)}
    for value in graph.inputs:
        host.discard(value.id)
    outer = _captured_from(graph)
    changed = True
    while changed:
        changed = False
        for g in graphs:
            for node in g.nodes:
                for value in _breaking(node, host, outer):
                    host.discard(value.id)
                    changed = True
    return host


def _graphs(graph: Graph) -> list[Graph]:
    found = [graph]
    for node in graph.walk():
        found.extend(node.subgraphs())
    return found


def _captured_from(graph: Graph) -> dict[int, Value]:
    """Subgraph input id -> the value the enclosing node passes in for it (a capture; for a
    while loop's variables, the initial value)."""
    outer: dict[int, Value] = {}
    for node in graph.walk():
        if node.op.name == "cond":
            for branch in node.attrs["branches"]:
                outer.update((inner.id, v) for inner, v in zip(branch.inputs, node.inputs[1:]))
        elif node.op.name == "while_loop":
            for sub in (node.attrs["body"], node.attrs["cond"]):
                outer.update((inner.id, v) for inner, v in zip(sub.inputs, node.inputs))
    return outer


def _values(graph: Graph):
    yield from graph.inputs
    for node in graph.nodes:
        yield from node.outputs


def _breaking(node: Node, host: set, outer: dict) -> list[Value]:
    """The outputs (and subgraph inputs) of ``node`` now known not to be host scalars."""
    name = node.op.name
    ins = [v.id in host for v in node.inputs]
    outs = [v for v in node.outputs if v.id in host]
    if name == "constant":
        return [v for v in outs if node.attrs["value"].size != 1]
    if name == "stack_len":
        return []
    if name in PYTHON_EXPR:
        return [] if all(ins) else outs
    if shape_item(node) is not None:
        return []
    if name == "stack_get":
        stack = node.inputs[0]
        while stack.node is None and stack.id in outer:  # a stack captured by a reverse loop
            stack = outer[stack.id]
        loop = stack.node  # the forward while_loop that saved the states
        body_inputs = (loop.attrs["body"].inputs
                       if loop is not None and loop.op.name == "while_loop" else [])
        return [v for i, v in enumerate(node.outputs)
                if v.id in host and (i >= len(body_inputs) or body_inputs[i].id not in host)]
    if name == "cond":
        broken = []
        branches = node.attrs["branches"]
        for i, v in enumerate(node.outputs):
            if v.id in host and not all(b.outputs[i].id in host for b in branches):
                broken.append(v)
        for branch in branches:  # captures: inputs 1.. of the node
            broken += [inner for inner, outer in zip(branch.inputs, node.inputs[1:])
                       if inner.id in host and outer.id not in host]
        return broken
    if name == "while_loop":
        n = node.attrs["n_vars"]
        body, test = node.attrs["body"], node.attrs["cond"]
        broken = []
        for k in range(n):
            ok = ins[k] and body.outputs[k].id in host
            for v in (node.outputs[k], body.inputs[k], test.inputs[k]):
                if v.id in host and not ok:
                    broken.append(v)
        for graph in (body, test):
            for inner, outer in zip(graph.inputs[n:], node.inputs[n:]):
                if inner.id in host and outer.id not in host:
                    broken.append(inner)
        return broken
    return outs
