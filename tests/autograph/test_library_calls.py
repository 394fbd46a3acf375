"""User code reached through decorators, callable objects and autojit's own classes is
converted inside ``@aj.function`` (Note [Library code calling user code] in ops/core.py),
and what a decorator's wrapper does still happens; each checked against plain Python."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import autojit as aj

from .helpers import assert_close


def doubled(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args) * 2.0 + 1.0
    return wrapper


@doubled
def branchy(x):
    if x > 0:
        return x - 1.0
    return -x


@pytest.mark.parametrize("value", [2.0, -3.0])
def test_a_functools_wraps_wrapper_runs_in_a_graph(value):
    # the wrapper was converted as the function it wraps: its `* 2 + 1` was lost
    @aj.function
    def call(x):
        return branchy(x)

    assert_close(call(aj.constant(value)), branchy(value))
    assert_close(aj.function(branchy)(aj.constant(value)), branchy(value))


class Gate(aj.Module):
    def __call__(self, x):
        if aj.reduce_sum(x) > 0:
            return x * 2.0
        return -x


class Scoped(aj.Module):
    @aj.Module.with_name_scope
    def __call__(self, x):
        if not hasattr(self, "w"):
            self.w = aj.Variable(3.0, name="w")
        if x > 0:
            return x * self.w
        return x


@pytest.mark.parametrize("value", [1.5, -1.5])
def test_a_module_instance_and_a_scoped_method_are_converted(value):
    x = aj.constant([value, 0.5])
    assert_close(aj.function(Gate())(x), Gate()(x))  # aj.function(obj): its __call__
    scoped = Scoped()
    assert_close(aj.function(scoped)(aj.constant(value)), value * 3.0 if value > 0 else value)
    assert scoped.w.name == f"{scoped.name}/w:0"  # the scope was entered while tracing


class Switch(aj.keras.layers.Layer):
    def call(self, x, training=None):
        if training:
            return x * 0.5
        if aj.reduce_max(x) > 1.0:
            return x - 1.0
        return x


class Hinge(aj.keras.losses.Loss):
    def call(self, y_true, y_pred):
        margin = 1.0 - y_true * y_pred
        if aj.reduce_mean(margin) > 0.0:
            return aj.maximum(margin, 0.0)
        return margin * 0.0


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_library_classes_convert_the_user_code_they_call(scale):
    x = aj.constant([scale, -0.25])
    for training in (True, False):
        assert_close(aj.function(lambda x: Switch()(x, training=training))(x),
                     Switch()(x, training=training))
    model = aj.keras.Sequential([Gate(), Switch()])
    assert_close(aj.function(lambda x: model(x))(x), model(x))
    y = aj.constant([1.0, -1.0])
    hinge = Hinge()
    assert_close(aj.function(hinge)(y, x), hinge(y, x))


def test_annotated_assignments_in_converted_control_flow():
    def annotated(x):
        y: float = 0.0
        n: int
        if x > 0:
            y = x * 2.0
            n = 1
        else:
            n = 2
        return y + n

    for value in (1.5, -1.5):
        assert_close(aj.function(annotated)(aj.constant(value)), annotated(value))


def test_custom_gradient_forward_with_tensor_control_flow():
    @aj.custom_gradient
    def soft_sign(x):
        if aj.reduce_sum(x) > 0:
            y = x
        else:
            y = -x
        return y, lambda dy: dy * 0.5

    @aj.function
    def grad(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            out = aj.reduce_sum(soft_sign(x))
        return out, tape.gradient(out, x)

    value, g = grad(aj.constant([1.0, -3.0]))
    assert_close(value, 2.0)
    np.testing.assert_allclose(g.numpy(), [0.5, 0.5])
