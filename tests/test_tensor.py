"""Tensor: facts, printing, Python conversions, NumPy/DLPack interop, operators, conversion."""

import operator
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)
B = np.array([[2.0, 0.5, -3.0], [1.0, -2.0, 2.5]], dtype=np.float32)


# --------------------------------------------------------------------------- facts


def test_facts():
    t = aj.constant(A)
    assert isinstance(t, aj.Tensor)
    assert t.shape == (2, 3)
    assert t.dtype == aj.float32
    assert t.device == "CPU:0"
    assert t.ndim == 2
    assert len(t) == 2
    np.testing.assert_array_equal(t.numpy(), A)
    assert isinstance(t.numpy(), np.ndarray)


def test_scalar_facts_and_python_conversions():
    t = aj.constant(5) + aj.constant(3)
    assert t.shape == () and t.ndim == 0 and t.dtype == aj.int32
    assert t.item() == 8 and isinstance(t.item(), int)
    assert int(t) == 8 and float(t) == 8.0 and bool(t) is True
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().shape == ()
    assert [10, 20, 30, 40, 50, 60, 70, 80, 90][aj.constant(2)] == 30  # __index__
    assert bool(aj.constant(0.0)) is False
    assert round(aj.constant(2.567), 1) == 2.6


def test_lecture_repr_and_str():
    c = aj.constant(5) + aj.constant(3)
    assert repr(c) == "<aj.Tensor: shape=(), dtype=int32, numpy=8>"
    assert str(c) == "aj.Tensor(8, shape=(), dtype=int32)"
    assert str(aj.constant([1, 2, 3])) == "aj.Tensor([1 2 3], shape=(3,), dtype=int32)"
    assert str(aj.constant([[1.0, 2.0], [3.0, 4.0]])) == (
        "aj.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)")
    assert repr(aj.constant([1.5, 2.0])) == (
        "<aj.Tensor: shape=(2,), dtype=float32, numpy=[1.5, 2. ]>")
    assert repr(aj.constant(True)) == "<aj.Tensor: shape=(), dtype=bool, numpy=True>"


def test_print_shows_str(capsys):
    print(aj.constant(5) + aj.constant(3))
    assert capsys.readouterr().out == "aj.Tensor(8, shape=(), dtype=int32)\n"


def test_format_specs_format_the_value():
    w = aj.constant(2.0)
    assert "x=%4.1f --> z=%4.1f" % (1.0, w * 1.0 + 0.7) == "x= 1.0 --> z= 2.7"  # the lecture
    assert f"{aj.constant(1.23456):.2f}" == "1.23"
    assert f"{aj.constant(7)}" == "aj.Tensor(7, shape=(), dtype=int32)"


def test_conversions_of_many_elements_are_clear_errors():
    t = aj.constant([1.0, 2.0])
    with pytest.raises(ValueError, match=re.escape(
            "the truth value of a tensor with shape (2,) (2 elements) is ambiguous; use "
            "aj.reduce_any(x) or aj.reduce_all(x)")):
        bool(t)
    with pytest.raises(TypeError, match=re.escape(
            "float() needs a tensor with exactly one element, got shape (2,) (2 elements)")):
        float(t)
    with pytest.raises(TypeError, match=re.escape("int() needs a tensor with exactly one")):
        int(t)
    with pytest.raises(ValueError, match=re.escape("item() needs a tensor with exactly one")):
        t.item()
    assert float(aj.constant([2.5])) == 2.5  # one element of any rank converts


def test_index_needs_an_integer_tensor():
    with pytest.raises(TypeError, match=re.escape(
            "only integer tensors can be used as an index, got float32")):
        [1, 2][aj.constant(1.0)]


def test_len_and_iteration():
    t = aj.constant(A)
    rows = list(t)
    assert len(rows) == 2
    np.testing.assert_array_equal(rows[1].numpy(), A[1])
    scalar = aj.constant(1.0)
    with pytest.raises(TypeError, match=re.escape("len() of a 0-d tensor")):
        len(scalar)
    with pytest.raises(TypeError, match=re.escape("iteration over a 0-d tensor")):
        iter(scalar)


