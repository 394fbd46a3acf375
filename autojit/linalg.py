"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``, ``aj.linalg.inv(a)``
"""

from autojit.ops.array import eye
from autojit.ops.clipping import global_norm, norm
from autojit.ops.einsum import einsum
from autojit.ops.linalg import det, inv, matmul, matrix_transpose, tensordot

__all__ = ["det", "einsum", "eye", "global_norm", "inv", "matmul", "matrix_transpose", "norm",
           "tensordot"]
