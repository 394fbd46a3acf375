"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``, ``aj.linalg.inv(a)``
"""

from autojit.errors import ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims, eye, squeeze
from autojit.ops.clipping import global_norm, norm
from autojit.ops.decompositions import (band_part, cholesky, eigh, qr, slogdet, solve,
                                        triangular_solve)
from autojit.ops.core import as_operand
from autojit.ops.einsum import einsum
from autojit.ops.indexing import getitem
from autojit.ops.linalg import det, inv, matmul, matrix_transpose, tensordot
from autojit.ops.math import log
from autojit.ops.reduce import reduce_sum


def matvec(a, b, transpose_a: bool = False, name: str | None = None):
    """The matrix ``a`` (``[..., m, n]``) times the vector ``b`` (``[..., n]``), as
    ``tf.linalg.matvec``. Usage: ``aj.linalg.matvec(w, x)``"""
    return squeeze(matmul(a, expand_dims(b, -1), transpose_a=transpose_a), -1)


def adjoint(matrix, name: str | None = None):
    """The (conjugate) transpose of each matrix: ``matrix_transpose`` for real tensors.

    Usage: ``aj.linalg.adjoint(a)``
    """
    return matrix_transpose(matrix)


def trace(x, name: str | None = None):
    """The sum of each matrix's main diagonal ([..., m, n] gives [...]), as ``tf.linalg.trace``.

    Usage: ``aj.linalg.trace(a)``
    """
    return einsum("...ii->...", _diagonal_block("trace", x))


def diag_part(input, name: str | None = None):  # noqa: A002
    """The main diagonal of each matrix ([..., m, n] gives [..., min(m, n)]), as
    ``tf.linalg.diag_part``.

    Usage: ``aj.linalg.diag_part(a)``
    """
    return einsum("...ii->...i", _diagonal_block("diag_part", input))


def _diagonal_block(name: str, x):
    """The leading ``k x k`` block of each matrix, ``k = min(m, n)``: it holds the whole main
    diagonal, and einsum's ``ii`` reads it. A dim unknown while tracing leaves ``x`` as it is
    (a non-square matrix then fails in einsum when the graph runs: slicing needs ``k``)."""
    x = as_operand(x)
    if len(x.shape) < 2:
        raise ShapeError(f"{name}: expected matrices, a tensor of rank >= 2 ([..., M, N]), "
                         f"got shape {shapes.fmt(x.shape)}")
    m, n = x.shape[-2:]
    if m is None or n is None or m == n:
        return x
    k = min(m, n)
    return getitem(x, (Ellipsis, slice(None, k), slice(None, k)))


def diag(diagonal, name: str | None = None):
    """Matrices with ``diagonal`` ([..., n]) on the diagonal and zeros elsewhere.

    Usage: ``aj.linalg.diag(aj.constant([1.0, 2.0]))``
    """
    d = as_operand(diagonal)
    return expand_dims(d, -1) * eye(d.shape[-1], dtype=d.dtype)


def logdet(matrix, name: str | None = None):
    """The log-determinant of each symmetric positive definite matrix, from its Cholesky
    factor: ``2 * sum(log(diag(cholesky(matrix))))``. Usage: ``aj.linalg.logdet(cov)``"""
    return 2.0 * reduce_sum(log(diag_part(cholesky(matrix))), axis=-1)


def cholesky_solve(chol, rhs, name: str | None = None):
    """``x`` with ``A @ x = rhs`` given ``chol``, the Cholesky factor of ``A``: two triangular
    solves. Usage: ``x = aj.linalg.cholesky_solve(aj.linalg.cholesky(a), b)``"""
    return triangular_solve(chol, triangular_solve(chol, rhs, lower=True), lower=True,
                            adjoint=True)


def eigvalsh(tensor, name: str | None = None):
    """The eigenvalues (ascending) of each symmetric matrix. Usage: ``aj.linalg.eigvalsh(a)``"""
    return eigh(tensor)[0]


__all__ = ["adjoint", "band_part", "cholesky", "cholesky_solve", "det", "diag", "diag_part",
           "eigh", "eigvalsh", "einsum", "eye", "global_norm", "inv", "logdet", "matmul",
           "matrix_transpose", "matvec", "norm", "qr", "slogdet", "solve", "tensordot", "trace",
           "triangular_solve"]
