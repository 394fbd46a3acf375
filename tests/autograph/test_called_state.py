"""State that functions called inside tensor control flow change (Note [State changed by
called functions] in autograph/untracked.py): an attribute, a list or dict item, or a
``nonlocal`` variable that a called function or method sets inside a tensor ``if`` or loop is
carried by the ``cond``/``while_loop`` like a variable the block assigns itself, so the
function gives what plain Python gives (it changed once, when the body was traced, or leaked
a tensor of the body's graph). Each function runs as plain Python and through
``@aj.function`` on tensors, traced once."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.autograph.values import AutographWarning
from autojit.errors import AutographError

from .helpers import check_tensors, where


class Acc:
    def __init__(self):
        self.total = 0.0
        self.count = 0
        self.items = []

    def add(self, v):
        self.total = self.total + v
        self.count += 1

    def push(self, v):
        self.items.append(v)


def method_sums_in_a_for(x, n):
    acc = Acc()
    for i in range(n):
        acc.add(x)
    return acc.total, acc.count


def method_counts_in_a_while(x, n):
    acc = Acc()
    while acc.count < n:
        acc.add(x * 0.5)
    return acc.total + acc.count


def method_under_a_tensor_if(x, n):
    acc = Acc()
    if x > 0.0:
        acc.add(x)
    return acc.total * 2.0 + acc.count


def item_of_a_closed_over_list(x, n):
    c = [0, x]

    def bump():
        c[0] += 1
        c[1] = c[1] * 1.5

    for i in range(n):
        bump()
    return c[0] + c[1]


def item_of_a_closed_over_dict_under_an_if(x, n):
    d = {"s": x, "k": 1}

    def bump(v):
        d["s"] = d["s"] + v
        d["k"] = 2

    if n > 1:
        bump(3.0)
    return d["s"] * d["k"]


def nonlocal_rebound_by_a_nested_function(x, n):
    s = x
    k = 0

    def bump():
        nonlocal s, k
        s = s * 2.0
        k = k + 1

    for i in range(n):
        bump()
    return s + k


def nested_loops_calling_a_method(x, n):
    acc = Acc()
    for i in range(n):
        for j in range(n):
            acc.add(x)
        if acc.total > 3.0:
            acc.add(-1.0)
    return acc.total, acc.count


def state_carried_and_assigned_by_the_body_too(x, n):
    acc = Acc()
    for i in range(n):
        acc.total = acc.total + 1.0  # the body's own assignment: a loop variable already
        acc.add(x)
    return acc.total, acc.count


class Scale(aj.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0
        self.double = aj.function(lambda v: v * 2.0)  # the library's own state: not carried

    def __call__(self, v):
        self.calls += 1
        return self.double(v) * 0.5 + 1.0


def module_called_in_a_loop_with_an_inner_function(x, n):
    scale = Scale()
    for i in range(n):
        x = scale(x)
    return x, scale.calls


CASES = [(1.5, 0), (1.5, 3), (-2.0, 2), (0.5, 5)]


def test_a_module_counter_is_carried_and_the_library_objects_it_holds_are_not():
    traced = aj.function(module_called_in_a_loop_with_an_inner_function)
    for n in (0, 1, 4):
        value, calls = traced(aj.constant(1.5), aj.constant(n))
        assert float(value) == pytest.approx(1.5 + n) and int(calls) == n
    assert traced.tracing_count == 1


@pytest.mark.parametrize("fn", [
    method_sums_in_a_for, method_counts_in_a_while, method_under_a_tensor_if,
    item_of_a_closed_over_list, item_of_a_closed_over_dict_under_an_if,
    nonlocal_rebound_by_a_nested_function, nested_loops_calling_a_method,
    state_carried_and_assigned_by_the_body_too])
def test_state_changed_by_called_functions_is_carried(fn):
    check_tensors(fn, CASES)


def test_a_carried_attribute_keeps_its_gradient():
    def f(x, n):
        acc = Acc()
        for i in range(n):
            acc.add(x * x)
        return acc.total

    x = aj.constant(1.5)
    traced = aj.function(f)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = traced(x, aj.constant(3))
    assert float(tape.gradient(y, x)) == pytest.approx(9.0)


def list_grown_by_a_method(x, n):
    acc = Acc()
    for i in range(n):
        acc.push(x * 2.0)
    return len(acc.items)


def test_a_list_grown_by_a_called_function_is_a_warning_naming_it():
    with pytest.warns(AutographWarning, match=re.escape(
            "`acc.items` is a list that tensors are appended to inside the tensor `for` loop "
            f"at {where(list_grown_by_a_method, 'for i in range(n)')}, by a function called "
            "there or through a name the function does not own")):
        aj.function(list_grown_by_a_method)(aj.constant(1.0), aj.constant(3))


class Holder:
    def __init__(self):
        self.last = None

    def keep(self, v):
        self.last = v


def attribute_first_given_a_tensor_by_a_method(x, n):
    h = Holder()
    if x > 0.0:
        h.keep(x * 2.0)
    return x


def test_an_attribute_a_called_function_gives_its_first_tensor_is_an_error_naming_it():
    with pytest.raises(AutographError, match=re.escape(
            "`h.last` is None before the tensor `if` at "
            f"{where(attribute_first_given_a_tensor_by_a_method, 'if x > 0.0')}, and a "
            "function called inside it sets it to a tensor")):
        aj.function(attribute_first_given_a_tensor_by_a_method)(aj.constant(1.0),
                                                              aj.constant(3))


class Layerish:
    """Python (non-number) state a called function sets once, as a layer's build does, is
    left as it is: tracing the body once sets it once, as the first eager call would."""

    def __init__(self):
        self.built = False
        self.scale = None

    def __call__(self, v):
        if not self.built:
            self.scale = aj.Variable(2.0)
            self.built = True
        return v * self.scale


def a_layer_built_inside_a_tensor_loop(x, n):
    layer = Layerish()
    for i in range(n):
        x = layer(x)
    return x


def test_python_state_set_once_by_a_called_function_is_left_alone():
    traced = aj.function(a_layer_built_inside_a_tensor_loop)
    assert float(traced(aj.constant(1.5), aj.constant(3))) == pytest.approx(12.0)


def method_in_a_python_loop_with_a_tensor_break(x, n):
    acc = Acc()
    for i in range(4):
        if acc.total > 2.0:
            break
        acc.add(x)
    return acc.total, acc.count


def test_state_changed_under_a_tensor_break_of_a_python_loop_is_carried():
    check_tensors(method_in_a_python_loop_with_a_tensor_break, CASES)


def a_counter_equal_to_a_number_the_block_assigns(x, n):
    acc = Acc()
    m = 0
    for i in range(n):
        m = 1  # the same cached int object as acc.count after one acc.add
        acc.add(x)
    return acc.count * 10 + m


def test_a_counter_is_carried_when_it_equals_a_number_of_the_block():
    check_tensors(a_counter_equal_to_a_number_the_block_assigns, CASES)


class Cell:
    """An RNN cell keeping its state on itself, as hand-written cells do."""

    def __init__(self, w):
        self.w = w
        self.h = aj.zeros([2])
        self.steps = 0

    def step(self, x):
        self.h = aj.tanh(self.h * self.w + x)
        self.steps += 1
        return self.h


def cell_stepped_while_a_list_grows(xs, w):
    cell = Cell(w)
    outs = []
    for x in xs:  # the first trace is cut short when `outs` becomes a TensorArray
        outs.append(cell.step(x))
    return aj.stack(outs), cell.h, cell.steps


def test_state_a_cut_short_trace_changed_is_put_back_and_carried():
    xs = aj.constant(np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32))
    w = aj.Variable([0.5, -0.25])
    traced = aj.function(cell_stepped_while_a_list_grows)
    with aj.GradientTape(persistent=True) as tape:
        got = traced(xs, w)
        want = cell_stepped_while_a_list_grows(xs, w)
        loss_got, loss_want = aj.reduce_sum(got[1]), aj.reduce_sum(want[1])
    for g, e in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss_got, w).numpy(),
                               tape.gradient(loss_want, w).numpy(), rtol=1e-5)
