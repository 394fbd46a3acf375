"""``lower_composites``: ops whose kernels are several array operations, written as the graph
nodes they are, for an executor that fuses.

On the GPU an op costs a kernel launch per array operation its own kernel makes. Written as
graph nodes, those operations join the fused kernels around them:

* ``one_hot`` (a comparison against ``arange``, a cast, a copy) becomes
  ``cast(equal(expand_dims(indices), arange(depth)))`` (``where`` for other on/off values):
  it joins the fused kernel that reads it (the softmax cross-entropy's gradient subtracts
  it) and costs no launch of its own. Along the last axis of int32/int64 indices only;
  indices outside ``[0, depth)`` still give rows of ``off_value``.
* ``softmax`` (five operations) becomes ``e = exp(x - max(x)); e / sum(e)`` and
  ``log_softmax`` ``d = x - max(x); d - log(sum(exp(d)))``, the same operations in the
  same order as their kernels: the divide (or subtract) joins what follows, the log the sum.
  For a known, non-empty shape only (the max of nothing is the op's own error).
* ``sparse_softmax_cross_entropy_with_logits`` becomes ``log(sum(exp(d))) - sum(where(
  one_hot, d, 0))`` with ``d = logits - max(logits)``, the label's entry picked by the
  lowered one-hot comparison instead of a gather (the same values: a sum of one entry and
  zeros), and its label check kept as a ``label_check`` node (an effect, with the op's own
  message).

The GPU executor runs this before fusion; the CPU keeps the ops (one NumPy call per array
operation either way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.graph.ir import Graph, Node, Value, detached_node
from autojit.graph.passes.rewrite import apply_substitutions
from autojit.ops.core import TensorSpec, defop, registry
from autojit.ops.indexing import check_index_range


def _node(op: str, inputs: list, attrs: dict, spec: TensorSpec, where: Any) -> Node:
    return detached_node(registry()[op], inputs, attrs, [spec], where)


def _constant(array: np.ndarray, where: Any) -> Node:
    return _node("constant", [], {"value": array}, TensorSpec(array.shape, array.dtype), where)


def lower_composites(graph: Graph) -> Graph:
    """Rewrite ``one_hot``, ``softmax``, ``log_softmax`` and the sparse cross-entropy into
    fusable nodes where they qualify (subgraphs too).

    Usage: ``g = fuse_elementwise(lower_composites(g.clone()))`` (the GPU executor does this)
    """
    subst: dict[int, Value] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        for sub in node.subgraphs():
            lower_composites(sub)
        rule = _RULES.get(node.op.name)
        lowered = rule(node) if rule is not None else None
        if lowered is None:
            nodes.append(node)
            continue
        nodes.extend(lowered)
        subst[node.outputs[0].id] = lowered[-1].outputs[0]
    graph.nodes = nodes
    apply_substitutions(graph, subst)
    graph._effects = None  # a lowered cross-entropy adds an effect (its label check)
    return graph


def _one_hot(node: Node) -> list[Node] | None:
    (indices,) = node.inputs
    attrs, out = node.attrs, node.outputs[0].spec
    shape = indices.spec.shape
    if (shape is None or None in shape or indices.spec.dtype.name not in ("int32", "int64")
            or attrs["axis"] != len(shape) or out.shape is None):
        return None
    where, depth, dtype = node.where, attrs["depth"], out.dtype
    made = _hot(indices, depth, where)
    hot = made[-1]
    if attrs["on_value"] == 1 and attrs["off_value"] == 0:
        made.append(_node("cast", [hot.outputs[0]], {"dtype": dtype}, out, where))
        return made
    on = _constant(np.asarray(attrs["on_value"], dtype), where)
    off = _constant(np.asarray(attrs["off_value"], dtype), where)
    made += [on, off, _node("where", [on.outputs[0], off.outputs[0], hot.outputs[0]], {},
                            out, where)]
    return made


def _hot(indices: Value, depth: int, where: Any) -> list[Node]:
    """``expand_dims(indices, -1) == arange(depth)``: the nodes, the comparison last."""
    shape, dtype = indices.spec.shape, indices.spec.dtype
    positions = _constant(np.arange(depth, dtype=dtype), where)
    column = _node("expand_dims", [indices], {"axis": len(shape)},
                   TensorSpec(shape + (1,), dtype), where)
    hot = _node("equal", [column.outputs[0], positions.outputs[0]], {},
                TensorSpec(shape + (depth,), np.dtype(np.bool_)), where)
    return [positions, column, hot]


def _shifted_exp(x: Value, axis: int, where: Any) -> list[Node]:
    """``d = x - max(x, axis, keepdims)`` and ``exp(d)``: the nodes, in that order."""
    shape, spec = x.spec.shape, x.spec
    kept = TensorSpec(tuple(1 if i == axis else d for i, d in enumerate(shape)), spec.dtype)
    top = _node("reduce_max", [x], {"axis": (axis,), "keepdims": True}, kept, where)
    shifted = _node("subtract", [x, top.outputs[0]], {}, spec, where)
    return [top, shifted, _node("exp", [shifted.outputs[0]], {}, spec, where)]


def _softmax(node: Node) -> list[Node] | None:
    (x,) = node.inputs
    shape, axis = x.spec.shape, node.attrs["axis"]
    if shape is None or None in shape or not all(shape) or x.spec.dtype.kind != "f":
        return None
    where, spec = node.where, x.spec
    top, shifted, e = _shifted_exp(x, axis, where)
    kept = top.outputs[0].spec
    total = _node("reduce_sum", [e.outputs[0]], {"axis": (axis,), "keepdims": True}, kept,
                  where)
    if node.op.name == "softmax":
        return [top, shifted, e, total,
                _node("divide", [e.outputs[0], total.outputs[0]], {}, spec, where)]
    log_total = _node("log", [total.outputs[0]], {}, kept, where)
    return [top, shifted, e, total, log_total,
            _node("subtract", [shifted.outputs[0], log_total.outputs[0]], {}, spec, where)]


def _label_check(name: str, labels: Any, *, classes: int) -> None:
    check_index_range(XENT, labels, classes, lambda: f"{classes} classes", negative=False,
                      noun="label")


XENT = "sparse_softmax_cross_entropy_with_logits"
# The sparse cross-entropy's label check, kept when the op is written as its arithmetic: an
# effect, so no pass removes it, with the op's own message (and deferred on the GPU).
LABEL_CHECK = defop("label_check", ["labels"], lambda xp, labels, *, classes: (),
                    lambda name, labels, *, classes: [], attrs=("classes",), effect=True,
                    multiple=True, check=_label_check)


def _sparse_xent(node: Node) -> list[Node] | None:
    labels, logits = node.inputs
    shape, out = logits.spec.shape, node.outputs[0].spec
    if (shape is None or None in shape or not all(shape) or logits.spec.dtype.kind != "f"
            or labels.spec.dtype.name not in ("int32", "int64")
            or labels.spec.shape != shape[:-1]):
        return None
    where, spec, classes, last = node.where, logits.spec, shape[-1], len(shape) - 1
    check = detached_node(LABEL_CHECK, [labels], {"classes": classes}, [], where)
    shifting = _shifted_exp(logits, last, where)
    shifted, e = shifting[1], shifting[2]
    over = {"axis": (last,), "keepdims": False}
    total = _node("reduce_sum", [e.outputs[0]], over, out, where)
    log_total = _node("log", [total.outputs[0]], {}, out, where)
    one_hot = _hot(labels, classes, where)
    zero = _constant(np.zeros((), spec.dtype), where)
    # the label's entry alone (a where, not a product: 0 * -inf of a masked logit is NaN)
    only = _node("where", [shifted.outputs[0], zero.outputs[0], one_hot[-1].outputs[0]], {},
                 spec, where)
    picked = _node("reduce_sum", [only.outputs[0]], over, out, where)
    return [check, *shifting, total, log_total, *one_hot, zero, only, picked,
            _node("subtract", [log_total.outputs[0], picked.outputs[0]], {}, out, where)]


_RULES = {"one_hot": _one_hot, "softmax": _softmax, "log_softmax": _softmax,
          XENT: _sparse_xent}

__all__ = ["LABEL_CHECK", "lower_composites"]
