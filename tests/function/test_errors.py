"""Errors raised while tracing (and while replaying) name the user's file and line, and a
failed trace leaves the function and the thread's state usable."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, ShapeError, TracingError
from autojit.ops import core

from .common import AUTOGRAPH

HERE = os.path.basename(__file__)


def line_of(fn, text):
    """The line number (in this file) of the first source line of ``fn`` containing ``text``."""
    lines, first = inspect.getsourcelines(fn)
    for offset, line in enumerate(lines):
        if text in line:
            return first + offset
    raise AssertionError(f"{text!r} not in {fn.__name__}")


def assert_points_here(message, fn, text):
    assert f"{HERE}:{line_of(fn, text)}" in message, message


def test_shape_mismatch_names_the_line():
    def add_rows(x, y):
        z = x * 2.0
        return z + y  # (2, 3) + (4,): the bad line

    with pytest.raises(ShapeError) as info:
        aj.function(add_rows, autograph=AUTOGRAPH)(aj.ones((2, 3)), aj.ones((4,)))
    message = str(info.value)
    assert "cannot be broadcast" in message
    assert_points_here(message, add_rows, "the bad line")


def test_dtype_mismatch_names_the_line():
    def mix(x, n):
        return aj.matmul(x, n)  # float32 @ int32

    with pytest.raises(DTypeError) as info:
        aj.function(mix, autograph=AUTOGRAPH)(aj.ones((2, 2)), aj.ones((2, 2), aj.int32))
    assert_points_here(str(info.value), mix, "float32 @ int32")


def test_error_in_a_nested_function_names_the_inner_line():
    def inner(x):
        return aj.matmul(x, x)  # (2, 3) @ (2, 3)

    @aj.function(autograph=AUTOGRAPH)
    def outer(x):
        return inner(x) + 1.0

    with pytest.raises(ShapeError) as info:
        outer(aj.ones((2, 3)))
    assert_points_here(str(info.value), inner, "(2, 3) @ (2, 3)")


def test_bool_of_a_symbolic_tensor_without_autograph():
    def branchy(x):
        if x > 0:  # a tensor condition, not converted
            return x
        return -x

    with pytest.raises(TracingError) as info:
        aj.function(branchy, autograph=False)(aj.constant(1.0))
    message = str(info.value)
    assert "bool() of a symbolic tensor" in message
    assert "aj.cond" in message
    assert_points_here(message, branchy, "a tensor condition")


@pytest.mark.parametrize("use, what", [
    (lambda x: float(x), "float()"),
    (lambda x: int(x), "int()"),
    (lambda x: x.numpy(), ".numpy()"),
    (lambda x: np.asarray(x), "np.asarray()"),
    (lambda x: [1, 2, 3][x], "as an index"),
])
def test_concrete_value_requests_are_clear_errors(use, what):
    with pytest.raises(TracingError) as info:
        aj.function(lambda x: use(x), autograph=False)(aj.constant(1, aj.int32))
    message = str(info.value)
    assert what in message and "symbolic tensor" in message
    assert HERE in message


def test_len_and_iteration_over_an_unknown_dim():
    f = aj.function(lambda x: len(x), autograph=False,
                    input_signature=[aj.TensorSpec([None, 2], aj.float32)])
    with pytest.raises(TracingError, match="len()"):
        f(aj.ones((3, 2)))
    g = aj.function(lambda x: [row for row in x], autograph=False,
                    input_signature=[aj.TensorSpec([None, 2], aj.float32)])
    with pytest.raises(TracingError, match="Iterating"):
        g(aj.ones((3, 2)))
    # with a known dim both work, unrolled while tracing
    h = aj.function(lambda x: (len(x), [row * 2.0 for row in x]), autograph=False)
    n, rows = h(aj.ones((3, 2)))
    assert n == 3 and len(rows) == 3


def test_a_symbolic_tensor_escaping_its_trace():
    leaked = []
    holder = type("Holder", (), {})()

    @aj.function(autograph=AUTOGRAPH)
    def leak(x):
        y = x * 2.0
        leaked.append(y)
        holder.last = aj.sin(x)
        return y

    leak(aj.constant(1.0))
    made = f"{__file__}:{line_of(leak.python_function, 'y = x * 2.0')}"
    escaped = (f"it is a f32[] made by `multiply` at {made} while tracing `leak`, and that "
               "trace has finished: a symbolic tensor has no value outside its @aj.function "
               "(it was kept in an attribute, a global, a list or a closure). Return it from "
               "the function instead")
    with pytest.raises(TracingError) as info:
        leaked[0] + 1.0
    assert str(info.value) == f"add: got a symbolic tensor from a finished @aj.function " \
                              f"trace: {escaped}"
    with pytest.raises(TracingError) as info:
        aj.function(lambda x: x + leaked[0], autograph=AUTOGRAPH)(aj.constant(1.0))
    assert str(info.value).endswith(f"got a symbolic tensor from another @aj.function: "
                                    f"{escaped}")
    for use, what in ((lambda t: t.numpy(), ".numpy()"), (float, "float()"),
                      (bool, "bool()")):
        with pytest.raises(TracingError) as info:
            use(holder.last)
        text = str(info.value)
        assert text.startswith(f"{what} of a symbolic tensor at {__file__}:"), text
        assert "made by `sin` at" in text and "that trace has finished" in text, text


def test_a_value_leaked_from_a_branch_names_where_it_was_made():
    kept = []

    @aj.function
    def branch(x):
        if x > 0:
            kept.append(x * 3.0)
        return kept[0] + 1.0

    with pytest.raises(TracingError) as info, pytest.warns(
            aj.autograph.AutographWarning, match="`kept` is a list that tensors are appended "
            "to inside the tensor `if`.*through a name the function does not own"):
        branch(aj.constant(1.0))
    assert f"made at {__file__}:{line_of(branch.python_function, 'kept.append')})" in \
        str(info.value) and "belongs to another graph" in str(info.value)


def test_replay_errors_name_the_op_and_the_user_line():
    def halves(x):
        return aj.reshape(x, (2, -1))  # an odd length cannot be split

    f = aj.function(halves, autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([None], aj.float32)])
    assert f(aj.ones((4,))).shape == (2, 2)
    with pytest.raises(ValueError) as info:
        f(aj.ones((5,)))
    message = str(info.value)
    assert "`reshape`" in message
    assert_points_here(message, halves, "odd length")


def test_a_failed_trace_leaves_everything_usable():
    calls = []

    @aj.function(autograph=AUTOGRAPH)
    def picky(x):
        calls.append(1)
        if x.shape[0] == 3:
            raise ValueError("no threes")
        return x + 1.0

    with pytest.raises(ValueError, match="no threes"):
        picky(aj.ones((3,)))
    assert core.current_trace() is core._State.trace  # back to eager
    assert not core.active_tapes()
    assert picky.tracing_count == 0
    np.testing.assert_allclose(picky(aj.ones((2,))).numpy(), [2.0, 2.0])
    assert picky.tracing_count == 1
    with pytest.raises(ValueError, match="no threes"):  # not cached: it fails again
        picky(aj.ones((3,)))
    x = aj.constant(2.0)
    with aj.GradientTape() as tape:  # tapes and eager ops still work
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 4.0


def test_a_failed_trace_under_a_tape_restores_the_tape():
    bad = aj.function(lambda x: aj.matmul(x, x), autograph=AUTOGRAPH)
    x = aj.ones((2, 3))
    with aj.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(ShapeError):
            bad(x)
        y = aj.reduce_sum(x * 3.0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.full((2, 3), 3.0))


def test_concrete_function_called_with_the_wrong_number_of_tensors():
    cf = aj.function(lambda x, y: x + y, autograph=AUTOGRAPH).get_concrete_function(
        aj.ones((2,)), aj.ones((2,)))
    with pytest.raises(TracingError, match="takes 2 tensors, got 1"):
        cf(aj.ones((2,)))


def test_a_failed_replay_leaves_variables_unchanged():
    # Note [Failed replays]: a write before a node that can fail at run time is undone.
    v = aj.Variable(0.0)

    @aj.function(autograph=AUTOGRAPH, input_signature=[aj.TensorSpec([None], aj.float32)])
    def step(x):
        v.assign_add(1.0)
        return aj.reshape(x, (2, -1))

    step(aj.ones((4,)))
    assert float(v) == 1.0
    with pytest.raises(ValueError):
        step(aj.ones((5,)))
    assert float(v) == 1.0
    step(aj.ones((6,)))
    assert float(v) == 2.0


def test_a_training_step_writing_last_copies_nothing():
    # Its variables are written after every node that could fail, so no snapshot is taken.
    w = aj.Variable(np.ones((3, 2), np.float32))

    @aj.function(autograph=AUTOGRAPH, input_signature=[aj.TensorSpec([None, 3], aj.float32)])
    def step(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_sum(aj.matmul(x, w))
        w.assign_sub(0.1 * tape.gradient(loss, w))
        return loss

    concrete = step.get_concrete_function()
    assert concrete._guarded == []
