"""Op-table entries for linear algebra beyond matmul: ``tensordot`` (an entry under ``matmul``,
which it is built around) vs ``np.tensordot``; ``matrix_inverse`` (``aj.linalg.inv``) and
``matrix_determinant`` (``aj.linalg.det``) on batched, well-conditioned matrices, against
references that do not call ``np.linalg.inv``/``det`` (a solve, and ``slogdet``); the solves
(against Gaussian elimination written here), ``cholesky`` (of the symmetric part, against a
Cholesky-Banachiewicz loop), ``slogdet`` (against ``det``), ``eigh`` (against the general
``eig``, signs fixed) and ``qr`` (against modified Gram-Schmidt) and ``band_part``; VJPs
checked against finite differences like every entry.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from op_table import FLOATS, NUMERIC, Case, E, F

import autojit as aj


@dataclasses.dataclass(frozen=True)
class M(F):
    """Square matrices ``[..., n, n]``, well conditioned: rows of ``3 I + U(-0.5, 0.5)`` (so
    diagonally dominant for n <= 4: every eigenvalue is at least 1 away from 0), each row's sign
    drawn at random so that determinants of both signs occur."""

    def make(self, rng, dtype):
        n = self.shape[-1]
        base = 3.0 * np.eye(n) + rng.uniform(-0.5, 0.5, self.shape)
        signs = rng.choice([-1.0, 1.0], self.shape[:-1] + (1,))
        return np.asarray(signs * base, dtype)

    def __str__(self):
        return f"m{list(self.shape)}"


def _inv_ref(input, adjoint=False):
    eye = np.broadcast_to(np.eye(input.shape[-1], dtype=input.dtype), input.shape)
    out = np.linalg.solve(input, eye)
    return np.swapaxes(out, -1, -2) if adjoint else out


def _det_ref(input):
    sign, logdet = np.linalg.slogdet(input)
    return np.asarray(sign * np.exp(logdet), input.dtype)


_MATRICES = [(3, 3), (2, 3, 3), (1, 1), (2, 2, 4, 4)]


@dataclasses.dataclass(frozen=True)
class P(F):
    """Symmetric positive definite matrices ``[..., n, n]``: ``B B^T / n + I``."""

    def make(self, rng, dtype):
        b = rng.normal(size=self.shape)
        return np.asarray(b @ np.swapaxes(b, -1, -2) / self.shape[-1] + np.eye(self.shape[-1]),
                          dtype)

    def __str__(self):
        return f"spd{list(self.shape)}"


def _gauss_solve(a, b):
    """``a^-1 b`` by Gaussian elimination with partial pivoting, one matrix at a time."""
    a, b = np.array(a, np.float64), np.array(b, np.float64)
    out = np.empty_like(b)
    for index in np.ndindex(a.shape[:-2]):
        m, r = a[index].copy(), b[index].copy()
        n = m.shape[0]
        for col in range(n):
            pivot = col + int(np.argmax(np.abs(m[col:, col])))
            m[[col, pivot]], r[[col, pivot]] = m[[pivot, col]], r[[pivot, col]]
            for row in range(col + 1, n):
                f = m[row, col] / m[col, col]
                m[row] -= f * m[col]
                r[row] -= f * r[col]
        x = np.zeros_like(r)
        for row in range(n - 1, -1, -1):
            x[row] = (r[row] - m[row, row + 1:] @ x[row + 1:]) / m[row, row]
        out[index] = x
    return out


def _solve_ref(matrix, rhs, adjoint=False):
    a = np.swapaxes(matrix, -1, -2) if adjoint else matrix
    return np.asarray(_gauss_solve(a, rhs), matrix.dtype)


def _triangular_ref(matrix, rhs, lower=True, adjoint=False):
    t = np.tril(matrix) if lower else np.triu(matrix)
    return _solve_ref(t, rhs, adjoint)


def _cholesky_ref(a):
    """Cholesky-Banachiewicz on the symmetric part, one matrix at a time."""
    a = 0.5 * (a + np.swapaxes(a, -1, -2))
    out = np.zeros_like(a)
    for index in np.ndindex(a.shape[:-2]):
        m, low = a[index], out[index]
        for i in range(m.shape[0]):
            for j in range(i + 1):
                total = m[i, j] - low[i, :j] @ low[j, :j]
                low[i, j] = np.sqrt(total) if i == j else total / low[j, j]
    return out


def _symmetric_cholesky(a):
    # the symmetric part: the gradient of a function of a symmetric matrix (Note [Cholesky
    # gradient]) matches finite differences along any direction through it
    return aj.linalg.cholesky(0.5 * (a + aj.linalg.matrix_transpose(a)))


def _slogdet_ref(input):
    det = np.linalg.det(input.astype(np.float64))
    return [np.asarray(np.sign(det), input.dtype), np.asarray(np.log(np.abs(det)), input.dtype)]


@dataclasses.dataclass(frozen=True)
class S(F):
    """Symmetric matrices with eigenvalues 1, 2, ..., n (well separated): ``Q diag Q^T``."""

    def make(self, rng, dtype):
        n = self.shape[-1]
        q, _ = np.linalg.qr(rng.normal(size=self.shape))
        values = np.arange(1.0, n + 1.0)
        return np.asarray((q * values[..., None, :]) @ np.swapaxes(q, -1, -2), dtype)

    def __str__(self):
        return f"sym{list(self.shape)}"


def _signed_eigh(a):
    # each eigenvector's sign fixed by its first entry: the decomposition is then unique
    e, v = aj.linalg.eigh(a)
    return e, v * aj.sign(v[..., :1, :])


def _eigh_ref(a):
    """Eigen-pairs from the general ``eig`` of the symmetric matrix eigh reads (its lower
    triangle), sorted ascending, signs as ``_signed_eigh``."""
    low = np.tril(a)
    sym = low + np.swapaxes(np.tril(a, -1), -1, -2)
    values, vectors = np.linalg.eig(sym.astype(np.float64))
    order = np.argsort(values.real, axis=-1)
    values = np.take_along_axis(values.real, order, -1)
    vectors = np.take_along_axis(vectors.real, order[..., None, :], -1)
    vectors = vectors / np.linalg.norm(vectors, axis=-2, keepdims=True)
    vectors = vectors * np.sign(vectors[..., :1, :])
    return [np.asarray(values, a.dtype), np.asarray(vectors, a.dtype)]


def _signed_qr(a):
    q, r = aj.linalg.qr(a)
    sign = aj.sign(aj.linalg.diag_part(r))
    return q * aj.expand_dims(sign, -2), r * aj.expand_dims(sign, -1)


def _qr_ref(a):
    """Modified Gram-Schmidt: Q's columns orthonormal, R upper triangular with a positive
    diagonal."""
    a = np.asarray(a, np.float64)
    q, r = np.zeros_like(a), np.zeros(a.shape[:-2] + (a.shape[-1],) * 2)
    for index in np.ndindex(a.shape[:-2]):
        v = a[index].copy()
        for j in range(v.shape[1]):
            r[index][j, j] = np.linalg.norm(v[:, j])
            q[index][:, j] = v[:, j] / r[index][j, j]
            for k in range(j + 1, v.shape[1]):
                r[index][j, k] = q[index][:, j] @ v[:, k]
                v[:, k] -= r[index][j, k] * q[index][:, j]
    return [q, r]


def _band_ref(input, num_lower, num_upper):
    rows, cols = np.indices(input.shape[-2:])
    keep = ((num_lower < 0) | (rows - cols <= num_lower)) & \
        ((num_upper < 0) | (cols - rows <= num_upper))
    return np.where(keep, input, 0).astype(input.dtype)

ENTRIES = [
    E("matmul", aj.tensordot, lambda a, b, axes: np.asarray(np.tensordot(a, b, axes)),
      [Case((F((3, 4)), F((4, 5))), {"axes": 1}),
       Case((F((4, 3)), F((5, 4))), {"axes": [0, 1]}),  # both 2-D operands transposed
       Case((F((2, 3, 4)), F((3, 4, 5))), {"axes": 2}),
       Case((F((2, 3, 4)), F((4, 3, 2))), {"axes": [[0, 2], [2, 0]]}),
       Case((F((2, 3, 4)), F((3, 5))), {"axes": [[-2], [0]]}),
       Case((F((2, 3)), F((4,))), {"axes": 0}),  # the outer product
       Case((F(()), F((3,))), {"axes": 0}),
       Case((F((3, 4)), F((3, 4))), {"axes": [[0, 1], [0, 1]]}),  # a scalar
       Case((F((3, 4)), F((4,))), {"axes": 1})], NUMERIC),
    E("matrix_inverse", aj.linalg.inv, _inv_ref,
      [Case((M(s),)) for s in _MATRICES] + [Case((M((2, 3, 3)),), {"adjoint": True})], FLOATS,
      rtol=1e-4, atol=1e-5),
    E("matrix_determinant", aj.linalg.det, _det_ref, [Case((M(s),)) for s in _MATRICES], FLOATS,
      rtol=1e-4, atol=1e-5),
    E("matrix_solve", aj.linalg.solve, _solve_ref,
      [Case((M((3, 3)), F((3, 2)))), Case((M((2, 3, 3)), F((2, 3, 1)))),
       Case((M((2, 4, 4)), F((2, 4, 3))), {"adjoint": True}), Case((M((1, 1)), F((1, 1))))],
      FLOATS, rtol=1e-4, atol=1e-5),
    E("matrix_triangular_solve", aj.linalg.triangular_solve, _triangular_ref,
      [Case((M((3, 3)), F((3, 2)))), Case((M((2, 3, 3)), F((2, 3, 1))), {"lower": False}),
       Case((M((4, 4)), F((4, 2))), {"adjoint": True}),
       Case((M((2, 3, 3)), F((2, 3, 2))), {"lower": False, "adjoint": True})],
      FLOATS, rtol=1e-4, atol=1e-5),
    E("cholesky", _symmetric_cholesky, _cholesky_ref,
      [Case((P(s),)) for s in [(3, 3), (2, 4, 4), (1, 1)]], FLOATS, rtol=1e-4, atol=1e-5),
    E("slogdet", aj.linalg.slogdet, _slogdet_ref, [Case((M(s),)) for s in _MATRICES], FLOATS,
      rtol=1e-4, atol=1e-5),
    E("eigh", _signed_eigh, _eigh_ref, [Case((S(s),)) for s in [(3, 3), (2, 4, 4), (1, 1)]],
      FLOATS, rtol=1e-4, atol=1e-5),
    E("qr", _signed_qr, lambda a: [np.asarray(x, a.dtype) for x in _qr_ref(a)],
      [Case((F(s),)) for s in [(4, 3), (3, 3), (2, 5, 2), (1, 1)]], FLOATS, rtol=1e-4,
      atol=1e-5),
    E("band_part", aj.linalg.band_part, _band_ref,
      [Case((F((3, 4)),), {"num_lower": lo, "num_upper": hi})
       for lo, hi in [(-1, 0), (0, -1), (0, 0), (1, 1), (-1, -1)]]
      + [Case((F((2, 4, 3)),), {"num_lower": 2, "num_upper": 0})], NUMERIC),
]
