"""GradientTape: the lecture example, watching, persistence, nesting, output_gradients,
stop_recording, unconnected sources, nested source structures and error messages."""

import collections
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import GradientError


def lecture_numpy(x, y, z):
    """The lecture's hand-written NumPy forward pass and gradient."""
    N, D = x.shape
    a = x * y
    b = a + z
    c = np.sum(b)
    grad_c = 1.0
    grad_b = grad_c * np.ones((N, D))
    grad_a = grad_b.copy()
    grad_z = grad_b.copy()
    grad_x = grad_a * y
    grad_y = grad_a * x
    return c, grad_x, grad_y, grad_z


def test_lecture_example_verbatim():
    N, D = 3, 4
    x = aj.Variable(aj.random.normal((N, D)))
    y = aj.Variable(aj.random.normal((N, D)))
    z = aj.Variable(aj.random.normal((N, D)))

    with aj.GradientTape() as tape:
        a = x * y
        b = a + z
        c = aj.reduce_sum(b)

    grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])

    c_np, gx, gy, gz = lecture_numpy(x.numpy(), y.numpy(), z.numpy())
    np.testing.assert_allclose(float(c), c_np, rtol=1e-5)
    np.testing.assert_allclose(grad_x.numpy(), gx, rtol=1e-6)
    np.testing.assert_allclose(grad_y.numpy(), gy, rtol=1e-6)
    np.testing.assert_allclose(grad_z.numpy(), gz, rtol=1e-6)
    assert grad_x.dtype == aj.float32 and grad_x.shape == (N, D)


def test_lecture_example_with_numpy_data_under_a_cpu_scope():
    np.random.seed(0)
    N, D = 3, 4
    xs, ys, zs = (np.random.randn(N, D).astype("float32") for _ in range(3))
    with aj.device("CPU:0"):
        x, y, z = aj.Variable(xs), aj.Variable(ys), aj.Variable(zs)
    with aj.GradientTape() as tape:
        c = aj.reduce_sum(x * y + z)
    grads = tape.gradient(c, [x, y, z])
    for got, want in zip(grads, lecture_numpy(xs, ys, zs)[1:]):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


# --------------------------------------------------------------------------- watching


def test_constants_need_watch():
    x = aj.constant([1.0, 2.0])
    with aj.GradientTape() as tape:
        y = aj.reduce_sum(x * x)
    assert tape.gradient(y, x) is None
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(x * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])


def test_watch_nested_structures_and_ignores_integers():
    a, b, i = aj.constant(2.0), aj.constant(3.0), aj.constant(4)
    with aj.GradientTape() as tape:
        tape.watch({"a": a, "rest": [b, i]})
        y = a * b
    grads = tape.gradient(y, {"a": a, "b": b, "i": i})
    assert float(grads["a"]) == pytest.approx(3.0) and float(grads["b"]) == pytest.approx(2.0)
    assert grads["i"] is None


def test_watch_rejects_non_tensors():
    with aj.GradientTape() as tape:
        with pytest.raises(GradientError, match=re.escape(
                "watch: expected tensors or Variables, got float 1.5; convert it with "
                "aj.constant first")):
            tape.watch(1.5)


def test_trainable_variables_are_watched_automatically_and_non_trainable_are_not():
    w = aj.Variable([1.0, 2.0], name="w")
    frozen = aj.Variable([3.0, 4.0], trainable=False, name="frozen")
    with aj.GradientTape() as tape:
        y = aj.reduce_sum(w * frozen)
    gw, gf = tape.gradient(y, [w, frozen])
    np.testing.assert_allclose(gw.numpy(), [3.0, 4.0])
    assert gf is None


def test_non_trainable_variables_can_be_watched_explicitly():
    frozen = aj.Variable(3.0, trainable=False)
    with aj.GradientTape() as tape:
        tape.watch(frozen)
        y = frozen * frozen
    assert float(tape.gradient(y, frozen)) == pytest.approx(6.0)
    assert tape.watched_variables() == [frozen]


def test_watch_accessed_variables_false():
    w = aj.Variable(2.0)
    v = aj.Variable(5.0)
    with aj.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(v)
        y = w * v
    gw, gv = tape.gradient(y, [w, v])
    assert gw is None
    assert float(gv) == pytest.approx(2.0)


def test_watched_variables_lists_auto_watched_variables_in_access_order():
    a, b = aj.Variable(1.0, name="a"), aj.Variable(2.0, name="b")
    with aj.GradientTape() as tape:
        _ = b * 2.0 + a
    assert tape.watched_variables() == [b, a]


def test_integer_variables_are_not_watched():
    step = aj.Variable(3)
    with aj.GradientTape() as tape:
        y = aj.cast(step, aj.float32) * 2.0
    assert tape.watched_variables() == []
    assert tape.gradient(y, step) is None


# --------------------------------------------------------------------------- persistence