def test_eq_none_is_false_as_in_tf():
    t = aj.constant([1.0])
    assert (t == None) is False  # noqa: E711  (the operator itself is under test)
    assert (t != None) is True  # noqa: E711
    assert t in [t]  # membership falls back to identity first


# --------------------------------------------------------------------------- NumPy interop


def test_array_protocol():
    t = aj.constant(A)
    np.testing.assert_array_equal(np.asarray(t), A)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    copied = np.array(t, copy=True)
    copied[0, 0] = 99.0
    assert t.numpy()[0, 0] == A[0, 0]
    np.testing.assert_allclose(np.exp(t), np.exp(A))  # NumPy functions accept tensors
    with pytest.raises(ValueError, match=re.escape(
            "np.asarray(x, dtype=float64, copy=False): x is float32; converting needs a copy")):
        t.__array__(np.float64, copy=False)


def test_dlpack_round_trip_with_numpy():
    t = aj.constant(A)
    assert t.__dlpack_device__() == (1, 0)
    back = np.from_dlpack(t)
    np.testing.assert_array_equal(back, A)
    assert np.shares_memory(back, t.numpy())  # zero-copy
    source = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    imported = aj.from_dlpack(source)
    assert isinstance(imported, aj.Tensor) and imported.device == "CPU:0"
    assert imported.shape == (2, 3) and imported.dtype == aj.float32
    assert np.shares_memory(imported.numpy(), source)
    np.testing.assert_array_equal(aj.from_dlpack(aj.constant(A) * 2.0).numpy(), A * 2)


def test_dlpack_of_scalar_results():
    s = aj.reduce_sum(aj.constant(A))  # a NumPy scalar inside
    assert np.from_dlpack(s) == np.float32(A.sum())


class _ForeignArray:
    """A DLPack producer on a device autojit does not know (DLPack device type 7)."""

    def __dlpack__(self, *args, **kwargs):
        raise AssertionError("never read")

    def __dlpack_device__(self):
        return (7, 0)


def test_from_dlpack_of_an_unknown_device_is_an_error():
    with pytest.raises(aj.errors.DeviceError, match=re.escape(
            "from_dlpack: the array lives on DLPack device type 7; only CPU (1) and CUDA (2) "
            "arrays are supported")):
        aj.from_dlpack(_ForeignArray())


def test_asarray_without_copy_of_a_device_tensor_is_an_error():
    device = aj.Device("GPU", 7, np)  # a stand-in device; no transfer happens
    t = aj.Tensor(np.zeros(2, np.float32), device)
    with pytest.raises(ValueError, match=re.escape(
            "np.asarray(x, copy=False): x lives on GPU:7; reading it on the host needs a copy "
            "(x.numpy())")):
        t.__array__(copy=False)


def test_from_dlpack_errors():
    with pytest.raises(TypeError, match=re.escape(
            "from_dlpack: expected an array with __dlpack__ and __dlpack_device__ (NumPy, "
            "CuPy, PyTorch, ...), got list")):
        aj.from_dlpack([1, 2])
    with pytest.raises(DTypeError, match=re.escape(
            "from_dlpack: dtype uint16 is not supported")):
        aj.from_dlpack(np.zeros(2, np.uint16))


# --------------------------------------------------------------------------- operators

ARITHMETIC = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"]
COMPARISONS = ["lt", "le", "gt", "ge", "eq", "ne"]


def _operands(name):
    a, b = A, B
    if name == "pow":
        a = np.abs(a) + 0.5
    if name in ("floordiv", "mod"):
        b = np.where(b == 0, 1.0, b).astype(np.float32)
    if name == "matmul":
        b = b.T.copy()
    return a, b


@pytest.mark.parametrize("name", ARITHMETIC + COMPARISONS)
def test_binary_operators_match_numpy(name):
    fn = getattr(operator, name)
    a, b = _operands(name)
    expected = fn(a, b)
    for left, right in ((aj.constant(a), aj.constant(b)),  # tensor op tensor
                        (aj.constant(a), b),  # tensor op ndarray
                        (a, aj.constant(b))):  # ndarray op tensor: reflected
        result = fn(left, right)
        assert isinstance(result, aj.Tensor), (name, type(left), type(right))
        assert result.dtype == expected.dtype
        np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ARITHMETIC[:-1] + COMPARISONS)
