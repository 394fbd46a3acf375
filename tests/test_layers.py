"""Tests for ``aj.layers.Dense``: both keyword spellings, initialization, activations,
gradients, and the error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError


def test_forward_matches_numpy():
    layer = aj.layers.Dense(4, 3, activation=aj.nn.relu)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    y = layer(x)
    expected = np.maximum(x @ layer.w.numpy() + layer.b.numpy(), 0.0)
    assert y.shape == (5, 3) and y.dtype == aj.float32
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


def test_both_keyword_spellings():
    a = aj.layers.Dense(in_features=3, out_features=2)
    b = aj.layers.Dense(input_size=3, output_size=2)  # the lecture's MLP spelling
    c = aj.layers.Dense(3, output_size=2)
    for layer in (a, b, c):
        assert (layer.in_features, layer.out_features) == (3, 2)
        assert layer.w.shape == (3, 2) and layer.b.shape == (2,)


def test_variables_names_and_init():
    aj.random.set_seed(1)
    layer = aj.layers.Dense(400, 200, name="hidden")
    assert layer.name == "hidden"
    assert [v.name for v in layer.trainable_variables] == ["hidden/b:0", "hidden/w:0"]
    np.testing.assert_array_equal(layer.b.numpy(), 0.0)
    std = layer.w.numpy().std()
    assert abs(std - np.sqrt(2.0 / 600)) < 0.1 * np.sqrt(2.0 / 600)  # Glorot normal
    assert abs(layer.w.numpy().mean()) < 0.01


def test_default_name_and_scope_inside_a_module():
    class Net(aj.Module):
        def __init__(self):
            super().__init__()
            with self.name_scope:
                self.fc = aj.layers.Dense(2, 2)

    net = Net()
    assert re.fullmatch(r"dense(_\d+)?", net.fc.name)  # numbered as Keras does
    assert net.fc.w.name == f"{net.name}/{net.fc.name}/w:0"


@pytest.mark.parametrize("activation,reference", [
    (None, lambda v: v),
    ("linear", lambda v: v),
    ("relu", lambda v: np.maximum(v, 0)),
    ("tanh", np.tanh),
    ("sigmoid", lambda v: 1 / (1 + np.exp(-v))),
    ("softmax", lambda v: np.exp(v) / np.exp(v).sum(-1, keepdims=True)),
    (aj.tanh, np.tanh),
])
def test_activations(activation, reference):
    layer = aj.layers.Dense(3, 4, activation=activation)
    x = np.random.default_rng(2).normal(size=(2, 3)).astype(np.float32)
    pre = x @ layer.w.numpy() + layer.b.numpy()
    np.testing.assert_allclose(layer(x).numpy(), reference(pre), rtol=1e-5, atol=1e-6)


def test_gradients_reach_both_variables():
    layer = aj.layers.Dense(3, 2, dtype=aj.float64)
    x = aj.constant(np.ones((4, 3)), dtype=aj.float64)
    with aj.GradientTape() as tape:
        loss = aj.reduce_sum(layer(x))
    gb, gw = tape.gradient(loss, layer.trainable_variables)
    np.testing.assert_allclose(gb.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(gw.numpy(), np.full((3, 2), 4.0))


def test_batched_rank3_inputs():
    layer = aj.layers.Dense(3, 2)
    assert layer(aj.ones((5, 4, 3))).shape == (5, 4, 2)


def test_wrong_input_width_is_a_clear_error():
    layer = aj.layers.Dense(784, 10, name="classifier")
    with pytest.raises(ShapeError, match=re.escape(
            "Dense 'classifier': expected inputs of shape [batch, 784] (in_features=784), "
            "got [32, 100]")):
        layer(aj.ones((32, 100)))


def test_rank1_input_is_a_clear_error():
    with pytest.raises(ShapeError, match=re.escape("expected inputs of shape [batch, 3]")):
        aj.layers.Dense(3, 2)(aj.ones((3,)))


@pytest.mark.parametrize("kwargs,message", [
    ({"out_features": 2}, "Dense: in_features is required"),
    ({"in_features": 2}, "Dense: out_features is required"),
    ({"in_features": 2, "input_size": 2, "out_features": 1},
     "Dense: got both in_features=2 and input_size=2; pass only in_features"),
    ({"in_features": 0, "out_features": 1}, "Dense: expected in_features to be a positive int, "
                                            "got 0"),
    ({"in_features": 2.5, "out_features": 1}, "expected in_features to be a positive int, "
                                              "got 2.5"),
    ({"in_features": 2, "out_features": 1, "activation": "swishy"},
     "unknown activation 'swishy'; expected a callable such as aj.nn.relu or one of"),
    ({"in_features": 2, "out_features": 1, "dtype": aj.int32},
     "Dense: expected a floating-point dtype, got int32"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        aj.layers.Dense(**kwargs)


def test_numpy_integer_sizes_are_accepted():
    layer = aj.layers.Dense(np.int64(3), np.int32(2))
    assert layer.w.shape == (3, 2)


def test_repr():
    assert repr(aj.layers.Dense(3, 2, name="fc")) == \
        "<aj.layers.Dense 'fc' in_features=3 out_features=2>"
