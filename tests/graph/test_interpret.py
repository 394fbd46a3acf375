"""The reference interpreter (``interpret``) and ``evaluate`` (a graph's nodes bound in the
current trace: eager, under a tape, or inlined into another trace)."""

from __future__ import annotations

import numpy as np

import autojit as aj
from autojit.graph.interpret import evaluate, interpret

X = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
W = np.linspace(0.5, 1.5, 12).reshape(3, 4)


def layer(x, w):
    return aj.reduce_sum(aj.tanh(aj.matmul(x, w)) * 2.0, axis=1)


def traced(fn, *args):
    return aj.function(fn, autograph=False).get_concrete_function(*args).graph


def test_interpret_matches_numpy():
    graph = traced(layer, aj.constant(X), aj.constant(W))
    (out,) = interpret(graph, [X, W], np)
    np.testing.assert_allclose(out, np.sum(np.tanh(X @ W) * 2.0, axis=1))


def test_interpret_does_not_write_into_inputs():
    graph = traced(lambda x: -x * 3.0 + x, aj.constant(X))
    x = X.copy()
    interpret(graph, [x], np)
    np.testing.assert_array_equal(x, X)


def test_interpret_reads_are_snapshots():
    v = aj.Variable(2.0)

    def fn():
        old = v * 1.0  # simplified to the read itself
        v.assign(5.0)
        return old, v * 1.0

    graph = traced(fn)
    v.assign(2.0)
    old, new = interpret(graph, [], np)
    assert (float(old), float(new), float(v)) == (2.0, 5.0, 5.0)


def test_interpret_runs_assigns_in_program_order():
    v = aj.Variable(1.0)

    def fn():
        v.assign_add(1.0)
        v.assign(v * 10.0)
        v.assign_sub(3.0)
        return v.read_value()

    graph = traced(fn)
    v.assign(1.0)
    (out,) = interpret(graph, [], np)
    assert float(out) == float(v) == 17.0


def test_evaluate_eagerly_computes_tensors():
    graph = traced(layer, aj.constant(X), aj.constant(W))
    (out,) = evaluate(graph, [aj.constant(X), aj.constant(W)])
    assert isinstance(out, aj.Tensor)
    np.testing.assert_allclose(out.numpy(), layer(aj.constant(X), aj.constant(W)).numpy())


def test_evaluate_under_a_tape_gives_gradients():
    graph = traced(lambda x, w: aj.reduce_sum(layer(x, w)), aj.constant(X), aj.constant(W))
    x, w = aj.constant(X), aj.constant(W)
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        (out,) = evaluate(graph, [x, w])
        reference = aj.reduce_sum(layer(x, w))
    for a, b in zip(tape.gradient(out, [x, w]), tape.gradient(reference, [x, w])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_evaluate_keys_variable_reads_on_the_variable():
    w = aj.Variable(W)
    graph = traced(lambda x: aj.reduce_sum(layer(x, w)), aj.constant(X))
    with aj.GradientTape() as tape:
        (out,) = evaluate(graph, [aj.constant(X)])
    grad = tape.gradient(out, w)
    with aj.GradientTape() as tape:
        reference = aj.reduce_sum(layer(aj.constant(X), w))
    np.testing.assert_allclose(grad.numpy(), tape.gradient(reference, w).numpy(), rtol=1e-12)


def test_evaluate_inside_a_trace_inlines_the_nodes():
    inner = traced(layer, aj.constant(X), aj.constant(W))

    def outer(x, w):
        (y,) = evaluate(inner, [x, w])
        return y * 3.0

    graph = traced(outer, aj.constant(X), aj.constant(W))
    names = [n.op.name for n in graph.nodes]
    assert "matmul" in names and "tanh" in names
    (out,) = interpret(graph, [X, W], np)
    np.testing.assert_allclose(out, 3.0 * np.sum(np.tanh(X @ W) * 2.0, axis=1))
