"""Gradients through converted ``if``/``while`` (nested, with ``break``) agree with finite
differences and with eager execution of the same Python."""

import numpy as np
import pytest

import autojit as aj
from tests.numeric import numeric_grad


def branchy(x):
    if aj.reduce_sum(x) > 0:
        y = x * x * 3.0
    else:
        y = aj.sin(x)
    return aj.reduce_sum(y)


def loop_with_break(x, n):
    s = x
    i = 0
    while i < n:
        if aj.reduce_sum(s) > 10.0:
            break
        s = s * 1.5 + x
        i += 1
    return aj.reduce_sum(s * s)


def nested(x, n):
    s = x
    for i in range(n):
        if i % 2 == 0:
            s = s * x
        else:
            j = 0
            while j < 2:
                s = s + aj.sin(x) * 0.5
                j += 1
    return aj.reduce_sum(s)


def gradient(fn, x, *rest):
    x = aj.constant(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, *rest)
    return tape.gradient(y, x).numpy()


@pytest.mark.parametrize("fn, rest, points", [
    (branchy, (), [[0.5, 1.0], [-0.5, -1.0]]),
    (loop_with_break, (0, 2, 5), [[0.5, 0.25], [1.0, 2.0], [-0.5, 0.1]]),
    (nested, (0, 1, 3, 4), [[0.5, 0.75], [-1.0, 0.5]]),
])
def test_gradients_match_finite_differences_and_eager(fn, rest, points):
    traced = aj.function(fn)
    ns = rest or (None,)
    for n in ns:
        extra = () if n is None else (aj.constant(n),)
        for point in points:
            x = np.array(point, np.float64)
            got = gradient(traced, x, *extra)
            eager = gradient(fn, x, *extra)
            numeric = numeric_grad(lambda v: float(fn(aj.constant(v), *extra)), x)
            np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(got, eager, rtol=1e-10)
    assert traced.tracing_count == 1
