"""State that functions called inside tensor control flow change (Note [State changed by
called functions] in autograph/untracked.py): an attribute, a list or dict item, or a
``nonlocal`` variable that a called function or method sets inside a tensor ``if`` or loop is
carried by the ``cond``/``while_loop`` like a variable the block assigns itself, so the
function gives what plain Python gives (it changed once, when the body was traced, or leaked
a tensor of the body's graph). Each function runs as plain Python and through
``@aj.function`` on tensors, traced once."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest

import autojit as aj
from autojit.autograph import untracked
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


# ------------------------------------------- slots the watch skipped or could not reach (fixed)
# Each of these was a silent wrong answer or a leaked-tensor error: the watch skipped a slot
# whose new value was also a value of the block's state (`out = add(x)`), or whose list was
# bound to a block variable (`view = acc`), or found by the name of a variable of the block
# (another function's `total`); it did not look into lists and dicts of more than 64 items,
# below 4 levels, into dict subclasses, `__slots__`, the methods of local classes, default
# arguments, or the functions the body defines.


def nonlocal_set_and_returned_under_a_tensor_if(x, n):
    total = 0.0

    def add(v):
        nonlocal total
        total = total + v
        return total

    out = 0.0
    if x > 0.0:
        out = add(x)
    return total, out


class Mean:
    def __init__(self):
        self.total = 0.0

    def update(self, v):
        self.total = self.total + v
        return self.total


def attribute_set_and_returned_in_a_tensor_for(x, n):
    m = Mean()
    last = 0.0
    for i in range(n):
        last = m.update(x)
    return m.total, last


def loop_variable_kept_by_a_function(x, n):
    h = Mean()
    h.last = 0.0
    y = 0.0
    for i in range(n):
        y = y + x
        keep(h, y)  # `h.last` is `y` after it: the same tensor as the block's own variable
    return h.last, y


def keep(h, v):
    h.last = v


def item_set_while_the_body_binds_an_alias_of_its_list(x, n):
    acc = [0.0]

    def inc(v):
        acc[0] = acc[0] + v

    for i in range(n):
        inc(x)
        view = acc  # noqa: F841  (unused: the list is state of the loop, not `acc[0]`)
    return acc[0]


def item_of_a_list_of_100_items(x, n):
    hist = [0] * 100
    big = {k: 0.0 for k in range(100)}

    def bump(k):
        hist[k] += 1
        big[k] = big[k] + x

    for i in range(n):
        bump(3)
    return hist[3], big[3]


def item_nested_seven_levels_deep(x, n):
    root = {"a": [Node({"b": (0.5, [[0.0]])})]}

    def bump(v):
        root["a"][0].c["b"][1][0][0] += v

    for i in range(n):
        bump(x)
    return root["a"][0].c["b"][1][0][0]


class Node:
    def __init__(self, c):
        self.c = c


def a_defaultdict_counter(x, n):
    counts = collections.defaultdict(int)
    counts["k"] = 0

    def bump():
        counts["k"] += 1

    if x > 0.0:
        bump()
    return counts["k"]


class Slotted:
    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def step(self):
        self.n += 1


def an_attribute_of_a_slotted_object(x, n):
    s = Slotted()
    for i in range(n):
        s.step()
    return s.n


def a_nonlocal_of_a_method_of_a_local_class(x, n):
    count = 0

    class Counter:
        def add(self):
            nonlocal count
            count += 1

    c = Counter()
    for i in range(n):
        c.add()
    return count


def a_mutable_default_argument(x, n):
    def bump(v, acc=[0.0]):
        acc[0] = acc[0] + v
        return acc

    for i in range(n):
        bump(x)
    return bump(0.0)[0]


def make_adder():
    total = 0.0

    def add(v):
        nonlocal total
        total = total + v
        return total

    return add


def a_nonlocal_named_like_a_variable_of_the_block(x, n):
    add = make_adder()
    total = 0.0
    for i in range(n):
        total = total + 1.0  # this `total` is the block's; `add`'s is another one
        add(x)
    return total, add(0.0)


def a_nonlocal_rebound_by_a_function_the_body_defines(x, n):
    total = 0.0
    for i in range(n):
        def inc():
            nonlocal total
            total = total + x
        inc()
    return total


@pytest.mark.parametrize("fn", [
    nonlocal_set_and_returned_under_a_tensor_if, attribute_set_and_returned_in_a_tensor_for,
    loop_variable_kept_by_a_function, item_set_while_the_body_binds_an_alias_of_its_list,
    item_of_a_list_of_100_items, item_nested_seven_levels_deep, a_defaultdict_counter,
    an_attribute_of_a_slotted_object, a_nonlocal_of_a_method_of_a_local_class,
    a_mutable_default_argument, a_nonlocal_named_like_a_variable_of_the_block,
    a_nonlocal_rebound_by_a_function_the_body_defines])
def test_state_the_watch_used_to_skip_or_miss_is_carried(fn):
    check_tensors(fn, CASES)


def item_given_its_first_tensor(x, n):
    d = {}

    def put(v):
        d["k"] = v

    for i in range(n):
        put(x * 2.0)
    return x


def item_removed(x, n):
    d = {"k": 1.0}

    def drop():
        d.pop("k", None)

    for i in range(n):
        drop()
    return x


def attribute_set_to_a_tensor_and_a_string(x, n):
    h = Mean()

    def put(v):
        h.total = [v, "a"]

    if x > 0.0:
        put(x)
    return x


def item_of_a_loop_variable_changed_through_an_alias(x, n):
    root = [0.0]
    alias = root

    def bump(v):
        alias[0] = alias[0] + v

    for i in range(n):
        root[0] = root[0] * 2.0
        bump(x)
    return root[0]


@pytest.mark.parametrize("fn, snippet, message", [
    (item_given_its_first_tensor, "for i in range(n)",
     "`d['k']` has no value before the tensor `for` loop at {}, and a function called inside "
     "it sets it to a tensor; the `for` loop can carry it only from a tensor or number"),
    (item_removed, "for i in range(n)",
     "`d['k']` is 1.0 before the tensor `for` loop at {}, and a function called inside it "
     "removes it; the `for` loop cannot carry that"),
    (attribute_set_to_a_tensor_and_a_string, "if x > 0.0",
     "`h.total` is 0.0 before the tensor `if` at {}, and a function called inside it sets it "
     "to ['tensor', 'a']; the `if` can carry only tensors and numbers"),
    (item_of_a_loop_variable_changed_through_an_alias, "for i in range(n)",
     "`root[0]` changes inside the tensor `for` loop at {} through a function called there "
     "that reaches `root` by another name (an alias, an attribute); the `for` loop carries "
     "`root` as its own state, a copy of the list or dict while it is traced"),
])
def test_a_change_the_block_cannot_carry_is_an_error_naming_it(fn, snippet, message):
    with pytest.raises(AutographError, match=re.escape(message.format(where(fn, snippet)))):
        aj.function(fn)(aj.constant(1.5), aj.constant(3))


def test_a_walk_past_its_budget_is_a_warning_naming_where_it_stopped(monkeypatch):
    monkeypatch.setattr(untracked, "_BUDGET", 50)

    class Big:
        def __init__(self):
            self.inner = Acc()
            self.data = [0.0] * 100  # walked before `inner` (the last first): the budget

    def f(x, n):
        big = Big()
        for i in range(n):
            big.inner.add(x)
        return x + big.data[0]

    with pytest.warns(AutographWarning, match=re.escape(
            f"the tensor `for` loop at {where(f, 'for i in range(n)')} runs where its "
            "function's variables reach more than 50 Python items; from `big.inner` on they "
            "are not watched")):
        aj.function(f)(aj.constant(1.5), aj.constant(3))
