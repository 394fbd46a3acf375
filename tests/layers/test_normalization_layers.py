"""Tests for ``BatchNormalization`` and ``LayerNormalization``: values against NumPy, the
moving statistics after traced steps, lazy building, gradients and the error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(7)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def test_batch_norm_training_and_inference_values():
    bn = aj.layers.BatchNormalization()
    x = _x(8, 5) * 3 + 1
    y = bn(x, training=True).numpy()
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    assert len(bn.trainable_variables) == 2
    assert len(bn.non_trainable_variables) == 2 and bn.count_params() == 20
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * x.var(0), rtol=1e-5)
    inf = bn(x, training=False).numpy()
    mm, mv = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    np.testing.assert_allclose(inf, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)  # inference changes nothing


def test_batch_norm_moving_statistics_after_traced_steps():
    bn = aj.layers.BatchNormalization(momentum=0.9)
    opt = aj.optimizers.SGD(0.1)

    @aj.function
    def step(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(bn(x, training=True) - 1.0))
        grads = tape.gradient(loss, bn.trainable_variables)
        opt.apply_gradients(zip(grads, bn.trainable_variables))
        return loss

    mean, var = np.zeros(3), np.ones(3)
    for _ in range(6):
        x = _x(16, 3) * 2 + 0.5
        step(aj.constant(x))
        mean = 0.9 * mean + 0.1 * x.mean(0)
        var = 0.9 * var + 0.1 * x.var(0)
    assert step.experimental_get_tracing_count() == 1
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var, rtol=1e-4)
    assert len(bn.variables) == 4


def test_batch_norm_channels_first_axis():
    bn = aj.layers.BatchNormalization(axis=1, center=False,
                                      gamma_initializer=aj.initializers.Constant(2.0))
    x = _x(4, 3, 5, 5)
    y = bn(x, training=True).numpy()
    m, v = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y, 2 * (x - m) / np.sqrt(v + 1e-3), rtol=1e-4, atol=1e-5)
    assert bn.beta is None and bn.gamma.shape == (3,)


def test_layer_norm_values_and_gradient():
    ln = aj.layers.LayerNormalization()
    x = _x(4, 6)
    y = ln(x).numpy()
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    assert ln.gamma.shape == (6,) and ln.count_params() == 12
    with aj.GradientTape() as tape:
        out = aj.reduce_sum(ln(x) * aj.constant(np.arange(6, dtype=np.float32)))
    g_gamma, g_beta = tape.gradient(out, [ln.gamma, ln.beta])
    np.testing.assert_allclose(g_beta.numpy(), 4 * np.arange(6), rtol=1e-6)
    np.testing.assert_allclose(g_gamma.numpy(), (ref * np.arange(6)).sum(0), rtol=1e-4,
                               atol=1e-5)


def test_normalization_errors():
    bn = aj.layers.BatchNormalization(name="batch_normalization")
    bn(_x(2, 3), training=True)
    with pytest.raises(ShapeError, match=re.escape(
            "BatchNormalization 'batch_normalization': the layer was built for 3 features on "
            "axis -1, got 4 (input shape [2, 4])")):
        bn(_x(2, 4))
    with pytest.raises(ShapeError, match="axis 2 is out of range for an input of rank 2"):
        aj.layers.LayerNormalization(axis=2)(_x(2, 3))
    with pytest.raises(InvalidArgumentError, match="expected momentum in \\[0, 1\\], got 2"):
        aj.layers.BatchNormalization(momentum=2)
    with pytest.raises(InvalidArgumentError, match="LayerNormalization: expected epsilon > 0"):
        aj.layers.LayerNormalization(epsilon=0)
    with pytest.raises(InvalidArgumentError, match="expected training to be True, False or "
                                                   "None"):
        bn(_x(2, 3), training=1)
    with pytest.raises(InvalidArgumentError, match="the layer is not built yet"):
        aj.layers.LayerNormalization().count_params()
