"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``
"""

from autojit.ops.array import eye
from autojit.ops.linalg import matmul, matrix_transpose

__all__ = ["eye", "matmul", "matrix_transpose"]
