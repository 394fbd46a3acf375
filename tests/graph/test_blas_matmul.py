"""The GPU executor's cuBLAS matmul (``BlasMatmul``) on the CPU: a fake cuBLAS that computes
``sgemm``/``dgemm`` as the cuBLAS reference defines them (column-major operands read from
raw pointers with their leading dimensions), so the row-major to column-major mapping, the
transpose flags and the leading dimensions the executor passes are checked against NumPy."""

from __future__ import annotations

import ctypes
import itertools
import types

import numpy as np
import pytest

from autojit.graph.executors.cupy import BlasMatmul


class Device(np.ndarray):
    """A NumPy array with CuPy's ``data.ptr``."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def _device(x):
    return np.ascontiguousarray(x).view(Device)


def _column_major(ptr, rows, cols, ld, dtype):
    """The ``rows x cols`` column-major matrix at ``ptr`` with leading dimension ``ld``, as a
    writable NumPy view."""
    size = np.dtype(dtype).itemsize * ld * cols
    flat = np.frombuffer((ctypes.c_char * size).from_address(ptr), dtype)
    return flat.reshape(cols, ld)[:, :rows].T


class FakeCublas:
    """``cublas<t>gemm``: C = alpha op(A) op(B) + beta C, column-major, host scalars."""

    def __init__(self):
        self.streams = []
        self.calls = 0

    def create(self):
        return 7

    def set_workspace(self, handle, ptr, size):
        assert handle == 7 and size > 0

    def set_stream(self, handle, stream):
        self.streams.append(stream)

    def sgemm(self, *args):
        self._gemm(np.float32, *args)

    def dgemm(self, *args):
        self._gemm(np.float64, *args)

    def _gemm(self, dtype, handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc):
        assert handle == 7 and transa in (0, 1) and transb in (0, 1)
        assert min(m, n, k) > 0
        # cuBLAS's CUBLAS_STATUS_INVALID_VALUE conditions on the leading dimensions
        assert lda >= (m if transa == 0 else k) and ldb >= (k if transb == 0 else n), (lda, ldb)
        assert ldc >= m
        self.calls += 1
        scalar = np.dtype(dtype).itemsize
        alpha = np.frombuffer((ctypes.c_char * scalar).from_address(alpha), dtype)[0]
        beta = np.frombuffer((ctypes.c_char * scalar).from_address(beta), dtype)[0]
        op_a = (_column_major(a, m, k, lda, dtype) if transa == 0
                else _column_major(a, k, m, lda, dtype).T)
        op_b = (_column_major(b, k, n, ldb, dtype) if transb == 0
                else _column_major(b, n, k, ldb, dtype).T)
        out = _column_major(c, m, n, ldc, dtype)
        result = alpha * (op_a @ op_b)
        out[...] = result if beta == 0 else result + beta * out


def _xp():
    return types.SimpleNamespace(
        empty=lambda shape, dtype: np.empty(shape, dtype).view(Device), uint8=np.uint8,
        matmul=np.matmul, swapaxes=np.swapaxes, add=np.add, multiply=np.multiply,
        cuda=types.SimpleNamespace(get_current_stream=lambda: types.SimpleNamespace(ptr=42)))


def _setup(seed, dtype):
    """(rng, fake cuBLAS, fake CuPy, the BlasMatmul on them, the dtype's tolerance)."""
    cublas, xp = FakeCublas(), _xp()
    return (np.random.default_rng(seed), cublas, xp, BlasMatmul(cublas, xp),
            1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmuls_through_the_cublas_mapping_equal_numpy(dtype):
    rng, cublas, xp, matmul, tol = _setup(0, dtype)
    cases = 0
    for (m, k, n), ta, tb, layout in itertools.product(
            [(1, 1, 1), (3, 5, 2), (4, 1, 6), (1, 7, 1), (6, 4, 5)], (False, True),
            (False, True), ("C", "F")):
        a = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
        b = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
        want = (a.T if ta else a) @ (b.T if tb else b)
        if layout == "F":  # transposes' views, as a graph's transpose node hands them over
            a_in, b_in = _device(a.T).T, _device(b.T).T
            assert a_in.flags.f_contiguous and b_in.flags.f_contiguous
        else:
            a_in, b_in = _device(a), _device(b)
        before = cublas.calls
        got = matmul(xp, a_in, b_in, transpose_a=ta, transpose_b=tb)
        assert cublas.calls == before + 1, (m, k, n, ta, tb, layout)  # cuBLAS, not a fallback
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)
        cases += 1
    assert cases == 40 and set(cublas.streams) == {42}


def test_other_matmuls_fall_back_and_empty_ones_are_zeros():
    cublas, xp = FakeCublas(), _xp()
    matmul = BlasMatmul(cublas, xp)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 6)).astype(np.float32)
    strided = _device(a)[:, ::2]  # neither C- nor F-contiguous: copied, then the gemm
    b = _device(rng.normal(size=(3, 2)).astype(np.float32))
    np.testing.assert_allclose(np.asarray(matmul(xp, strided, b)), a[:, ::2] @ np.asarray(b),
                               rtol=1e-6)
    assert cublas.calls == 1  # (CuPy's own cuBLAS would be refused in a capture)
    cublas.calls = 0
    ints = _device(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(matmul(xp, ints, ints, transpose_b=True),
                                  np.arange(6).reshape(2, 3) @ np.arange(6).reshape(2, 3).T)
    assert cublas.calls == 0
    for shape_a, shape_b in (((3, 0), (0, 2)), ((0, 4), (4, 2)), ((3, 4), (4, 0))):
        got = matmul(xp, _device(np.ones(shape_a, np.float32)),
                     _device(np.ones(shape_b, np.float32)))
        assert got.shape == (shape_a[0], shape_b[1])
        np.testing.assert_array_equal(np.asarray(got), 0)
    assert cublas.calls == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_update_accumulates_alpha_times_the_product_into_the_variable(dtype):
    # Note [Matmul updates]: var += alpha * op(a) op(b) as one gemm with beta = 1, for every
    # transpose and layout; a strided operand is copied first, still one gemm.
    rng, cublas, xp, matmul, tol = _setup(2, dtype)
    for (m, k, n), ta, tb, layout in itertools.product(
            [(1, 1, 1), (3, 5, 2), (6, 4, 5)], (False, True), (False, True), ("C", "F")):
        a = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
        b = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
        start = rng.normal(size=(m, n)).astype(dtype)
        var = types.SimpleNamespace(_array=_device(start.copy()))
        buffer = var._array
        a_in, b_in = ((_device(a.T).T, _device(b.T).T) if layout == "F"
                      else (_device(a), _device(b)))
        before = cublas.calls
        assert matmul.update(xp, a_in, b_in, alpha=-0.25, transpose_a=ta, transpose_b=tb,
                             var=var) == ()
        assert cublas.calls == before + 1 and var._array is buffer  # in place, one gemm
        want = start - 0.25 * ((a.T if ta else a) @ (b.T if tb else b))
        np.testing.assert_allclose(np.asarray(buffer), want, rtol=tol, atol=tol)
    strided = _device(rng.normal(size=(3, 8)).astype(dtype))[:, ::2]
    var = types.SimpleNamespace(_array=_device(np.ones((3, 3), dtype)))
    before = cublas.calls
    matmul.update(xp, strided, _device(np.eye(4, 3, dtype=dtype)), alpha=2.0, var=var)
    assert cublas.calls == before + 1  # copied to a contiguous operand, one gemm
    np.testing.assert_allclose(np.asarray(var._array),
                               1 + 2 * (np.asarray(strided) @ np.eye(4, 3)), rtol=tol)
