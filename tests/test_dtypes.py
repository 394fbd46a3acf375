"""dtypes: names, ``as_dtype``, Python-scalar defaults, weak scalars and mixed-dtype errors."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_dtype_names_are_numpy_dtypes(name):
    dt = getattr(aj, name)
    assert dt == np.dtype(name)
    assert aj.as_dtype(name) is dt
    assert aj.as_dtype(dt) is dt
    assert aj.zeros((2,), dtype=dt).dtype == dt


@pytest.mark.parametrize("value, expected", [
    (float, "float32"), (int, "int32"), (bool, "bool"), (np.float64, "float64"),
    ("float", "float32"), ("double", "float64"), ("half", "float16"), ("int", "int32"),
])
def test_as_dtype_reads_python_types_and_tf_aliases(value, expected):
    assert aj.as_dtype(value) == np.dtype(expected)


@pytest.mark.parametrize("value, message", [
    (None, "expected a dtype such as aj.float32 or 'int32', got None"),
    ("no-such-type", "expected a dtype such as aj.float32 or 'int32', got 'no-such-type'"),
    ("complex64", "dtype complex64 is not supported; supported dtypes: bool, float16"),
])
def test_as_dtype_errors(value, message):
    with pytest.raises(DTypeError, match=re.escape(message)):
        aj.as_dtype(value)


def test_python_scalars_get_tf_defaults():
    assert aj.constant(1.5).dtype == aj.float32
    assert aj.constant(1).dtype == aj.int32
    assert aj.constant(True).dtype == aj.bool
    assert aj.constant([1.0, 2.0]).dtype == aj.float32
    assert aj.constant([[1, 2]]).dtype == aj.int32
    assert aj.constant(2**40).dtype == aj.int64  # does not fit int32, as tf.constant
    assert aj.constant(2**40).numpy() == 2**40


def test_numpy_values_keep_their_dtype():
    assert aj.constant(np.zeros(2, np.float64)).dtype == aj.float64
    assert aj.constant(np.float64(1.5)).dtype == aj.float64
    assert aj.constant(np.arange(3)).dtype == aj.int64


def test_constant_with_dtype_converts_without_loss():
    assert aj.constant(1, dtype=aj.float64).numpy() == np.float64(1)
    assert aj.constant(2.0, dtype=aj.int32).numpy() == 2
    np.testing.assert_array_equal(aj.constant([0, 1], dtype=aj.bool).numpy(), [False, True])


@pytest.mark.parametrize("value, dtype, message", [
    (1.5, aj.int32, "cannot convert float values to int32 without loss; use aj.cast"),
    (300, aj.uint8, "cannot convert values in [300, 300] to uint8: they do not fit in [0, 255]"),
    ([2, 0], aj.bool, "cannot convert int64 values other than 0 and 1 to bool"),
    ("abc", aj.float32, "cannot convert str 'abc' to a tensor"),
])
def test_lossy_constant_conversions_are_errors(value, dtype, message):
    with pytest.raises(DTypeError, match=re.escape(message)):
        aj.constant(value, dtype=dtype)


def test_unconvertible_values_are_errors():
    with pytest.raises(DTypeError, match=re.escape("cannot convert NoneType None to a tensor")):
        aj.constant(None)
    with pytest.raises(DTypeError, match=re.escape("cannot convert list [[1, 2], [3]] to a "
                                                   "tensor")):
        aj.constant([[1, 2], [3]])
    with pytest.raises(DTypeError, match=re.escape("cannot convert ndarray")):
        aj.constant(np.zeros(2, np.complex64))


@pytest.mark.parametrize("dtype", [aj.float16, aj.float32, aj.float64])
def test_weak_python_floats_keep_the_tensor_dtype(dtype):
    x = aj.constant([1.0, 2.0], dtype=dtype)
    for result in (x * 2.0, 2.0 * x, x + 1, 1 - x, x / 4.0, x ** 2.0, x % 1.5, 3.0 // x):
        assert result.dtype == dtype
    assert (x > 1.5).dtype == aj.bool
    np.testing.assert_allclose((x * 2.5).numpy(), np.array([1.0, 2.0], dtype) * 2.5)


def test_weak_python_ints_keep_the_integer_dtype():
    for dtype in (aj.int32, aj.int64):
        x = aj.constant([1, 2], dtype=dtype)
        assert (x + 1).dtype == dtype
        assert (3 * x).dtype == dtype
        np.testing.assert_array_equal((x * 3).numpy(), [3, 6])


def test_float_scalar_with_int_tensor_is_an_error_naming_the_op():
    x = aj.constant([1, 2])
    message = ("multiply: cannot combine an int32 tensor with the Python float 2.5; pass an "
               "int32 value, or aj.cast the tensor first (e.g. aj.cast(x, aj.float32))")
    with pytest.raises(DTypeError, match=re.escape(message)):
        x * 2.5
    with pytest.raises(DTypeError, match=re.escape("add: cannot combine an int32 tensor")):
        1.5 + x


def test_int_scalar_with_bool_tensor_is_an_error():
    with pytest.raises(DTypeError, match=re.escape(
            "logical_and: cannot combine a bool tensor with the Python int 1")):
        aj.constant([True]) & 1


def test_int_scalar_that_does_not_fit_is_an_error():
    with pytest.raises(DTypeError, match=re.escape(
            "add: the Python int 1099511627776 does not fit in int32")):
        aj.constant([1]) + 2**40


def test_mixed_tensor_dtypes_are_an_error_suggesting_cast():
    a = aj.constant([1.0], dtype=aj.float32)
    b = aj.constant([1.0], dtype=aj.float64)
    message = ("add: expected inputs of one dtype, got float32 and float64; use "
               "aj.cast(x, aj.float32) to convert")
    with pytest.raises(DTypeError, match=re.escape(message)):
        a + b
    with pytest.raises(DTypeError, match=re.escape("multiply: expected inputs of one dtype, "
                                                   "got int32 and float32")):
        aj.constant([1]) * aj.constant([1.0])
    np.testing.assert_allclose((aj.cast(a, aj.float64) + b).numpy(), [2.0])


def test_numpy_arrays_are_strong_operands():
    x = aj.constant([1.0, 2.0])
    assert (x + np.ones(2, np.float32)).dtype == aj.float32
    with pytest.raises(DTypeError, match=re.escape("got float32 and float64")):
        x + np.ones(2)


def test_dtype_predicates():
    assert aj.dtypes.is_floating(aj.float16) and not aj.dtypes.is_floating(aj.int32)
    assert aj.dtypes.is_integer(aj.int64) and not aj.dtypes.is_integer(aj.bool)


def test_python_scalar_dtype_rejects_other_values():
    with pytest.raises(DTypeError, match=re.escape(
            "expected a Python bool, int or float, got str")):
        aj.dtypes.python_scalar_dtype("1")


def test_python_ints_beyond_int64_are_an_error():
    with pytest.raises(DTypeError, match=re.escape(
            "cannot convert the Python int 1180591620717411303424 to a tensor: it does not fit "
            "in int64")):
        aj.constant(2**70)


def test_ops_that_take_no_python_scalars_say_so():
    from autojit.ops import core

    op = core.Op("tensors_only", ("x", "y"), "xp.add(x, y)", lambda name, x, y: (x.shape, x.dtype),
                 scalars=False)
    with pytest.raises(DTypeError, match=re.escape(
            "tensors_only: expected tensors, got the Python float 2.0")):
        core.bind(op, aj.constant([1.0]), 2.0)


@pytest.mark.parametrize("weak, strong, expected", [
    ("int32", "float32", "float32"), ("int32", "int64", "int64"), ("int32", "float64", "float64"),
    ("float32", "float64", "float64"), ("int64", "int32", None), ("float32", "int32", None),
    ("float32", "bool", None)])
def test_weak_meets_takes_the_strong_dtype_only_without_loss(weak, strong, expected):
    # every value of the weak dtype fits the strong one (NumPy's safe casting), floats aside
    from autojit.dtypes import weak_meets

    got = weak_meets(np.dtype(weak), np.dtype(strong))
    assert (got and got.name) == expected
    if expected is not None and np.dtype(weak).kind in "iu" and np.dtype(strong).kind in "iu":
        assert np.can_cast(weak, strong, "safe")


@pytest.mark.parametrize("a, b, expected", [
    ("int32", "float32", "float32"), ("float32", "int32", "float32"), ("int32", "int64", "int64"),
    ("float32", "float64", "float64"), ("int32", "int32", "int32")])
def test_weak_promotion_prefers_the_float_then_the_wider(a, b, expected):
    from autojit.dtypes import weak_promotion

    assert weak_promotion(np.dtype(a), np.dtype(b)).name == expected
