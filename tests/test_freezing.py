"""Freezing, as Keras: ``module.trainable = False`` (or ``trainable=False`` to a layer's
constructor) moves the module's and its sub-modules' Variables from ``trainable_variables``
to ``non_trainable_variables``, ``fit`` leaves them alone, and a frozen ``BatchNormalization``
runs in inference mode. Checked against NumPy and against the weights before training."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj

L = aj.keras.layers
RNG = np.random.default_rng(5)


def data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def ids(variables):
    return [id(v) for v in variables]


def values(variables):
    return [v.numpy().copy() for v in variables]


class KerasScale(aj.keras.layers.Layer):
    """A Keras-style layer: one weight made by add_weight."""

    def build(self, input_shape):
        self.k = self.add_weight("k", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.k


class PlainAffine(aj.Module):
    """A tf.Module-style module, no Keras base class."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.w = aj.Variable(data(3, 2), name="w")
        self.b = aj.Variable(np.zeros(2, np.float32), name="b")
        self.count = aj.Variable(0.0, trainable=False, name="count")


def test_freezing_a_built_layer_moves_its_weights_and_fit_leaves_them():
    x, y = data(8, 4), data(8, 1)
    scale, head = KerasScale(), L.Dense(1)
    model = aj.keras.Sequential([scale, head])
    model(x)
    scale.trainable = False
    assert scale.trainable is False
    assert scale.trainable_weights == [] and scale.non_trainable_weights == [scale.k]
    assert scale.weights == [scale.k] and scale.variables == (scale.k,)
    assert ids(model.trainable_variables) == ids(head.trainable_variables)
    assert ids(model.non_trainable_variables) == [id(scale.k)]
    model.compile("sgd", "mse")
    before = values(model.variables)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    np.testing.assert_array_equal(scale.k.numpy(), before[0])
    assert not np.array_equal(head.w.numpy(), before[1])  # the rest still trains


@pytest.mark.parametrize("make", [
    lambda: L.Dense(3),
    lambda: L.Conv2D(2, 3),
    lambda: L.BatchNormalization(),
    lambda: L.LSTM(3),
    lambda: L.Embedding(10, 4),
    lambda: KerasScale(),
], ids=["Dense", "Conv2D", "BatchNormalization", "LSTM", "Embedding", "Layer"])
def test_every_built_in_layer_freezes_after_build_and_from_its_constructor(make):
    inputs = {"Conv2D": data(2, 5, 5, 3), "LSTM": data(2, 4, 3),
              "Embedding": RNG.integers(0, 10, (2, 4)).astype(np.int32)}
    layer = make()
    x = inputs.get(type(layer).__name__, data(2, 3))
    layer(x)
    assert layer.trainable is True
    trainable, frozen = ids(layer.trainable_variables), ids(layer.non_trainable_variables)
    assert trainable  # every one of these has a trainable weight
    weights = ids(layer.weights)
    layer.trainable = False
    assert layer.trainable_variables == () and layer.trainable_weights == []
    assert sorted(ids(layer.non_trainable_variables)) == sorted(ids(layer.variables))
    assert ids(layer.non_trainable_weights) == ids(layer.non_trainable_variables)
    assert ids(layer.weights) == weights  # unchanged by freezing
    layer.trainable = True  # the original split comes back
    assert ids(layer.trainable_variables) == trainable
    assert ids(layer.non_trainable_variables) == frozen

    built_frozen = type(layer)(*_constructor_args(layer), trainable=False)  # from the start
    assert built_frozen.trainable is False
    built_frozen(x)
    assert built_frozen.trainable_variables == ()
    assert len(built_frozen.non_trainable_variables) == len(layer.variables)
    built_frozen.trainable = True
    assert len(built_frozen.trainable_variables) == len(trainable)


def _constructor_args(layer):
    return {"Dense": (3,), "Conv2D": (2, 3), "BatchNormalization": (), "LSTM": (3,),
            "Embedding": (10, 4), "KerasScale": ()}[type(layer).__name__]


