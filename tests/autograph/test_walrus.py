"""Assignment expressions (``:=``) in converted code: a walrus in a ``while`` test binds the
function's variable (it is loop state, set by every test), one in an ``if`` test binds it
before the branches; inside the later operands of ``and``/``or`` or the branches of
``a if c else b`` the expression stays Python, and a tensor deciding it is a clear error."""

import pytest

import autojit as aj
from autojit.errors import AutographError

from .helpers import check, where


def while_walrus(x, n):
    i = 0
    s = x * 0.0
    while (j := i * 2) < n:
        s = s + x * float(j)
        i += 1
    return j, i, s


def while_walrus_python_counter(x, n):
    k = 0
    total = x
    while (k := k + 1) < 4:
        total = total * 0.5 + float(k)
    return k, total


def if_walrus(x, n):
    if (y := x * 2.0) > 1.0:
        r = y
    else:
        r = -y
    return r, y


def python_walrus_in_logical_operands(x, n):
    m = 3
    flag = m > 1 and (k := m * 2) > 4
    other = (w := m + 1) if m > 2 else 0
    return x * float(k + w), flag, other


CASES = [(1.5, 0), (0.25, 1), (-2.0, 5), (0.75, 3)]


@pytest.mark.parametrize("fn", [while_walrus, while_walrus_python_counter, if_walrus,
                                python_walrus_in_logical_operands])
def test_walrus_targets_bind_the_functions_variable(fn):
    check(fn, CASES)


def test_a_tensor_deciding_an_expression_with_a_walrus_is_an_error_naming_it():
    def f(x):
        return x > 0 and (y := x * 2) > 1  # noqa: F841

    def g(x):
        return (y := x + 1) if x > 0 else x  # noqa: F841

    for fn, kind, snippet, later in [(f, "`and`", "return x > 0 and", "an operand after it"),
                                     (g, "`a if c else b`", "return (y", "a branch")]:
        with pytest.raises(AutographError) as info:
            aj.function(fn)(aj.constant(1.0))
        message = str(info.value)
        assert f"the condition of the {kind} at {where(fn, snippet)} is a tensor" in message
        assert f"{later} assigns with `:=`" in message


def test_a_tensor_loop_with_a_walrus_test_and_a_break_is_an_error_naming_it():
    def f(x, n):
        i = 0
        while (j := i * 2) < n:
            i += 1
            if x > 1.0:
                break
        return j

    with pytest.raises(AutographError) as info:
        aj.function(f)(aj.constant(2.0), aj.constant(5))
    message = str(info.value)
    assert f"the loop at {where(f, 'while (j := i * 2) < n:')} assigns with `:=` in its test " \
        "and has a `break` or `return` in its body" in message
