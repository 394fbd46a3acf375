"""``aj.TensorArray`` from the user's side: eagerly, as ``while_loop`` state inside
``@aj.function``, gradients (first and second order vs central differences, float64) through
write/read/stack/unstack, and every error message."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError

RNG = np.random.default_rng(8)


def _loop_stack(x, n):
    """h_{t+1} = tanh(0.5 h_t + x[t]) for t < n, the h's written to an array, stacked."""
    ta = aj.TensorArray(x.dtype, size=0, dynamic_size=True)

    def body(i, ta, h):
        h = aj.tanh(h * 0.5 + aj.gather(x, i))
        return i + 1, ta.write(i, h), h

    _, ta, _ = aj.while_loop(lambda i, ta, h: i < n, body,
                             (aj.constant(0), ta, aj.zeros(x.shape[1:], x.dtype)))
    return ta.stack()


def _loop_stack_ref(x, n):
    h, out = np.zeros(x.shape[1:]), []
    for t in range(n):
        h = np.tanh(0.5 * h + x[t])
        out.append(h)
    return np.stack(out) if out else np.zeros((0,) + x.shape[1:])


# ----------------------------------------------------------------------------- values


def test_eager_write_read_stack_size():
    ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True)
    ta = ta.write(0, [1.0, 2.0]).write(1, aj.constant([3.0, 4.0]))
    ta2 = ta.write(3, [5.0, 6.0])  # grows; element 2 is zeros
    np.testing.assert_array_equal(ta.stack().numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(ta2.stack().numpy(), [[1, 2], [3, 4], [0, 0], [5, 6]])
    assert int(ta.size()) == 2 and int(ta2.size()) == 4
    np.testing.assert_array_equal(ta2.read(1).numpy(), [3, 4])
    np.testing.assert_array_equal(ta2.read(aj.constant(3)).numpy(), [5, 6])
    np.testing.assert_array_equal(ta2.gather([3, 0]).numpy(), [[5, 6], [1, 2]])
    np.testing.assert_array_equal(ta2.concat().numpy(), [1, 2, 3, 4, 0, 0, 5, 6])
    assert ta.element_shape == (2,) and ta.dtype == aj.float32


def test_fixed_size_unstack_and_empty_arrays():
    xs = RNG.standard_normal((4, 3)).astype(np.float32)
    ta = aj.TensorArray(aj.float32, size=4).unstack(xs)
    np.testing.assert_array_equal(ta.read(2).numpy(), xs[2])
    np.testing.assert_array_equal(ta.stack().numpy(), xs)
    assert not ta.dynamic_size
    part = ta.unstack(xs[:2] * 0)  # the first rows replaced, the others kept
    np.testing.assert_array_equal(part.stack().numpy(), np.concatenate([0 * xs[:2], xs[2:]]))
    padded = aj.TensorArray(aj.float32, size=3).unstack(xs[:1])
    np.testing.assert_array_equal(padded.stack().numpy(), np.concatenate([xs[:1], 0 * xs[:2]]))
    zeros = aj.TensorArray(aj.float64, size=3, element_shape=[2])
    np.testing.assert_array_equal(zeros.stack().numpy(), np.zeros((3, 2)))
    assert aj.TensorArray(aj.float32).stack().shape == (0,)
    assert int(aj.TensorArray(aj.int32, size=5).size()) == 5


def test_while_loop_state_in_function_matches_numpy_and_eager():
    x = RNG.standard_normal((6, 3)).astype(np.float32)
    f = aj.function(_loop_stack)
    for n in (0, 1, 4, 6):
        out = f(aj.constant(x), aj.constant(n))
        np.testing.assert_allclose(out.numpy(), _loop_stack_ref(x, n), rtol=1e-6)
        if n:  # eagerly an empty array whose element shape was never seen stacks to [0]
            np.testing.assert_allclose(_loop_stack(aj.constant(x), n).numpy(), out.numpy())
    assert f.tracing_count == 1


def test_autograph_for_loop_with_tensor_array_and_unknown_batch():
    @aj.function(input_signature=[aj.TensorSpec([None, None, 2], aj.float32)])
    def f(xs):
        ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True)
        h = xs[0] * 0.0
        for t in aj.range(aj.shape(xs)[0]):
            h = h + xs[t]
            ta = ta.write(t, h * 2.0)
        return ta.stack(), ta.read(0)

    for shape in [(3, 4, 2), (5, 1, 2)]:
        x = RNG.standard_normal(shape).astype(np.float32)
        stacked, first = f(aj.constant(x))
        np.testing.assert_allclose(stacked.numpy(), 2 * np.cumsum(x, axis=0), rtol=1e-5)
        np.testing.assert_allclose(first.numpy(), 2 * x[0], rtol=1e-6)


