"""Keras's subclassing API (``aj.keras.layers.Layer``, ``aj.keras.Model``): code written for
``tf.keras`` runs with ``tf.`` → ``aj.``, eagerly and in ``@aj.function``, checked against
NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

RNG = np.random.default_rng(3)


class Affine(aj.keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.shapes_seen = []

    def build(self, input_shape):
        self.shapes_seen.append(input_shape)
        self.kernel = self.add_weight("kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight("bias", shape=(self.units,), initializer="zeros")
        self.calls = self.add_weight("calls", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.calls.assign_add(1.0)
        return aj.matmul(inputs, self.kernel) + self.bias


class Net(aj.keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = Affine(8)
        self.dropout = aj.keras.layers.Dropout(0.5)
        self.out = aj.keras.layers.Dense(3)

    def call(self, x, training=False):
        h = aj.nn.relu(self.hidden(x))
        return self.out(self.dropout(h, training=training))


def test_a_layer_builds_on_its_first_call_with_the_input_shape():
    layer = Affine(4)
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    y = layer(x)  # NumPy input: converted, as Keras does
    assert layer.built and [list(s) for s in layer.shapes_seen] == [[5, 3]]
    assert isinstance(layer.shapes_seen[0], aj.TensorShape)
    np.testing.assert_allclose(y.numpy(), x @ layer.kernel.numpy() + layer.bias.numpy(),
                               rtol=1e-6)
    layer(x)
    assert len(layer.shapes_seen) == 1 and layer.calls.numpy() == 2.0
    # Keras's order: as made, trainable then not; names in the layer's scope
    assert [w.name for w in layer.weights] == ["affine/kernel:0", "affine/bias:0",
                                               "affine/calls:0"]
    kernel, bias = layer.trainable_weights
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    assert layer.non_trainable_weights == [layer.calls] and layer.count_params() == 17


def test_a_model_trains_the_same_eagerly_and_in_a_function():
    x = RNG.standard_normal((6, 5)).astype(np.float32)
    y = RNG.integers(0, 3, 6)

    def train(graph):
        model = Net()
        model(x)
        for v, w in zip(model.trainable_variables, start):
            v.assign(w)
        opt = aj.keras.optimizers.SGD(0.1)
        loss_fn = aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def step(xb, yb):
            with aj.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=False))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        step = aj.function(step) if graph else step
        return [float(step(aj.constant(x), aj.constant(y))) for _ in range(4)], model

    first = Net()
    first(x)
    start = [v.numpy() for v in first.trainable_variables]
    # hidden's weights as made, then out's: the sub-layers in the order assigned (aj's Dense
    # is a Module, its own two sorted by name as tf.Module sorts them)
    assert [v.name.split("/")[-1] for v in first.trainable_variables] == \
        ["kernel:0", "bias:0", "b:0", "w:0"]
    eager, model_e = train(False)
    graph, model_g = train(True)
    np.testing.assert_allclose(graph, eager, rtol=1e-6)
    assert eager[-1] < eager[0]
    for a, b in zip(model_e.variables, model_g.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    # the forward pass against NumPy
    k1, b1, b2, k2 = (v.numpy() for v in model_g.trainable_variables)
    want = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(model_g.predict(x), want, rtol=1e-5, atol=1e-6)


def test_a_layer_built_inside_a_function_keeps_its_weights():
    layer = Affine(2)

    @aj.function
    def f(x):
        return layer(x)

    x = aj.constant(RNG.standard_normal((4, 3)).astype(np.float32))
    y1 = f(x)
    f(aj.constant(RNG.standard_normal((2, 3)).astype(np.float32)))  # a retrace: same weights
    assert len(layer.variables) == 3 and len(layer.shapes_seen) == 1
    np.testing.assert_allclose(y1.numpy(), x.numpy() @ layer.kernel.numpy(), rtol=1e-6)
    assert layer.calls.numpy() == 2.0


def test_training_reaches_call_only_when_it_takes_it():
    class Noisy(aj.keras.layers.Layer):
        def call(self, x, training=None):
            return x + 1.0 if training else x

    class Plain(aj.keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    x = aj.constant([1.0, 2.0])
    assert Noisy()(x, training=True).numpy().tolist() == [2.0, 3.0]
    assert Noisy()(x).numpy().tolist() == [1.0, 2.0]
    assert Plain()(x, training=True).numpy().tolist() == [2.0, 4.0]
    model = aj.keras.Sequential([Noisy(), Plain()])
    assert model(x, training=True).numpy().tolist() == [4.0, 6.0]


def test_a_model_saves_and_restores_through_a_checkpoint(tmp_path):
    x = RNG.standard_normal((2, 5)).astype(np.float32)
    model = Net()
    want = model(x).numpy()
    path = aj.train.Checkpoint(model=model).write(str(tmp_path / "net.npz"))
    other = Net()
    other(x)
    aj.train.Checkpoint(model=other).read(path)
    np.testing.assert_array_equal(other(x).numpy(), want)


def test_what_autojit_does_not_provide_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="inputs must be KerasTensors"):
        aj.keras.Model(inputs=aj.constant([1.0]), outputs=aj.constant([1.0]))

    class Net(aj.keras.Model):
        def call(self, x):
            return x

    with pytest.raises(InvalidArgumentError, match="a subclass of aj.keras.Model takes no "
                       "inputs/outputs; define call"):
        Net(aj.keras.Input((2,)), aj.keras.Input((2,)))

    class NoCall(aj.keras.layers.Layer):
        pass

    with pytest.raises(NotImplementedError, match="NoCall: a Layer subclass must define call"):
        NoCall()(aj.constant([1.0]))
    with pytest.raises(TypeError, match="unexpected keyword argument\\(s\\) units"):
        aj.keras.layers.Layer(units=3)


def test_tf_module_order_is_unchanged_for_modules():
    class M(aj.Module):
        def __init__(self):
            super().__init__()
            self.w = aj.Variable(1.0, name="w")
            self.b = aj.Variable(2.0, name="b")

    assert [v.name for v in M().trainable_variables] == ["b:0", "w:0"]  # sorted by name