def test_non_persistent_tape_computes_once():
    x = aj.Variable(3.0)
    with aj.GradientTape() as tape:
        y = x * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    message = ("gradient: a non-persistent GradientTape can compute gradients only once; "
               "create it with aj.GradientTape(persistent=True) to call gradient() again")
    with pytest.raises(GradientError, match=re.escape(message)):
        tape.gradient(y, x)


def test_persistent_tape_computes_many_times():
    x = aj.Variable(3.0)
    with aj.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    assert float(tape.gradient(z, x)) == pytest.approx(27.0)
    assert float(tape.gradient(z, y)) == pytest.approx(3.0)  # an intermediate as a source


def test_entering_a_used_tape_again_starts_a_fresh_recording():
    x = aj.Variable(3.0)
    tape = aj.GradientTape()
    with tape:
        y = x * x
    tape.gradient(y, x)
    with tape:
        z = x * 4.0
    assert float(tape.gradient(z, x)) == pytest.approx(4.0)


def test_entering_a_recording_tape_again_is_an_error():
    tape = aj.GradientTape()
    with tape:
        with pytest.raises(GradientError, match=re.escape(
                "GradientTape: this tape is already recording")):
            tape.__enter__()


def test_gradient_inside_the_with_block():
    x = aj.Variable(2.0)
    with aj.GradientTape(persistent=True) as tape:
        y = x * x
        g = tape.gradient(y, x)
        z = y * 1.0
    assert float(g) == pytest.approx(4.0)
    assert float(tape.gradient(z, x)) == pytest.approx(4.0)  # still recording after it


def test_reset_forgets_the_recording():
    x = aj.Variable(2.0)
    with aj.GradientTape(persistent=True) as tape:
        y = x * x
        tape.reset()
        z = x * 3.0
    assert tape.gradient(y, x) is None
    assert float(tape.gradient(z, x)) == pytest.approx(3.0)


# --------------------------------------------------------------------------- higher order


def test_nested_tapes_give_second_derivatives():
    x = aj.constant(3.0)
    with aj.GradientTape() as outer:
        outer.watch(x)
        with aj.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy) == pytest.approx(27.0)  # 3 x^2
    assert float(d2y) == pytest.approx(18.0)  # 6 x


def test_second_derivatives_of_elementwise_functions_match_closed_forms():
    values = np.array([0.3, -1.2, 2.0], np.float32)
    x = aj.Variable(values)
    with aj.GradientTape() as outer:
        with aj.GradientTape() as inner:
            y = aj.reduce_sum(aj.sin(x) * x)
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    np.testing.assert_allclose(dy.numpy(), np.cos(values) * values + np.sin(values), rtol=1e-5)
    np.testing.assert_allclose(d2y.numpy(), 2 * np.cos(values) - values * np.sin(values),
                               rtol=1e-5)


# --------------------------------------------------------------------------- options


def test_output_gradients_weight_the_targets():
    x = aj.Variable([1.0, 2.0, 3.0])
    with aj.GradientTape(persistent=True) as tape:
        y = x * x
    weights = np.array([1.0, 10.0, 100.0], np.float32)
    got = tape.gradient(y, x, output_gradients=aj.constant(weights))
    np.testing.assert_allclose(got.numpy(), 2 * x.numpy() * weights)
    also = tape.gradient(y, x, output_gradients=[weights])  # NumPy seeds convert
    np.testing.assert_allclose(also.numpy(), got.numpy())


def test_output_gradients_errors():
    x = aj.Variable([1.0, 2.0])
    with aj.GradientTape(persistent=True) as tape:
        y = x * 2.0
    with pytest.raises(GradientError, match=re.escape(
            "gradient: got 2 output_gradients for 1 targets; pass one per target")):
        tape.gradient(y, x, output_gradients=[aj.constant([1.0, 1.0])] * 2)
    with pytest.raises(GradientError, match=re.escape(
            "gradient: output_gradients[0] has shape (3,) but its target has shape (2,); "
            "they must match")):
        tape.gradient(y, x, output_gradients=aj.constant([1.0, 1.0, 1.0]))
    with pytest.raises(GradientError, match=re.escape(
            "gradient: output_gradients[0] is float64 but its target is float32; aj.cast it "
            "to aj.float32")):
        tape.gradient(y, x, output_gradients=aj.constant([1.0, 1.0], dtype=aj.float64))


def test_multiple_targets_are_summed():
    x = aj.Variable(2.0)
    with aj.GradientTape() as tape:
        y1 = x * x
        y2 = x * 3.0
    assert float(tape.gradient([y1, y2], x)) == pytest.approx(7.0)


def test_stop_recording():
    x = aj.Variable(2.0)
    with aj.GradientTape() as tape:
        y = x * x
        with tape.stop_recording():
            hidden = x * 100.0
        z = y + hidden
    assert float(tape.gradient(z, x)) == pytest.approx(4.0)


def test_stop_recording_outside_the_block_is_an_error():
    tape = aj.GradientTape()
    with pytest.raises(GradientError, match=re.escape(
            "stop_recording: the tape is not recording; call it inside `with tape:`")):
        tape.stop_recording()


