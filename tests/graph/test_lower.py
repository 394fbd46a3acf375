"""``lower_composites``: last-axis ``one_hot`` of int indices as fusable nodes, with the op's
results (indices outside the depth included), and absorbed by the fused kernel reading it."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.interpret import interpret
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSED
from autojit.graph.passes.lower import lower_composites


def graph_of(fn, *args):
    return aj.function(fn, autograph=False).get_concrete_function(*args).graph


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("on, off, out", [(1, 0, aj.float32), (2.5, -1.0, aj.float64),
                                          (1, 0, aj.int32)])
def test_one_hot_lowered_equals_the_op(dtype, on, off, out):
    def f(labels):
        return aj.one_hot(labels, 5, on_value=on, off_value=off, dtype=out)

    labels = np.array([[0, 4, -1], [7, 2, 5]], dtype)  # -1, 7 and 5 lie outside the depth
    graph = graph_of(f, aj.constant(labels))
    lowered = lower_composites(graph.clone()).verify()
    assert "one_hot" not in [n.op.name for n in lowered.walk()]
    (want,) = interpret(graph, [labels], np)
    (got,) = interpret(lowered, [labels], np)
    assert got.dtype == want.dtype and got.shape == (2, 3, 5)
    np.testing.assert_array_equal(got, want)


def test_a_lowered_one_hot_joins_the_fused_kernel_that_reads_it():
    def grad(labels, logits):  # the sparse cross-entropy's gradient: softmax - one_hot
        with aj.GradientTape() as tape:
            tape.watch(logits)
            loss = aj.reduce_sum(aj.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return tape.gradient(loss, logits)

    labels, logits = np.array([0, 3, 1], np.int32), np.random.default_rng(0).normal(size=(3, 4))
    graph = graph_of(grad, aj.constant(labels), aj.constant(logits))
    fused = fuse_elementwise(lower_composites(graph.clone())).verify()
    steps = [s.op for n in fused.walk() if n.op is FUSED for s in n.attrs["expr"].steps]
    assert "equal" in steps and "cast" in steps, str(fused)
    np.testing.assert_allclose(interpret(fused, [labels, logits], np)[0],
                               interpret(graph, [labels, logits], np)[0], rtol=1e-12)


def test_one_hot_along_another_axis_stays():
    graph = graph_of(lambda i: aj.one_hot(i, 3, axis=0), aj.constant(np.array([0, 2], np.int32)))
    assert "one_hot" in [n.op.name for n in lower_composites(graph.clone()).walk()]


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_lowered_is_the_ops_own_arithmetic(op, axis, dtype):
    fn = getattr(aj.nn, op)
    x = np.random.default_rng(1).normal(size=(3, 4, 5)).astype(dtype) * 3
    x[0, 1, 2] = -np.inf  # a masked logit
    graph = graph_of(lambda t: fn(t, axis=axis), aj.constant(x))
    lowered = lower_composites(graph.clone()).verify()
    assert op not in [n.op.name for n in lowered.walk()]
    with np.errstate(invalid="ignore"):
        (want,) = interpret(graph, [x], np)
        (got,) = interpret(lowered, [x], np)
    np.testing.assert_array_equal(got, want)  # the same operations in the same order


def test_softmax_of_an_unknown_or_empty_shape_stays():
    unknown = aj.function(aj.nn.softmax, input_signature=[aj.TensorSpec([None, 3])])
    empty = graph_of(aj.nn.softmax, aj.constant(np.ones((2, 0), np.float32)))
    for graph in (unknown.get_concrete_function().graph, empty):
        assert "softmax" in [n.op.name for n in lower_composites(graph.clone()).walk()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [(6,), (2, 3)])
def test_sparse_cross_entropy_lowered_is_the_ops_values_and_keeps_its_check(dtype, batch):
    from autojit.errors import InvalidArgumentError

    rng = np.random.default_rng(2)
    logits = (rng.normal(size=batch + (5,)) * 4).astype(dtype)
    labels = rng.integers(0, 5, batch).astype(np.int32)
    flat = logits.reshape(-1, 5)
    flat[0, (labels.reshape(-1)[0] + 1) % 5] = -np.inf  # a masked logit (not the label's)

    def f(labels, logits):
        return aj.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)

    graph = graph_of(f, aj.constant(labels), aj.constant(logits))
    lowered = lower_composites(graph.clone()).verify()
    names = [n.op.name for n in lowered.walk()]
    assert "sparse_softmax_cross_entropy_with_logits" not in names and "label_check" in names
    (want,) = interpret(graph, [labels, logits], np)
    (got,) = interpret(lowered, [labels, logits], np)
    np.testing.assert_array_equal(got, want)
    bad = labels.copy()
    bad.reshape(-1)[-1] = 7
    for g in (graph, lowered):  # the same error, from the op's check or the kept one
        with pytest.raises(InvalidArgumentError,
                           match="sparse_softmax_cross_entropy_with_logits: label 7 is out of "
                                 "range for 5 classes; expected 0 <= label < 5"):
            interpret(g, [bad, logits], np)