def test_operators_with_python_scalars_both_ways(name):
    fn = getattr(operator, name)
    a = np.abs(A) + 0.5
    t = aj.constant(a)
    for scalar in (2, 1.5):
        right = fn(t, scalar)
        left = fn(scalar, t)
        np.testing.assert_allclose(right.numpy(), fn(a, np.float32(scalar)), rtol=1e-6)
        np.testing.assert_allclose(left.numpy(), fn(np.float32(scalar), a), rtol=1e-6)
        assert right.dtype in (aj.float32, aj.bool) and left.dtype == right.dtype


def test_integer_arithmetic_matches_python_rules():
    a = np.array([7, -7, 5], np.int32)
    b = np.array([2, 2, -3], np.int32)
    x, y = aj.constant(a), aj.constant(b)
    np.testing.assert_array_equal((x // y).numpy(), a // b)
    np.testing.assert_array_equal((x % y).numpy(), a % b)
    np.testing.assert_array_equal((x ** 2).numpy(), a ** 2)
    assert (x / y).dtype == aj.float64  # as tf.divide
    np.testing.assert_allclose((x / y).numpy(), a / b)


def test_unary_operators():
    t = aj.constant(A)
    np.testing.assert_array_equal((-t).numpy(), -A)
    np.testing.assert_array_equal(abs(t).numpy(), np.abs(A))
    assert (+t) is t


def test_bool_operators():
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    x, y = aj.constant(p), aj.constant(q)
    for fn in (operator.and_, operator.or_, operator.xor):
        np.testing.assert_array_equal(fn(x, y).numpy(), fn(p, q))
        np.testing.assert_array_equal(fn(p, y).numpy(), fn(p, q))  # ndarray on the left
        np.testing.assert_array_equal(fn(True, y).numpy(), fn(True, q))  # Python bool
        np.testing.assert_array_equal(fn(x, False).numpy(), fn(p, False))
    np.testing.assert_array_equal((~x).numpy(), ~p)


def test_bool_operators_need_bool_tensors():
    with pytest.raises(DTypeError, match=re.escape(
            "logical_and: expected bool tensors, got int32")):
        aj.constant([1]) & aj.constant([1])
    with pytest.raises(DTypeError, match=re.escape(
            "logical_not: expected bool tensors, got float32")):
        ~aj.constant([1.0])


def test_numpy_scalars_on_the_left():
    t = aj.constant(A)
    np.testing.assert_allclose((np.float32(2) * t).numpy(), 2 * A)
    assert isinstance(np.float32(2) * t, aj.Tensor)
    assert (np.float32(2) * t).dtype == aj.float32


def test_hash_is_identity():
    a, b = aj.constant(1.0), aj.constant(1.0)
    assert len({a: 1, b: 2}) == 2


# --------------------------------------------------------------------------- convert_to_tensor


def test_convert_to_tensor():
    t = aj.constant([1.0])
    assert aj.convert_to_tensor(t) is t
    assert aj.convert_to_tensor([1, 2, 3]).dtype == aj.int32
    assert aj.convert_to_tensor(1.5).dtype == aj.float32
    assert aj.convert_to_tensor(1, dtype=aj.float64).dtype == aj.float64
    assert aj.convert_to_tensor(np.zeros(2, np.float64)).dtype == aj.float64
    assert aj.convert_to_tensor(1, dtype_hint=aj.float32).dtype == aj.float32
    assert aj.convert_to_tensor(1.5, dtype_hint=aj.int32).dtype == aj.float32  # hint ignored
    with pytest.raises(DTypeError, match=re.escape(
            "convert_to_tensor: expected float64, got a float32 tensor; use aj.cast")):
        aj.convert_to_tensor(t, dtype=aj.float64)


def test_tensor_ops_accept_lists():
    t = aj.constant([1.0, 2.0])
    np.testing.assert_allclose((t + [10.0, 20.0]).numpy(), [11.0, 22.0])


def test_symbolic_tensor_escaping_its_function_is_a_clear_error():
    leaked = []

    @aj.function(autograph=False)
    def f(x):
        leaked.append(x * 2.0)
        return x

    f(aj.constant(1.0))
    with pytest.raises(aj.errors.TracingError, match=re.escape(
            "got a symbolic tensor from a finished @aj.function trace")):
        leaked[0] + 1.0
