"""Tests for ``aj.losses``: values against NumPy references (Keras' formulas), gradients
against central finite differences in float64, stability, shapes and error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, ShapeError
from tests.numeric import numeric_grad

L = aj.losses
EPS = 1e-7
RNG = np.random.default_rng(0)


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def softmax(z):
    return np.exp(log_softmax(z))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def check_grad(loss_fn, y_pred, weights=None):
    """d(sum(weights * loss))/d(y_pred) from the tape against finite differences."""
    weights = RNG.normal(size=loss_fn(aj.constant(y_pred)).shape) if weights is None else weights
    pred = aj.constant(y_pred, dtype=aj.float64)
    with aj.GradientTape() as tape:
        tape.watch(pred)
        total = aj.reduce_sum(loss_fn(pred) * weights)
    auto = tape.gradient(total, pred).numpy()
    numeric = numeric_grad(lambda p: float(np.sum(loss_fn(aj.constant(p)).numpy() * weights)),
                           y_pred)
    np.testing.assert_allclose(auto, numeric, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------- sparse


def test_sparse_from_logits_values_and_dtype():
    logits = RNG.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 2, 3])
    out = L.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    assert out.shape == (5,) and out.dtype == aj.float32
    np.testing.assert_allclose(out.numpy(), -log_softmax(logits)[np.arange(5), labels], rtol=1e-5)


def test_sparse_from_probabilities_clips_and_renormalizes():
    probs = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.1, 0.1, 0.2]])
    labels = np.array([2, 1, 0])
    out = L.sparse_categorical_crossentropy(labels, aj.constant(probs, dtype=aj.float64)).numpy()
    clipped = np.clip(probs, EPS, 1 - EPS)
    expected = -np.log(clipped[np.arange(3), labels] / clipped.sum(-1))
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    assert np.isfinite(out).all()


def test_sparse_label_forms():
    logits = aj.constant(RNG.normal(size=(3, 4)))
    base = L.sparse_categorical_crossentropy([1, 0, 3], logits, from_logits=True).numpy()
    column = L.sparse_categorical_crossentropy(np.array([[1], [0], [3]]), logits,
                                               from_logits=True).numpy()
    floats = L.sparse_categorical_crossentropy(aj.constant([1.0, 0.0, 3.0]), logits,
                                               from_logits=True).numpy()
    int64 = L.sparse_categorical_crossentropy(aj.constant([1, 0, 3], dtype=aj.int64), logits,
                                              from_logits=True).numpy()
    for other in (column, floats, int64):
        np.testing.assert_allclose(other, base)


def test_sparse_is_stable_for_huge_logits():
    logits = aj.constant([[1000.0, -1000.0, 0.0]])
    out = L.sparse_categorical_crossentropy([1], logits, from_logits=True).numpy()
    np.testing.assert_allclose(out, [2000.0])


def test_sparse_higher_rank():
    logits = RNG.normal(size=(2, 3, 4))
    labels = RNG.integers(0, 4, size=(2, 3))
    out = L.sparse_categorical_crossentropy(labels, aj.constant(logits), from_logits=True)
    expected = -np.take_along_axis(log_softmax(logits), labels[..., None], -1)[..., 0]
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("from_logits", [True, False])
def test_sparse_gradient(from_logits):
    labels = aj.constant([2, 0, 1, 1])
    y_pred = RNG.normal(size=(4, 3)) if from_logits else softmax(RNG.normal(size=(4, 3)))
    check_grad(lambda p: L.sparse_categorical_crossentropy(labels, p, from_logits=from_logits),
               y_pred)


def test_sparse_label_shape_mismatch():
    with pytest.raises(ShapeError, match=re.escape(
            "sparse_categorical_crossentropy: expected labels of shape [4] (one class index "
            "per example of predictions [4, 3]), got [5]")):
        L.sparse_categorical_crossentropy([0, 1, 2, 0, 1], aj.zeros((4, 3)), from_logits=True)


def test_integer_predictions_are_an_error():
    with pytest.raises(DTypeError, match=re.escape(
            "sparse_categorical_crossentropy: expected floating-point predictions, got int32")):
        L.sparse_categorical_crossentropy([0], aj.constant([[1, 2]]), from_logits=True)


# ----------------------------------------------------------------------------- categorical


def test_categorical_values():
    logits = RNG.normal(size=(4, 3))
    targets = softmax(RNG.normal(size=(4, 3)))  # soft labels
    from_logits = L.categorical_crossentropy(targets, aj.constant(logits), from_logits=True)
    np.testing.assert_allclose(from_logits.numpy(), -(targets * log_softmax(logits)).sum(-1),
                               rtol=1e-5)
    probs = softmax(logits) * 3.0  # unnormalized on purpose: Keras renormalizes
    out = L.categorical_crossentropy(targets, aj.constant(probs, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), -(targets * np.log(softmax(logits))).sum(-1),
                               rtol=1e-8)


@pytest.mark.parametrize("from_logits", [True, False])
def test_categorical_gradient(from_logits):
    targets = aj.constant(np.eye(3)[[0, 2, 1, 2]], dtype=aj.float64)
    y_pred = RNG.normal(size=(4, 3)) if from_logits else softmax(RNG.normal(size=(4, 3)))
    check_grad(lambda p: L.categorical_crossentropy(targets, p, from_logits=from_logits), y_pred)


def test_categorical_shape_mismatch():
    with pytest.raises(ShapeError, match=re.escape(
            "categorical_crossentropy: expected targets of the predictions' shape [2, 3], "
            "got [2, 4]")):
        L.categorical_crossentropy(np.zeros((2, 4)), aj.zeros((2, 3)))


# ----------------------------------------------------------------------------- binary


def test_binary_values():
    logits = RNG.normal(size=(3, 4)) * 3
    targets = RNG.integers(0, 2, size=(3, 4)).astype(np.float64)
    out = L.binary_crossentropy(targets, aj.constant(logits, dtype=aj.float64), from_logits=True)
    p = sigmoid(logits)
    expected = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean(-1)
    assert out.shape == (3,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    out = L.binary_crossentropy(targets, aj.constant(p, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_binary_is_stable():
    out = L.binary_crossentropy([[1.0, 0.0]], aj.constant([[-1000.0, 1000.0]]), from_logits=True)
    np.testing.assert_allclose(out.numpy(), [1000.0])
    out = L.binary_crossentropy([[1.0, 0.0]], aj.constant([[0.0, 1.0]], dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), [-np.log(EPS)], rtol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_gradient(from_logits):
    targets = aj.constant(RNG.uniform(size=(3, 2)), dtype=aj.float64)
    y_pred = RNG.normal(size=(3, 2)) if from_logits else RNG.uniform(0.1, 0.9, size=(3, 2))
    check_grad(lambda p: L.binary_crossentropy(targets, p, from_logits=from_logits), y_pred)


def test_binary_column_targets():
    out = L.binary_crossentropy([1.0, 0.0], aj.constant([[0.5], [0.5]]))
    np.testing.assert_allclose(out.numpy(), [np.log(2.0)] * 2, rtol=1e-6)


# ----------------------------------------------------------------------------- mse


def test_mean_squared_error():
    y_true = RNG.normal(size=(4, 3))
    y_pred = RNG.normal(size=(4, 3))
    out = L.mean_squared_error(y_true, aj.constant(y_pred, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), ((y_pred - y_true) ** 2).mean(-1))
    assert L.mse is L.mean_squared_error


def test_mse_gradient():
    y_true = aj.constant(RNG.normal(size=(4, 3)), dtype=aj.float64)
    check_grad(lambda p: L.mean_squared_error(y_true, p), RNG.normal(size=(4, 3)))


def test_mse_shapes():
    out = L.mean_squared_error([1.0, 2.0], aj.constant([[1.5], [2.0]]))  # [batch] vs [batch, 1]
    np.testing.assert_allclose(out.numpy(), [0.25, 0.0])
    with pytest.raises(ShapeError, match=re.escape(
            "mean_squared_error: expected targets of the predictions' shape [2, 2], got [3]")):
        L.mean_squared_error([1.0, 2.0, 3.0], aj.zeros((2, 2)))


# ----------------------------------------------------------------------------- namespace


def test_keras_namespace_and_lecture_call():
    assert aj.keras.losses.sparse_categorical_crossentropy is L.sparse_categorical_crossentropy
    logits = aj.Variable(aj.constant(RNG.normal(size=(8, 10))))
    target = aj.constant(RNG.integers(0, 10, size=8))
    with aj.GradientTape() as tape:
        loss = aj.reduce_mean(
            aj.keras.losses.sparse_categorical_crossentropy(target, logits, from_logits=True))
    grad = tape.gradient(loss, logits).numpy()
    expected = (softmax(logits.numpy()) - np.eye(10)[target.numpy()]) / 8
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)