def test_read_inside_a_loop_of_an_unstacked_array():
    @aj.function
    def f(xs):
        ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True).unstack(xs)
        total = aj.zeros(xs.shape[1:])
        i = aj.constant(0)
        while i < ta.size():
            total = total + ta.read(i) * aj.cast(i, aj.float32)
            i = i + 1
        return total

    x = RNG.standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_allclose(f(aj.constant(x)).numpy(), (np.arange(5)[:, None] * x).sum(0),
                               rtol=1e-5)


# ----------------------------------------------------------------------------- gradients


def _numeric_grad(fn, x, u, h=1e-6):
    return (fn(x + h * u) - fn(x - h * u)) / (2 * h)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_gradients_through_a_loop_of_writes_first_and_second_order(mode):
    x0 = RNG.standard_normal((4, 3))
    v = RNG.standard_normal((4, 3))
    u, w = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    run = _loop_stack if mode == "eager" else aj.function(_loop_stack)

    def value(x):
        return float(np.sum(_loop_stack_ref(x, 4) ** 2 * v))

    def grads(x):
        x = aj.constant(x)
        with aj.GradientTape() as outer:
            outer.watch(x)
            with aj.GradientTape() as tape:
                tape.watch(x)
                y = aj.reduce_sum(aj.square(run(x, aj.constant(4))) * v)
            g = tape.gradient(y, x)
            gw = aj.reduce_sum(g * w)
        return g.numpy(), outer.gradient(gw, x).numpy()

    g, hw = grads(x0)
    np.testing.assert_allclose(np.sum(g * u), _numeric_grad(value, x0, u), rtol=1e-6)
    numeric = _numeric_grad(lambda x: float(np.sum(grads(x)[0] * w)), x0, u)
    np.testing.assert_allclose(np.sum(hw * u), numeric, rtol=1e-5)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_gradients_through_unstack_read_write_stack(mode):
    def fn(xs, ys):
        ta = aj.TensorArray(aj.float64, size=3).unstack(xs)
        ta = ta.write(1, ta.read(0) * ta.read(2) + ys)  # overwrites element 1
        return aj.reduce_sum(aj.sin(ta.stack()) * ta.read(1))

    def ref(xs, ys):
        s = xs.copy()
        s[1] = xs[0] * xs[2] + ys
        return float(np.sum(np.sin(s) * s[1]))

    run = fn if mode == "eager" else aj.function(fn)
    xs, ys = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
    ux, uy = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
    wx, wy = RNG.standard_normal((3, 2)), RNG.standard_normal(2)

    def grads(a, b):
        a, b = aj.constant(a), aj.constant(b)
        with aj.GradientTape() as outer:
            outer.watch([a, b])
            with aj.GradientTape() as tape:
                tape.watch([a, b])
                y = run(a, b)
            ga, gb = tape.gradient(y, [a, b])
            gw = aj.reduce_sum(ga * wx) + aj.reduce_sum(gb * wy)
        ha, hb = outer.gradient(gw, [a, b])
        return ga.numpy(), gb.numpy(), ha.numpy(), hb.numpy()

    ga, gb, ha, hb = grads(xs, ys)
    h = 1e-6
    numeric = (ref(xs + h * ux, ys + h * uy) - ref(xs - h * ux, ys - h * uy)) / (2 * h)
    np.testing.assert_allclose(np.sum(ga * ux) + np.sum(gb * uy), numeric, rtol=1e-6)

    def directional(t):
        a, b, _, _ = grads(xs + t * ux, ys + t * uy)
        return np.sum(a * wx) + np.sum(b * wy)

    numeric2 = (directional(h) - directional(-h)) / (2 * h)
    np.testing.assert_allclose(np.sum(ha * ux) + np.sum(hb * uy), numeric2, rtol=1e-5)


# ----------------------------------------------------------------------------- errors


def test_wrong_dtype_write_names_the_index():
    ta = aj.TensorArray(aj.float32, size=2)
    with pytest.raises(DTypeError, match=re.escape(
            "TensorArray.write: index 1: the array holds float32 elements, got a int32 value")):
        ta.write(1, aj.constant([1, 2]))


