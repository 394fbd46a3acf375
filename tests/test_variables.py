"""Variable: creation, in-place assignment, snapshots, errors, and name scopes."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, ShapeError


# --------------------------------------------------------------------------- creation


def test_creation_from_values():
    v = aj.Variable(1.5)
    assert v.dtype == aj.float32 and v.shape == () and v.trainable
    assert v.name == "Variable:0"
    assert aj.Variable([1, 2]).dtype == aj.int32
    assert aj.Variable(np.zeros((2, 3))).dtype == aj.float64  # NumPy keeps its dtype
    assert aj.Variable([1, 2], dtype=aj.float32).dtype == aj.float32
    assert aj.Variable(aj.constant([1.0]), dtype=aj.float64).dtype == aj.float64
    lazy = aj.Variable(lambda: aj.ones((2,)), name="lazy", trainable=False)
    assert lazy.name == "lazy:0" and not lazy.trainable
    np.testing.assert_array_equal(lazy.numpy(), [1.0, 1.0])
    assert isinstance(v, aj.Tensor)


def test_initial_value_is_required():
    with pytest.raises(ValueError, match=re.escape(
            "Variable: an initial_value is required, e.g. aj.Variable(0.0)")):
        aj.Variable()


def test_variable_owns_its_buffer():
    source = np.array([1.0, 2.0], np.float32)
    tensor = aj.constant(source)
    v = aj.Variable(tensor)
    w = aj.Variable(source)
    v.assign([5.0, 6.0])
    w.assign([7.0, 8.0])
    np.testing.assert_array_equal(tensor.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(source, [1.0, 2.0])


def test_repr_and_str_show_the_name():
    v = aj.Variable([1.0, 2.0], name="w")
    assert repr(v) == "<aj.Variable 'w:0' shape=(2,), dtype=float32, numpy=[1., 2.]>"
    assert str(v) == repr(v)


# --------------------------------------------------------------------------- assignment


def test_assign_updates_the_buffer_in_place():
    v = aj.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    buffer = v._array
    expected = np.arange(6, dtype=np.float32).reshape(2, 3)

    assert v.assign(np.full((2, 3), 2.0, np.float32)) is v
    expected[...] = 2.0
    v.assign_add(aj.constant(np.ones((2, 3), np.float32)))
    expected += 1.0
    v.assign_sub(0.5)  # a Python scalar broadcasts over the variable
    expected -= 0.5
    v.assign_add([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expected += [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]

    assert v._array is buffer  # the same device buffer throughout
    np.testing.assert_array_equal(v.numpy(), expected)
    assert v.shape == (2, 3) and v.dtype == aj.float32


def test_assign_converts_python_and_numpy_values_to_the_variable_dtype():
    f64 = aj.Variable(1.0, dtype=aj.float64)
    f64.assign(0.25)
    f64.assign_add(np.float32(0.5))
    assert f64.dtype == aj.float64 and float(f64) == 0.75
    step = aj.Variable(0)
    for _ in range(3):
        step.assign_add(1)
    assert step.dtype == aj.int32 and int(step) == 3
    half = aj.Variable([1.0, 2.0], dtype=aj.float16)
    half.assign(np.array([3.0, 4.0]))  # float64 NumPy data converts to float16
    assert half.dtype == aj.float16
    np.testing.assert_array_equal(half.numpy(), np.array([3.0, 4.0], np.float16))


def test_gradient_descent_with_assign_sub_matches_numpy():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((20, 3)).astype(np.float32)
    ys = xs @ np.array([1.0, -2.0, 0.5], np.float32)
    w = aj.Variable(np.zeros(3, np.float32))
    w_np = np.zeros(3, np.float32)
    x, y = aj.constant(xs), aj.constant(ys)
    for _ in range(5):
        with aj.GradientTape() as tape:
            err = aj.reduce_sum(x * w, axis=1) - y
            loss = aj.reduce_mean(err * err)
        w.assign_sub(0.1 * tape.gradient(loss, w))
        grad_np = 2.0 * ((xs @ w_np - ys)[:, None] * xs).mean(axis=0)
        w_np = w_np - np.float32(0.1) * grad_np
    np.testing.assert_allclose(w.numpy(), w_np, rtol=1e-5)


# --------------------------------------------------------------------------- snapshots


def test_read_value_is_a_copy():
    v = aj.Variable([1.0, 2.0])
    snapshot = v.read_value()
    also = v.value()
    v.assign([10.0, 20.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(also.numpy(), [1.0, 2.0])
    assert not isinstance(snapshot, aj.Variable)
    with aj.GradientTape() as tape:
        y = v.read_value() * 3.0
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 3.0])


def test_numpy_and_asarray_are_snapshots():
    v = aj.Variable([1.0, 2.0])
    as_numpy, as_array = v.numpy(), np.asarray(v)
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(as_numpy, [1.0, 2.0])
    np.testing.assert_array_equal(as_array, [1.0, 2.0])
    as_numpy[0] = 100.0
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])


def test_ops_never_return_views_of_a_variable():
    v = aj.Variable([[1.0, 2.0], [3.0, 4.0]])
    same = aj.identity(v)
    row = v[0]
    flat = aj.reshape(v, (4,))
    rows = aj.unstack(v)
    v.assign([[0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(same.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(row.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(flat.numpy(), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(rows[1].numpy(), [3.0, 4.0])


# --------------------------------------------------------------------------- errors


def test_shape_mismatch_on_assign():
    v = aj.Variable([1.0, 2.0], name="w")
    message = ("assign: variable 'w:0' has shape [2], got a value of shape [3]; a Variable's "
               "shape never changes (create a new Variable instead)")
    with pytest.raises(ShapeError, match=re.escape(message)):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ShapeError, match=re.escape(
            "assign_add: variable 'w:0' has shape [2], got a value of shape [2, 2]")):
        v.assign_add(aj.ones((2, 2)))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])  # left as it was


def test_dtype_mismatch_on_assign():
    v = aj.Variable([1.0, 2.0], name="w")
    with pytest.raises(DTypeError, match=re.escape(
            "assign_sub: variable 'w:0' is float32, got a value of dtype int32; use "
            "aj.cast(value, aj.float32)")):
        v.assign_sub(aj.constant([1, 2]))
    counter = aj.Variable(0, name="step")
    with pytest.raises(DTypeError, match=re.escape(
            "assign: cannot assign 1.5 to variable 'step:0' (int32): cannot convert float "
            "values to int32 without loss")):
        counter.assign(1.5)
    with pytest.raises(DTypeError, match=re.escape(
            "assign: cannot assign 'abc' to variable 'w:0' (float32)")):
        v.assign("abc")
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    assert int(counter) == 0


# --------------------------------------------------------------------------- name scopes


def test_name_scope_prefixes_names():
    with aj.name_scope("encoder") as scope:
        assert scope == "encoder/"
        w = aj.Variable(0.0, name="w")
        with aj.name_scope("dense") as inner:
            assert inner == "encoder/dense/"
            b = aj.Variable(0.0, name="b")
            anonymous = aj.Variable(0.0)
    after = aj.Variable(0.0, name="w")
    assert w.name == "encoder/w:0"
    assert b.name == "encoder/dense/b:0"
    assert anonymous.name == "encoder/dense/Variable:0"
    assert after.name == "w:0"


def test_name_scope_is_restored_after_an_error():
    with pytest.raises(RuntimeError):
        with aj.name_scope("broken"):
            raise RuntimeError("boom")
    assert aj.Variable(0.0, name="v").name == "v:0"


def test_variables_key_dicts_by_identity():
    a, b = aj.Variable(1.0), aj.Variable(1.0)
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
