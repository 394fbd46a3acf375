"""Constant folding: pure nodes whose inputs are all constants become constants.

Only small results are folded (``MAX_FOLD`` elements), so folding never turns a cheap
``ones`` of a big shape into a big array held by the graph. Constants a ``cond`` or
``while_loop`` passes into its subgraphs as captures become constants inside them, so
folding and simplification see them there too (a branch's ``g * ones`` disappears).
``shape``, ``size`` and ``rank`` of a value whose static shape is fully known fold too,
whatever the value: ``aj.shape(x)[0]`` then leaves no ``shape`` node in the replay.
"""

from __future__ import annotations

from autojit import backend
from autojit.graph.ir import Graph, static_shape_value
from autojit.graph.passes.rewrite import apply_substitutions, constant_array, is_constant
from autojit.ops.core import registry
from autojit.ops.shapes import size

MAX_FOLD = 1024


def fold_constants(graph: Graph) -> Graph:
    """Evaluate constant subexpressions at trace time. Usage: ``g = fold_constants(g)``"""
    constant_op = registry()["constant"]
    subst: dict = {}
    kept = []
    for node in graph.nodes:
        node.inputs = [subst.get(v.id, v) for v in node.inputs]
        _constants_into_subgraphs(node, constant_op)
        for sub in node.subgraphs():
            fold_constants(sub)
        static = static_shape_value(node)
        if static is not None:
            folded = graph.add_node(constant_op, [], {"value": static},
                                    [node.outputs[0].spec]).outputs[0]
            graph.nodes.pop()  # add_node appended it at the end; place it here instead
            kept.append(folded.node)
            subst[node.outputs[0].id] = folded
            continue
        foldable = (node.op.name != "constant" and not node.effect and not node.subgraphs()
                    and all(is_constant(v) for v in node.inputs)
                    and all(size(o.spec.shape) is not None and size(o.spec.shape) <= MAX_FOLD
                            for o in node.outputs))
        if not foldable:
            kept.append(node)
            continue
        arrays = [constant_array(v) for v in node.inputs]
        if not _values_pass(node, arrays):
            kept.append(node)  # the replay raises the op's error, with the user's line
            continue
        device = backend.device_of_array(arrays[0]) if arrays else backend.CPU
        result = node.op.kernel(device.xp, *arrays, **node.attrs)
        results = result if node.op.multiple else (result,)
        for out, array in zip(node.outputs, results):
            array = device.xp.asarray(array)
            if array.dtype != out.spec.dtype:
                array = array.astype(out.spec.dtype)
            folded = graph.add_node(constant_op, [], {"value": array}, [out.spec]).outputs[0]
            graph.nodes.pop()  # add_node appended it at the end; place it here instead
            kept.append(folded.node)
            subst[out.id] = folded
    graph.nodes = kept
    apply_substitutions(graph, subst)
    return graph


def _values_pass(node, arrays: list) -> bool:
    """False when the op's value check rejects these constants (Note [Value checks])."""
    if node.op.check is None:
        return True
    try:
        node.op.check(node.op.name, *arrays, **node.attrs)
    except Exception:
        return False
    return True


def _captures(node) -> list[tuple[Graph, list]]:
    """(subgraph, [(inner input, outer value)]) for the captured inputs of a control node."""
    if node.op.name == "cond":
        return [(b, list(zip(b.inputs, node.inputs[1:]))) for b in node.attrs["branches"]]
    if node.op.name == "while_loop":
        n = node.attrs["n_vars"]
        return [(g, list(zip(g.inputs[n:], node.inputs[n:])))
                for g in (node.attrs["cond"], node.attrs["body"])]
    return []


def _constants_into_subgraphs(node, constant_op) -> None:
    for sub, pairs in _captures(node):
        subst = {}
        for inner, outer in pairs:
            if is_constant(outer) and inner.id not in subst:
                value = constant_array(outer)
                const = sub.add_node(constant_op, [], {"value": value}, [outer.spec])
                sub.nodes.insert(0, sub.nodes.pop())  # first, before any use
                subst[inner.id] = const.outputs[0]
        apply_substitutions(sub, subst)
