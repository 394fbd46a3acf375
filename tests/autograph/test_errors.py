"""The errors autograph raises name the variable and the user's file:line (pinned text)."""

import re
import sys
import traceback

import numpy as np
import pytest

import autojit as aj
from autojit import autograph
from autojit.errors import AutographError, DTypeError, TracingError

from .helpers import where


def one_branch(x):
    if x > 0:
        z = x
    return z


def first_in_loop(x, n):
    i = 0
    while i < n:
        q = x * 2.0
        i += 1
    return q


def falls_off(x):
    if x > 0:
        return x


def changes_dtype(x, n):
    acc = aj.constant(0)
    i = 0
    while i < n:
        acc = aj.cast(acc, aj.float32) + x
        i += 1
    return acc


def not_converted(x):
    if x > 0:
        return x
    return -x


def try_around(x):
    try:
        if x > 0:
            x = x + 1.0
    except ZeroDivisionError:
        pass
    return x


def generator(x):
    if x > 0:
        yield x


def uses_generator(x):
    return list(generator(x))


def dtype_between_branches(x):
    if x > 0:
        y = x
    else:
        y = aj.constant(1)
    return y


def object_between_branches(x):
    if x > 0:
        name = "positive"
    else:
        name = "negative"
    return x, name


def vector_condition(x):
    if x > 0:
        x = -x
    return x


def raises(x):
    if x > 0:
        raise ValueError("raised by the user")
    return x


def kept_by_a_comprehension(x):
    return sum(v * 2.0 for v in x if v > 0)


def kept_by_a_comprehension_in_a_loop(x):
    total = 0.0
    for w in [x, x * 2.0]:
        total = total + sum([v for v in w if v > 1.0 and v < 5.0])
    return total


def run(fn, *args):
    return aj.function(fn)(*[aj.constant(a) for a in args])


def test_variable_defined_in_one_branch():
    message = (f"`z` is assigned only in the true branch of the tensor `if` at "
               f"{where(one_branch, 'if x > 0')} but is used after it; give it a value "
               "before the `if` or assign it in both branches")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(one_branch, 1.0)


def test_variable_first_defined_in_a_loop():
    message = (f"`q` is first assigned inside the tensor `while` loop at "
               f"{where(first_in_loop, 'while i < n')} but is used after the loop or read in "
               "the next iteration; give it a value before the loop")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(first_in_loop, 1.0, 3)


def test_return_on_only_one_path():
    message = (f"`falls_off` returns a value on some paths through the tensor control flow at "
               f"{where(falls_off, 'if x > 0')} but reaches its end without `return` on "
               "others; inside @aj.function every path must return a value of the same "
               "structure: add a `return` at the end of `falls_off` "
               f"({where(falls_off, 'def falls_off')})")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(falls_off, 1.0)


def test_loop_variable_changing_dtype():
    message = (f"while_loop: `acc` is int32[] before the loop but float32[] after one "
               f"iteration (at {where(changes_dtype, 'while i < n')}); cast it before the loop "
               "so its dtype stays the same")
    with pytest.raises(DTypeError, match=f"^{re.escape(message)}$"):
        run(changes_dtype, 1.0, 3)


def test_bool_of_a_tensor_in_code_that_was_not_converted():
    with pytest.raises(TracingError) as info:
        aj.function(not_converted, autograph=False)(aj.constant(1.0))
    text = str(info.value)
    assert text.startswith(f"bool() of a symbolic tensor (bool[] from `greater`) at "
                           f"{where(not_converted, 'if x > 0')}")
    assert "Let autograph convert this `if`/`while`" in text and "aj.cond" in text


def test_try_around_tensor_control_flow():
    message = (f"the condition at {where(try_around, 'if x > 0')} is a tensor, but the "
               "statement is inside a `try` statement, which autograph cannot turn into graph "
               "control flow; move the tensor condition out of it, or use aj.cond / "
               "aj.while_loop")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(try_around, 1.0)
    assert autograph.convert(try_around)(1.0) == 2.0  # Python values are fine


def test_yield_inside_tensor_control_flow():
    message = (f"the condition at {where(generator, 'if x > 0')} is a tensor, but the "
               "statement is a statement containing `yield`, which autograph cannot turn into "
               "graph control flow; move the tensor condition out of it, or use aj.cond / "
               "aj.while_loop")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(uses_generator, 1.0)
    assert autograph.convert(uses_generator)(2.0) == [2.0]


