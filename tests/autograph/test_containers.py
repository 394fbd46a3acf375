"""Python lists and dicts whose items a tensor ``if`` branch or tensor loop body assigns
(``l[i] = v``, ``d[k] += v``): state of the block, like a rebound variable (Note [Containers
in tensor control flow] in conditionals.py). Each function is traced once and gives the
plain-Python answer for inputs that take different branches and trip counts; nothing one
traced branch does to a container leaks into the other or out of the trace."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError
from tests.numeric import numeric_grad

from .helpers import assert_close, check, check_python, op_names, to_tensor, where

ROWS = [aj.TensorSpec([None], aj.float32), aj.TensorSpec([], aj.int32)]


def check_rows(fn, cases, ops=()):
    """``fn`` as plain Python and converted on Python values, and as one ``@aj.function``
    over rows of any length: the same answers, traced once, with ``ops`` in the graph."""
    check_python(fn, cases)
    traced = aj.function(fn, input_signature=ROWS)
    for args in cases:
        assert_close(traced(*[to_tensor(a) for a in args]), fn(*args))
    assert traced.tracing_count == 1
    names = op_names(traced.get_concrete_function(*[to_tensor(a) for a in cases[0]]).graph)
    assert set(ops) <= names, sorted(names)


def test_an_item_set_in_one_branch_does_not_leak_into_the_other():
    def f(x):
        vals = [1, 2, 3]
        if x > 0:
            vals[1] = -1
        return vals[1] + x * 0

    check(f, [(-3,), (3,), (0,)], ops=("cond",))


def test_lists_and_dicts_of_tensors_in_both_branches():
    def f(x):
        vals = [x, -x]
        d = {"a": x, "b": 0.0}
        if x > 1:
            vals[1] = x * 10
            d["b"] += x
        elif x > -1:
            d["a"] -= 1.0
        else:
            vals[0] = vals[0] * vals[1]
            d["b"] = d["b"] + 2.0
        return vals[0] + vals[1] + d["a"] * 3.0 + d["b"]

    check(f, [(2.0,), (0.5,), (-2.0,)], ops=("cond",))


def test_a_dict_accumulates_in_for_and_while_loops():
    def f(xs, n):
        d = {"sum": xs[0] * 0.0, "scale": 1.0}
        for x in xs:
            d["sum"] += x * d["scale"]
            d["scale"] = d["scale"] * 0.5
        i = 0
        while i < n:
            d["sum"] = d["sum"] * 2.0
            i += 1
        return d["sum"] + d["scale"]

    xs = np.array([1.0, -2.0, 3.0, 0.5], np.float32)
    check_rows(f, [(xs, 0), (xs[:1], 3), (xs[:3], 1)], ops=("while_loop",))


def test_nested_lists_and_tuples_as_loop_state():
    def f(xs, n):
        m = [[0.0, 0.0], [0.0, 0.0]]
        for x in xs:
            if x > 0:
                m[0][1] += x
            else:
                m[1][0] -= x
        state = (xs[0], [xs[0], 1.0])
        for _ in range(n):
            state[1][1] = state[1][1] * state[0]
        return m[0][1] * 2.0 + m[1][0] + state[1][1]

    xs = np.array([1.0, -2.0, 3.0], np.float32)
    check_rows(f, [(xs, 2), (-xs, 0), (xs[1:], 3)], ops=("while_loop", "cond"))


def test_aliases_see_the_merged_container():
    def f(x):
        vals = [x, x]
        alias = vals
        if x > 0:
            vals[0] = x * 3.0
        return alias[0] + alias[1]

    check(f, [(2.0,), (-2.0,)], ops=("cond",))


def test_a_list_item_set_in_a_loop_of_python_length_stays_python():
    def f(x):
        vals = [0.0, 0.0, 0.0]
        for i in range(3):
            if i > 0:
                vals[i] = vals[i - 1] + x
        return vals[2]

    check(f, [(1.5,), (-1.0,)], absent=("while_loop",))


def _grad(fn, x):
    x = aj.constant(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x).numpy()


def items_in_branches_and_loops(x):
    vals = [x, x * x]
    d = {"acc": aj.reduce_sum(x) * 0.0}
    if aj.reduce_sum(x) > 0:
        vals[1] = aj.sin(x) * 3.0
    else:
        vals[0] = vals[0] * vals[1]
    for row in x:
        d["acc"] += row * aj.reduce_sum(vals[0] * vals[1])
    return d["acc"]


@pytest.mark.parametrize("point", [[0.5, 1.0], [-0.5, -1.0], [0.3, -0.9, 0.2]])
def test_gradients_match_finite_differences_and_eager(point):
    traced = aj.function(items_in_branches_and_loops,
                         input_signature=[aj.TensorSpec([None], aj.float64)])
    x = np.array(point, np.float64)
    got = _grad(traced, x)
    eager = _grad(items_in_branches_and_loops, x)
    numeric = numeric_grad(lambda v: float(items_in_branches_and_loops(aj.constant(v))), x)
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got, eager, rtol=1e-10)
    assert_close(traced(aj.constant(x)), items_in_branches_and_loops(aj.constant(x)))
    assert traced.tracing_count == 1


def names_in_a_branch(x):
    names = ["a", "b"]
    if x > 0:
        names[0] = "z"
    return x, names


def names_in_a_loop(x, n):
    names = ["a"]
    for _ in range(n):
        names[0] = "b"
    return x


def test_a_python_item_that_depends_on_a_tensor_condition_is_an_error():
    with pytest.raises(AutographError, match=re.escape(
            "`names` is ['z', 'b'] in the true branch but ['a', 'b'] in the false branch of "
            f"the tensor `if` at {where(names_in_a_branch, 'if x > 0')}; only tensors and "
            "numbers can depend on a tensor condition")):
        aj.function(names_in_a_branch)(aj.constant(1.0))
    with pytest.raises(AutographError, match=re.escape(
            "`names` holds a Python list (['b']) that changes inside the tensor `for` loop at "
            f"{where(names_in_a_loop, 'for _ in range(n)')}; only tensors and numbers can "
            "change in a graph loop")):
        aj.function(names_in_a_loop)(aj.constant(1.0), aj.constant(3))


def test_the_converted_code_carries_the_container():
    def f(x):
        vals = [1, 2]
        if x > 0:
            vals[1] = 5
        return vals

    code = aj.autograph.to_code(f)
    assert "('vals',), 1)" in code


def test_numbers_in_containers_take_the_dtype_of_the_tensors_they_meet():
    def f(x, n):
        st = [0, 1.0, 2]
        if x > 0:
            st[0] = x * 2
            st[2] = 2.5
        counts = {"sum": 0, "steps": 0}
        i = 0
        while i < n:
            counts["sum"] = counts["sum"] + x
            counts["steps"] += 1
            i += 1
        return st, counts["sum"], counts["steps"]

    check(f, [(2.0, 3), (-1.0, 0), (0.5, 1)], ops=("cond", "while_loop"))


def test_mutating_methods_make_a_container_state_like_item_assignments():
    # `d.update(...)` in a tensor loop or branch mutates `d` as `d[k] = v` does; the traced
    # bodies' values leaked out of their graphs before.
    def loop(x, v):
        d = {"a": x, "b": 0.0}
        for t in v:
            d.update(a=d["a"] * 0.5 + t)
        return d["a"], d["b"]

    def branch(x, v):
        pair = [x, x * 2.0]
        if x > 0.5:
            pair.reverse()
        d = {"a": x}
        if x < 1.0:
            d.update({"a": d["a"] + 1.0})
        return pair[0], pair[1], d["a"]

    cases = [(0.75, [1.0, -2.0, 3.0]), (1.5, [0.5, 0.5, 0.5]), (0.25, [2.0, -1.0, 0.0])]
    check(loop, cases)
    check(branch, cases)
