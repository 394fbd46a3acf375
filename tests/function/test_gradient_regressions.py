"""Regressions for wrong gradients and crashes in compiled functions (issue 7), each checked
against eager execution and central finite differences in float64.

* second (and third) derivatives through tensor loops: reading a loop's saved states is
  differentiable (Note [Higher-order loops] in graph/control.py);
* a value a ``cond``/``while_loop`` captures twice after simplification gets its gradient
  once (Note [Repeated inputs]);
* replay code keeps a buffer alive while ``shape(x)[k]`` reads it (Note [Liveness from
  emitted code] in graph/codegen.py);
* second order with respect to Variables and captured eager tensors inside a function,
  also read inside tensor control flow (Note [Tape keys while tracing] in graph/tracer.py);
* an assign between a function's forward pass under a tape and the gradient (Note
  [Gradients across functions]);
* an ``input_signature`` spec of unknown rank (one trace per rank).
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


# ----------------------------------------------- Variables and captured tensors, 2nd order
# Note [Tape keys while tracing]: a VJP computes with the stand-in for a Variable (its read)
# or a captured eager tensor (its constant); an outer tape must see that as the object.

W0 = np.array([[1.0, 2.0], [3.0, -1.0]])
X0 = np.array([[0.5, -0.25]])


def _penalty_grad(W, x):
    with aj.GradientTape() as outer:
        outer.watch(W)  # a Variable is watched anyway; a captured tensor needs it
        with aj.GradientTape() as inner:
            inner.watch(x)
            y = aj.reduce_sum(aj.sin(aj.matmul(x, W)))
        gx = inner.gradient(y, x)
        penalty = aj.reduce_sum(gx * gx)
    return outer.gradient(penalty, W)


def _penalty_numpy(W, x):
    gx = np.cos(x @ W) @ W.T
    return float(np.sum(gx * gx))


def _fd(fn, w, eps=1e-6):
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = eps
        grad[i] = (fn(w + step) - fn(w - step)) / (2 * eps)
    return grad


@pytest.mark.parametrize("wrap", ["eager", "function"])
@pytest.mark.parametrize("kind", ["variable", "captured tensor"])
def test_gradient_penalty_wrt_weights(kind, wrap):
    x = aj.constant(X0, F64)
    W = aj.Variable(W0, dtype=F64) if kind == "variable" else aj.constant(W0, F64)

    def step(x):
        return _penalty_grad(W, x)

    got = (step if wrap == "eager" else aj.function(step))(x)
    want = _fd(lambda w: _penalty_numpy(w, X0), W0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("flow", ["plain", "cond", "map_fn", "while"])
@pytest.mark.parametrize("kind", ["variable", "captured tensor"])
def test_hessian_vector_product_wrt_read_values(kind, flow):
    """d/dw of d/dw sum(x * w**3), w a Variable or a watched eager tensor, also read inside
    tensor control flow (a subgraph captures it) in the function."""
    w0 = np.array([1.0, -2.0, 0.5])
    xs = aj.constant([0.3, 0.7, -1.1], F64)
    w = aj.Variable(w0, dtype=F64) if kind == "variable" else aj.constant(w0, F64)

    def value(x):
        if flow == "cond":
            return aj.cond(aj.reduce_sum(x) < 10.0, lambda: aj.reduce_sum(x * w * w * w),
                           lambda: aj.reduce_sum(w))
        if flow == "map_fn":
            return aj.reduce_sum(aj.map_fn(lambda v: v[0] * v[1] ** 3, aj.stack([x, w], 1)))
        if flow == "while":
            total = aj.constant(0.0, F64)
            for _ in aj.range(2):
                total += 0.5 * aj.reduce_sum(x * w * w * w)
            return total
        return aj.reduce_sum(x * w * w * w)

    def hvp(x):
        with aj.GradientTape() as outer:
            outer.watch(w)
            with aj.GradientTape() as inner:
                inner.watch(w)
                y = value(x)
            g = inner.gradient(y, w)
        return outer.gradient(g, w)

    want = 6 * xs.numpy() * w0  # d2/dw2 of x w^3
    np.testing.assert_allclose(hvp(xs).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(aj.function(hvp)(xs).numpy(), want, rtol=1e-12)


# --------------------------------------------- assigns between a function's forward and VJP
# Note [Gradients across functions]: the backward reads the values the forward saw.


@pytest.mark.parametrize("order", [1, 2])
def test_assign_after_a_function_call_under_a_tape(order):
    v0, x0 = np.array([1.0, 2.0]), np.array([0.3, -0.7])
    v = aj.Variable(v0, dtype=F64)
    x = aj.constant(x0, F64)
    f = aj.function(lambda x: aj.reduce_sum(aj.sin(v * x)))
    with aj.GradientTape(persistent=True) as outer:
        with aj.GradientTape(persistent=True) as t:
            t.watch(x)
            y = f(x)
        v.assign([10.0, -5.0])
        dx, dv = t.gradient(y, [x, v])
    if order == 1:
        np.testing.assert_allclose(dx.numpy(), v0 * np.cos(v0 * x0), rtol=1e-12)
        np.testing.assert_allclose(dv.numpy(), x0 * np.cos(v0 * x0), rtol=1e-12)
    else:
        v.assign([-3.0, 0.25])
        dvv = outer.gradient(dv, v)
        np.testing.assert_allclose(dvv.numpy(), -x0 ** 2 * np.sin(v0 * x0), rtol=1e-12)
    del outer


# ------------------------------------------------------------- unknown-rank input_signature


def test_unknown_rank_input_signature_traces_per_rank():
    @aj.function(input_signature=[aj.TensorSpec(None, F64), aj.TensorSpec(None, F64)])
    def grad(a, b):
        with aj.GradientTape() as tape:
            tape.watch(a)
            y = aj.reduce_sum(aj.sin(a * b))
        return tape.gradient(y, a)

    for a, b in [(np.array([1.0, 2.0]), np.array(3.0)), (np.ones((2, 3)), np.full(3, 0.5)),
                 (np.array([0.5, 0.25, 1.0]), np.array(2.0))]:
        got = grad(aj.constant(a, F64), aj.constant(b, F64))
        np.testing.assert_allclose(got.numpy(), b * np.cos(a * b) + np.zeros_like(a),
                                   rtol=1e-12)
    assert grad.tracing_count == 2  # ranks (1, 0) and (2, 1)
    cf = grad.get_concrete_function(aj.TensorSpec([None, None], F64), aj.TensorSpec([], F64))
    assert [s.shape for s in cf.structured_input_signature] == [(None, None), ()]


def test_unknown_rank_input_signature_needs_a_rank_for_a_concrete_function():
    f = aj.function(lambda x: x * 2, input_signature=[aj.TensorSpec(None, aj.float32)])
    with pytest.raises(aj.errors.TracingError,
                       match=r"input_signature\[0\] is TensorSpec\(shape=None.*unknown rank"):
        f.get_concrete_function()
