"""Python builtins on graph tensors (Note [Builtins on tensors] in py_builtins.py): each
function runs as plain Python on NumPy values and through ``@aj.function`` on tensors, and the
answers must agree."""

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

from .helpers import check, where

CASES = [(0.5, -1.25, 3, [0.5, -1.0, 2.0]), (-2.5, 2.5, 0, [1.5, 1.5, -0.5]),
         (1.75, 1.75, -2, [-2.0, 0.25, 0.25])]


def numbers(x, y, n, v):
    return (float(n) * 0.5 + x, int(x) + n, float(int(y)), round(x), round(y),
            round(x * 3.0, 1), abs(x - y), bool(n))


def extremes(x, y, n, v):
    return (max(x, y), min(x, y), max(x, 0.5, y), min(n, 1), max(n, 0.5),
            max([x, y * 2.0]), min(v), max(v))


def truths(x, y, n, v):
    return (any([x > y, n > 2]), all([x > -3.0, n >= 0]), any(t > 1.0 for t in v),
            all(t > -3.0 for t in v), any([n]))


def branches(x, y, n, v):
    r = 0.0
    if max(x, y) > 1.0:
        r = r + 1.0
    if any([x > 0.0, y > 0.0]) and bool(n):
        r = r + 10.0
    return r


@pytest.mark.parametrize("fn", [numbers, extremes, truths, branches])
def test_builtins_on_tensors_agree_with_python(fn):
    check(fn, CASES)


def test_max_keeps_the_first_of_equal_items_for_its_gradient():
    # Python's max keeps the first largest item, so the gradient goes to it alone.
    @aj.function
    def f(x, y):
        with aj.GradientTape() as tape:
            tape.watch([x, y])
            m = max(x, y)
        return tape.gradient(m, [x, y], unconnected_gradients=aj.UnconnectedGradients.ZERO)

    gx, gy = f(aj.constant(2.0), aj.constant(2.0))
    assert (float(gx), float(gy)) == (1.0, 0.0)
    gx, gy = f(aj.constant(1.0), aj.constant(2.0))
    assert (float(gx), float(gy)) == (0.0, 1.0)


def test_builtins_keep_python_results_for_python_values():
    @aj.function
    def f(x):
        k = max(2, 3) + int("4") + float("0.5") + round(2.5)
        return x * k

    assert float(f(aj.constant(1.0))) == 3 + 4 + 0.5 + 2  # round(2.5) is 2


def test_a_variable_is_read_at_every_call():
    v = aj.Variable(1.5)

    @aj.function
    def f():
        return max(v, 2.0), float(v), round(v)

    assert [float(t) for t in f()] == [2.0, 1.5, 2.0]
    v.assign(3.5)
    assert [float(t) for t in f()] == [3.5, 3.5, 4.0]


def test_builtins_that_need_one_element_say_where():
    def f(v):
        return float(v)

    with pytest.raises(AutographError, match=r"float\(\) at .*test_builtins.py:\d+ needs a "
                                             r"tensor with one element, got a float32 tensor "
                                             r"of shape \[3\]"):
        aj.function(f)(aj.constant([1.0, 2.0, 3.0]))

    def g(m):
        return max(m)

    with pytest.raises(AutographError) as info:
        aj.function(g)(aj.constant(np.ones((2, 2), np.float32)))
    assert where(g, "return max(m)") in str(info.value)
    assert "needs a 1-D tensor, got shape [2, 2]" in str(info.value)

    def h(v, x):
        return max(v, x)

    with pytest.raises(AutographError, match=r"max\(\) at .* got a float32 tensor of shape \[3\]"):
        aj.function(h)(aj.constant([1.0, 2.0, 3.0]), aj.constant(1.0))


def test_divmod_of_tensors():
    def f(x, n):
        return divmod(x, 2.0), divmod(n, 3), divmod(7, n)

    check(f, [(5.5, 7), (-5.5, -7), (0.25, 2)])
