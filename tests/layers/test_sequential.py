"""Tests for ``Sequential``: lazily built stacks, ``add``, ``training`` passed on, inside
``@aj.function`` (variables on the first trace only), and errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(9)


def test_sequential_matches_the_layers_called_by_hand():
    model = aj.layers.Sequential([aj.layers.Flatten(), aj.layers.Dense(8, activation="relu")])
    model.add(aj.layers.Dense(3))
    x = RNG.standard_normal((5, 2, 3)).astype(np.float32)
    y = model(x).numpy()
    d1, d2 = model.layers[1], model.layers[2]
    ref = np.maximum(x.reshape(5, 6) @ d1.w.numpy(), 0) @ d2.w.numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 6 * 8 + 8 + 8 * 3 + 3 and len(model.trainable_variables) == 4


def test_training_is_passed_to_layers_that_take_it():
    model = aj.layers.Sequential([aj.layers.Dropout(0.5)])
    x = np.ones((40, 40), np.float32)
    np.testing.assert_array_equal(model(x).numpy(), x)
    assert (model(x, training=True).numpy() == 0).any()


def test_sequential_trains_inside_function_with_variables_on_first_trace_only():
    model = aj.layers.Sequential([aj.layers.Dense(16, activation="tanh"),
                                  aj.layers.BatchNormalization(), aj.layers.Dropout(0.1),
                                  aj.layers.Dense(1)])
    opt = aj.optimizers.Adam(0.05)
    x = RNG.standard_normal((64, 4)).astype(np.float32)
    t = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)).astype(np.float32)

    @aj.function
    def step(x, t):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(model(x, training=True) - t))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = [float(step(aj.constant(x), aj.constant(t))) for _ in range(60)]
    step(aj.constant(x[:10]), aj.constant(t[:10]))  # a second trace creates no variables
    assert len(model.variables) == 2 + 4 + 2
    assert step.experimental_get_tracing_count() == 2
    assert losses[-1] < 0.3 * losses[0]


def test_sequential_errors():
    with pytest.raises(InvalidArgumentError, match="Sequential 'sequential': has no layers"):
        aj.layers.Sequential(name="sequential")(np.ones((1, 2), np.float32))
    with pytest.raises(InvalidArgumentError, match="expected a layer .* got 3"):
        aj.layers.Sequential([3])
    model = aj.layers.Sequential([aj.layers.Dense(2)])
    model(np.ones((1, 3), np.float32))
    with pytest.raises(ShapeError, match="in_features=3"):
        model(np.ones((1, 4), np.float32))
