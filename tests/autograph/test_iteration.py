"""``enumerate``, ``zip`` and ``reversed`` over symbolic tensors and over ranges with tensor
bounds inside ``@aj.function``: one graph loop (not an unrolled Python loop), traced once for
inputs of any length, the plain-Python answer every time, gradients vs finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

VEC = aj.TensorSpec([None], aj.float32)


def _plain(xs, ys, n):
    a = sum(i * x for i, x in enumerate(xs))
    b = sum(x * y for x, y in zip(xs, ys))
    c = 0
    for i in reversed(range(n)):
        c = c * 10 + i
    d = 0
    for k, i in enumerate(reversed(range(1, n, 2)), 5):
        d = d * 100 + k * 10 + i
    e = 0.0
    for x in reversed(xs):
        e = e * 0.5 + x
    return a, b, c, d, e


@aj.function(input_signature=[VEC, VEC, aj.TensorSpec([], aj.int32)])
def iterate(xs, ys, n):
    a = 0.0
    for i, x in enumerate(xs):
        a += aj.cast(i, aj.float32) * x
    b = 0.0
    for x, y in zip(xs, ys):  # the shorter one decides
        b += x * y
    c = 0
    for i in reversed(aj.range(n)):
        c = c * 10 + i
    d = 0
    for k, i in enumerate(reversed(range(1, n, 2)), 5):
        d = d * 100 + k * 10 + i
    e = 0.0
    for x in reversed(xs):
        e = e * 0.5 + x
    return a, b, c, d, e


@pytest.mark.parametrize("m,k,n", [(3, 4, 4), (0, 2, 0), (5, 3, 6), (1, 1, 1)])
def test_enumerate_zip_reversed_are_one_graph_loop(m, k, n):
    rng = np.random.default_rng(m * 10 + k)
    xs, ys = rng.standard_normal(m).astype(np.float32), rng.standard_normal(k).astype(np.float32)
    got = iterate(aj.constant(xs), aj.constant(ys), aj.constant(n))
    want = _plain([float(v) for v in xs], [float(v) for v in ys], n)
    np.testing.assert_allclose([float(g) for g in got], want, rtol=1e-5, atol=1e-6)
    assert iterate.tracing_count == 1


def test_the_loops_are_graph_loops_not_unrolled():
    graph = str(iterate.get_concrete_function().graph)
    assert graph.count("while") >= 5


def test_gradient_through_zip_and_enumerate():
    @aj.function(input_signature=[VEC, VEC])
    def f(xs, ys):
        acc = 0.0
        for i, (x, y) in enumerate(zip(xs, reversed(ys))):
            acc = acc + (aj.cast(i, aj.float32) + 1.0) * x * y * y
        return acc

    def plain(xs, ys):
        return sum((i + 1) * x * y * y for i, (x, y) in enumerate(zip(xs, ys[::-1])))

    for m in (2, 4):
        rng = np.random.default_rng(m)
        xs, ys = rng.standard_normal(m), rng.standard_normal(m + 1)
        xt, yt = aj.constant(xs.astype(np.float32)), aj.constant(ys.astype(np.float32))
        with aj.GradientTape() as tape:
            tape.watch([xt, yt])
            out = f(xt, yt)
        np.testing.assert_allclose(float(out), plain(xs, ys), rtol=1e-5)
        gx, gy = tape.gradient(out, [xt, yt])
        eps = 1e-6
        for values, grad, which in ((xs, gx, 0), (ys, gy, 1)):
            fd = []
            for j in range(len(values)):
                hi, lo = values.copy(), values.copy()
                hi[j] += eps
                lo[j] -= eps
                args_hi = (hi, ys) if which == 0 else (xs, hi)
                args_lo = (lo, ys) if which == 0 else (xs, lo)
                fd.append((plain(*args_hi) - plain(*args_lo)) / (2 * eps))
            np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-4, atol=1e-5)
    assert f.tracing_count == 1


def test_python_sequences_keep_python_iteration():
    @aj.function
    def f(x):
        total = x * 0
        for i, (a, b) in enumerate(zip([1, 2, 3], reversed([4, 5]))):
            total = total + i * a * b + x
        return total

    assert int(f(aj.constant(1))) == sum(i * a * b + 1 for i, (a, b)
                                         in enumerate(zip([1, 2, 3], [5, 4])))


def test_enumerate_of_a_symbolic_tensor_outside_a_for_is_an_error():
    @aj.function(input_signature=[VEC])
    def f(xs):
        return list(enumerate(xs))

    with pytest.raises(AutographError, match=r"enumerate\(\) of a symbolic tensor can only be "
                                             r"iterated by a `for` loop"):
        f(aj.constant([1.0]))


def test_rows_times_vectors_follow_numpy_in_graphs():
    # Iterating a matrix gives 1-D rows; `@` with them is NumPy's vector product.
    @aj.function(input_signature=[aj.TensorSpec([None, 3], aj.float32), VEC])
    def f(m, v):
        acc = aj.zeros((3,))
        dots = 0.0
        for row in m:
            acc = acc + row @ aj.ones((3, 3)) + aj.ones((3, 3)) @ row
            dots = dots + row @ v
        return acc, dots

    def plain(m, v):
        return (sum(r @ np.ones((3, 3)) + np.ones((3, 3)) @ r for r in m) + np.zeros(3),
                sum(r @ v for r in m))

    for rows in (0, 1, 4):
        rng = np.random.default_rng(rows)
        m, v = rng.standard_normal((rows, 3)), rng.standard_normal(3)
        mt, vt = aj.constant(m.astype(np.float32)), aj.constant(v.astype(np.float32))
        with aj.GradientTape() as tape:
            tape.watch(vt)
            acc, dots = f(mt, vt)
        want_acc, want_dots = plain(m, v)
        np.testing.assert_allclose(acc.numpy(), want_acc, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(float(dots), want_dots, rtol=1e-5, atol=1e-5)
        grad = tape.gradient(dots, vt)
        np.testing.assert_allclose(grad.numpy() if grad is not None else np.zeros(3),
                                   m.sum(axis=0), rtol=1e-5, atol=1e-5)  # d/dv sum(m @ v)
    assert f.tracing_count == 1


def test_matmul_of_vectors_with_wrong_lengths_names_the_op():
    with pytest.raises(aj.errors.ShapeError, match=r"matmul: inner dimensions differ"):
        aj.constant([1.0, 2.0]) @ aj.ones((3, 2))


def test_a_loop_variable_that_changes_structure_is_named():
    @aj.function
    def grows(n):
        acc = [aj.constant(0)]
        i = aj.constant(0)
        while i < n:
            acc = acc + [i]
            i += 1
        return acc

    with pytest.raises(AutographError, match=r"`acc` changes structure inside the tensor "
                                             r"`while` loop at .*test_iteration.py:\d+: the "
                                             r"list has 1 item before an iteration and 2 "
                                             r"items after it"):
        grows(aj.constant(3))

    @aj.function
    def gains_a_key(n):
        d = {"a": aj.constant(0)}
        for i in aj.range(n):
            d["b"] = i
        return d

    with pytest.raises(AutographError, match=r"`d` changes structure inside the tensor `for` "
                                             r"loop at .*test_iteration.py:\d+: the dict "
                                             r"gains key 'b'"):
        gains_a_key(aj.constant(3))


def test_a_loop_variable_of_fixed_structure_is_fine():
    @aj.function
    def f(n):
        state = {"sum": aj.constant(0), "pair": [aj.constant(1), aj.constant(0)]}
        for i in aj.range(n):
            state = {"sum": state["sum"] + i, "pair": [state["pair"][1], state["pair"][0] + i]}
        return state["sum"], state["pair"][0], state["pair"][1]

    def plain(n):
        s, pair = 0, [1, 0]
        for i in range(n):
            s, pair = s + i, [pair[1], pair[0] + i]
        return s, pair[0], pair[1]

    for n in (0, 1, 5):
        assert [int(v) for v in f(aj.constant(n))] == list(plain(n))
    assert f.tracing_count == 1


def enumerate_from_a_tensor(v, s):
    total = 0.0
    for i, x in enumerate(v, start=s):
        total += x * aj.cast(i, aj.float32)
    return total


@pytest.mark.parametrize("start", [0, 3, -2])
def test_enumerate_with_a_tensor_start(start):
    v = aj.constant([1.0, 2.0, -0.5])
    traced = aj.function(enumerate_from_a_tensor)
    got = traced(v, aj.constant(start))
    assert float(got) == pytest.approx(float(enumerate_from_a_tensor(v, aj.constant(start))))
    assert float(got) == pytest.approx(sum(x * (k + start) for k, x in enumerate([1.0, 2.0,
                                                                                  -0.5])))
