"""Op-table entries for ``range_tensor``, the op behind ``aj.range`` with symbolic bounds
(``autojit/ops/creation.py``): forward vs ``np.arange``, the rule on TensorSpecs (an unknown
dim). Ranges have no gradient, as in TensorFlow. Also ``matmul`` with 1-D operands (NumPy's
rules) vs ``np.matmul``, with gradients. The autograph side (a ``for`` over such a
range iterates a counter) is tested in ``tests/autograph/test_ranges.py``."""

from __future__ import annotations

import numpy as np
from op_table import F32, FLOATS, I32, Case, E, F, I

import autojit as aj
from autojit.ops import creation
from autojit.ops.core import bind


def _range_tensor(start, limit, delta, dtype):
    return bind(creation.RANGE_TENSOR, start, limit, delta, dtype=dtype)


def _range_tensor_ref(start, limit, delta, dtype):
    return np.arange(start, limit, delta, dtype=dtype)


ENTRIES = [
    E("range_tensor", _range_tensor, _range_tensor_ref, [
        Case((I((), 0, 1), I((), 5, 6), I((), 1, 2)), {"dtype": I32}),
        Case((I((), 7, 8), I((), 0, 1), I((), -2, -1)), {"dtype": I32}),  # negative delta
        Case((I((), 4, 5), I((), 1, 2), I((), 1, 2)), {"dtype": I32}),  # empty
        Case((I((), 1, 2), I((), 4, 5), I((), 1, 2)), {"dtype": F32}),
    ], (F32,), grad=0, value_dependent_shape=True),
    # 1-D operands of matmul follow NumPy (a reshape around the matrix product)
    E("matmul", aj.matmul, np.matmul, [
        Case((F((3,)), F((3, 2)))),  # vector @ matrix
        Case((F((2, 3)), F((3,)))),  # matrix @ vector
        Case((F((3,)), F((3,)))),  # vector @ vector: a scalar
        Case((F((4, 2, 3)), F((3,)))),  # batched matrix @ vector
        Case((F((3,)), F((2, 3, 4)))),  # vector @ batched matrix
    ], FLOATS),
]