def test_unknown_constructor_arguments_are_still_refused():
    with pytest.raises(TypeError, match="bogus"):
        L.Dense(3, bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        KerasScale(bogus=1)


def test_a_plain_module_has_trainable_and_keras_weight_lists():
    module = PlainAffine()
    assert module.trainable and ids(module.trainable_weights) == ids((module.b, module.w))
    assert ids(module.weights) == ids((module.b, module.w, module.count))  # trainable first
    module.trainable = False
    assert module.trainable_variables == ()
    assert ids(module.non_trainable_variables) == ids(module.variables)
    module.trainable = True
    assert ids(module.non_trainable_variables) == [id(module.count)]
    assert PlainAffine(trainable=False).trainable_variables == ()


def test_a_module_may_still_hold_an_attribute_named_weights():
    class Torchish(aj.Module):
        def __init__(self):
            super().__init__()
            self.weights = aj.Variable(np.ones(3, np.float32), name="weights")

    module = Torchish()
    assert isinstance(module.weights, aj.Variable)
    assert ids(module.trainable_variables) == [id(module.weights)]


def test_freezing_a_model_propagates_and_unfreezing_restores():
    inner = aj.keras.Sequential([L.Dense(4), L.BatchNormalization()])
    head = L.Dense(1)
    model = aj.keras.Sequential([inner, head])
    model(data(4, 3))
    trainable, frozen = ids(model.trainable_variables), ids(model.non_trainable_variables)
    variables = ids(model.variables)
    model.trainable = False
    assert [m.trainable for m in (inner, *inner.layers, head)] == [False] * 4  # as Keras
    assert model.trainable_variables == () and model.trainable_weights == []
    assert ids(model.non_trainable_variables) == variables == ids(model.variables)
    model.trainable = True
    assert all(m.trainable for m in model.submodules)
    assert ids(model.trainable_variables) == trainable
    assert ids(model.non_trainable_variables) == frozen  # the moving statistics stay


def test_a_frozen_sub_model_keeps_its_weights_through_fit():
    x, y = data(16, 3), data(16, 1)
    inputs = aj.keras.Input(shape=(3,))
    base = aj.keras.Model(inputs, L.BatchNormalization()(L.Dense(4, activation="relu")(inputs)))
    model = aj.keras.Sequential([base, L.Dense(1)])
    model(x)
    base.trainable = False
    assert ids(model.trainable_variables) == ids(model.layers[1].trainable_variables)
    model.compile("adam", "mse")
    before, head = values(base.variables), values(model.layers[1].variables)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for got, want in zip(values(base.variables), before):  # moving statistics included
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.layers[1].variables[0].numpy(), head[0])


