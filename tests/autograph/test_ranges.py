"""``aj.range`` (and Python ``range``) with tensor bounds inside ``@aj.function``: an ordinary
tensor of unknown length, which a ``for`` iterates as a counter without materialising it.
Each function object is called with bounds giving different lengths (empty included), traced
once, and compared with plain Python."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj


def _python_range_math(n, m, k):
    r = list(range(n))
    return (sum(x * 3 for x in r), len(r), [float(x) for x in range(1, n)],
            list(range(m, k, -2)), r[1:])


@aj.function
def range_math(n, m, k):
    r = aj.range(n)
    return (aj.reduce_sum(r * 3), aj.shape(r)[0], aj.cast(aj.range(1, n), aj.float32),
            aj.range(m, k, -2), r[1:])


@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_range_is_a_tensor(n):
    got = range_math(aj.constant(n), aj.constant(n + 3), aj.constant(1))
    want = _python_range_math(n, n + 3, 1)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w, dtype=np.float64))
    assert range_math.tracing_count == 1


@aj.function
def loops(n, start, step):
    total = 0
    for i in aj.range(n):
        total += i * i
    count = 0
    for i in range(start, n, step):  # Python range of tensors, any sign of step
        count += 1 + i * 0
    down = 0
    for i in aj.range(n, 0, -1):  # a Python negative delta
        down = down * 2 + i
    return total, count, down


def _loops(n, start, step):
    down = 0
    for i in range(n, 0, -1):
        down = down * 2 + i
    return sum(i * i for i in range(n)), len(range(start, n, step)), down


@pytest.mark.parametrize("n,start,step", [(0, 0, 1), (5, 0, 1), (5, 1, 2), (3, 7, -2),
                                          (3, 1, -1), (6, 6, 1)])
def test_for_over_a_range_iterates_a_counter(n, start, step):
    got = loops(aj.constant(n), aj.constant(start), aj.constant(step))
    assert [int(g) for g in got] == list(_loops(n, start, step))
    assert loops.tracing_count == 1


def test_the_loop_does_not_materialise_the_range():
    graph = str(loops.get_concrete_function(aj.constant(3), aj.constant(0),
                                            aj.constant(1)).graph)
    assert "while" in graph
    assert "range_tensor" not in graph


def test_float_range_and_gradient_through_its_use():
    @aj.function
    def f(x, n):
        acc = x * 0.0
        for t in aj.range(0.0, n, 0.5):
            acc = acc + x * t
        return acc + aj.reduce_sum(aj.range(0.0, n, 0.5)) * x

    def plain(x, n):
        ts = np.arange(0.0, n, 0.5)
        return x * ts.sum() * 2

    for n, x in [(0.0, 1.5), (2.0, -0.5), (3.3, 2.0)]:
        xt = aj.constant(x)
        with aj.GradientTape() as tape:
            tape.watch(xt)
            y = f(xt, aj.constant(n))
        np.testing.assert_allclose(y.numpy(), plain(x, n), rtol=1e-5)
        eps = 1e-3
        fd = (plain(x + eps, n) - plain(x - eps, n)) / (2 * eps)
        np.testing.assert_allclose(tape.gradient(y, xt).numpy(), fd, rtol=1e-4, atol=1e-5)
    assert f.tracing_count == 1


def test_range_of_a_variable_reads_it_each_call():
    v = aj.Variable(3)

    @aj.function
    def f():
        s = 0
        for i in range(v):
            s += i
        return s

    assert int(f()) == 3
    v.assign(5)
    assert int(f()) == 10
    assert f.tracing_count == 1


def test_range_errors_name_the_op():
    @aj.function
    def zero_step(n):
        return aj.range(0, n, 0)

    with pytest.raises(aj.errors.InvalidArgumentError, match="range: delta must not be 0"):
        zero_step(aj.constant(3))

    @aj.function
    def not_scalar(n):
        return aj.range(n)

    with pytest.raises(aj.errors.ShapeError, match="range: expected a scalar limit, got shape"):
        not_scalar(aj.constant([3, 4]))


def test_max_and_argmax_of_an_empty_range_name_the_op():
    @aj.function
    def f(n):
        r = aj.range(n)
        return aj.reduce_max(r), aj.reduce_min(r), aj.argmax(r), aj.argmin(r)

    assert [int(v) for v in f(aj.constant(4))] == [3, 0, 3, 0]
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=r"reduce_max: cannot reduce an empty tensor \(shape \[0\], axis 0 "
                             r"has size 0\)"):
        f(aj.constant(0))
    assert f.tracing_count == 1


@pytest.mark.parametrize("op", [aj.reduce_max, aj.reduce_min, aj.argmax, aj.argmin])
def test_empty_extremes_are_errors_eagerly(op):
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=rf"{op.__name__}: cannot reduce an empty tensor \(shape \[2, 0\], "
                             r"axis 1 has size 0\)"):
        op(aj.zeros((2, 0)), axis=1)
    assert op(aj.zeros((0, 2)), axis=1).shape == (0,)  # reducing a non-empty axis is fine
