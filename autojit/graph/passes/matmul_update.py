"""``fuse_matmul_updates``: an assignment of a scaled matmul becomes one matmul that
accumulates into the variable, for an executor whose matmul can (cuBLAS's ``beta``).

Note [Matmul updates]: an SGD step updates each weight with ``w -= lr * (x^T @ g)``. After
``fuse_assignments`` that is a matmul writing the weight gradient and a ``fused_assign``
kernel reading it back to update ``w``. cuBLAS computes ``C = alpha * op(A) op(B) + beta *
C``, so with ``C = w``, ``alpha = -lr`` and ``beta = 1`` one call does both: no gradient
array, one kernel less per weight. A ``fused_assign`` qualifies when

* it is ``assign_add`` or ``assign_sub`` of ``c * m``, ``m * c`` or ``m`` itself, ``c`` a 0-d
  constant pasted into its expression and ``m`` a 2-D float matmul of the variable's shape
  and dtype that nothing else reads;
* neither matmul operand may be a view of the variable: the product reads its operands at
  other positions than it writes (``_distinct``: a graph input, another variable's read, or
  the result of an op making a new array, as in Note [Fused assignments]; a read of this
  variable or a view is refused).

The ``matmul_assign`` node sits at the assignment's position (effects keep their order); its
own kernel, for executors without such a matmul, is the matmul and the in-place add.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.graph.ir import Graph, Node, Value, uses
from autojit.graph.passes.fuse import FUSED_ASSIGN, _not_a_view
from autojit.ops.core import defop, registry


def _matmul_assign_kernel(xp: Any, a: Any, b: Any, *, alpha: float, transpose_a: bool,
                          transpose_b: bool, var: Any) -> tuple:
    product = registry()["matmul"].kernel(xp, a, b, transpose_a=transpose_a,
                                          transpose_b=transpose_b)
    buffer = var._array
    xp.add(buffer, xp.multiply(product, buffer.dtype.type(alpha)), out=buffer)
    return ()


def _matmul_assign_rule(name: str, a: Any, b: Any, **attrs: Any) -> list:
    return []


MATMUL_ASSIGN = defop("matmul_assign", ["a", "b"], _matmul_assign_kernel, _matmul_assign_rule,
                      attrs=("alpha", "transpose_a", "transpose_b", "var"), effect=True,
                      multiple=True)
_SIGNS = {"assign_add": 1.0, "assign_sub": -1.0}


def fuse_matmul_updates(graph: Graph) -> Graph:
    """Merge each qualifying ``fused_assign`` of a matmul into one ``matmul_assign`` node
    (Note [Matmul updates]); top-level graph only. Run after ``fuse_assignments``.

    Usage: ``g = fuse_matmul_updates(fuse_assignments(fuse_elementwise(g)))``
    """
    total = uses(graph)
    merged: set[int] = set()
    for node in graph.nodes:
        if node.op is not FUSED_ASSIGN or node.attrs["how"] not in _SIGNS:
            continue
        scale = _scale(node)
        if scale is None:
            continue
        (value,) = node.inputs
        product, var = value.node, node.attrs["var"]
        if (product is None or product.op.name != "matmul" or total.get(value.id) != 1
                or len(value.spec.shape) != 2 or value.spec.shape != tuple(var.shape)
                or value.spec.dtype != var.dtype or var.dtype.name not in ("float32", "float64")
                or not all(_distinct(v, var) for v in product.inputs)):
            continue
        node.op = MATMUL_ASSIGN
        node.attrs = {"alpha": _SIGNS[node.attrs["how"]] * scale,
                      "transpose_a": product.attrs["transpose_a"],
                      "transpose_b": product.attrs["transpose_b"], "var": var}
        node.inputs = list(product.inputs)
        merged.add(id(product))
    if merged:
        graph.nodes = [n for n in graph.nodes if id(n) not in merged]
        graph._effects = None
    return graph


def _scale(node: Node) -> float | None:
    """``c`` when the fused assignment's expression is ``in0 * c`` or ``c * in0`` (``c`` a 0-d
    constant), 1.0 when it is ``in0`` itself; None otherwise."""
    expr = node.attrs["expr"]
    if len(node.inputs) != 1 or len(expr.steps) != 1:
        return None
    (step,) = expr.steps
    if step.op == "identity" and step.args == (("in", 0),):
        return 1.0
    if step.op != "multiply":
        return None
    kinds = {kind for kind, _ in step.args}
    if kinds != {"in", "const"}:
        return None
    const = next(what for kind, what in step.args if kind == "const")
    return float(np.asarray(const))


def _distinct(value: Value, var: Any) -> bool:
    """True when ``value`` cannot share memory with ``var``'s buffer (Note [Matmul
    updates]): not a view (as Note [Fused assignments] decides it, for the top-level graph,
    where Variables arrive as reads, not as inputs), and not ``var``'s own read."""
    node = value.node
    if node is not None and node.op.name == "read_variable" and node.attrs["var"] is var:
        return False
    return _not_a_view(value, set(), top_level=True)


__all__ = ["MATMUL_ASSIGN", "fuse_matmul_updates"]
