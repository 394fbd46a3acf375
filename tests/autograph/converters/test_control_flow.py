"""``if``/``while``/``for``: Python conditions stay Python, tensor ones become graph nodes."""

import numpy as np
import pytest

import autojit as aj
from autojit import autograph
from autojit.autograph.values import AutographWarning

from ..helpers import check, check_python, op_names, to_tensor


def sign(x):
    if x > 0:
        y = 1.0
    elif x < 0:
        y = -1.0
    else:
        y = 0.0
    return y


def count_down(x, n):
    while n > 0:
        x = x * 2.0
        n -= 1
    return x


def range_sum(x, n):
    acc = 0.0
    total = 0
    for i in range(n):
        acc = acc * 0.5 + x
        total += i
    return acc, total


def range_bounds(n):
    acc = 0
    for i in range(2, n, 3):
        acc += i
    return acc


def row_sums(m):
    total = 0.0
    for row in m:
        total += aj.reduce_sum(row) if isinstance(row, aj.Tensor) else float(np.sum(row))
    return total


def test_if_elif_else():
    check(sign, [(3.0,), (-3.0,), (0.0,)], ops={"cond"})


def test_while():
    check(count_down, [(1.0, 0), (1.0, 3), (0.5, 6)], ops={"while_loop"})


def test_for_over_range_of_a_tensor():
    check(range_sum, [(1.0, 0), (2.0, 4), (0.5, 7)], ops={"while_loop"})
    check(range_bounds, [(0,), (5,), (12,)], ops={"while_loop"})


def test_for_over_the_rows_of_a_tensor():
    traced = aj.function(row_sums)
    for m in (np.ones((3, 2)), np.arange(8.0).reshape(4, 2)):
        assert traced(to_tensor(m)).numpy() == pytest.approx(m.sum())
    assert traced.tracing_count == 2  # two shapes
    assert "while_loop" in op_names(traced.get_concrete_function(to_tensor(np.ones((3, 2)))).graph)


def test_for_over_aj_range_is_a_graph_loop():
    def fn(x):
        acc = 0.0
        for i in aj.range(4):
            acc += x * aj.cast(i, aj.float32)
        return acc

    traced = aj.function(fn)
    assert traced(aj.constant(1.0)).numpy() == 6.0
    assert "while_loop" in op_names(traced.get_concrete_function(aj.constant(1.0)).graph)


def test_python_conditions_are_resolved_while_tracing():
    def fn(x, flag):
        if flag:
            x = x + 1.0
        for i in range(3):
            x = x * 2.0
        return x

    traced = aj.function(fn)
    assert traced(aj.constant(1.0), True).numpy() == 16.0
    names = op_names(traced.get_concrete_function(aj.constant(1.0), True).graph)
    assert "cond" not in names and "while_loop" not in names


def test_concrete_tensor_conditions_run_python():
    def fn(x):
        if x > 0:
            return x
        return -x

    assert autograph.convert(fn)(aj.constant(-2.0)).numpy() == 2.0


def test_while_evaluates_its_test_once_per_iteration():
    calls = []

    def test_fn(i, n):
        calls.append(i)
        return i < n

    def fn(n):
        i = 0
        while test_fn(i, n):
            i += 1
        return i

    autograph.convert(fn)(3)
    assert calls == [0, 1, 2, 3]
    calls.clear()
    traced = aj.function(fn)
    with pytest.warns(AutographWarning, match="`calls` is a list that tensors are appended to"):
        assert traced(aj.constant(3)).numpy() == 3
    assert len(calls) == 2  # once before the loop, once in the traced body


def test_state_with_nested_structures_and_python_objects():
    def fn(x):
        pair = (x, x * 2.0)
        name = "same"
        if x > 0:
            pair = (pair[1], pair[0])
        return pair[0] - pair[1], name

    check_python(fn, [(1.0,), (-1.0,)])
    traced = aj.function(fn)
    assert traced(aj.constant(1.0))[0].numpy() == 1.0
    assert traced(aj.constant(-1.0))[0].numpy() == 1.0
    assert traced(aj.constant(-1.0))[1] == "same"


def test_globals_and_nonlocals():
    total = [0]
    counter = 0

    def fn(x):
        nonlocal counter
        if x > 0:
            counter += 1
        total[0] += 1
        return counter

    converted = autograph.convert(fn)
    assert [converted(1), converted(-1), converted(2)] == [1, 1, 2]
    assert counter == 2 and total[0] == 3


def test_python_scalars_take_the_tensor_dtype():
    def fn(x, c):
        y = 0 if c > 0 else x
        acc = 0
        for i in range(3):
            acc += y
        return acc

    check(fn, [(2.0, 1.0), (2.0, -1.0)], ops={"cond"})
    traced = aj.function(fn)
    assert traced(aj.constant(2.0, aj.float64), aj.constant(-1.0, aj.float64)).dtype == aj.float64


def test_unrolling_a_long_python_loop_warns():
    def fn(x):
        for i in range(150):
            x = x + 1.0
        return x

    with pytest.warns(autograph.AutographWarning, match="more than 100 iterations"):
        assert aj.function(fn)(aj.constant(0.0)).numpy() == 150.0


def test_code_shape():
    code = autograph.to_code(sign)
    assert "ag__.if_stmt(x > 0, if_body_1, else_body_1, get_state_1, set_state_1, ('y',), 1)" \
        in code
    assert "y = ag__.Undefined('y')" in code
    assert "ag__.while_stmt(loop_test, loop_body, get_state, set_state, ('n', 'x'), 2)" \
        in autograph.to_code(count_down)


def test_a_python_loop_whose_test_becomes_a_tensor_continues_as_a_graph_loop():
    def fn(x):
        i = 0
        s = 0.0
        while i < 3:  # `i` is a Python int first, then a tensor
            i = i + aj.cast(x > 0, aj.int32) + 1
            s += 1.0
        return s, i

    traced = aj.function(fn)
    assert [float(v) for v in traced(aj.constant(1.0))] == [2.0, 4.0]
    assert [float(v) for v in traced(aj.constant(-1.0))] == [3.0, 3.0]
    assert traced.tracing_count == 1
    assert "while_loop" in op_names(traced.get_concrete_function(aj.constant(1.0)).graph)


def test_the_iteration_variable_is_usable_after_a_tensor_loop():
    def fn(n):
        i = -1
        for i in range(n):
            pass
        for j in range(n):
            pass
        return i, j

    traced = aj.function(fn)
    assert [int(v) for v in traced(aj.constant(4))] == [3, 3]


def test_variables_as_conditions_are_read_at_every_call():
    flag = aj.Variable(1.0)

    def fn(x):
        if flag:
            return x
        return -x

    traced = aj.function(fn)
    assert traced(aj.constant(2.0)).numpy() == 2.0
    flag.assign(0.0)
    assert traced(aj.constant(2.0)).numpy() == -2.0
    assert traced.tracing_count == 1


def test_unknown_lengths():
    def fn(x):
        total = aj.zeros_like(x[0])
        for row in x:
            total = total + row
        return total, len(x)

    traced = aj.function(fn, input_signature=[aj.TensorSpec([None, 2], aj.float32)])
    for rows in (1, 3):
        total, length = traced(aj.constant(np.ones((rows, 2), np.float32)))
        assert total.numpy().tolist() == [rows, rows] and int(length) == rows
    assert traced.tracing_count == 1
