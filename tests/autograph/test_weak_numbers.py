"""Python numbers in tensor control flow (Note [Weak numbers in tensor control flow] in
conditionals.py): the same number in both branches of a tensor ``if`` stays a Python
number; numbers that differ become a *weak* tensor, which takes the dtype of the tensor it
later meets in a ``cond`` or loop, as the number would have in eager code. Each function is
run as plain Python and through ``@aj.function`` on tensors, traced once."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

from .helpers import assert_close, check, check_tensors, where


def same_number_in_both_branches(x, n):
    if n > 0:
        k = 1
    else:
        k = 1
    return x * k


def same_numbers_in_a_tuple(x, n):
    pair = (x, 2)
    if n > 0:
        pair = (x + 1.0, 2)
    return pair[0] * pair[1]


def early_return_of_one_number_twice(x, n):
    if n < 1:
        return 0
    if x > 2.0:
        return 0
    return x * 2.0


def early_returns_of_two_numbers(x, n):
    if n < 1:
        return 0
    if x > 2.0:
        return 1
    return x * 2.0


def a_number_carried_through_a_later_if(y, n):
    if n < 1:
        return y, 1
    if y > 100.0:
        return y + 1.0, 2
    return y * 2.0, 1


def a_number_returned_inside_a_loop(x, n):
    i = 0
    while i < n:
        if x > 3.0:
            return 7
        i += 1
        x = x + 1.0
    return x * 2.0


def a_number_returned_inside_a_for(x, n):
    for i in range(n):
        if x > 3.0:
            return 0, i
        x = x * 2.0
    return x, 1


def two_numbers_then_a_float(x, n):
    if n > 1:
        k = 2
    else:
        k = 3
    if x > 0.0:
        k = x
    return k


def a_loop_number_then_a_float(x, n):
    k = 0
    while k < n:
        k += 1
    if x > 0.0:
        k = x * 1.5
    return k


def a_float_number_then_an_int(x, n):
    if n > 1:
        k = 0.5
    else:
        k = 1
    return x + k


CASES = [(1.5, 0), (1.5, 5), (2.5, 2), (-0.5, 3), (4.0, 1)]


@pytest.mark.parametrize("fn", [
    same_number_in_both_branches, same_numbers_in_a_tuple, early_return_of_one_number_twice,
    early_returns_of_two_numbers, a_number_carried_through_a_later_if,
    a_number_returned_inside_a_loop, a_number_returned_inside_a_for,
    two_numbers_then_a_float, a_loop_number_then_a_float, a_float_number_then_an_int])
def test_numbers_in_tensor_control_flow_give_the_eager_answer(fn):
    check(fn, CASES)


def test_the_same_number_in_both_branches_stays_python():
    @aj.function
    def size(x, n):
        if n > 0:
            k = 2
        else:
            k = 2
        assert type(k) is int, k  # a Python assert, while tracing
        return aj.zeros([k]) + x

    assert_close(size(aj.constant(1.0), aj.constant(0)), np.ones(2))


def test_the_same_return_in_both_branches_is_the_python_number():
    @aj.function
    def one(x):
        if x > 0.0:
            return 1
        else:
            return 1

    for x in (-2.0, 3.0):
        result = one(aj.constant(x))
        assert type(result) is int and result == 1, result


def strong_int_meets_a_float(x, k):
    if x > 0.0:
        k = 1.5
    return k


def test_a_float_meeting_an_int_tensor_names_the_variable_and_line():
    with pytest.raises(AutographError, match=re.escape(
            "`k` is int32 in the false branch and the Python float 1.5 in the true branch "
            f"of the tensor `if` at {where(strong_int_meets_a_float, 'if x > 0.0')}: "
            "cannot convert float values to int32 without loss")):
        aj.function(strong_int_meets_a_float)(aj.constant(1.0), aj.constant(3))


def strong_int_meets_a_weak_float(x, n, k):
    if n > 1:
        j = 0.5
    else:
        j = 1.5
    if x > 0.0:
        j = k
    return j


def test_a_weak_float_meeting_an_int_tensor_is_an_error_naming_both():
    with pytest.raises(AutographError, match=re.escape(
            "`j` is int32 in the true branch but float32 in the false branch of the tensor "
            f"`if` at {where(strong_int_meets_a_weak_float, 'if x > 0.0')}")):
        aj.function(strong_int_meets_a_weak_float)(aj.constant(1.0), aj.constant(3),
                                                   aj.constant(2))


def mean_of_rows(xs):
    total = 0.0
    count = 0
    for row in xs:
        total += aj.reduce_sum(row)
        count += 1
    return total / count


def test_a_counter_carried_by_a_tensor_loop_divides_a_float():
    # Note [Weak tensors] (graph/tracer.py): `count` is a weak int32 loop output; the
    # division casts it to float32 as eager code divides by the Python int.
    xs = np.arange(12, dtype=np.float32).reshape(4, 3)
    traced = aj.function(mean_of_rows)
    assert_close(traced(aj.constant(xs)), mean_of_rows(aj.constant(xs)))
    assert_close(traced(aj.constant(xs[:2])), xs[:2].sum() / 2)


def scale_by_a_branch_number(x, n):
    if n > 2:
        k = 2
    else:
        k = 3
    return x * k + k


def test_a_weak_number_from_a_branch_takes_the_float_it_multiplies_and_its_gradient():
    traced = aj.function(scale_by_a_branch_number)
    x = aj.Variable(1.5)
    for n in (1, 5):
        with aj.GradientTape() as tape:
            y = traced(x, aj.constant(n))
        assert y.dtype == aj.float32
        k = 2 if n > 2 else 3
        assert_close(y, 1.5 * k + k)
        assert_close(tape.gradient(y, x), k)
    assert traced.tracing_count == 1


def strong_int_times_a_float(x, n):
    m = n
    if x > 0.0:
        m = n + 1
    return x * m


def test_a_strong_int_tensor_still_needs_a_cast():
    with pytest.raises(Exception, match="expected inputs of one dtype, got float32 and int32"):
        aj.function(strong_int_times_a_float)(aj.constant(1.0), aj.constant(2))


def an_int_returned_in_a_loop_after_a_float_returned_early(x, n):
    if x > 2.0:
        return 1.5, x  # the 1.5 stays Python (Note [Numbers returned from one branch])
    for i in range(n):
        x = x + 0.5
        if True:
            return 0, x  # an int where the loop's return value holds a float
    return x, x


class Box:
    def __init__(self, s):
        self.s = s


def a_weak_int_where_a_python_float_started(x, n):
    box = Box(0.25)
    for i in range(n):
        box.s = int(x)  # a weak int32 where the Python float 0.25 was
    return box.s + x


def a_number_pair_returned_in_a_tensor_loop(x, n):
    c = x
    for t in aj.range(n):
        c = c + 1.0
        if True:
            return -2, c
    return x, c


@pytest.mark.parametrize("fn", [an_int_returned_in_a_loop_after_a_float_returned_early,
                                a_weak_int_where_a_python_float_started,
                                a_number_pair_returned_in_a_tensor_loop])
def test_numbers_a_loop_body_leaves_take_the_loop_variables_dtype(fn):
    check_tensors(fn, [(1.5, 0), (1.5, 3), (-2.5, 2), (3.0, 1)])


def numpy_float_meets_an_int(x, k):
    if x > 0.0:
        k = np.float64(1.5)
    return k


def test_a_numpy_value_meeting_an_int_tensor_is_named_as_numpy():
    with pytest.raises(AutographError, match=re.escape(
            "`k` is int32 in the false branch and the NumPy float64 value 1.5 in the true "
            f"branch of the tensor `if` at {where(numpy_float_meets_an_int, 'if x > 0.0')}")):
        aj.function(numpy_float_meets_an_int)(aj.constant(1.0), aj.constant(3))


# Numbers appended to a list in a tensor loop (the list is a ListArray there): an item read
# back is the number it was, so it takes the dtype of the float it meets.

def ints_appended_then_scaled(xs, n):
    out = []
    for x in xs:
        out.append(int(x))
    return out[1] * 0.25 + out[-1]


def a_counter_appended_in_a_while(xs, n):
    out = [0]
    i = 0
    while i < n:
        i += 1
        out.append(i)
    return out[-1] * 0.5 + xs[0]


def appended_numbers_iterated(xs, n):
    out = []
    for x in xs:
        out.append(round(x))
    total = 0.0
    for v in out:
        total = total + v * 0.5
    return total


def numbers_appended_under_an_if(xs, n):
    out = [1]
    for x in xs:
        if x > 2.0:
            out.append(2)
        else:
            out.append(3)
    return out[-1] / 4.0 + out[0]


@pytest.mark.parametrize("fn", [ints_appended_then_scaled, a_counter_appended_in_a_while,
                                appended_numbers_iterated, numbers_appended_under_an_if])
def test_numbers_appended_in_a_tensor_loop_read_back_as_numbers(fn):
    check_tensors(fn, [([3.7, 5.2, 1.0], 2), ([0.5, -2.5, 9.0], 3), ([1.0, 2.0, 4.5], 0)])


def int_tensors_appended_then_scaled(xs, n):
    out = []
    for x in xs:
        out.append(aj.cast(x, aj.int32))  # strong int32 tensors, as in eager code
    return out[0] * 0.5


def appended_numbers_stacked_then_scaled(xs, n):
    out = []
    for x in xs:
        out.append(int(x))
    return aj.stack(out) * 0.5  # aj.stack of Python ints is an int32 tensor in eager code


@pytest.mark.parametrize("fn", [int_tensors_appended_then_scaled,
                                appended_numbers_stacked_then_scaled])
def test_int_tensors_appended_in_a_tensor_loop_stay_int32(fn):
    xs = aj.constant([3.7, 5.2, 1.0])
    with pytest.raises(aj.errors.DTypeError, match="int32"):
        fn(xs, 2)
    with pytest.raises(aj.errors.DTypeError, match="int32"):
        aj.function(fn)(xs, aj.constant(2))


def rounded_numbers_appended_under_a_tensor_if(xs, n):
    c = 0.0
    out = []
    for k in range(3):  # a Python loop: `c` is a Python float, then a float32 tensor
        if xs[0] < 0.25 and k >= 1:
            out.append(round(c))
        c = c - xs[k] * 0.5
    if len(out) > 0:
        c -= out[-1]
    return c


@pytest.mark.parametrize("fn", [rounded_numbers_appended_under_a_tensor_if])
def test_rounded_numbers_are_ints_in_a_grown_list(fn):
    check_tensors(fn, [([0.1, 2.5, 3.5], 0), ([1.5, -2.0, 1.0], 0), ([-3.0, 1.5, 2.5], 0)])


def test_round_of_a_scalar_tensor_is_a_weak_int():
    @aj.function
    def f(x):
        r = round(x)
        return r, r * 0.5, round(x, 1)

    r, half, one = f(aj.constant(2.6))
    assert r.dtype == aj.int32 and int(r) == 3 and float(half) == 1.5
    assert one.dtype == aj.float32 and float(one) == pytest.approx(2.6)


def ints_then_floats_appended(xs, n):
    out = []
    for x in xs:
        out.append(int(x))
        out.append(x * 0.5)  # a float after a weak int: the list holds floats
    return out[0] + out[-1] * 2.0


def ints_and_floats_extended(xs, n):
    out = []
    for x in xs:
        out.extend([round(x), x - 1.0, 2])
    return out[-2] + out[0] * 0.5 + out[-1]


@pytest.mark.parametrize("fn", [ints_then_floats_appended, ints_and_floats_extended])
def test_a_float_appended_after_weak_ints_makes_a_float_list(fn):
    check_tensors(fn, [([3.7, 5.2, 1.0], 2), ([0.5, -2.5, 9.0], 3), ([1.0, 2.0, 4.5], 0)])


def a_float_and_a_weak_int_extended_under_a_tensor_if(xs, n):
    out = []
    s = 0.25
    for k in range(3):  # a Python loop: the list grows in one branch of each tensor if
        if xs[k] > 0.0:
            out.extend([s * 0.25, int(xs[k])])
    return out[-1] + out[0] if len(out) > 0 else xs[0]


def test_numbers_and_weak_ints_grown_in_one_branch_make_a_float_list():
    check_tensors(a_float_and_a_weak_int_extended_under_a_tensor_if,
                  [([3.7, 5.2, 1.0], 2), ([0.5, -2.5, 9.0], 3), ([-1.0, -2.0, -4.5], 0)])


# The ints Python's builtins make are ints in eager code: the index of `range` with a tensor
# bound, of `enumerate` in a graph loop, `len` of an unknown dimension. In the graph they are
# weak int32 tensors, so float arithmetic with them needs no aj.cast (the index of
# aj.range stays a strong int32, as in TF).


def a_tensor_range_index_times_a_float(x, n):
    s = x
    for i in range(n):
        s = s + i * 0.5
    return s


def a_tensor_range_with_a_start_and_step(x, n):
    s = x
    for i in range(1, n, 2):
        s = s - i * 0.25 + i
    return s


def an_enumerate_index_times_its_row(x, n):
    s = x
    for i, r in enumerate(aj.range(n, dtype=aj.float32)):
        s = s + r * i
    return s


def an_enumerate_index_from_one(x, n):
    s = x
    for i, r in enumerate(aj.range(n, dtype=aj.float32), 3):
        s = s + (r - i) * 0.5
    return s


def a_zipped_range_index(x, n):
    s = x
    for i, r in zip(range(n), aj.range(n, dtype=aj.float32)):
        s = s + i * r * 0.5
    return s


def a_tensor_range_index_carried_after_a_float(x, n):
    last = 0.5
    for i in range(n):
        last = i
    return last * x


@pytest.mark.parametrize("fn", [a_tensor_range_index_times_a_float,
                                a_tensor_range_with_a_start_and_step,
                                an_enumerate_index_times_its_row, an_enumerate_index_from_one,
                                a_zipped_range_index,
                                a_tensor_range_index_carried_after_a_float])
def test_the_ints_of_python_loops_over_tensors_are_weak(fn):
    check_tensors(fn, [(1.5, 0), (1.5, 3), (-2.5, 5), (3.0, 1)])


def test_the_len_of_an_unknown_dimension_is_a_weak_int():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float32)])
    def mean(x):
        return aj.reduce_sum(x) / len(x) + len(x) * 0.5

    for n in (1, 4):
        x = np.arange(n, dtype=np.float32) + 0.5
        assert_close(mean(aj.constant(x)), x.sum() / n + n * 0.5)


def an_aj_range_index_times_a_float(x, n):
    for i in aj.range(n):
        x = x + i * 0.5
    return x


def test_the_index_of_aj_range_stays_a_strong_int32_and_the_error_names_the_line():
    with pytest.raises(Exception, match="cannot combine an int32 tensor with the Python "
                       r"float 0.5.*\(at " + re.escape(where(an_aj_range_index_times_a_float,
                                                             "i * 0.5")) + r"\)"):
        aj.function(an_aj_range_index_times_a_float)(aj.constant(1.0), aj.constant(3))


def int_counter_turned_float(xs, x):
    n = 0
    for v in xs:
        n += 0.5  # the loop traces again with `n` a float: still weak, as the Python number
    return x * n


def int_leaf_turned_float(xs, x):
    st = [0, 1]
    for v in xs:
        st[0] += 0.25
    return x * st[0] + st[1]


@pytest.mark.parametrize("fn", [int_counter_turned_float, int_leaf_turned_float])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_int_that_a_loop_makes_a_float_stays_weak(fn, dtype):
    xs, x = aj.constant([1.0, 2.0, 3.0]), aj.constant(np.array([1.0, -2.0], dtype))
    got = aj.function(fn)(xs, x)
    assert got.dtype == x.dtype
    assert_close(got, fn(xs, x))
