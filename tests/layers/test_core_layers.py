"""Tests for ``Dense`` built lazily (``Dense(units)``), ``Flatten``, ``Dropout`` and
``Embedding``: shapes, parameter counts, values against NumPy, lazy building inside
``@aj.function``, gradients, and the error messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(5)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_lazy_dense_builds_on_first_call_with_keras_initializers():
    layer = aj.layers.Dense(16, activation="relu")
    assert layer.w is None and layer.variables == ()
    x = _x(4, 30)
    y = layer(x)
    assert y.shape == (4, 16) and layer.in_features == 30
    assert layer.w.shape == (30, 16) and layer.count_params() == 30 * 16 + 16
    w = layer.w.numpy()
    limit = math.sqrt(6 / (30 + 16))
    assert np.abs(w).max() <= limit and w.std() > limit / 3
    np.testing.assert_array_equal(layer.b.numpy(), np.zeros(16))
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ w, 0), rtol=1e-5, atol=1e-6)


def test_explicit_lecture_forms_still_build_at_once():
    for layer in (aj.layers.Dense(784, 256), aj.layers.Dense(input_size=784, output_size=256),
                  aj.layers.Dense(in_features=784, out_features=256)):
        assert layer.w.shape == (784, 256) and layer.b.shape == (256,)
    assert aj.layers.Dense(units=5).w is None
    assert aj.layers.Dense(5, "relu").activation is aj.nn.relu


def test_lazy_dense_options():
    layer = aj.layers.Dense(3, use_bias=False,
                            kernel_initializer=aj.initializers.Constant(0.5))
    y = layer(np.ones((2, 4), np.float32))
    np.testing.assert_allclose(y.numpy(), np.full((2, 3), 2.0))
    assert layer.b is None and layer.count_params() == 12
    seeded = [aj.layers.Dense(3, kernel_initializer=aj.initializers.GlorotUniform(seed=1))
              for _ in range(2)]
    for s in seeded:
        s(_x(1, 2))
    np.testing.assert_array_equal(seeded[0].w.numpy(), seeded[1].w.numpy())


def test_lazy_dense_in_function_creates_variables_on_first_trace_only():
    layer = aj.layers.Dense(4)

    @aj.function
    def f(x):
        return layer(x)

    y1 = f(aj.constant(_x(2, 3)))
    f(aj.constant(_x(5, 3)))  # another batch: a retrace, no new variables
    assert len(layer.variables) == 2 and y1.shape == (2, 4)
    x = _x(2, 3)
    np.testing.assert_allclose(f(aj.constant(x)).numpy(), x @ layer.w.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_lazy_dense_errors():
    layer = aj.layers.Dense(4)
    with pytest.raises(ShapeError, match=re.escape(
            f"Dense {layer.name!r}: expected inputs of shape [batch, features] with a known "
            "feature dim to build the layer, got [3]")):
        layer(np.ones(3, np.float32))
    layer(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=re.escape("expected inputs of shape [batch, 3] "
                                                   "(in_features=3), got [2, 5]")):
        layer(np.ones((2, 5), np.float32))
    with pytest.raises(InvalidArgumentError, match="the layer is not built yet"):
        aj.layers.Dense(2).count_params()
    with pytest.raises(InvalidArgumentError, match="Dense: got units=2 and an input size"):
        aj.layers.Dense(units=2, in_features=3)
    with pytest.raises(InvalidArgumentError, match="expected units to be a positive int"):
        aj.layers.Dense(0)
    with pytest.raises(InvalidArgumentError, match="unknown initializer 'nope'"):
        aj.layers.Dense(2, kernel_initializer="nope")


def test_flatten():
    x = _x(2, 3, 4, 5)
    y = aj.layers.Flatten()(x)
    np.testing.assert_array_equal(y.numpy(), x.reshape(2, 60))
    assert aj.layers.Flatten()(_x(3)).shape == (3, 1)

    @aj.function(input_signature=[aj.TensorSpec((None, 4, 2), aj.float32)])
    def f(x):
        return aj.layers.Flatten()(x)

    assert f(aj.constant(_x(7, 4, 2))).shape == (7, 8)
    with pytest.raises(ShapeError, match="Flatten 'flatten': expected an input of rank >= 1"):
        aj.layers.Flatten(name="flatten")(aj.constant(1.0))


def test_dropout_identity_cases_and_training():
    x = _x(50, 40)
    np.testing.assert_array_equal(aj.layers.Dropout(0.0)(x, training=True).numpy(), x)
    layer = aj.layers.Dropout(0.5)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2 * x[kept], rtol=1e-6)
    assert layer.variables == ()


def test_dropout_errors():
    for rate in (1.0, -0.1, "a"):
        with pytest.raises(InvalidArgumentError,
                           match=re.escape(f"Dropout: expected rate in [0, 1), got {rate!r}")):
            aj.layers.Dropout(rate)
    with pytest.raises(InvalidArgumentError, match="expected training to be True, False or None"):
        aj.layers.Dropout(0.5)(_x(2), training="yes")


def test_embedding_lookup_count_and_gradient():
    layer = aj.layers.Embedding(10, 4)
    table = layer.embeddings.numpy()
    assert table.shape == (10, 4) and np.abs(table).max() <= 0.05 and layer.count_params() == 40
    ids = np.array([[1, 2, 1], [0, 9, 3]])
    np.testing.assert_array_equal(layer(ids).numpy(), table[ids])
    with aj.GradientTape() as tape:
        loss = aj.reduce_sum(layer(ids))
    grad = aj.convert_to_tensor(tape.gradient(loss, layer.embeddings)).numpy()
    expected = np.zeros((10, 4))
    np.add.at(expected, ids.ravel(), 1.0)
    np.testing.assert_allclose(grad, expected)


def test_embedding_errors():
    with pytest.raises(InvalidArgumentError, match="Embedding: expected input_dim to be a "
                                                   "positive int, got 0"):
        aj.layers.Embedding(0, 3)
    with pytest.raises(InvalidArgumentError, match="expected integer ids, got dtype float32"):
        aj.layers.Embedding(3, 2)(np.ones(2, np.float32))


def test_dropout_layer_masks_differ_between_graph_replays():
    layer = aj.layers.Dropout(0.5)

    @aj.function
    def f(x):
        return layer(x, training=True)

    x = aj.ones((30, 30))
    a, b = f(x).numpy(), f(x).numpy()
    assert f.experimental_get_tracing_count() == 1
    assert not np.array_equal(a, b) and set(np.unique(a)) <= {0.0, 2.0}
