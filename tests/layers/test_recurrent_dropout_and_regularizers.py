"""Keras's recurrent-layer arguments ``kernel_regularizer``, ``recurrent_regularizer``,
``bias_regularizer`` (in ``layer.losses`` and so in ``fit``'s loss) and ``dropout``,
``recurrent_dropout`` (one mask per sequence, only with ``training=True``), checked against
NumPy penalties, the same layer without dropout, and finite differences under a fixed mask."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError
from tests.numeric import numeric_grad

L = aj.keras.layers
LAYERS = [L.SimpleRNN, L.LSTM, L.GRU]


def sequence(seed=0, shape=(2, 5, 3), dtype=np.float64):
    return np.random.RandomState(seed).randn(*shape).astype(dtype)


@pytest.mark.parametrize("layer_class", LAYERS)
def test_the_regularizers_penalize_their_weights(layer_class):
    layer = layer_class(4, kernel_regularizer=aj.keras.regularizers.L2(0.1),
                        recurrent_regularizer=aj.keras.regularizers.L1(0.05),
                        bias_regularizer=aj.keras.regularizers.L2(0.2))
    layer(sequence(dtype=np.float32))
    cell = layer.cell
    cell.bias.assign(np.random.RandomState(1).randn(*cell.bias.shape).astype(np.float32))
    want = [0.1 * np.sum(cell.kernel.numpy() ** 2),
            0.05 * np.sum(np.abs(cell.recurrent_kernel.numpy())),
            0.2 * np.sum(cell.bias.numpy() ** 2)]
    np.testing.assert_allclose(sorted(float(p) for p in layer.losses), sorted(want), rtol=1e-5)


def test_fit_adds_a_recurrent_layers_penalties_to_its_loss():
    x, y = sequence(dtype=np.float32), np.zeros((2, 1), np.float32)
    model = aj.keras.Sequential([L.LSTM(3, kernel_regularizer=aj.keras.regularizers.L2(0.5)),
                                 L.Dense(1)])
    model.compile(aj.keras.optimizers.SGD(0.0), "mse")
    loss = model.fit(x, y, epochs=1, batch_size=2, verbose=0).history["loss"][0]
    pred = model.predict(x)
    penalty = 0.5 * np.sum(model.layers[0].cell.kernel.numpy() ** 2)
    np.testing.assert_allclose(loss, np.mean((pred - y) ** 2) + penalty, rtol=1e-5)


def twins(layer_class, **dropouts):
    """A layer with dropout and one without, with the same weights (float64)."""
    with_dropout = layer_class(4, return_sequences=True, dtype=aj.float64, **dropouts)
    plain = layer_class(4, return_sequences=True, dtype=aj.float64)
    x = sequence()
    with_dropout(x), plain(x)
    for a, b in zip(plain.variables, with_dropout.variables):
        a.assign(b.numpy())
    return with_dropout, plain


@pytest.mark.parametrize("layer_class", LAYERS)
def test_dropout_acts_only_when_training(layer_class):
    with_dropout, plain = twins(layer_class, dropout=0.5, recurrent_dropout=0.5)
    x = sequence(1)
    np.testing.assert_allclose(with_dropout(x).numpy(), plain(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(with_dropout(x, training=False).numpy(), plain(x).numpy(),
                               rtol=1e-12)
    assert not np.allclose(with_dropout(x, training=True).numpy(), plain(x).numpy())


def test_the_input_mask_is_the_same_at_every_time_step():
    layer = L.SimpleRNN(3, activation=None, use_bias=False, dropout=0.5,
                        kernel_initializer=lambda shape, dtype: np.eye(*shape, dtype=dtype),
                        recurrent_initializer="zeros",
                        return_sequences=True, dtype=aj.float64)
    x = np.repeat(np.array([[[1.0, 2.0, 3.0]], [[-1.0, 0.5, 4.0]]]), 6, axis=1)  # [2, 6, 3]
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out, np.repeat(out[:, :1], 6, axis=1))  # one mask for all t
    kept = np.isclose(out[:, 0], 2.0 * x[:, 0])  # kept inputs scaled by 1 / (1 - rate)
    dropped = out[:, 0] == 0.0
    assert np.all(kept | dropped) and kept.any() and dropped.any()


@pytest.mark.parametrize("layer_class", LAYERS)
def test_gradients_under_a_fixed_mask_match_finite_differences(layer_class):
    layer = layer_class(3, dropout=0.3, recurrent_dropout=0.4, dtype=aj.float64)
    x = sequence(2, (2, 4, 3))
    layer(x)

    def loss(value):
        aj.random.set_seed(7)  # the same masks at every evaluation
        return float(aj.reduce_sum(layer(aj.constant(value), training=True) ** 2))

    xt = aj.constant(x)
    aj.random.set_seed(7)
    with aj.GradientTape() as tape:
        tape.watch(xt)
        y = aj.reduce_sum(layer(xt, training=True) ** 2)
    np.testing.assert_allclose(tape.gradient(y, xt).numpy(), numeric_grad(loss, x),
                               rtol=1e-6, atol=1e-9)


def test_a_traced_training_step_draws_new_masks_per_call():
    layer = L.GRU(4, dropout=0.5, recurrent_dropout=0.5, dtype=aj.float64)
    step = aj.function(lambda x: layer(x, training=True))
    x = aj.constant(sequence(3))
    first, second = step(x).numpy(), step(x).numpy()
    assert not np.allclose(first, second)
    assert step.tracing_count == 1


@pytest.mark.parametrize("rate", [-0.1, 1.0, "half"])
def test_a_dropout_rate_outside_zero_to_one_is_an_error(rate):
    with pytest.raises(InvalidArgumentError, match="expected dropout to be a fraction in"):
        L.LSTM(3, dropout=rate)
