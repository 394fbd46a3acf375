"""Op-table entries for linear algebra beyond matmul: ``tensordot`` (an entry under ``matmul``,
which it is built around) vs ``np.tensordot``; ``matrix_inverse`` (``aj.linalg.inv``) and
``matrix_determinant`` (``aj.linalg.det``) on batched, well-conditioned matrices, against
references that do not call ``np.linalg.inv``/``det`` (a solve, and ``slogdet``), with VJPs
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
]
