"""``aj.keras.regularizers`` and ``layer.losses``: the penalties against NumPy, gathered from
every sub-module, differentiated, and added to the loss by ``fit`` (the weights of a loop
written by hand that adds them)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

R = aj.keras.regularizers
RNG = np.random.default_rng(51)


def test_penalties_match_numpy():
    w = RNG.normal(size=(3, 4))
    t = aj.constant(w)
    np.testing.assert_allclose(float(R.L1(0.3)(t)), 0.3 * np.abs(w).sum())
    np.testing.assert_allclose(float(R.L2(0.2)(t)), 0.2 * (w ** 2).sum())
    np.testing.assert_allclose(float(R.L1L2(0.1, 0.2)(t)), 0.1 * np.abs(w).sum()
                               + 0.2 * (w ** 2).sum())
    assert float(R.L1L2()(t)) == 0.0
    assert isinstance(R.get("l2"), R.L2) and R.get(None) is None and R.l2 is R.L2
    with pytest.raises(InvalidArgumentError, match="expected None, 'l1', 'l2'"):
        R.get("l3")
    with pytest.raises(InvalidArgumentError, match="l1 and l2 must be >= 0"):
        R.L1L2(l1=-1.0)


def test_layers_list_their_penalties_and_models_gather_them():
    aj.random.set_seed(0)
    model = aj.keras.Sequential([
        aj.layers.Embedding(10, 4, embeddings_regularizer="l2"),
        aj.layers.Conv1D(3, 2, kernel_regularizer=R.L1(0.01)),
        aj.layers.Flatten(),
        aj.layers.Dense(2, kernel_regularizer=R.L2(0.1), bias_regularizer=R.L1(0.5))])
    model(aj.constant(RNG.integers(0, 10, (2, 5))))
    emb, conv, _, dense = model.layers
    want = [0.01 * np.sum(emb.embeddings.numpy() ** 2),
            0.01 * np.abs(conv.kernel.numpy()).sum(),
            0.1 * np.sum(dense.w.numpy() ** 2), 0.5 * np.abs(dense.b.numpy()).sum()]
    np.testing.assert_allclose(sorted(float(v) for v in model.losses), sorted(want), rtol=1e-6)
    assert len(dense.losses) == 2 and len(aj.layers.Dense(3).losses) == 0
    assert [v.name.split("/")[-1] for v in dense.variables] == ["b:0", "w:0"]  # unchanged

    class Custom(aj.keras.layers.Layer):
        def build(self, input_shape):
            self.k = self.add_weight("k", (input_shape[-1], 2), regularizer=R.L2(1.0))

        def call(self, x):
            return x @ self.k

    layer = Custom()
    layer(aj.ones((1, 3)))
    np.testing.assert_allclose(float(layer.losses[0]), np.sum(layer.k.numpy() ** 2), rtol=1e-6)


def test_fit_adds_the_penalties_to_the_loss():
    x = RNG.normal(size=(40, 3)).astype(np.float32)
    y = RNG.normal(size=(40, 1)).astype(np.float32)
    models = []
    for _ in range(2):
        aj.random.set_seed(5)
        m = aj.keras.Sequential([aj.layers.Dense(1, kernel_regularizer=R.L2(0.5))])
        m(x[:1])
        models.append(m)
    model, reference = models
    model.compile(aj.keras.optimizers.SGD(0.05), "mse")
    history = model.fit(x, y, batch_size=40, epochs=3, shuffle=False, verbose=0)
    opt = aj.keras.optimizers.SGD(0.05)
    want = []
    for _ in range(3):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(reference(aj.constant(x)) - y)) + aj.add_n(
                reference.losses)
        grads = tape.gradient(loss, reference.trainable_variables)
        opt.apply_gradients(zip(grads, reference.trainable_variables))
        want.append(float(loss))
    np.testing.assert_allclose(history.history["loss"], want, rtol=1e-5)
    for a, b in zip(model.variables, reference.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
