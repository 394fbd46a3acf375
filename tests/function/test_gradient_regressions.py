"""Regressions for wrong gradients and crashes in compiled functions (issue 7), each checked
against eager execution and central finite differences in float64.

* second (and third) derivatives through tensor loops: reading a loop's saved states is
  differentiable (Note [Higher-order loops] in graph/control.py);
* a value a ``cond``/``while_loop`` captures twice after simplification gets its gradient
  once (Note [Repeated inputs]);
* replay code keeps a buffer alive while ``shape(x)[k]`` reads it (Note [Liveness from
  emitted code] in graph/codegen.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from tests.numeric import numeric_grad

F64 = aj.float64


# ----------------------------------------------------------------------------- loops, 2nd order


def _loop_value(kind: str, x, n):
    """One loop form over ``x`` for ``n`` iterations (tensor control flow under autograph)."""
    v = x
    if kind == "range":
        for _ in aj.range(n):
            v = v * x + aj.sin(v)
    elif kind == "square":
        for _ in aj.range(n):
            v = v * v
    elif kind == "while":
        i = 0
        while i < n:
            v = v * x
            i += 1
    elif kind == "while_loop":
        v = aj.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * x + 1.0), (0, v))[1]
    elif kind == "if_in_loop":
        for _ in aj.range(n):
            if aj.reduce_sum(v) > 0.5:
                v = v * x
            else:
                v = v + x * x
    return aj.reduce_sum(v)


def _numpy_loop(kind: str, x: np.ndarray, n: int) -> float:
    v = x
    for _ in range(n):
        if kind == "range":
            v = v * x + np.sin(v)
        elif kind == "square":
            v = v * v
        elif kind in ("while",):
            v = v * x
        elif kind == "while_loop":
            v = v * x + 1.0
        elif kind == "if_in_loop":
            v = v * x if v.sum() > 0.5 else v + x * x
    return float(np.sum(v))


KINDS = ["range", "square", "while", "while_loop", "if_in_loop"]


def _second_inside(kind):
    def second(x, n):
        with aj.GradientTape() as outer:
            outer.watch(x)
            with aj.GradientTape() as inner:
                inner.watch(x)
                y = _loop_value(kind, x, n)
            g = inner.gradient(y, x)
            weighted = aj.reduce_sum(g * aj.constant([1.0, -0.5], F64))
        return g, outer.gradient(weighted, x)
    return second


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivative_through_loop_inside_function(kind):
    x0 = np.array([1.1, 0.7])
    n = 3
    second = _second_inside(kind)
    compiled = aj.function(second)
    g_eager, h_eager = second(aj.constant(x0, F64), aj.constant(n))
    g_graph, h_graph = compiled(aj.constant(x0, F64), aj.constant(n))
    g_fd = numeric_grad(lambda x: _numpy_loop(kind, x, n), x0)
    h_fd = numeric_grad(lambda x: float(numeric_grad(lambda z: _numpy_loop(kind, z, n), x, 1e-4)
                                        @ np.array([1.0, -0.5])), x0, 1e-4)
    np.testing.assert_allclose(g_eager.numpy(), g_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g_graph.numpy(), g_eager.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_eager.numpy(), h_fd, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(h_graph.numpy(), h_eager.numpy(), rtol=1e-12, atol=1e-12)


def test_issue_reproducer_second_derivative():
    def second(x, n):
        with aj.GradientTape() as outer:
            outer.watch(x)
            with aj.GradientTape() as inner:
                inner.watch(x)
                v = x
                for _ in aj.range(n):
                    v = v * x
            g = inner.gradient(v, x)
        return g, outer.gradient(g, x)

    x, n = aj.constant(1.4, dtype=F64), aj.constant(1)
    g, h = aj.function(second)(x, n)
    assert float(g) == pytest.approx(2.8) and float(h) == pytest.approx(2.0)


def test_second_derivative_through_row_loop():
    def rows(xs):
        with aj.GradientTape() as outer:
            outer.watch(xs)
            with aj.GradientTape() as inner:
                inner.watch(xs)
                acc = aj.constant(1.0, dtype=F64)
                for r in xs:
                    acc = acc * aj.reduce_sum(r) + aj.reduce_sum(r * r)
            g = inner.gradient(acc, xs)
            total = aj.reduce_sum(g * g)
        return outer.gradient(total, xs)

    def numpy_grad(xs):
        def f(z):
            acc = 1.0
            for r in z:
                acc = acc * r.sum() + (r * r).sum()
            return acc
        return numeric_grad(f, xs, 1e-5)

    x0 = np.arange(6.0).reshape(3, 2) / 5
    want = numeric_grad(lambda z: float(np.sum(numpy_grad(z) ** 2)), x0, 1e-4)
    got = aj.function(rows)(aj.constant(x0, F64)).numpy()
    np.testing.assert_allclose(rows(aj.constant(x0, F64)).numpy(), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got, rows(aj.constant(x0, F64)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivative_of_function_called_under_eager_tapes(kind):
    compiled = aj.function(lambda x, n: _loop_value(kind, x, n))
    x0 = np.array([1.1, 0.7])
    results = []
    for fn in (lambda x, n: _loop_value(kind, x, n), compiled):
        x = aj.constant(x0, F64)
        with aj.GradientTape() as t2:
            t2.watch(x)
            with aj.GradientTape() as t1:
                t1.watch(x)
                y = fn(x, aj.constant(3))
            g = t1.gradient(y, x)
        results.append((g.numpy(), t2.gradient(g, x).numpy()))
    (g_eager, h_eager), (g_graph, h_graph) = results
    np.testing.assert_allclose(g_graph, g_eager, rtol=1e-12)
    np.testing.assert_allclose(h_graph, h_eager, rtol=1e-12)
    h_fd = numeric_grad(lambda x: float(np.sum(numeric_grad(
        lambda z: _numpy_loop(kind, z, 3), x, 1e-4))), x0, 1e-4)
    np.testing.assert_allclose(h_eager, h_fd, rtol=1e-4, atol=1e-4)


def test_third_derivative_through_loop():
    def third(x, n):
        with aj.GradientTape() as t3:
            t3.watch(x)
            with aj.GradientTape() as t2:
                t2.watch(x)
                with aj.GradientTape() as t1:
                    t1.watch(x)
                    v = x
                    for _ in aj.range(n):
                        v = v * x
                    v = aj.reduce_sum(v)
                g1 = t1.gradient(v, x)
            g2 = t2.gradient(g1, x)
        return t3.gradient(g2, x)

    x = aj.constant([1.1, 0.7], F64)
    want = 24 * x.numpy()  # d3/dx3 of x**4
    np.testing.assert_allclose(third(x, aj.constant(3)).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(aj.function(third)(x, aj.constant(3)).numpy(), want, rtol=1e-12)


# ----------------------------------------------------------------------------- repeated captures

ALIASES = {
    "times_one": lambda x: x * 1.0,
    "identity": aj.identity,
    "plus_zero": lambda x: x + 0.0,
    "reshape": lambda x: aj.reshape(x, [2]),
    "broadcast_to": lambda x: aj.broadcast_to(x, [2]),
}


@pytest.mark.parametrize("alias", sorted(ALIASES))
@pytest.mark.parametrize("construct", ["cond", "while_loop"])
def test_value_captured_twice_after_simplification(alias, construct):
    make = ALIASES[alias]

    def f(x):
        a = make(x)
        if construct == "cond":
            return aj.cond(aj.reduce_sum(x) > 0, lambda: a * x, lambda: x)
        return aj.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * a + x), (0, x))[1]

    def numpy_f(x):
        if construct == "cond":
            return x * x if x.sum() > 0 else x
        v = x
        for _ in range(2):
            v = v * x + x
        return v

    x0 = np.array([0.5, 1.0])
    want = numeric_grad(lambda z: float(np.sum(numpy_f(z))), x0)
    for fn in (f, aj.function(f)):
        x = aj.constant(x0, F64)
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-6)


def test_same_tensor_passed_twice_to_a_function_under_a_tape():
    f = aj.function(lambda a, b: aj.reduce_sum(a * b + aj.sin(a)))
    x = aj.constant([0.5, 1.0], F64)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = f(x, x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2 * x.numpy() + np.cos(x.numpy()))


# ----------------------------------------------------------------------------- liveness


def test_buffer_read_by_shape_item_is_not_deleted_first():
    @aj.function
    def f(x):
        h = aj.sqrt(x)
        return x * aj.cast(aj.shape(h)[0], F64)

    x = aj.constant([1.0, 2.0, 3.0], F64)
    np.testing.assert_allclose(f(x).numpy(), x.numpy() * 3)


def test_loop_bound_from_shape_item():
    @aj.function
    def f(x):
        h = aj.sqrt(x)
        acc = aj.constant(0.0, F64)
        for t in aj.range(aj.shape(h)[0]):
            acc += x[t]
        return acc

    assert float(f(aj.constant([1.0, 2.0, 3.0], F64))) == 6.0
