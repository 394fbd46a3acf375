"""Lists appended to in loops (``converters/lists.py``, ``operators.list_append``): in a tensor
loop the list becomes a TensorArray and is stacked where it is used as a tensor; in a loop of
Python length it stays a Python list. Each function is traced once and must give the
plain-Python answer (the unconverted function run eagerly) for every input."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError, ShapeError

RNG = np.random.default_rng(3)
SPEC = [aj.TensorSpec([None, 2], aj.float32)]


def _python(fn, *args):
    """The plain-Python answer: the original function, run eagerly."""
    return fn.python_function(*args)


def _same(got, expected):
    if isinstance(expected, list):
        expected = aj.stack(expected) if expected else np.zeros((0,))
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-6)


def _inputs(*lengths):
    return [aj.constant(RNG.standard_normal((n, 2)).astype(np.float32)) for n in lengths]


def test_for_over_a_tensor_appends_then_stacks():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            out.append(x * 2.0 + 1.0)
        return aj.stack(out)

    for xs in _inputs(1, 4, 7):
        _same(f(xs), _python(f, xs))
    assert f.tracing_count == 1
    assert "ag__.list_append(out, " in aj.autograph.to_code(f)


def test_while_with_a_tensor_condition_returns_the_list_as_a_tensor():
    @aj.function
    def f(xs, n):
        out = [xs[0]]  # elements before the loop stay first
        i = 0
        while i < n:
            out.append(xs[i] + aj.cast(i, aj.float32))
            i += 1
        return out, len(out), out[-1]

    (xs,) = _inputs(5)
    for n in (0, 2, 5):
        stacked, length, last = f(xs, aj.constant(n))
        ref, ref_len, ref_last = _python(f, xs, n)
        _same(stacked, ref)
        assert int(length) == ref_len
        _same(last, ref_last)
    assert f.tracing_count == 1


def test_list_used_as_a_tensor_after_the_loop():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            out.append(aj.tanh(x))
        total = aj.reduce_sum(aj.convert_to_tensor(out))  # an op sees the stacked tensor
        scaled = out * xs  # arithmetic with a tensor, as Tensor.__rmul__ of a list
        joined = aj.concat(out, 0) + aj.reduce_sum(aj.concat(out, axis=-1))
        return total, scaled, joined, aj.add_n(out), aj.stack(out, axis=1)

    for xs in _inputs(2, 5):
        for got, expected in zip(f(xs), _python(f, xs)):
            _same(got, expected)
    assert f.tracing_count == 1


def test_python_length_loop_keeps_a_python_list():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for i in range(3):
            out.append(xs[i] * float(i))
        return out

    (xs,) = _inputs(4)
    result = f(xs)
    assert isinstance(result, list) and len(result) == 3
    for got, expected in zip(result, _python(f, xs)):
        _same(got, expected)


def test_list_made_inside_the_tensor_loop_body_stays_python():
    @aj.function(input_signature=SPEC)
    def f(xs):
        h = xs[0] * 0.0
        for x in xs:
            parts = []
            for j in range(3):
                parts.append(x * float(j))
            h = h + aj.add_n(parts)
        return h

    for xs in _inputs(1, 3):
        _same(f(xs), _python(f, xs))


def test_python_loop_inside_a_tensor_loop_appends_to_the_outer_list():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            for j in range(2):
                out.append(x + float(j))
        return aj.stack(out)

    for xs in _inputs(1, 3):
        _same(f(xs), _python(f, xs))


def test_nested_tensor_loops_append_to_one_list():
    @aj.function
    def f(xs, m):
        out = []
        for x in xs:
            for j in aj.range(m):
                out.append(x * aj.cast(j, aj.float32))
        return aj.stack(out)

    (xs,) = _inputs(3)
    for m in (1, 2):
        _same(f(xs, aj.constant(m)), _python(f, xs, m))
    assert f.tracing_count == 1


def test_break_in_a_tensor_loop_that_appends():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            if aj.reduce_sum(x) > 1.0:
                break
            out.append(x)
        return aj.stack(out) if False else len(out)

    for xs in [aj.constant([[0.1, 0.2], [0.3, 0.4], [2.0, 0.0], [0.0, 0.1]]),
               aj.constant([[0.1, 0.2]])]:
        assert int(f(xs)) == _python(f, xs)


def test_helper_functions_get_the_list_and_return_it_stacked():
    def collect(xs):
        out = []
        for x in xs:
            out.append(x * 3.0)
        return out

    def total(values):
        return aj.reduce_sum(aj.stack(values), axis=0)

    @aj.function(input_signature=SPEC)
    def f(xs):
        out = collect(xs)
        more = []
        for x in xs:
            more.append(-x)
        return out, total(more)

    for xs in _inputs(2, 4):
        got, expected = f(xs), _python(f, xs)
        _same(got[0], expected[0])
        _same(got[1], expected[1])


def test_global_and_closure_lists_are_appended_as_python_side_effects():
    seen = []

    @aj.function
    def f(x):
        seen.append(x.shape)  # a closure list: not rebound, appended while tracing
        return x * 2.0

    f(aj.constant([1.0]))
    f(aj.constant([2.0]))
    assert seen == [(1,)]


def test_gradient_of_an_rnn_that_appends_matches_eager_and_finite_differences():
    w0 = RNG.standard_normal((2, 2)) * 0.5
    xs0 = RNG.standard_normal((5, 2))

    def rnn(xs, w):
        h = xs[0] * 0.0
        out = []
        for x in xs:
            h = aj.tanh(aj.matmul(h[None, :], w)[0] + x)
            out.append(h)
        return aj.reduce_sum(aj.square(aj.stack(out)))

    f = aj.function(rnn)

    def grad(fn, w):
        w = aj.constant(w)
        xs = aj.constant(xs0)
        with aj.GradientTape() as tape:
            tape.watch(w)
            y = fn(xs, w)
        return float(y), tape.gradient(y, w).numpy()

    y, g = grad(f, w0)
    y_eager, g_eager = grad(rnn, w0)
    np.testing.assert_allclose(y, y_eager, rtol=1e-10)
    np.testing.assert_allclose(g, g_eager, rtol=1e-8)
    u, h = RNG.standard_normal((2, 2)), 1e-6
    numeric = (grad(rnn, w0 + h * u)[0] - grad(rnn, w0 - h * u)[0]) / (2 * h)
    np.testing.assert_allclose(np.sum(g * u), numeric, rtol=1e-6)


def test_elements_of_another_shape_are_an_error():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            out.append(x)
            out.append(aj.concat([x, x], 0))
        return out

    with pytest.raises(ShapeError, match=re.escape(
            "TensorArray.write: at a tensor index: the array's elements have shape [2], got a "
            "value of shape [4]")):
        f(_inputs(2)[0])


def test_append_under_a_tensor_if_and_continue_in_a_tensor_loop():
    @aj.function(input_signature=SPEC)
    def f(xs):
        kept, rest = [], []
        for x in xs:
            if aj.reduce_sum(x) > 0.0:
                kept.append(x)
                continue
            rest.append(-x)
        return len(kept), aj.stack(kept + rest)

    for xs in [aj.constant([[1.0, 0.5], [-2.0, 0.0], [0.3, 0.1]]), aj.constant([[-1.0, 0.0]])]:
        n, joined = f(xs)
        ref_n, ref_joined = _python(f, xs)
        assert int(n) == ref_n
        _same(joined, ref_joined)
    assert f.tracing_count == 1


def test_iterating_the_list_after_the_tensor_loop_is_a_graph_loop_over_its_rows():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            out.append(x * 2.0)
        total = xs[0] * 0.0
        for y in out:
            total = total + aj.square(y)
        return total

    for xs in _inputs(1, 4):
        _same(f(xs), _python(f, xs))
    assert f.tracing_count == 1


def test_list_operators_keep_their_list_meaning():
    @aj.function(input_signature=SPEC)
    def f(xs):
        out = []
        for x in xs:
            out.append(x + 1.0)
        doubled = out * 2  # repetition, as for a Python list
        joined = out + [xs[0]]  # concatenation
        return aj.stack(doubled), aj.stack(joined), out[0], out[-1]

    for xs in _inputs(1, 3):
        for got, expected in zip(f(xs), _python(f, xs)):
            _same(got, expected)


def test_appending_a_non_tensor_in_a_tensor_loop_names_the_list():
    @aj.function(input_signature=SPEC)
    def f(xs):
        names = []
        for x in xs:
            names.append("row")
        return xs

    with pytest.raises(aj.errors.AutographError, match=re.escape(
            "`names` is a list appended to inside the tensor `for` loop at ")):
        f(_inputs(2)[0])


def test_second_order_gradient_through_an_appended_list():
    @aj.function
    def f(xs, w):
        out = []
        for x in xs:
            out.append(aj.sin(x * w))
        return aj.reduce_sum(aj.square(aj.stack(out)))

    xs = aj.constant(RNG.standard_normal((4, 2)))

    def first(w0):
        w = aj.constant(w0)
        with aj.GradientTape() as outer:
            outer.watch(w)
            with aj.GradientTape() as tape:
                tape.watch(w)
                y = f(xs, w)
            g = tape.gradient(y, w)
        return g.numpy(), outer.gradient(g, w).numpy()

    w0, h = np.float64(0.7), 1e-6
    g, second = first(w0)
    ref = np.sum(np.sin(xs.numpy() * w0) ** 2)
    ref_g = (np.sum(np.sin(xs.numpy() * (w0 + h)) ** 2) - np.sum(
        np.sin(xs.numpy() * (w0 - h)) ** 2)) / (2 * h)
    np.testing.assert_allclose(float(f(xs, aj.constant(w0))), ref, rtol=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=1e-6)
    np.testing.assert_allclose(second, (first(w0 + h)[0] - first(w0 - h)[0]) / (2 * h),
                               rtol=1e-5)


# ------------------------------------------- found by the autograph fuzz sweep (fuzz.py)


def test_a_python_loop_keeps_appending_after_a_tensor_return():
    # After the tensor `return`, each later iteration of the Python loop runs under a graph
    # condition, so `out` grows in one branch only; it was "a different structure" error.
    @aj.function
    def f(x, n):
        out = []
        for _ in range(3):
            out.append(x * 1.5)
            for _ in range(n):
                if x >= 2.0:
                    return x, x
                x = x + 1.0
        if len(out) > 1:
            x = x * 2.0
        return out[-1], x

    for x, n in [(0.5, 0), (0.5, 1), (1.5, 1), (-3.0, 2), (2.5, 3)]:
        got = f(aj.constant(x), aj.constant(n))
        want = f.python_function(np.float32(x), n)
        np.testing.assert_array_equal([float(g) for g in got], [float(w) for w in want])
    assert f.tracing_count == 1


def test_a_list_grown_in_one_branch_of_a_tensor_if_reads_like_the_list():
    @aj.function
    def f(x, y):
        out = [x]
        if x > 0.0:
            out.append(y)
            out.append(y * 2.0)
        total = x * 0.0
        for item in out:
            total = total + item
        return out[-1], len(out), total

    for x in (1.0, -1.0):
        last, n, total = f(aj.constant(x), aj.constant(5.0))
        want = f.python_function(x, 5.0)
        assert (float(last), int(n), float(total)) == want
    assert f.tracing_count == 1


def test_a_list_grown_in_one_branch_with_a_non_tensor_item_is_an_error():
    @aj.function
    def f(x):
        out = [x]
        if x > 0.0:
            out.append("label")
        return out[0]

    with pytest.raises(aj.errors.AutographError, match=re.escape(
            "`out` is ['tensor', 'label'] in the true branch but ['tensor'] in the false "
            "branch of the tensor `if`")):
        f(aj.constant(1.0))


def test_a_guarded_python_iteration_error_names_the_for_line():
    def g(x, n):
        d = {}
        for k in range(3):  # the line the error names
            d[k] = x
            for _ in range(n):
                if x > 1.0:
                    return x
        return d[0]

    line = g.__code__.co_firstlineno + 2
    with pytest.raises(aj.errors.AutographError, match=re.escape(
            f"guards each later iteration of the `for` at {__file__}:{line}: ")):
        aj.function(g)(aj.constant(1.0), aj.constant(2))


def test_lists_made_in_a_loop_body_are_never_taken_for_a_dead_loop_list():
    # A list the body makes could get the id of a loop-state list that had died; it was then
    # claimed for that list's slot, and the loop converted the slot and traced again, forever.
    @aj.function
    def f(x, y, n):
        a, c = x, 0.0
        kept = [x, y * 0.5]
        out = []
        i = 0
        while i < n:
            i += 1
            out.append(y * -1.0)
            for t in (a, y, x):
                inner = []
                for _ in range(n):
                    inner.append(2.0)
                if c < 0.5:
                    kept[0] = a + t
        return out, kept[0]

    for n in (0, 3):
        out, first = f(aj.constant(1.5), aj.constant(-0.5), aj.constant(n))
        want_out, want_first = f.python_function(1.5, -0.5, n)
        np.testing.assert_array_equal(out.numpy(), np.array(want_out, np.float32))
        assert float(first) == want_first


# `out.extend(items)` and `out += [items]` grow a list as appends do (one TensorArray write
# per item in a tensor loop); `+=` of a list display on a tensor is still arithmetic.

def _extend_in_a_for(xs):
    out = []
    for x in xs:
        out.extend([x, x * 2.0])
    return aj.stack(out), len(out)


def _iadd_in_a_while(xs):
    out = [xs[0]]
    i = 1
    while i < aj.shape(xs)[0]:
        out += [xs[i] - 1.0]
        i += 1
    return aj.stack(out), out[-1]


def _iadd_of_a_comprehension(xs):
    out = []
    for x in xs:
        out += [x * k for k in (1.0, 3.0)]
    return aj.stack(out)


@pytest.mark.parametrize("fn", [_extend_in_a_for, _iadd_in_a_while, _iadd_of_a_comprehension])
def test_extend_and_iadd_grow_a_list_in_a_tensor_loop(fn):
    traced = aj.function(fn, input_signature=SPEC)
    for xs in _inputs(1, 3, 6):
        got, want = traced(xs), fn(xs)
        for g, w in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            _same(g, w)
    assert traced.tracing_count == 1


def test_iadd_of_a_list_display_on_a_tensor_is_arithmetic():
    @aj.function
    def f(x, n):
        for i in range(n):
            x += [1.0, 2.0]
        return x

    _same(f(aj.constant([0.5, 0.5]), aj.constant(2)), np.array([2.5, 4.5]))


def test_extend_in_a_python_loop_stays_a_python_list():
    @aj.function
    def f(x):
        out = [x]
        for k in range(2):
            out.extend((x + k, x - k))
        out += [x * 3.0]
        return len(out), out[-2]

    n, last = f(aj.constant(2.0))
    assert n == 6 and float(last) == 1.0


def _pop(n):
    out = []
    for i in aj.range(n):
        out.append(i * 2)
    return out.pop()


def _setitem(n):
    out = []
    for i in aj.range(n):
        out.append(i * 2)
    out[0] = 5
    return out


def _contains(n):
    out = []
    for i in aj.range(n):
        out.append(i * 2)
    return 4 in out


def _sort(n):
    out = []
    for i in aj.range(n):
        out.append(i * 2)
    out.sort()
    return out


@pytest.mark.parametrize("fn, what, line", [
    (_pop, "`.pop()`", "return out.pop()"), (_setitem, "item assignment", "out[0] = 5"),
    (_contains, "`in`", "return 4 in out"),
    (_sort, "`.sort()`", "out.sort()")])
def test_list_operations_a_grown_list_cannot_do_are_clear_errors(fn, what, line):
    from .helpers import where

    with pytest.raises(TypeError, match=(
            f"^{re.escape(what)}.* on a list grown in a tensor loop .* at "
            f"{re.escape(where(fn, line))}: while the graph runs its items live in a "
            "TensorArray, which grows only by `append`; ")):
        aj.function(fn)(aj.constant(3))


def test_appending_a_tuple_of_tensors_in_a_tensor_loop_names_the_list():
    def pairs(n):
        out = []
        for i in aj.range(n):
            out.append((i, i * 2))
        return out

    with pytest.raises(AutographError, match=(
            "`out` is a list appended to inside the tensor `for` loop .* an item is a tuple of "
            "tensors, and a TensorArray's items are single tensors: append each part")):
        aj.function(pairs)(aj.constant(3))


def summed(n, x):
    out = []
    for i in aj.range(n):
        out.append(x * aj.cast(i, aj.float32))
    return sum(out), sum(x), sum(x, 10.0), sum(out, x)


@pytest.mark.parametrize("n", [1, 4])
def test_sum_of_a_grown_list_or_a_tensor_adds_its_rows(n):
    x = aj.constant([1.0, -2.5])
    got = aj.function(summed)(aj.constant(n), x)
    for g, w in zip(got, summed(aj.constant(n), x)):
        np.testing.assert_allclose(g.numpy(), w.numpy())
