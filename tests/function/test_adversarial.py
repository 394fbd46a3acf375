"""Adversarial @aj.function programs checked against running the same Python eagerly:
interactions of loops, conds, Variables, tapes, host scalars and buffer reuse."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj

RNG = np.random.default_rng(0)


def _flat(x):
    return [np.asarray(leaf.numpy() if hasattr(leaf, "numpy") else leaf)
            for leaf in aj.nest.flatten(x)]


def assert_same(graph_result, eager_result, rtol=1e-5, atol=1e-6):
    g, e = _flat(graph_result), _flat(eager_result)
    assert len(g) == len(e)
    for a, b in zip(g, e):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def test_loop_counter_cast_to_float_under_tape_in_function():
    # the reverse loop reads the counter back from the saved stack as a Python int
    def f(x, n):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = x
            for i in aj.range(n):
                y = y + aj.cast(i, aj.float32) * aj.sin(y)
            loss = aj.reduce_sum(y)
        return loss, tape.gradient(loss, x)

    x = aj.constant(RNG.standard_normal(3).astype(np.float32))
    n = aj.constant(3)
    assert_same(aj.function(f)(x, n), f(x, n))


def test_loop_counter_cast_to_float_function_under_eager_tape():
    def f(x, n):
        y = x
        for i in aj.range(n):
            y = y + aj.cast(i, aj.float32) * aj.sin(y)
        return aj.reduce_sum(y)

    x = aj.constant(RNG.standard_normal(3).astype(np.float32))
    grads = []
    for g in (aj.function(f), f):
        with aj.GradientTape() as tape:
            tape.watch(x)
            loss = g(x, aj.constant(3))
        grads.append(tape.gradient(loss, x))
    assert_same(grads[0], grads[1])


def test_stateful_function_with_tensor_loop_under_eager_tape():
    # a function that writes a Variable is replayed op by op under a tape (no recomputation):
    # its while_loop then runs eagerly and must save its iterations as a stack the tape skips
    v = aj.Variable(np.ones(3, np.float32))
    w = aj.Variable(np.full(3, 0.5, np.float32))

    def inner(x):
        v.assign_add(x)
        for _ in aj.range(2):
            v.assign(v * w)
        return aj.reduce_sum(v * x)

    x = aj.constant(RNG.standard_normal(3).astype(np.float32))
    results = []
    for g in (aj.function(inner), inner):
        v.assign(np.ones(3, np.float32))
        with aj.GradientTape() as tape:
            tape.watch(x)
            loss = g(x)
        results.append((loss, tape.gradient(loss, x), v.numpy()))
    assert_same(results[0], results[1])


@pytest.mark.parametrize("use_for", [False, True])
def test_loop_stack_keeps_states_that_alias_a_variable_written_later(use_for):
    # the loop starts from a read of `v` (its buffer); the saved states must not change
    # when `v` is assigned in place after the loop, before the reverse loop reads them
    v = aj.Variable(np.full(3, 2.0, np.float32))

    @aj.function
    def f(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.identity(v)
            if use_for:
                for _ in aj.range(3):
                    y = y * x
            else:
                _, y = aj.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x), (0, y))
            v.assign_add(aj.ones([3]) * 5.0)
            loss = aj.reduce_sum(y)
        return loss, tape.gradient(loss, x)

    x = RNG.standard_normal(3).astype(np.float32)
    for start in (2.0, 7.0):  # the second call starts from the assigned value
        loss, grad = f(aj.constant(x))
        np.testing.assert_allclose(loss.numpy(), np.sum(start * x ** 3), rtol=1e-5)
        np.testing.assert_allclose(grad.numpy(), 3 * start * x ** 2, rtol=1e-5)
