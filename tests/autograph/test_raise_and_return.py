"""``raise`` and ``return`` in branches (``converters/raise_statements.py``, Note [raise in a
tensor if] in conditionals.py): a branch that raises or returns need not define what the
other branches define, under Python and tensor conditions; ``return`` and ``continue`` mixed
in the branches of a tensor ``if`` inside a tensor loop; ``return`` in a later ``elif``;
nested conditional expressions on tensors. One function object per test, traced once
(per Python argument), giving the plain-Python answer every time."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError
from tests.numeric import numeric_grad

from .helpers import assert_close, check, where


def by_mode(x, mode):
    if mode == "double":
        y = x * 2.0
    elif mode == "square":
        y = x * x
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if y > 1.0:
        y = y - 1.0
    return y


def test_a_python_decided_raise_leaves_the_other_branches_variables_alone():
    traced = aj.function(by_mode)
    for mode in ("double", "square"):
        for x in (3.0, 0.25, -2.0):
            assert_close(traced(aj.constant(x), mode), by_mode(x, mode))
    assert traced.tracing_count == 2  # once per mode (a Python argument)
    with pytest.raises(ValueError, match=re.escape("unknown mode 'cube'")):
        traced(aj.constant(1.0), "cube")


def early_exit(x, mode):
    if mode == "skip":
        return -x
    else:
        y = x + 1.0
    if y > 0:
        y = y * 3.0
    return y


def test_a_python_decided_return_leaves_the_other_branches_variables_alone():
    traced = aj.function(early_exit)
    for mode in ("skip", "run"):
        for x in (2.0, -4.0):
            assert_close(traced(aj.constant(x), mode), early_exit(x, mode))
    assert traced.tracing_count == 2


def checked_sqrt(x):
    if x < 0.0:
        raise ValueError("x must not be negative")
    else:
        y = aj.sqrt(x)
    return y * 2.0


def test_raise_under_a_tensor_condition_is_a_graph_assert():
    traced = aj.function(checked_sqrt)
    for x in (4.0, 0.25):
        assert_close(traced(aj.constant(x)), 2.0 * np.sqrt(x))
    with pytest.raises(AssertionError, match=re.escape(
            f"the tensor `if` at {where(checked_sqrt, 'if x < 0.0')} took its true branch, "
            "which raises ValueError('x must not be negative') at "
            f"{where(checked_sqrt, 'raise ValueError')}")):
        traced(aj.constant(-1.0))
    assert traced.tracing_count == 1
    assert "assert" in str(traced.get_concrete_function(aj.constant(1.0)).graph)


def validate(x, strict):
    if aj.reduce_sum(x) > 0:
        y = aj.sin(x) * 2.0
    else:
        if strict:
            raise ValueError("sum must be positive")
        y = x * x
    return aj.reduce_sum(y)


def test_raise_in_a_python_branch_inside_a_tensor_branch():
    traced = aj.function(validate)
    x = np.array([0.5, 1.0], np.float32)
    assert_close(traced(aj.constant(x), False), validate(aj.constant(x), False))
    assert_close(traced(aj.constant(-x), False), validate(aj.constant(-x), False))
    assert_close(traced(aj.constant(x), True), validate(aj.constant(x), True))
    with pytest.raises(AssertionError, match="took its false .* branch, which raises "
                                             "ValueError\\('sum must be positive'\\)"):
        traced(aj.constant(-x), True)
    assert traced.tracing_count == 2


def test_both_branches_raising_raise_while_tracing():
    def f(x):
        if x > 0:
            raise ValueError("positive")
        else:
            raise KeyError("not positive")

    with pytest.raises(KeyError, match="not positive"):
        aj.function(f)(aj.constant(1.0))


def return_or_continue(x, n):
    acc = 0.0
    i = 0
    while i < n:
        i += 1
        if acc > x:
            return acc * 10.0
        else:
            acc = acc + 1.5
            continue
    return acc


def elif_return(x):
    if x > 2.0:
        y = x * 2.0
    elif x > 0.0:
        return x + 100.0
    else:
        y = -x
    return y * 3.0


def nested_if_exp(x, y):
    return x * 2 if x > y else (y - x if x > 0 else (x * y if y > 0 else x + y))


def test_return_and_continue_mixed_in_a_tensor_loop():
    check(return_or_continue, [(2.0, 0), (2.0, 1), (2.0, 3), (2.0, 10), (-1.0, 4),
                               (100.0, 5)], ops=("while_loop",))


def test_return_in_a_later_elif():
    check(elif_return, [(3.0,), (1.0,), (-2.0,)], ops=("cond",))


def test_nested_conditional_expressions_on_tensors():
    check(nested_if_exp, [(3.0, 1.0), (1.0, 2.0), (-1.0, 2.0), (-1.0, -3.0)], ops=("cond",))


def loop_with_exits(x, n):
    s = x
    i = 0
    while i < n:
        i += 1
        if aj.reduce_sum(s) > 4.0:
            return aj.reduce_sum(s * s)
        elif aj.reduce_sum(s) < -4.0:
            continue
        s = s * 1.5 + aj.sin(x)
    return aj.reduce_sum(s) if aj.reduce_sum(s) > 0 else (aj.reduce_sum(s * x) if i > 2
                                                           else aj.reduce_sum(-s))


@pytest.mark.parametrize("point", [[0.5, 0.25], [1.0, 2.0], [-0.5, 0.1], [-3.0, -2.5]])
def test_gradients_match_finite_differences_and_eager(point):
    traced = aj.function(loop_with_exits)
    x = np.array(point, np.float64)

    def grad(fn, n):
        v = aj.constant(x)
        with aj.GradientTape() as tape:
            tape.watch(v)
            out = fn(v, aj.constant(n))
        return tape.gradient(out, v).numpy()

    for n in (0, 2, 6):
        numeric = numeric_grad(lambda v: float(loop_with_exits(aj.constant(v),
                                                               aj.constant(n))), x)
        np.testing.assert_allclose(grad(traced, n), numeric, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(grad(traced, n), grad(loop_with_exits, n), rtol=1e-10)
        assert_close(traced(aj.constant(x), aj.constant(n)),
                     loop_with_exits(aj.constant(x), aj.constant(n)))
    assert traced.tracing_count == 1


def no_negatives(xs):
    s = 0.0
    for x in xs:
        if x < 0:
            raise ValueError("negative entry")
        s += x * x
    return s


def test_raise_in_a_tensor_loop_is_checked_at_every_iteration():
    traced = aj.function(no_negatives, input_signature=[aj.TensorSpec([None], aj.float32)])
    for xs in ([1.0, 2.0], [], [0.5, 0.25, 3.0]):
        assert_close(traced(aj.constant(np.array(xs, np.float32))), sum(x * x for x in xs))
    with pytest.raises(AssertionError, match=re.escape(
            f"took its true branch, which raises ValueError('negative entry') at "
            f"{where(no_negatives, 'raise ValueError')}")):
        traced(aj.constant([1.0, -2.0, 3.0]))
    assert traced.tracing_count == 1


def for_with_exits(xs, limit):
    acc = 0.0
    for x in xs:
        if acc > limit:
            return acc * 10.0
        elif x < 0:
            acc = acc - x
            continue
        elif x > 5.0:
            return -acc
        else:
            acc = acc + x
            continue
    return acc


def test_return_and_continue_in_elif_chains_of_a_tensor_for():
    traced = aj.function(for_with_exits, input_signature=[aj.TensorSpec([None], aj.float32),
                                                          aj.TensorSpec([], aj.float32)])
    for xs, limit in (([1.0, -2.0, 3.0], 100.0), ([1.0, 2.0, 3.0], 2.0),
                      ([1.0, 6.0, 3.0], 100.0), ([], 0.0)):
        xs = np.array(xs, np.float32)
        assert_close(traced(aj.constant(xs), aj.constant(limit)),
                     for_with_exits(xs, np.float32(limit)))
    assert traced.tracing_count == 1


@pytest.mark.parametrize("fn, args", [(checked_sqrt, ()), (by_mode, ("double",)),
                                      (by_mode, ("square",))])
def test_gradients_through_branches_next_to_a_raise(fn, args):
    traced = aj.function(fn)
    for point in (0.75, 2.5):
        x = np.array(point, np.float64)

        def grad(f):
            v = aj.constant(x)
            with aj.GradientTape() as tape:
                tape.watch(v)
                out = f(v, *args)
            return tape.gradient(out, v).numpy()

        numeric = numeric_grad(lambda v: float(fn(aj.constant(v), *args)), x)
        np.testing.assert_allclose(grad(traced), numeric, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(grad(traced), grad(fn), rtol=1e-10)
    assert traced.tracing_count == 1


def early_number_return(x, n):
    if n == 0:
        return 0
    return x * 2.0


def early_tuple_with_a_number(x, n):
    c = 0.0
    if n < 3:
        c = c + x
    else:
        return x, 0
    return x, c


def number_in_the_true_branch(x, n):
    if n < 3:
        return x, 0
    return x, x + 1.0


@pytest.mark.parametrize("fn", [early_number_return, early_tuple_with_a_number,
                                number_in_the_true_branch])
def test_a_number_returned_early_meets_a_float_return_as_a_weak_number(fn):
    # Note [Numbers returned from one branch]: the 0 became an int32 cond output and could
    # not merge with the float returned later.
    check(fn, [(1.5, 0), (1.5, 5), (-0.5, 2)])


def first_past(x, limit):
    while True:
        x = x * 2.0 + 1.0
        if x > limit:
            return x


def first_past_in_rows(x, limit):
    n = 0
    while 1:
        n += 1
        for v in x:
            if v * n > limit:
                return v * n


def first_past_or_raises(x, limit):
    steps = 0
    while True:
        steps += 1
        if steps > 50:
            raise ValueError("too many steps")
        x = x + 1.0
        if x > limit:
            return x


@pytest.mark.parametrize("fn, cases", [
    (first_past, [(0.5, 3.0), (4.0, 3.0), (-0.75, 100.0)]),
    (first_past_in_rows, [([1.0, 2.0], 7.0), ([3.0, -1.0], 2.0), ([0.5, 0.25], 4.0)]),
    (first_past_or_raises, [(0.5, 3.0), (10.0, 3.0), (-20.0, 5.0)]),
])
def test_while_true_left_only_by_return(fn, cases):
    # `while True:` without `break` never ends normally, so every path returns: the loop
    # becomes a graph loop (its test turns into the tensor `not do_return`)
    check(fn, cases, ops=["while_loop"])


def test_while_true_with_a_break_may_still_fall_off_the_end():
    def breaks(x):
        while True:
            x = x + 1.0
            if x > 3.0:
                return x
            if x < -3.0:
                break

    with pytest.raises(AutographError, match="reaches its end without `return`"):
        aj.function(breaks)(aj.constant(0.0))


def positive_only(x):
    if x > 0:
        return x * 2.0
    assert False, "x must be positive"


def positive_or_bare_assert(x):
    if aj.reduce_sum(x) > 0:
        return x * 2.0
    elif aj.reduce_min(x) > -5.0:
        return -x
    assert False


@pytest.mark.parametrize("fn, ok, bad, text", [
    (positive_only, 1.5, -1.5, "AssertionError\\('x must be positive'\\)"),
    (positive_or_bare_assert, [1.0, 2.0], [-6.0, 1.0], "AssertionError\\(''\\)"),
])
def test_assert_false_after_a_tensor_return_is_checked_when_reached(fn, ok, bad, text):
    # `assert False` raises like `raise`: in the untaken-yet-traced branch of the tensor
    # `if not do_return` it becomes a graph assert, and every path returns
    traced = aj.function(fn)
    assert_close(traced(aj.constant(ok)), fn(aj.constant(ok)))
    with pytest.raises(AssertionError):
        fn(aj.constant(bad))
    with pytest.raises(AssertionError, match=f"took its true branch, which raises {text}"):
        traced(aj.constant(bad))
    assert traced.tracing_count == 1


def by_mode_returns(x, mode):
    if mode == "abs":
        if x > 0:
            return x
        return -x
    if mode == "double":
        return x * 2.0


def match_returns(x, mode):
    match mode:
        case "abs":
            if x > 0:
                return x
            return -x
        case _:
            return x * 3.0


def loop_then_dead_code(x, mode):
    if mode == "loop":
        t = 0
        while True:
            t += 1
            if t > 3 or x > 2.0:
                return x + t
            x = x * 2.0
    if mode == "plain":
        return x


@pytest.mark.parametrize("fn, modes", [(by_mode_returns, ("abs", "double", "other")),
                                       (match_returns, ("abs", "other")),
                                       (loop_then_dead_code, ("loop", "plain", "other"))])
def test_a_mode_whose_tensor_paths_all_return_next_to_one_that_falls_off(fn, modes):
    # The tensor `if`s of one mode return on every path, though the flag they leave is a
    # tensor; another mode ends without `return` (None) in Python too (Note [Flags known in
    # their guards])
    traced = aj.function(fn)
    for mode in modes:
        for x in (3.0, -1.5, 0.25):
            got, want = traced(aj.constant(x), mode), fn(aj.constant(x), mode)
            assert (got is None) == (want is None), (mode, x, got, want)
            if want is not None:
                assert_close(got, want)
    assert traced.tracing_count == len(modes)
