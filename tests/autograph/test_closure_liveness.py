"""A lambda passed straight to a call runs during that call: the names it reads are not live
after the statement (so a branch-local value it reads needs no value in the other branch),
while a lambda kept for later still keeps its names live everywhere."""

from __future__ import annotations

import pytest

import autojit as aj
from autojit.errors import AutographError


def branch_local_read_by_lambda(x):
    if aj.reduce_sum(x) > 0:
        v = x * 2.0
    else:
        t = aj.tanh(x)
        u = aj.cond(aj.reduce_sum(t) > -1.0, lambda: aj.sin(t) * x, lambda: t * 0.5)
        v = u + 1.0
    return v


@pytest.mark.parametrize("value", [1.5, -0.75])
def test_lambda_argument_reads_are_local_to_the_call(value):
    x = aj.constant([value, value], aj.float64)
    want = branch_local_read_by_lambda(x).numpy()
    got = aj.function(branch_local_read_by_lambda)(x).numpy()
    assert (got == want).all()


def test_stored_lambda_keeps_its_reads_live():
    def f(x):
        if aj.reduce_sum(x) > 0:
            t = x * 2.0
        later = lambda: t  # noqa: E731  (stored: may run after the if)
        return later()

    with pytest.raises(AutographError, match="`t` is assigned only in the true"):
        aj.function(f)(aj.constant([1.0]))


def stored_through_a_call(c):
    getters = []
    x = 1.0
    getters.append(lambda: x)  # kept: reads the x after the `if`, when called
    if c > 0:
        x = 2.0
    else:
        x = 3.0
    return getters[0]()


@pytest.mark.parametrize("value", [1.0, -1.0])
def test_lambda_given_to_a_call_that_keeps_it_reads_the_later_value(value):
    traced = aj.function(stored_through_a_call)
    c = aj.constant(value)
    assert float(traced(c)) == stored_through_a_call(c) == (2.0 if value > 0 else 3.0)
