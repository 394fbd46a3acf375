"""``aj.custom_gradient`` as ``tf.custom_gradient``: the gradient a function gives itself,
eagerly, with the tape inside ``@aj.function``, and for a function called under an eager
tape (its VJP recomputes the graph), checked against NumPy formulas."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import GradientError

X = np.array([-3.0, -0.25, 0.5, 2.0, 40.0])


@aj.custom_gradient
def clip_gradient(x):
    return aj.identity(x), lambda dy: aj.clip_by_value(dy, -1.0, 1.0)


@aj.custom_gradient
def log1pexp(x):
    e = aj.exp(x)

    def grad(dy):
        return dy * (1.0 - 1.0 / (1.0 + e))  # finite where exp(x) overflows to inf

    return aj.math.log(1.0 + e), grad


def loss_of(fn, scale):
    def loss(x):
        return aj.reduce_sum(fn(x) * scale)
    return loss


def gradients(loss, x):
    """The gradient of ``loss`` at ``x`` three ways: eager, the tape inside @aj.function,
    @aj.function under an eager tape."""
    def eager(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = loss(x)
        return tape.gradient(y, x)

    plain = aj.function(loss)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = plain(x)
    return [eager(x), aj.function(eager)(x), tape.gradient(y, x)]


def test_a_clipped_gradient():
    x = aj.constant(X)
    want = np.clip(np.full_like(X, 3.0), -1.0, 1.0)  # d(3 x)/dx = 3, clipped
    for got in gradients(loss_of(clip_gradient, 3.0), x):
        np.testing.assert_allclose(got.numpy(), want)


@pytest.mark.filterwarnings("ignore:overflow encountered in exp", "ignore:invalid value")
def test_a_numerically_stable_gradient():
    x = aj.constant(np.array([0.0, 1.0, 100.0], np.float32))
    for got in gradients(loss_of(log1pexp, 1.0), x):
        np.testing.assert_allclose(got.numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)
        assert np.isfinite(got.numpy()).all()
    with aj.GradientTape() as tape:  # the plain formula's gradient is NaN at 100
        tape.watch(x)
        y = aj.reduce_sum(aj.math.log(1.0 + aj.exp(x)))
    assert np.isnan(tape.gradient(y, x).numpy()[2])


v = aj.Variable(np.array([1.5, -2.0, 0.5, 1.0, 0.25]))


@aj.custom_gradient
def scaled_by_v(x):
    def grad(dy, variables):
        assert len(variables) == 1 and variables[0] is v
        return dy * v * 10.0, [dy * x * 100.0]
    return x * v, grad


def test_a_custom_gradient_of_a_function_reading_a_variable():
    x = aj.constant(X)

    def both(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.reduce_sum(scaled_by_v(x))
        return tape.gradient(y, [x, v])

    for gx, gv in (both(x), aj.function(both)(x)):
        np.testing.assert_allclose(gx.numpy(), v.numpy() * 10.0)
        np.testing.assert_allclose(gv.numpy(), X * 100.0)


@aj.custom_gradient
def cube(x):
    return x * x * x, lambda dy: dy * 3.0 * x * x


def test_second_derivatives_are_those_of_the_grad_fn():
    x = aj.constant(X)

    def hessian_diagonal(x):
        with aj.GradientTape() as outer:
            outer.watch(x)
            with aj.GradientTape() as inner:
                inner.watch(x)
                y = aj.reduce_sum(cube(x))
            g = inner.gradient(y, x)
        return g, outer.gradient(g, x)

    for g, h in (hessian_diagonal(x), aj.function(hessian_diagonal)(x)):
        np.testing.assert_allclose(g.numpy(), 3 * X ** 2)
        np.testing.assert_allclose(h.numpy(), 6 * X)


@aj.custom_gradient
def pair(a, b):
    def grad(da, db):
        return da * 2.0 + db, db * 0.0 - 1.0 * da
    return (a * b, a + b), grad


def test_several_inputs_and_outputs():
    a, b = aj.constant(X), aj.constant(X[::-1].copy())

    def run(a, b):
        with aj.GradientTape() as tape:
            tape.watch([a, b])
            p, s = pair(a, b)
            y = aj.reduce_sum(p * 3.0 + s)
        return tape.gradient(y, [a, b])

    for ga, gb in (run(a, b), aj.function(run)(a, b)):
        np.testing.assert_allclose(ga.numpy(), np.full(5, 3.0 * 2.0 + 1.0))
        np.testing.assert_allclose(gb.numpy(), np.full(5, -3.0))


def test_values_without_a_tape_are_the_forward():
    np.testing.assert_allclose(log1pexp(aj.constant(X)).numpy(), np.log1p(np.exp(X)))
    np.testing.assert_allclose(aj.function(log1pexp)(aj.constant(X)).numpy(),
                               np.log1p(np.exp(X)))


def test_mistakes_are_clear_errors():
    @aj.custom_gradient
    def no_pair(x):
        return x * 2.0

    @aj.custom_gradient
    def two_grads(x):
        return x * 2.0, lambda dy: (dy, dy)

    x = aj.constant(X)
    with pytest.raises(GradientError, match="custom_gradient: no_pair must return "
                       "\\(outputs, grad_fn\\)"):
        no_pair(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(two_grads(x))
    with pytest.raises(GradientError, match="grad_fn returned 2 input gradient\\(s\\) and 0 "
                       "variable gradient\\(s\\); expected 1"):
        tape.gradient(y, x)