def test_gradients_leave_out_frozen_weights():
    x = data(5, 3)
    first, second = L.Dense(4), L.Dense(2)
    model = aj.keras.Sequential([first, second])
    model(x)
    first.trainable = False
    with aj.GradientTape() as tape:
        loss = aj.reduce_sum(aj.square(model(x)))
    grads = tape.gradient(loss, model.trainable_variables)
    assert ids(model.trainable_variables) == ids(second.trainable_variables)
    assert all(g is not None for g in grads) and not set(ids(first.variables)) & set(
        ids(model.trainable_variables))
    h = x @ first.w.numpy() + first.b.numpy()
    dy = 2 * (h @ second.w.numpy() + second.b.numpy())
    by_id = dict(zip(ids(model.trainable_variables), grads))
    np.testing.assert_allclose(by_id[id(second.w)].numpy(), h.T @ dy, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(by_id[id(second.b)].numpy(), dy.sum(0), rtol=1e-4, atol=1e-5)


def test_constructor_trainable_false_on_models():
    x = data(2, 3)
    sequential = aj.keras.Sequential([L.Dense(2), L.Dense(1)], trainable=False)
    sequential(x)
    assert sequential.trainable_variables == () and len(sequential.variables) == 4
    assert not any(layer.trainable for layer in sequential.layers)
    inputs = aj.keras.Input(shape=(3,))
    functional = aj.keras.Model(inputs, L.Dense(2)(inputs), trainable=False)
    assert functional.trainable_variables == () and len(functional.variables) == 2


def test_a_layer_frozen_before_it_is_built_makes_trainable_weights_it_lists_as_frozen():
    scale = KerasScale(trainable=False)
    scale(data(2, 3))
    assert scale.trainable_weights == [] and scale.non_trainable_weights == [scale.k]
    scale.trainable = True
    assert scale.trainable_weights == [scale.k] and scale.non_trainable_weights == []


def test_a_module_attached_to_a_frozen_one_is_frozen_through_it():
    holder = aj.Module()
    holder.trainable = False
    holder.late = PlainAffine()
    assert holder.trainable_variables == () and holder.late.trainable  # Keras: [] as well
    assert len(holder.non_trainable_variables) == 3
    assert len(holder.late.trainable_variables) == 2


def test_frozen_batch_norm_uses_and_keeps_its_moving_statistics_when_training():
    x = data(8, 3) * 2 + 1
    bn = L.BatchNormalization()
    bn(x, training=True)  # moving statistics away from their initial values
    bn.gamma.assign(bn.gamma * 1.5)
    bn.trainable = False
    mm, mv = bn.moving_mean.numpy().copy(), bn.moving_variance.numpy().copy()
    gamma, beta = bn.gamma.numpy(), bn.beta.numpy()
    want = (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta
    np.testing.assert_allclose(bn(x, training=True).numpy(), want, rtol=1e-5, atol=1e-6)
    step = aj.function(lambda t: bn(t, training=True))
    np.testing.assert_allclose(step(x).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mm)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), mv)
    bn.trainable = True  # training mode again: the batch's statistics, moving ones updated
    batch = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) * gamma + beta
    np.testing.assert_allclose(bn(x, training=True).numpy(), batch, rtol=1e-4, atol=1e-5)
    assert not np.array_equal(bn.moving_mean.numpy(), mm)


def test_frozen_batch_norm_inside_a_frozen_model_is_in_inference_mode_in_fit():
    x, y = data(16, 3), data(16, 1)
    base = aj.keras.Sequential([L.Dense(4), L.BatchNormalization()])
    model = aj.keras.Sequential([base, L.Dense(1)])
    model(x, training=True)
    base.trainable = False
    model.compile("sgd", "mse")
    before = values(base.variables)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    for got, want in zip(values(base.variables), before):
        np.testing.assert_array_equal(got, want)


def test_recompiling_picks_up_a_change_made_after_fit_traced():
    x, y = data(8, 4), data(8, 1)
    first = L.Dense(3)
    model = aj.keras.Sequential([first, L.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, verbose=0)  # traced with both layers trainable
    first.trainable = False
    model.compile("sgd", "mse")  # as Keras: compile again after changing trainable
    before = values(first.variables)
    model.fit(x, y, epochs=2, verbose=0)
    for got, want in zip(values(first.variables), before):
        np.testing.assert_array_equal(got, want)


def test_count_params_and_summary_follow_freezing():
    model = aj.keras.Sequential([aj.keras.Input(shape=(3,)), L.Dense(4), L.Dense(2)])
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    assert model.count_params() == 16 + 10
    assert "Trainable params: 10" in lines and "Non-trainable params: 16" in lines


def test_a_bidirectional_twin_of_a_frozen_layer_is_frozen_too():
    frozen = aj.keras.layers.Bidirectional(aj.keras.layers.GRU(3, trainable=False))
    frozen(np.ones((2, 4, 5), np.float32))
    assert frozen.trainable_variables == () and len(frozen.non_trainable_variables) == 6
    later = aj.keras.layers.Bidirectional(aj.keras.layers.GRU(3))
    later(np.ones((2, 4, 5), np.float32))
    later.trainable = False
    assert later.trainable_variables == ()
