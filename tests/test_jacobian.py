"""``GradientTape.jacobian`` and ``batch_jacobian`` against central finite differences, eagerly
and inside ``@aj.function``; Hessians through nested tapes; persistence and errors as TF."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import GradientError, ShapeError

RNG = np.random.default_rng(0)
W = RNG.normal(size=(3, 2))


def numeric_jacobian(f, x, h=1e-6):
    """d f / d x by central differences: shape f(x).shape + x.shape."""
    y = np.asarray(f(x))
    out = np.zeros(y.shape + x.shape)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        out[(...,) + index] = (np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h)
    return out


def f_vector(x):
    return np.tanh(np.einsum("...i,ij->...j", x, W)) * np.sum(x ** 2)


def aj_vector(x):
    return aj.tanh(aj.einsum("...i,ij->...j", x, aj.constant(W))) * aj.reduce_sum(x * x)


def _jacobian(fn, x_value, **kwargs):
    x = aj.constant(x_value)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.jacobian(y, x, **kwargs)


@pytest.mark.parametrize("shape", [(3,), (4, 3)])
def test_jacobian_matches_finite_differences(shape):
    x = RNG.normal(size=shape)
    j = _jacobian(aj_vector, x)
    expected = numeric_jacobian(f_vector, x)
    assert j.shape == expected.shape
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_scalar_target_is_the_gradient():
    x = RNG.normal(size=(2, 3))
    j = _jacobian(lambda t: aj.reduce_sum(aj.sin(t)), x)
    assert j.shape == (2, 3)
    np.testing.assert_allclose(j.numpy(), np.cos(x), rtol=1e-12)


def test_jacobian_of_nested_sources_keeps_their_structure():
    a, b = aj.constant(RNG.normal(size=(2,))), aj.Variable(RNG.normal(size=(2, 2)))
    with aj.GradientTape() as tape:
        tape.watch(a)
        y = aj.matmul(b, a[:, None])[:, 0] + a * 2.0  # [2]
    j = tape.jacobian(y, {"a": a, "b": [b]})
    av, bv = a.numpy(), b.numpy()
    np.testing.assert_allclose(j["a"].numpy(), numeric_jacobian(lambda t: bv @ t + 2 * t, av),
                               rtol=1e-6)
    np.testing.assert_allclose(j["b"][0].numpy(), numeric_jacobian(lambda t: t @ av + 2 * av, bv),
                               rtol=1e-6)
    assert j["b"][0].shape == (2, 2, 2)


def test_unconnected_and_integer_sources():
    x, z = aj.constant([1.0, 2.0]), aj.constant([3.0])
    n = aj.constant([1, 2])
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = x * 3.0
        first = y[:1]
    assert tape.jacobian(y, [z, n]) == [None, None]
    zero = tape.jacobian(y, z, unconnected_gradients="zero")
    np.testing.assert_array_equal(zero.numpy(), np.zeros((2, 1)))
    partial = tape.jacobian(first, x)  # the second entry of x does not reach y[:1]
    np.testing.assert_array_equal(partial.numpy(), [[3.0, 0.0]])


def test_non_persistent_tape_computes_one_jacobian_and_persistent_many():
    x = aj.constant([1.0, 2.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.jacobian(y, x)
    with pytest.raises(GradientError, match=re.escape(
            "jacobian: a non-persistent GradientTape can compute gradients (or a Jacobian) "
            "only once")):
        tape.jacobian(y, x)
    with aj.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    first, second = tape.jacobian(y, x), tape.jacobian(y, x)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0])


def test_jacobian_inside_the_recording_block():
    x = aj.constant([1.0, 2.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = x * x * x
        j = tape.jacobian(y, x)
    np.testing.assert_allclose(j.numpy(), np.diag([3.0, 12.0]))


def test_hessian_through_nested_tapes():
    x_value = RNG.normal(size=(3,))

    def f(t):
        return np.sum(np.sin(t) * t[0]) + np.sum(t ** 3)

    x = aj.constant(x_value)
    with aj.GradientTape() as outer:
        outer.watch(x)
        with aj.GradientTape() as inner:
            inner.watch(x)
            y = aj.reduce_sum(aj.sin(x) * x[0]) + aj.reduce_sum(x * x * x)
        g = inner.gradient(y, x)
    hessian = outer.jacobian(g, x)
    grad_f = lambda t: numeric_jacobian(f, t, 1e-5)  # noqa: E731
    np.testing.assert_allclose(hessian.numpy(), numeric_jacobian(grad_f, x_value, 1e-4),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hessian.numpy(), hessian.numpy().T, rtol=1e-12)


def test_jacobian_inside_a_function_equals_eager():
    @aj.function
    def jac(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj_vector(x)
        return tape.jacobian(y, x)

    x = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(jac(aj.constant(x)).numpy(), _jacobian(aj_vector, x).numpy(),
                               rtol=1e-12)


def _per_row(fn, x):
    return np.stack([numeric_jacobian(lambda r: fn(r[None])[0], row) for row in x])


def test_batch_jacobian_matches_per_row_finite_differences():
    x_value = RNG.normal(size=(5, 3))
    x = aj.constant(x_value)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.tanh(x @ aj.constant(W)) * aj.reduce_sum(x * x, axis=1, keepdims=True)
    j = tape.batch_jacobian(y, x)
    expected = _per_row(lambda t: np.tanh(t @ W) * np.sum(t ** 2, axis=1, keepdims=True),
                        x_value)
    assert j.shape == (5, 2, 3)
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_batch_jacobian_of_higher_rank_rows():
    x_value = RNG.normal(size=(2, 2, 3))
    x = aj.constant(x_value)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reshape(aj.sin(x), (2, 3, 2)) * 2.0
    j = tape.batch_jacobian(y, x)
    expected = _per_row(lambda t: np.sin(t).reshape(-1, 3, 2) * 2.0, x_value)
    assert j.shape == (2, 3, 2, 2, 3)
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_batch_jacobian_with_an_unknown_batch_dim_in_a_function():
    @aj.function(input_signature=[aj.TensorSpec([None, 3], aj.float64)])
    def jac(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.tanh(x @ aj.constant(W))
        return tape.batch_jacobian(y, x)

    for rows in (4, 1):
        x = RNG.normal(size=(rows, 3))
        np.testing.assert_allclose(jac(aj.constant(x)).numpy(),
                                   _per_row(lambda t: np.tanh(t @ W), x), rtol=1e-6, atol=1e-8)
    assert jac.tracing_count == 1


def test_batch_jacobian_unconnected():
    x, z = aj.constant(np.ones((2, 3))), aj.constant(np.ones((2, 4)))
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = x * 2.0
    assert tape.batch_jacobian(y, z) is None
    assert tape.batch_jacobian(y, z, unconnected_gradients="zero").shape == (2, 3, 4)


def test_errors():
    x = aj.constant(np.ones((2, 3)))
    with aj.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2.0
        total = aj.reduce_sum(x, axis=1)
    with pytest.raises(ShapeError, match=re.escape(
            "batch_jacobian: expected a target and a source of rank >= 2 with the same first "
            "(batch) dim, got target [2] and source [2, 3]")):
        tape.batch_jacobian(total, x)
    with pytest.raises(ShapeError, match=re.escape("got target [3, 2] and source [2, 3]")):
        tape.batch_jacobian(aj.transpose(y), x)
    with pytest.raises(GradientError, match="jacobian: expected a tensor target, got list"):
        tape.jacobian([y], x)
    with pytest.raises(GradientError,
                       match="jacobian: expected a floating-point target, got int32"):
        tape.jacobian(aj.constant([1, 2]), x)
    with pytest.raises(GradientError, match="jacobian: expected tensors or Variables as sources"):
        tape.jacobian(y, [1.0])


def test_jacobian_needs_a_known_target_shape_in_a_function():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float64)])
    def jac(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        return tape.jacobian(y, x)

    with pytest.raises(ShapeError, match=re.escape(
            "jacobian: the target's shape must be known, got [?]; use batch_jacobian")):
        jac(aj.constant(np.array([1.0, 2.0])))
