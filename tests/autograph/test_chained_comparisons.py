"""Chained comparisons (``converters/comparisons.py``, ``conditionals.compare_chain``):
``lo < x < hi`` and ``a == b == c`` are the pairwise comparisons joined by ``and``, each
operand evaluated once, later operands only when the earlier comparisons held."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit import autograph
from autojit.errors import AutographError
from tests.numeric import numeric_grad

from .helpers import check, where


def test_chains_in_conditions_and_values():
    def f(x, y):
        if 0 < x < 5:
            z = x * 2
        elif x == y == 7:
            z = x - y
        else:
            z = -x
        return z, 1 <= x <= y, x != y < 3, -10 < x * 2 < 10 > y

    check(f, [(3, 1), (7, 7), (9, 4), (-2, 0), (5, 5)], ops=("cond",))


def test_operands_are_evaluated_once_and_short_circuit_on_python_values():
    calls = []

    def mid(v):
        calls.append(v)
        return v

    def f(x):
        return 0 < mid(x) < 10, 5 < 3 < mid(x)

    converted = autograph.convert(f)
    assert converted(4) == (True, False)
    assert calls == [4]  # `5 < 3` is false: the last operand is never evaluated
    calls.clear()
    traced = aj.function(f)
    first, second = traced(aj.constant(4))
    assert bool(first) and not bool(second)
    assert len(calls) == 1
    assert "ag__.compare_chain(" in autograph.to_code(f)


def test_a_costly_later_operand_runs_under_the_condition():
    def f(xs, i):
        # `xs[i]` only runs when `0 <= i < 3` holds, as in Python (an out-of-range index
        # would be an error): the chain becomes a `cond`, not a `logical_and`.
        return 0 <= i < 3 < xs[i] * 10.0

    check(f, [(np.array([0.1, 0.5, 0.2], np.float32), 1),
              (np.array([0.1, 0.5, 0.2], np.float32), 0),
              (np.array([0.1, 0.5, 0.2], np.float32), 5)], ops=("cond",))


def window(x):
    if -0.5 < aj.sin(aj.reduce_sum(x)) < 0.5:
        y = x * x * 3.0
    else:
        y = aj.cos(x)
    return aj.reduce_sum(y)


@pytest.mark.parametrize("point", [[0.1, 0.2], [0.9, 0.8], [-0.9, -0.6]])
def test_gradients_match_finite_differences_and_eager(point):
    traced = aj.function(window)
    x = np.array(point, np.float64)

    def grad(fn):
        v = aj.constant(x)
        with aj.GradientTape() as tape:
            tape.watch(v)
            out = fn(v)
        return tape.gradient(out, v).numpy()

    numeric = numeric_grad(lambda v: float(window(aj.constant(v))), x)
    np.testing.assert_allclose(grad(traced), numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad(traced), grad(window), rtol=1e-10)
    assert traced.tracing_count == 1


def vector_chain(v):
    if 0 < v < 5:
        v = v + 1
    return v


def test_a_chain_of_vectors_is_the_scalar_condition_error():
    # As in Python (`bool` of an array is ambiguous) and TF: reduce to a scalar first.
    with pytest.raises(AutographError, match=re.escape(
            "the condition of the tensor chained comparison at "
            f"{where(vector_chain, 'if 0 < v < 5')} must be a scalar, got a bool tensor of "
            "shape [3]; reduce it with aj.reduce_any / aj.reduce_all")):
        aj.function(vector_chain)(aj.constant([1.0, 2.0, 3.0]))