def test_wrong_shape_write_names_the_index():
    ta = aj.TensorArray(aj.float32, size=0, dynamic_size=True).write(0, [1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=re.escape(
            "TensorArray.write: index 1: the array's elements have shape [3], got a value of "
            "shape [2]")):
        ta.write(1, [1.0, 2.0])


def test_wrong_shape_known_only_at_run_time_names_the_index():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float32),
                                  aj.TensorSpec([None], aj.float32)])
    def f(a, b):
        return aj.TensorArray(aj.float32).write(0, a).write(1, b).stack()

    assert f(aj.constant([1.0, 2.0]), aj.constant([3.0, 4.0])).shape == (2, 2)
    with pytest.raises(ShapeError, match=re.escape(
            "TensorArray.write: index 1: the array's elements have shape [2], got a value of "
            "shape [3]")):
        f(aj.constant([1.0, 2.0]), aj.constant([3.0, 4.0, 5.0]))


def test_read_out_of_range_names_the_index_eagerly_and_in_graphs():
    ta = aj.TensorArray(aj.float32, size=3, element_shape=[2])
    message = re.escape("TensorArray.read: index 3 is out of range for an array of size 3; "
                        "expected 0 <= index < 3")
    with pytest.raises(InvalidArgumentError, match=message):
        ta.read(3)
    f = aj.function(lambda i: aj.TensorArray(aj.float32, size=3, element_shape=[2]).read(i))
    assert f(aj.constant(2)).shape == (2,)
    with pytest.raises(InvalidArgumentError, match=message):
        f(aj.constant(3))


def test_write_past_a_fixed_size_names_the_index_at_run_time():
    @aj.function
    def f(n):
        ta = aj.TensorArray(aj.float32, size=3, element_shape=[])
        for i in aj.range(n):
            ta = ta.write(i, aj.cast(i, aj.float32))
        return ta.stack()

    np.testing.assert_array_equal(f(aj.constant(2)).numpy(), [0, 1, 0])
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "TensorArray.write: index 3 is out of range for an array of size 3; expected "
            "0 <= index < 3 (make it with dynamic_size=True to let writes grow it)")):
        f(aj.constant(5))
    with pytest.raises(InvalidArgumentError, match=re.escape("TensorArray.write: index 3 is")):
        aj.TensorArray(aj.float32, size=3).write(3, 1.0)


def test_negative_index_is_an_error():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "TensorArray.write: index -1 is negative; TensorArray indices start at 0")):
        aj.TensorArray(aj.float32).write(-1, 1.0)
    f = aj.function(lambda i: aj.TensorArray(aj.float32).write(i, 1.0).stack())
    with pytest.raises(InvalidArgumentError, match=re.escape("index -2 is negative")):
        f(aj.constant(-2))


def test_other_errors():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "TensorArray: expected a size >= 0, got -1")):
        aj.TensorArray(aj.float32, size=-1)
    with pytest.raises(DTypeError, match=re.escape(
            "TensorArray.read: expected an integer index, got float 1.5")):
        aj.TensorArray(aj.float32, size=2, element_shape=[]).read(1.5)
    with pytest.raises(ShapeError, match=re.escape(
            "TensorArray.stack: no element was written and the element shape is unknown")):
        aj.TensorArray(aj.float32, size=2).stack()
    with pytest.raises(ShapeError, match=re.escape(
            "TensorArray.concat: the elements are scalars; use stack()")):
        aj.TensorArray(aj.float32).write(0, 1.0).concat()
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "TensorArray.unstack: 3 rows do not fit an array of size 2")):
        aj.TensorArray(aj.float32, size=2).unstack([1.0, 2.0, 3.0])


def test_appends_in_place_never_change_an_existing_array():
    base = aj.TensorArray(aj.float32).write(0, [1.0]).write(1, [2.0])
    first = base.write(2, [3.0])  # may fill the next row of base's buffer in place
    second = base.write(2, [4.0])  # must not overwrite what `first` holds
    third = first.write(3, [5.0])
    fourth = first.write(1, [6.0])  # an overwrite copies
    np.testing.assert_array_equal(base.stack().numpy().ravel(), [1, 2])
    np.testing.assert_array_equal(first.stack().numpy().ravel(), [1, 2, 3])
    np.testing.assert_array_equal(second.stack().numpy().ravel(), [1, 2, 4])
    np.testing.assert_array_equal(third.stack().numpy().ravel(), [1, 2, 3, 5])
    np.testing.assert_array_equal(fourth.stack().numpy().ravel(), [1, 6, 3])
    stacked = third.stack()
    third.write(4, [7.0]).write(5, [8.0])
    np.testing.assert_array_equal(stacked.numpy().ravel(), [1, 2, 3, 5])


