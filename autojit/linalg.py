"""``aj.linalg``: matrix ops, as ``tf.linalg``.

Usage: ``aj.linalg.matmul(a, b, transpose_b=True)``, ``aj.linalg.eye(3)``
"""

from autojit.ops.array import eye
from autojit.ops.clipping import global_norm, norm
from autojit.ops.einsum import einsum
from autojit.ops.linalg import matmul, matrix_transpose

__all__ = ["einsum", "eye", "global_norm", "matmul", "matrix_transpose", "norm"]
