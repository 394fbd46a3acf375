"""Attributes assigned in tensor control flow are state of the block (Note [Attributes in
tensor control flow] in control_flow.py): a loop carries them, an ``if`` merges them, and
the answers equal plain Python's."""

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

from .helpers import check, where


class Mean:
    """A running mean kept in attributes, as metric objects keep theirs."""

    def __init__(self):
        self.total = 0.0
        self.count = 0

    def update(self, values):
        for v in values:
            if v > 0:
                self.total = self.total + v
                self.count += 1
        return self.total / float(max(self.count, 1))


class Box:
    pass


def running_mean(x, v):
    m = Mean()
    mean = m.update(v)
    return mean, m.total, m.count


def nested_attribute(x, v):
    s = Box()
    s.inner = Box()
    s.inner.value = x
    if x > 0.5:
        s.inner.value = s.inner.value * 2.0
    else:
        s.inner.value -= 1.0
    return s.inner.value


def alias_sees_the_update(x, v):
    s = Box()
    s.value = x
    alias = s
    i = 0
    while i < 3:
        s.value = s.value + v[i]
        i += 1
    return alias.value


def attribute_and_name(x, v):
    s = Box()
    s.value = 0.0
    y = x
    for t in v:
        y = y * 0.5 + t
        s.value += y
    return y, s.value


CASES = [(0.75, [1.0, -2.0, 3.0]), (-1.5, [-1.0, -0.5, 0.25]), (0.5, [2.0, 2.0, -4.0])]


@pytest.mark.parametrize("fn", [running_mean, nested_attribute, alias_sees_the_update,
                                attribute_and_name])
def test_attributes_in_tensor_control_flow_agree_with_python(fn):
    check(fn, CASES)


def test_gradients_flow_through_attribute_state():
    def f(x, v):
        s = Box()
        s.value = x
        for t in v:
            s.value = aj.tanh(s.value * t)
        return s.value

    def grad(fn, x, v):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = fn(x, v)
        return tape.gradient(y, x)

    x = aj.constant(0.3, aj.float64)
    v = aj.constant([1.5, -0.5, 2.0], aj.float64)
    traced = aj.function(lambda x, v: grad(f, x, v))(x, v)
    eps = 1e-6
    numeric = (float(f(x + eps, v)) - float(f(x - eps, v))) / (2 * eps)
    np.testing.assert_allclose(float(traced), numeric, rtol=1e-6)
    np.testing.assert_allclose(float(traced), float(grad(f, x, v)), rtol=1e-12)


def test_an_attribute_first_assigned_in_a_tensor_loop_is_an_error_naming_it():
    def f(v):
        s = Box()
        for t in v:
            s.last = t
        return s.last

    with pytest.raises(AutographError) as info:
        aj.function(f)(aj.constant([1.0, 2.0]))
    message = str(info.value)
    assert "`s.last` is first assigned inside the tensor `for` loop at " + \
        where(f, "for t in v") in message
    assert "give it a value before the loop" in message


def test_an_attribute_assigned_in_one_branch_only_is_an_error_naming_it():
    def f(x):
        s = Box()
        if x > 0:
            s.value = x
        return x

    with pytest.raises(AutographError) as info:
        aj.function(f)(aj.constant(1.0))
    message = str(info.value)
    assert "s.value is assigned only in the true branch of the tensor `if` at " + \
        where(f, "if x > 0") in message


def test_attributes_of_an_object_the_block_creates_are_not_state():
    def f(v):
        total = aj.zeros([])
        for t in v:
            s = Box()
            s.value = t * 2.0
            total = total + s.value
        return total

    check(f, [([1.0, 2.0],), ([-1.0, 0.5],)])
