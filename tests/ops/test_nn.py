"""Tests for ``aj.nn.sigmoid_cross_entropy_with_logits`` and ``aj.nn.l2_loss`` beyond their
op-table entries (``op_table_nn.py``): stability and exact gradients at huge and zero
logits, the sharing with ``binary_crossentropy``, and the error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, ShapeError
from tests.numeric import numeric_grad

RNG = np.random.default_rng(11)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_sigmoid_cross_entropy_values():
    logits = RNG.normal(size=(3, 4)) * 3
    labels = RNG.uniform(size=(3, 4))
    out = aj.nn.sigmoid_cross_entropy_with_logits(labels=aj.constant(labels),
                                                  logits=aj.constant(logits))
    p = sigmoid(logits)
    expected = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert out.shape == (3, 4) and out.dtype == aj.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)


def test_sigmoid_cross_entropy_is_stable_with_exact_gradients():
    x = aj.constant([-1000.0, -40.0, -1.0, 0.0, 3.0, 40.0, 1000.0], dtype=aj.float64)
    z = aj.constant([1.0, 0.0, 0.3, 0.3, 1.0, 1.0, 0.0], dtype=aj.float64)
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        loss = aj.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    xs, zs = x.numpy(), z.numpy()
    expected = np.maximum(xs, 0) - xs * zs + np.log1p(np.exp(-np.abs(xs)))
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    assert loss.numpy()[0] == 1000.0 and loss.numpy()[-1] == 1000.0
    grad = tape.gradient(loss, x).numpy()
    assert np.isfinite(grad).all()
    small = np.exp(-np.abs(xs)) / (1 + np.exp(-np.abs(xs)))  # sigmoid(-|x|), no rounding to 1
    exact = np.where(xs >= 0, (1 - zs) - small, small - zs)  # sigmoid(x) - z
    np.testing.assert_allclose(grad, exact, rtol=1e-12, atol=1e-300)
    assert abs(grad[3] - 0.2) < 1e-15  # at zero logits: sigmoid(0) - z = 0.2, not 1 - z
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), -xs)


def test_sigmoid_cross_entropy_gradient_against_finite_differences():
    logits = RNG.normal(size=(2, 3)) * 2
    labels = aj.constant(RNG.uniform(size=(2, 3)))
    x = aj.constant(logits)
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(aj.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x))
    numeric = numeric_grad(lambda v: float(aj.reduce_sum(
        aj.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=aj.constant(v)))), logits)
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), numeric, rtol=1e-6)


def test_binary_crossentropy_from_logits_is_the_mean_of_it():
    logits = aj.constant(RNG.normal(size=(4, 3)))
    labels = aj.constant(RNG.uniform(size=(4, 3)))
    per = aj.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits).numpy()
    out = aj.losses.binary_crossentropy(labels, logits, from_logits=True).numpy()
    np.testing.assert_allclose(out, per.mean(-1), rtol=1e-12)


def test_sigmoid_cross_entropy_takes_python_labels():
    out = aj.nn.sigmoid_cross_entropy_with_logits(labels=[1, 0], logits=aj.constant([0.0, 0.0]))
    assert out.dtype == aj.float32
    np.testing.assert_allclose(out.numpy(), [np.log(2)] * 2, rtol=1e-6)


def test_sigmoid_cross_entropy_errors():
    logits = aj.zeros((2, 3))
    with pytest.raises(DTypeError, match=re.escape(
            "sigmoid_cross_entropy_with_logits: expected labels of the logits' dtype float32, "
            "got int32; use aj.cast(labels, aj.float32)")):
        aj.nn.sigmoid_cross_entropy_with_logits(labels=aj.constant([[1, 0, 1], [0, 0, 1]]),
                                                logits=logits)
    with pytest.raises(DTypeError, match=re.escape("of the logits' dtype float32, got float64")):
        aj.nn.sigmoid_cross_entropy_with_logits(labels=np.zeros((2, 3)), logits=logits)
    with pytest.raises(DTypeError, match=re.escape(
            "sigmoid_cross_entropy_with_logits: expected floating-point logits, got int32")):
        aj.nn.sigmoid_cross_entropy_with_logits(labels=[1.0], logits=aj.constant([1]))
    with pytest.raises(ShapeError, match=re.escape(
            "sigmoid_cross_entropy_with_logits: expected labels of the logits' shape [2, 3], "
            "got [3]")):
        aj.nn.sigmoid_cross_entropy_with_logits(labels=aj.zeros((3,)), logits=logits)


def test_sigmoid_cross_entropy_in_function_with_unknown_batch():
    fn = aj.function(lambda z, x: aj.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x))
    concrete = fn.get_concrete_function(aj.TensorSpec([None, 2]), aj.TensorSpec([None, 2]))
    x = RNG.normal(size=(3, 2)).astype(np.float32)
    z = RNG.uniform(size=(3, 2)).astype(np.float32)
    eager = aj.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x).numpy()
    np.testing.assert_allclose(concrete(aj.constant(z), aj.constant(x)).numpy(), eager,
                               rtol=1e-6)


def test_l2_loss():
    t = RNG.normal(size=(3, 4))
    v = aj.constant(t)
    with aj.GradientTape() as tape:
        tape.watch(v)
        out = aj.nn.l2_loss(v)
    assert out.shape == () and out.dtype == aj.float64
    np.testing.assert_allclose(out.numpy(), (t ** 2).sum() / 2, rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(out, v).numpy(), t, rtol=1e-12)
    assert aj.nn.l2_loss([1.0, 2.0]).dtype == aj.float32
    with pytest.raises(DTypeError, match=re.escape(
            "l2_loss: expected a floating-point tensor, got int32; use aj.cast(t, aj.float32)")):
        aj.nn.l2_loss(aj.constant([1, 2]))
