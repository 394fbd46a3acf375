"""``aj.custom_gradient`` in saved graphs (Note [Saved custom gradients] in autodiff.py): a
loaded function differentiates by the saved gradient (not by its forward's ops), with the
values its forward computed, the gradients of the Variables it reads, inside tensor control
flow, to second order, and in a Keras model fitted again after loading."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from tests.numeric import numeric_grad


@aj.custom_gradient
def clipped(x):
    return aj.identity(x), lambda dy: aj.clip_by_value(dy, -0.5, 0.5)


@aj.custom_gradient
def log1pexp(x):
    e = aj.exp(x)  # grad_fn reads a value of the forward
    return aj.math.log(1.0 + e), lambda dy: dy * (1.0 - 1.0 / (1.0 + e))


@aj.custom_gradient
def scaled_by_w(x):
    w = HOLDER.w

    def grad(dy, variables=None):
        return dy * w * 2.0, [aj.reduce_sum(dy * x, axis=0) * 3.0]  # not the true rule

    return x * w, grad


class Holder(aj.Module):
    def __init__(self):
        super().__init__()
        self.w = aj.Variable(np.array([1.5, -0.5], np.float64))


HOLDER = Holder()
SPEC = [aj.TensorSpec([None, 2], aj.float64)]


def loaded_twin(tmp_path, fn):
    holder = aj.Module()
    holder.w = HOLDER.w
    holder.f = aj.function(fn, input_signature=SPEC)
    aj.saved_model.save(holder, tmp_path / "m")
    return holder, aj.saved_model.load(tmp_path / "m")


def grads(fn, x, variables=()):
    x = aj.constant(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(fn(x) ** 2)
    return [g.numpy() for g in tape.gradient(y, [x, *variables])]


X = np.array([[3.0, -0.25], [0.5, -4.0]])


def clip_then_square(x):
    return clipped(x * 2.0)


def smooth(x):
    return log1pexp(x)


def in_a_tensor_if(x):
    if aj.reduce_sum(x) > 0:
        y = clipped(x * 3.0)
    else:
        y = log1pexp(x)
    return y


@pytest.mark.parametrize("fn", [clip_then_square, smooth, in_a_tensor_if])
def test_loaded_gradients_follow_the_saved_custom_gradient(fn, tmp_path):
    holder, loaded = loaded_twin(tmp_path, fn)
    for x in (X, -X):
        want = grads(holder.f, x)
        got = grads(loaded.f, x)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)


def test_the_saved_rule_is_not_the_forwards_own_gradient(tmp_path):
    _, loaded = loaded_twin(tmp_path, clip_then_square)
    got = grads(loaded.f, X)[0]
    # d/dx sum(y^2) with y = 2x: 8x, with the custom rule the cotangent 2y is clipped first
    np.testing.assert_allclose(got, 2.0 * np.clip(2.0 * (2.0 * X), -0.5, 0.5))
    assert not np.allclose(got, 8.0 * X)


def test_a_smooth_custom_gradient_matches_finite_differences_after_loading(tmp_path):
    _, loaded = loaded_twin(tmp_path, smooth)
    got = grads(loaded.f, X)[0]
    want = numeric_grad(lambda v: np.sum(np.log1p(np.exp(v)) ** 2), X)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_the_variables_gradients_come_from_the_saved_rule(tmp_path):
    holder, loaded = loaded_twin(tmp_path, lambda x: scaled_by_w(x))
    want = grads(holder.f, X, [HOLDER.w])
    got = grads(loaded.f, X, [loaded.w])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_second_order_through_a_loaded_custom_gradient(tmp_path):
    holder, loaded = loaded_twin(tmp_path, smooth)

    def hessian_diagonal(f):
        x = aj.constant(X)
        with aj.GradientTape() as outer:
            outer.watch(x)
            with aj.GradientTape() as inner:
                inner.watch(x)
                y = aj.reduce_sum(f(x))
            g = inner.gradient(y, x)
        return outer.gradient(g, x).numpy()

    sigmoid = 1.0 / (1.0 + np.exp(-X))
    np.testing.assert_allclose(hessian_diagonal(loaded.f), sigmoid * (1.0 - sigmoid),
                               rtol=1e-10)
    np.testing.assert_allclose(hessian_diagonal(loaded.f), hessian_diagonal(holder.f),
                               rtol=1e-12)


class ClipGrad(aj.keras.layers.Layer):
    def call(self, x):
        return clipped(x)


def test_a_keras_model_with_a_custom_gradient_fits_again_after_loading(tmp_path):
    r = np.random.RandomState(0)
    x, y = r.randn(16, 3).astype(np.float32), r.randn(16, 1).astype(np.float32) * 10.0

    def fitted(model):
        model.compile(aj.keras.optimizers.SGD(0.05), "mse")
        return model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)

    model = aj.keras.Sequential([aj.keras.layers.Dense(4), ClipGrad(),
                                 aj.keras.layers.Dense(1)])
    fitted(model)
    model.save(tmp_path / "k")
    loaded = aj.keras.models.load_model(tmp_path / "k")
    np.testing.assert_allclose(fitted(loaded).history["loss"], fitted(model).history["loss"],
                               rtol=1e-5)
