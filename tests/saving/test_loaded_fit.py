"""A model ``aj.keras.models.load_model`` read trains again (Note [Loaded Keras models] in
autojit/layers/loaded.py): compiled like the original, it fits to the same losses and
weights, BatchNormalization's statistics included, and evaluates the same; saved again, it
still fits."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

L = aj.keras.layers


def data(seed=0, n=24):
    r = np.random.RandomState(seed)
    return r.randn(n, 5).astype(np.float32), r.randn(n, 1).astype(np.float32)


def sequential():
    return aj.keras.Sequential([L.Dense(8, activation="tanh"), L.BatchNormalization(),
                                L.Dense(1)])


def functional():
    inputs = aj.keras.Input(shape=(5,))
    hidden = L.Dense(6, activation="relu")(inputs)
    return aj.keras.Model(inputs, L.Dense(1)(L.LayerNormalization()(hidden)))


def trained(make, tmp_path):
    x, y = data()
    model = make()
    model.compile(aj.keras.optimizers.SGD(0.05), "mse")
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save(tmp_path / "model")
    return model


def fit_more(model, epochs=2):
    x, y = data(1)
    model.compile(aj.keras.optimizers.SGD(0.05), "mse")
    return model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)


@pytest.mark.parametrize("make", [sequential, functional])
def test_a_loaded_model_fits_as_the_original_does(make, tmp_path):
    original = trained(make, tmp_path)
    loaded = aj.keras.models.load_model(tmp_path / "model")
    want, got = fit_more(original), fit_more(loaded)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for a, b in zip(sorted(original.variables, key=lambda v: v.name),
                    sorted(loaded.variables, key=lambda v: v.name)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    x, y = data(2)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0),
                               original.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(x), original.predict(x), rtol=1e-5, atol=1e-6)


def test_the_training_graph_uses_batch_statistics(tmp_path):
    trained(sequential, tmp_path)
    loaded = aj.keras.models.load_model(tmp_path / "model")
    x, _ = data(3, n=6)
    bn = [m for m in loaded.layers if "moving_mean" in vars(m)][0]
    before = bn.moving_mean.numpy().copy()
    train_out = loaded(aj.constant(x), training=True).numpy()
    assert not np.allclose(bn.moving_mean.numpy(), before)  # updated by the batch
    assert not np.allclose(train_out, loaded(aj.constant(x)).numpy(), atol=1e-3)


def test_a_loaded_model_saved_again_still_fits(tmp_path):
    original = trained(sequential, tmp_path)
    loaded = aj.keras.models.load_model(tmp_path / "model")
    loaded.save(tmp_path / "again")
    again = aj.keras.models.load_model(tmp_path / "again")
    np.testing.assert_allclose(fit_more(again).history["loss"],
                               fit_more(original).history["loss"], rtol=1e-5)


def test_a_model_saved_without_a_training_graph_says_why_it_cannot_fit(tmp_path):
    module = aj.Module()
    module.w = aj.Variable(np.ones((5, 1), np.float32))
    module.__call__ = aj.function(lambda x: aj.matmul(x, module.w),
                                  input_signature=[aj.TensorSpec([None, 5], aj.float32)])
    aj.saved_model.save(module, tmp_path / "plain")
    loaded = aj.keras.models.load_model(tmp_path / "plain")
    x, y = data()
    np.testing.assert_allclose(loaded.predict(x), x @ np.ones((5, 1)), rtol=1e-5)
    loaded.compile("sgd", "mse")
    with pytest.raises(InvalidArgumentError, match="has no training graph"):
        loaded.fit(x, y, verbose=0)