def test_unconnected_gradients():
    x, unused = aj.Variable([1.0, 2.0]), aj.Variable([[1.0], [2.0]])
    with aj.GradientTape(persistent=True) as tape:
        y = aj.reduce_sum(x * 2.0)
    assert tape.gradient(y, unused) is None
    for mode in (aj.UnconnectedGradients.ZERO, "zero", "ZERO"):
        zero = tape.gradient(y, [x, unused], unconnected_gradients=mode)[1]
        np.testing.assert_array_equal(zero.numpy(), np.zeros((2, 1), np.float32))
        assert zero.dtype == aj.float32
    assert tape.gradient(y, unused, unconnected_gradients="none") is None
    with pytest.raises(GradientError, match=re.escape(
            "gradient: unconnected_gradients must be aj.UnconnectedGradients.NONE or .ZERO "
            "(or 'none' / 'zero'), got 'zeros'")):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_integer_and_bool_sources_give_none():
    i, b, x = aj.constant(3), aj.constant(True), aj.Variable(2.0)
    with aj.GradientTape() as tape:
        tape.watch([i, b])
        y = aj.cast(i, aj.float32) * x * aj.cast(b, aj.float32)
    grads = tape.gradient(y, [i, b, x], unconnected_gradients="zero")
    assert grads[0] is None and grads[1] is None
    assert float(grads[2]) == pytest.approx(3.0)


Pair = collections.namedtuple("Pair", ["first", "second"])


def test_nested_structures_of_sources():
    a, b, c = aj.Variable(1.0), aj.Variable(2.0), aj.Variable(3.0)
    with aj.GradientTape(persistent=True) as tape:
        y = a * b * c
    as_tuple = tape.gradient(y, (a, b))
    assert isinstance(as_tuple, tuple) and float(as_tuple[1]) == pytest.approx(3.0)
    nested = tape.gradient(y, {"ab": [a, b], "c": c})
    assert set(nested) == {"ab", "c"} and isinstance(nested["ab"], list)
    assert [float(g) for g in nested["ab"]] == pytest.approx([6.0, 3.0])
    assert float(nested["c"]) == pytest.approx(2.0)
    pair = tape.gradient(y, Pair(first=c, second=[a]))
    assert isinstance(pair, Pair) and float(pair.first) == pytest.approx(2.0)
    assert float(tape.gradient(y, a)) == pytest.approx(6.0)  # a single source: no list


def test_gradient_argument_errors():
    x = aj.Variable(1.0)
    with aj.GradientTape(persistent=True) as tape:
        y = x * 2.0
    with pytest.raises(GradientError, match=re.escape(
            "gradient: expected tensors or Variables as sources, got str 'x'")):
        tape.gradient(y, ["x"])
    with pytest.raises(GradientError, match=re.escape(
            "gradient: expected tensor targets, got float 2.0")):
        tape.gradient(2.0, x)


def test_broadcasting_gradients_are_summed_to_the_source_shape():
    x = aj.Variable(np.ones((4, 3), np.float32))
    b = aj.Variable(np.array([1.0, 2.0, 3.0], np.float32))
    with aj.GradientTape() as tape:
        y = aj.reduce_sum((x + b) * (x + b))
    gx, gb = tape.gradient(y, [x, b])
    expected = 2 * (np.ones((4, 3)) + np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(gx.numpy(), expected)
    np.testing.assert_allclose(gb.numpy(), expected.sum(axis=0))


def test_matmul_gradient_matches_numpy():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((5, 4)).astype(np.float32)
    ws = rng.standard_normal((4, 3)).astype(np.float32)
    x, w = aj.constant(xs), aj.Variable(ws)
    with aj.GradientTape() as tape:
        y = aj.reduce_sum(aj.matmul(x, w))
    gw = tape.gradient(y, w)
    np.testing.assert_allclose(gw.numpy(), xs.T @ np.ones((5, 3)), rtol=1e-5)


def test_gradient_uses_variable_values_from_before_a_later_assign():
    # Note [Tapes and assigns]: as TF, the VJP of `v * w` uses v as it was when the op ran.
    v = aj.Variable(np.array([1.0, 1.0], np.float32))
    w = aj.Variable(np.array([3.0, 4.0], np.float32))
    with aj.GradientTape() as tape:
        r = v * w
        v.assign([10.0, 10.0])
        loss = aj.reduce_sum(r)
    np.testing.assert_allclose(tape.gradient(loss, w).numpy(), [1.0, 1.0])
    np.testing.assert_allclose(v.numpy(), [10.0, 10.0])


def test_assign_after_gradient_stays_in_place():
    # A released tape unpins its Variables: the usual gradient-then-update is in place.
    v = aj.Variable(np.array([1.0, 2.0], np.float32))
    buffer = v._array
    with aj.GradientTape() as tape:
        loss = aj.reduce_sum(v * v)
    grad = tape.gradient(loss, v)
    v.assign_sub(0.5 * grad)
    assert v._array is buffer
    np.testing.assert_allclose(v.numpy(), [0.0, 0.0])
