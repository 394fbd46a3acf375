"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``, ``aj.linalg.inv(a)``
"""

from autojit.ops.array import expand_dims, eye, squeeze
from autojit.ops.clipping import global_norm, norm
from autojit.ops.decompositions import (band_part, cholesky, eigh, qr, slogdet, solve,
                                        triangular_solve)
from autojit.ops.einsum import einsum
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
    """The sum of each matrix's diagonal ([..., n, n] gives [...]). Usage: ``aj.linalg.trace(a)``"""
    return einsum("...ii->...", x)


def diag_part(input, name: str | None = None):  # noqa: A002
    """The diagonal of each square matrix ([..., n, n] gives [..., n]).

    Usage: ``aj.linalg.diag_part(a)``
    """
    return einsum("...ii->...i", input)


def diag(diagonal, name: str | None = None):
    """Matrices with ``diagonal`` ([..., n]) on the diagonal and zeros elsewhere.

    Usage: ``aj.linalg.diag(aj.constant([1.0, 2.0]))``
    """
    from autojit.ops.core import as_operand

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
