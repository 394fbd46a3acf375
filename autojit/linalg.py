"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``, ``aj.linalg.inv(a)``
"""

from autojit.ops.array import eye
from autojit.ops.clipping import global_norm, norm
from autojit.ops.einsum import einsum
from autojit.ops.array import expand_dims, squeeze
from autojit.ops.linalg import det, inv, matmul, matrix_transpose, tensordot


def matvec(a, b, transpose_a: bool = False, name: str | None = None):
    """The matrix ``a`` (``[..., m, n]``) times the vector ``b`` (``[..., n]``), as
    ``tf.linalg.matvec``. Usage: ``aj.linalg.matvec(w, x)``"""
    return squeeze(matmul(a, expand_dims(b, -1), transpose_a=transpose_a), -1)


__all__ = ["det", "einsum", "eye", "global_norm", "inv", "matmul", "matrix_transpose",
           "matvec", "norm", "tensordot"]
