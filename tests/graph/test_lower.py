"""``lower_one_hot``: last-axis ``one_hot`` of int indices as fusable nodes, with the op's
results (indices outside the depth included), and absorbed by the fused kernel reading it."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.interpret import interpret
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSED
from autojit.graph.passes.lower import lower_one_hot


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
    lowered = lower_one_hot(graph.clone()).verify()
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
    fused = fuse_elementwise(lower_one_hot(graph.clone())).verify()
    steps = [s.op for n in fused.walk() if n.op is FUSED for s in n.attrs["expr"].steps]
    assert "equal" in steps and "cast" in steps, str(fused)
    np.testing.assert_allclose(interpret(fused, [labels, logits], np)[0],
                               interpret(graph, [labels, logits], np)[0], rtol=1e-12)


def test_one_hot_along_another_axis_stays():
    graph = graph_of(lambda i: aj.one_hot(i, 3, axis=0), aj.constant(np.array([0, 2], np.int32)))
    assert "one_hot" in [n.op.name for n in lower_one_hot(graph.clone()).walk()]
