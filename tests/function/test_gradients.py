"""Gradients and @aj.function: a tape inside a traced function, a traced function called
under an eager tape (inputs and the Variables it reads), and nested functions (inlined).
References: eager gradients of the same Python code and central finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj

from .common import AUTOGRAPH
from tests.numeric import numeric_grad

RNG = np.random.default_rng(0)


def fn(f):
    return aj.function(f, autograph=AUTOGRAPH)


def toy(x, y, z):
    return aj.reduce_sum(x * y + z)


def mlp(x, w1, b1, w2, b2):
    hidden = aj.nn.relu(aj.matmul(x, w1) + b1)
    return aj.reduce_mean(aj.square(aj.tanh(aj.matmul(hidden, w2) + b2)))


def broadcasting(x, row, scalar):
    return aj.reduce_sum(aj.exp(x * row - scalar) / (1.0 + aj.square(row)))


CASES = {
    "toy": (toy, [(3, 4), (3, 4), (3, 4)]),
    "mlp": (mlp, [(5, 3), (3, 8), (8,), (8, 2), (2,)]),
    "broadcasting": (broadcasting, [(3, 4), (4,), ()]),
}


def arrays(shapes):
    return [RNG.uniform(-1.0, 1.0, s) for s in shapes]


def eager_grads(f, values):
    xs = [aj.constant(v) for v in values]
    with aj.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return float(y), [g.numpy() for g in tape.gradient(y, xs)]


@pytest.mark.parametrize("case", list(CASES))
def test_tape_inside_a_function_equals_eager(case):
    f, shapes = CASES[case]
    values = arrays(shapes)
    y_eager, g_eager = eager_grads(f, values)

    @fn
    def value_and_grads(*xs):
        with aj.GradientTape() as tape:
            tape.watch(list(xs))
            y = f(*xs)
        return y, tape.gradient(y, list(xs))

    for call in range(2):
        y, grads = value_and_grads(*[aj.constant(v) for v in values])
        assert float(y) == pytest.approx(y_eager, rel=1e-12)
        for g, e in zip(grads, g_eager):
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-10, atol=1e-12)
    assert value_and_grads.tracing_count == 1


@pytest.mark.parametrize("case", list(CASES))
def test_function_under_an_eager_tape(case):
    f, shapes = CASES[case]
    values = arrays(shapes)
    y_eager, g_eager = eager_grads(f, values)
    compiled = fn(f)
    for call in range(2):
        y, grads = eager_grads(compiled, values)
        assert y == pytest.approx(y_eager, rel=1e-12)
        for g, e in zip(grads, g_eager):
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
    for k, value in enumerate(values):  # finite differences, input by input
        def f_k(v, k=k):
            args = [aj.constant(a) for a in values]
            args[k] = aj.constant(v)
            return float(f(*args))
        np.testing.assert_allclose(g_eager[k], numeric_grad(f_k, value), rtol=1e-5, atol=1e-7)
    assert compiled.tracing_count == 1


def test_gradients_with_respect_to_variables_the_function_reads():
    w = aj.Variable(RNG.uniform(-1, 1, (3, 2)), name="w")
    b = aj.Variable(np.zeros(2), name="b")
    x = aj.constant(RNG.uniform(-1, 1, (4, 3)))

    def loss(x):
        return aj.reduce_sum(aj.square(aj.tanh(aj.matmul(x, w) + b)))

    with aj.GradientTape() as tape:
        expected = loss(x)
    expected_grads = tape.gradient(expected, [w, b])
    compiled = fn(loss)
    with aj.GradientTape() as tape:
        y = compiled(x)
    grads = tape.gradient(y, [w, b])
    assert float(y) == pytest.approx(float(expected), rel=1e-12)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10)

    def numeric(wv):
        saved = w.numpy().copy()
        w.assign(wv)
        out = float(loss(x))
        w.assign(saved)
        return out

    np.testing.assert_allclose(grads[0].numpy(), numeric_grad(numeric, w.numpy()), rtol=1e-5)
    w.assign_add(np.ones((3, 2)))  # gradients follow the variable's current value
    with aj.GradientTape() as tape:
        y = compiled(x)
    with aj.GradientTape() as tape2:
        y2 = loss(x)
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), tape2.gradient(y2, w).numpy(),
                               rtol=1e-10)


def test_several_outputs_and_partial_cotangents():
    compiled = fn(lambda x, y: (aj.reduce_sum(x * y), aj.exp(x), "label", x * 0.0 + 1.0))
    x, y = aj.constant([0.5, -1.0]), aj.constant([2.0, 3.0])
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        s, e, label, ones = compiled(x, y)
    assert label == "label"
    dx, dy = tape.gradient(s, [x, y])  # only the first output has a cotangent
    np.testing.assert_allclose(dx.numpy(), y.numpy())
    np.testing.assert_allclose(dy.numpy(), x.numpy())
    (de,) = tape.gradient(e, [x])
    np.testing.assert_allclose(de.numpy(), np.exp(x.numpy()), rtol=1e-6)
    assert tape.gradient(e, y) is None  # unconnected
    both = tape.gradient([s, e], x)
    np.testing.assert_allclose(both.numpy(), y.numpy() + np.exp(x.numpy()), rtol=1e-6)


def test_calls_under_one_tape_accumulate():
    compiled = fn(lambda x: aj.square(x))
    x = aj.constant(3.0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = compiled(x) + compiled(x * 2.0)
    assert float(tape.gradient(y, x)) == pytest.approx(2 * 3.0 + 8 * 3.0)


def test_second_order_through_a_function():
    compiled = fn(lambda x: aj.reduce_sum(x * x * x))
    x = aj.constant([1.0, 2.0])
    with aj.GradientTape() as outer:
        outer.watch(x)
        with aj.GradientTape() as inner:
            inner.watch(x)
            y = compiled(x)
        g = inner.gradient(y, x)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(outer.gradient(g, x).numpy(), 6 * x.numpy())


def test_nested_functions_are_inlined_and_correct():
    inner = fn(lambda x, w: aj.nn.relu(aj.matmul(x, w)))

    @fn
    def outer(x, w1, w2):
        with aj.GradientTape() as tape:
            tape.watch([w1, w2])
            y = aj.reduce_sum(inner(inner(x, w1), w2))
        return y, tape.gradient(y, [w1, w2])

    values = arrays([(2, 3), (3, 4), (4, 2)])
    xs = [aj.constant(v) for v in values]
    y, grads = outer(*xs)
    names = [node.op.name for node in outer.get_concrete_function(*xs).graph.walk()]
    assert "call" not in names
    assert names.count("matmul") >= 2
    with aj.GradientTape() as tape:
        tape.watch(xs[1:])
        expected = aj.reduce_sum(inner.python_function(inner.python_function(xs[0], xs[1]),
                                                       xs[2]))
    for g, e in zip(grads, tape.gradient(expected, xs[1:])):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-10)
    assert float(y) == pytest.approx(float(expected))
    assert inner.tracing_count == 0


def test_integer_inputs_have_no_gradient():
    compiled = fn(lambda x, n: x * aj.cast(n, aj.float32))
    x, n = aj.constant(2.0), aj.constant(3)
    with aj.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = compiled(x, n)
    assert float(tape.gradient(y, x)) == 3.0
    assert tape.gradient(y, n) is None


def test_effects_run_once_when_a_stateful_function_is_differentiated():
    counter = aj.Variable(0.0)
    w = aj.Variable(3.0)

    def step(x):
        counter.assign_add(1.0)
        return aj.square(x * w)

    x = aj.constant(2.0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        expected = step(x)
    expected_grads = tape.gradient(expected, [x, w])
    counter.assign(0.0)
    compiled = fn(step)
    for call in range(1, 3):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = compiled(x)
        grads = tape.gradient(y, [x, w])
        assert float(counter) == call  # the gradient did not run the assign again
        assert float(y) == float(expected)
        for g, e in zip(grads, expected_grads):
            assert float(g) == pytest.approx(float(e))


def test_random_draws_are_not_redrawn_for_the_gradient():
    @fn
    def dropout(x):
        keep = aj.cast(aj.random.uniform(x.shape) < 0.5, x.dtype)
        return x * keep * 2.0

    x = aj.constant(np.linspace(1.0, 2.0, 64))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = dropout(x)
    grad = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(grad, y.numpy() / x.numpy())  # the mask of the forward pass


def test_backward_of_an_input_signature_function_does_not_retrace_per_shape():
    import warnings

    from autojit.function import RetracingWarning

    f = aj.function(lambda x: aj.reduce_sum(aj.tanh(x)), autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([None, 3], aj.float64)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RetracingWarning)
        for rows in range(1, 9):
            x = aj.constant(RNG.uniform(-1, 1, (rows, 3)))
            with aj.GradientTape() as tape:
                tape.watch(x)
                y = f(x)
            np.testing.assert_allclose(tape.gradient(y, x).numpy(),
                                       1.0 - np.tanh(x.numpy()) ** 2, rtol=1e-12)
    assert f.tracing_count == 1
    assert f.get_concrete_function().backward_function().tracing_count <= 2


def test_stateful_function_under_a_tape_returns_values_not_variables():
    v = aj.Variable(2.0)

    def step(x):
        old = v * 1.0  # the read itself after simplification
        y = x * v
        v.assign(5.0)
        return old, y, x * v, old * 3.0

    x = aj.constant(3.0)

    def run(f):
        v.assign(2.0)
        with aj.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outs = f(x)
        return [float(o) for o in outs], [float(tape.gradient(o, x)) for o in outs[1:3]], outs

    expected, expected_grads, _ = run(step)
    got, grads, outs = run(fn(step))
    assert got == expected == [2.0, 6.0, 15.0, 6.0]
    assert grads == expected_grads
    assert not any(getattr(o, "_is_variable", False) for o in outs)
    v.assign(7.0)
    assert float(outs[0]) == 2.0
