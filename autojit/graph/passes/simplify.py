"""Algebraic simplification: rewrite rules that remove work VJPs and users leave behind.

Each rule looks at one node (with inputs already simplified) and returns the value that
replaces its output, or None. A rule fires only when the replacement has exactly the
output's shape and dtype, so no rule changes what a program computes:

* ``x * 1``, ``1 * x``, ``x / 1``, ``x + 0``, ``0 + x``, ``x - 0`` (1 and 0 constants, or
  broadcasts of them) -> ``x``
* ``broadcast_like(x, y)``, ``unbroadcast(g, y)``, ``reshape_like(x, y)``, ``reshape`` to
  the same shape, ``cast`` to the same dtype, ``identity`` -> the input
* ``reshape(reshape(x))`` -> one reshape; ``matrix_transpose(matrix_transpose(x))`` and
  ``negative(negative(x))`` -> ``x``
* ``ones_like(x)`` / ``zeros_like(x)`` of a fully known shape -> a ``ones``/``zeros`` node
  that no longer reads ``x`` (so ``x`` may die early, and folding can see it)
* ``unbroadcast(g, like)`` of known shapes that sums leading axes only, or size-1 axes only
  -> ``reduce_sum`` over them (it no longer reads ``like``; fusion gives it a prologue)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from autojit.graph.ir import Graph, Node, Value
from autojit.graph.passes.rewrite import apply_substitutions, constant_array
from autojit.ops.core import registry
from autojit.ops.shapes import known


def _same_type(a: Value, b: Value) -> bool:
    return (a.spec.dtype == b.spec.dtype and a.spec.shape == b.spec.shape
            and known(a.spec.shape))


def _all_equal(value: Value, number: float) -> bool:
    """True when ``value`` is a constant (or a broadcast of one) that is ``number`` everywhere."""
    node = value.node
    while node is not None and node.op.name in ("broadcast_like", "broadcast_to", "identity"):
        node = node.inputs[0].node
    if node is None:
        return False
    if node.op.name == "constant":
        array = constant_array(node.outputs[0])
        return array.size <= 1024 and bool(np.all(np.asarray(
            getattr(array, "get", lambda: array)()) == number))
    return (node.op.name == "ones_like" and number == 1) or (
        node.op.name == "zeros_like" and number == 0) or (
        node.op.name == "ones" and number == 1) or (node.op.name == "zeros" and number == 0)


# op -> (its neutral element, whether it may stand on the left too): x*1, 1*x, x/1, x+0,
# 0+x, x-0 are x.
_NEUTRAL = {"multiply": (1, True), "divide": (1, False), "add": (0, True),
            "subtract": (0, False)}


def _neutral(node: Node, out: Value) -> Value | None:
    x, y = node.inputs
    number, either_side = _NEUTRAL[node.op.name]
    if _all_equal(y, number) and _same_type(x, out):
        return x
    if either_side and _all_equal(x, number) and _same_type(y, out):
        return y
    return None


def _passthrough(node: Node, out: Value) -> Value | None:
    x = node.inputs[0]
    return x if _same_type(x, out) else None


def _double(node: Node, out: Value) -> Value | None:
    inner = node.inputs[0].node
    if inner is not None and inner.op is node.op:
        x = inner.inputs[0]
        return x if _same_type(x, out) else None
    return None


RULES: dict[str, Callable[[Node, Value], Value | None]] = {
    "multiply": _neutral, "divide": _neutral, "add": _neutral, "subtract": _neutral,
    "broadcast_like": _passthrough, "unbroadcast": _passthrough, "reshape_like": _passthrough,
    "reshape": _passthrough, "cast": _passthrough, "identity": _passthrough,
    "broadcast_to": _passthrough,
    "matrix_transpose": _double, "negative": _double,
}


def _sum_to_known_shape(node: Node, ops: dict) -> None:
    """``unbroadcast(g, like)`` of known shapes as the ``reduce_sum`` it is, so ``like`` is no
    longer read and fusion can give the sum its elementwise prologue (a gradient's
    ``g * x`` summed to a scalar weight is then one kernel)."""
    g, out = node.inputs[0].spec, node.outputs[0].spec
    if g.shape is None or out.shape is None or not known(g.shape) or not known(out.shape) \
            or g.dtype.kind not in "fiu" or len(out.shape) > len(g.shape):
        return
    lead = len(g.shape) - len(out.shape)
    if lead and out.shape != g.shape[lead:]:
        return  # leading axes and size-1 axes both summed: two reductions, left as it is
    if lead:
        axes, keepdims = tuple(range(lead)), False
    else:
        axes = tuple(i for i, (a, b) in enumerate(zip(out.shape, g.shape)) if a == 1 != b)
        keepdims = True
    if not axes:
        return
    node.op = ops["reduce_sum"]
    node.inputs = node.inputs[:1]
    node.attrs = {"axis": axes, "keepdims": keepdims}


def simplify_algebra(graph: Graph) -> Graph:
    """Apply the rewrite rules above. Usage: ``g = simplify_algebra(g)``"""
    ops = registry()
    subst: dict = {}
    kept = []
    for node in graph.nodes:
        node.inputs = [subst.get(v.id, v) for v in node.inputs]
        for sub in node.subgraphs():
            simplify_algebra(sub)
        rule = RULES.get(node.op.name)
        if rule is not None and len(node.outputs) == 1 and not node.effect:
            replacement = rule(node, node.outputs[0])
            if replacement is not None:
                subst[node.outputs[0].id] = replacement
                continue
        if node.op.name == "reshape" and node.inputs[0].node is not None \
                and node.inputs[0].node.op.name == "reshape":
            node.inputs = [node.inputs[0].node.inputs[0]]
        if node.op.name in ("ones_like", "zeros_like") and known(node.outputs[0].spec.shape):
            spec = node.outputs[0].spec
            node.op = ops["ones" if node.op.name == "ones_like" else "zeros"]
            node.inputs = []
            node.attrs = {"shape": spec.shape, "dtype": spec.dtype}
        if node.op.name == "unbroadcast":
            _sum_to_known_shape(node, ops)
        if node.op.name == "broadcast_like" and known(node.outputs[0].spec.shape):
            # ``like`` is read only for its shape: once that is known, stop reading it, so
            # the forward value a VJP broadcast against can die (or never be computed).
            node.op = ops["broadcast_to"]
            node.inputs = node.inputs[:1]
            node.attrs = {"shape": node.outputs[0].spec.shape}
        kept.append(node)
    graph.nodes = kept
    apply_substitutions(graph, subst)
    return graph