# ------------------------------------------------- across @aj.function boundaries (TF 2's way)


def _scaled_sines(x):
    """An array whose element i is 2 sin(x[i]), filled by a tensor loop."""
    ta = aj.TensorArray(aj.float64, size=0, dynamic_size=True)
    for i in aj.range(aj.shape(x)[0]):
        ta = ta.write(i, aj.sin(x[i]) * 2.0)
    return ta


def test_an_array_returned_from_a_function_is_a_working_eager_array():
    @aj.function
    def fn(x):
        ta = _scaled_sines(x)
        return ta, (ta, aj.reduce_sum(x)), {"a": ta}

    x = RNG.standard_normal(5)
    alone, (in_tuple, total), in_dict = fn(aj.constant(x))
    for ta in (alone, in_tuple, in_dict["a"]):
        assert type(ta) is aj.TensorArray and ta.element_shape == ()
        np.testing.assert_allclose(ta.stack().numpy(), 2 * np.sin(x))
        np.testing.assert_allclose(ta.read(3).numpy(), 2 * np.sin(x[3]))
        assert int(ta.size()) == 5
    np.testing.assert_allclose(total.numpy(), x.sum())
    grown = alone.write(5, aj.constant(7.0, dtype=aj.float64))  # still an array to grow
    np.testing.assert_allclose(grown.stack().numpy(), np.append(2 * np.sin(x), 7.0))
    np.testing.assert_allclose(alone.stack().numpy(), 2 * np.sin(x))


def test_arrays_with_nothing_written_leave_with_their_size():
    @aj.function
    def fn(n):
        return aj.TensorArray(aj.float32, size=n), aj.TensorArray(aj.float32, size=2,
                                                                 element_shape=[3])

    pending, zeros = fn(aj.constant(4))
    assert int(pending.size()) == 4 and pending.buffer is None
    np.testing.assert_array_equal(pending.write(1, [1.0]).stack().numpy(), [[0], [1], [0], [0]])
    np.testing.assert_array_equal(zeros.stack().numpy(), np.zeros((2, 3)))


def test_gradients_through_a_returned_array_under_a_tape_around_the_call():
    fn = aj.function(_scaled_sines)
    x0, v = RNG.standard_normal(4), RNG.standard_normal(4)
    x = aj.constant(x0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        ta = fn(x)
        y = aj.reduce_sum(ta.stack() * v) + ta.read(1)
    g = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(g, 2 * np.cos(x0) * (v + np.eye(4)[1]), rtol=1e-12)


def test_an_array_passed_in_is_an_input_keyed_by_its_type():
    @aj.function
    def scale(ta, k):
        for i in aj.range(ta.size()):
            ta = ta.write(i, ta.read(i) * k)
        return ta

    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    k = aj.constant(1.5, dtype=aj.float64)
    ta_a = aj.TensorArray(aj.float64, size=3).unstack(a)
    out_a = scale(ta_a, k)
    out_b = scale(aj.TensorArray(aj.float64, size=3).unstack(b), k)
    np.testing.assert_allclose(out_a.stack().numpy(), 1.5 * a)
    np.testing.assert_allclose(out_b.stack().numpy(), 1.5 * b)
    np.testing.assert_array_equal(ta_a.stack().numpy(), a)  # the argument is unchanged
    assert scale.tracing_count == 1  # a new array of the same type replays the trace
    scale(aj.TensorArray(aj.float64, size=4).unstack(np.ones((4, 2))), k)
    assert scale.tracing_count == 2  # another buffer shape is another trace

    buffer = ta_a.buffer
    with aj.GradientTape() as tape:
        tape.watch([buffer, k])
        y = aj.reduce_sum(aj.square(scale(ta_a, k).stack()))
    g_buffer, g_k = tape.gradient(y, [buffer, k])
    np.testing.assert_allclose(g_buffer.numpy(), 2 * 1.5 ** 2 * a)
    np.testing.assert_allclose(g_k.numpy(), np.sum(2 * 1.5 * a ** 2))


def test_an_array_for_an_input_signature_entry_is_an_error():
    fn = aj.function(lambda x: x, input_signature=[aj.TensorSpec([None], aj.float32)])
    with pytest.raises(aj.errors.TracingError, match=re.escape(
            "is an aj.TensorArray, but input_signature[0] is")):
        fn(aj.TensorArray(aj.float32, size=2, element_shape=[]))