def test_with_blocks_are_fine():
    def fn(x):
        with aj.name_scope("block"):
            if x > 0:
                x = x * 2.0
        return x

    assert run(fn, 2.0).numpy() == 4.0


def test_dtype_differs_between_branches():
    message = (f"`y` is float32 in the true branch but int32 in the false branch of the tensor "
               f"`if` at {where(dtype_between_branches, 'if x > 0')}; cast one with aj.cast so "
               "both have the same dtype")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(dtype_between_branches, 1.0)


def test_python_object_differs_between_branches():
    message = (f"`name` is 'positive' in the true branch but 'negative' in the false branch of "
               f"the tensor `if` at {where(object_between_branches, 'if x > 0')}; only tensors "
               "and numbers can depend on a tensor condition")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(object_between_branches, 1.0)


def test_non_scalar_condition():
    message = (f"the condition of the tensor `if` at {where(vector_condition, 'if x > 0')} "
               "must be a scalar, got a bool tensor of shape [3]; reduce it with aj.reduce_any "
               "/ aj.reduce_all")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        aj.function(vector_condition)(aj.constant(np.ones(3, np.float32)))


def test_user_exceptions_surface_at_the_user_line():
    with pytest.raises(ValueError, match="raised by the user") as info:
        autograph.convert(raises)(1.0)
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert f"{last.filename}:{last.lineno}" == where(raises, 'raise ValueError')
    assert last.line == 'raise ValueError("raised by the user")'
    # Under a tensor condition the raising branch is a graph assert (Note [raise in a
    # tensor if]): checked at every call, naming the `if` and the `raise` lines.
    with pytest.raises(AssertionError, match=re.escape(
            f"the tensor `if` at {where(raises, 'if x > 0')} took its true branch, which "
            f"raises ValueError('raised by the user') at {where(raises, 'raise ValueError')}")):
        run(raises, 1.0)


def test_the_traceback_shows_user_lines_for_generated_calls():
    with pytest.raises(ValueError) as info:
        autograph.convert(raises)(1.0)
    lines = [f"{f.filename}:{f.lineno}" for f in traceback.extract_tb(info.value.__traceback__)]
    assert where(raises, "if x > 0") in lines
    assert sys.modules[autograph.convert.__module__].__file__ not in " ".join(
        line for line in lines if line.startswith(__file__))


def dtype_changed_after_an_early_return(x, n):
    a = aj.constant(1)
    for i in range(n):
        if x > 0.0:
            return x
        a = aj.cast(a, aj.float32) * x
    return a


def test_a_dtype_change_after_an_early_return_names_the_guarding_if():
    # the converters put the code after `return x` under `if not do_return:`; the error
    # says so, at the first line of that code, instead of a bare `if`
    with pytest.raises(AutographError, match=re.escape(
            "`a` is float32 in the true branch but int32 in the false branch of the tensor "
            "`if` around the code after a `return`, `break` or `continue` (its true branch runs "
            f"that code) at {where(dtype_changed_after_an_early_return, 'a = aj.cast')}")):
        aj.function(dtype_changed_after_an_early_return)(aj.constant(1.0), aj.constant(3))


@pytest.mark.parametrize("fn, line", [(kept_by_a_comprehension, "for v in x if v > 0"),
                                      (kept_by_a_comprehension_in_a_loop, "for v in w if")])
def test_a_tensor_if_in_a_comprehension(fn, line):
    message = (f"the `if` of the comprehension at {where(fn, line)} is a tensor: a "
               "comprehension picks its items in Python, so which items it keeps cannot "
               "depend on a tensor's value while tracing; keep them all and mask them "
               "(aj.boolean_mask(x, x > 0), aj.where(x > 0, x, 0.0)), or write a `for` loop "
               "that appends under an `if` (in a tensor loop the list is a TensorArray)")
    with pytest.raises(AutographError, match=f"^{re.escape(message)}$"):
        run(fn, [1.0, -2.0, 3.0])
    values = np.array([1.0, -2.0, 3.0])
    assert autograph.convert(fn)(values) == fn(values)  # Python values are fine
