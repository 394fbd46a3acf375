"""Op-table entries for the ops behind ``aj.TensorArray`` (``autojit/ops/tensor_array.py``):
forward vs NumPy, rules on TensorSpecs, VJPs and second derivatives vs central differences.
The ``TensorArray`` API itself is tested in ``tests/test_tensor_array.py``."""

from __future__ import annotations

import numpy as np
from op_table import F32, FLOATS, Case, E, F, I

from autojit.ops import tensor_array as ta_ops
from autojit.ops.core import bind


def _write_ref(buf, index, value, dynamic):
    i, n = int(index), buf.shape[0]
    out = np.zeros((max(n, i + 1),) + value.shape, buf.dtype)
    out[:n] = buf
    out[i] = value
    return out


def _write_grad_ref(g, index, like):
    out = g[:like.shape[0]].copy()
    if int(index) < like.shape[0]:
        out[int(index)] = 0
    return out


def _fit_ref(x, like):
    n = like.shape[0]
    out = np.zeros((n,) + x.shape[1:], x.dtype)
    m = min(n, x.shape[0])
    out[:m] = x[:m]
    return out


ENTRIES = [
    E("tensor_array_write", ta_ops.write, _write_ref, [
        Case((F((4, 3)), I((), 0, 4), F((3,))), {"dynamic": False}),
        Case((F((4, 3)), I((), 0, 4), F((3,))), {"dynamic": True}),
        Case((F((2, 3)), I((), 3, 4), F((3,))), {"dynamic": True}),  # grows, zeros between
        Case((F((0, 2, 2)), I((), 0, 1), F((2, 2))), {"dynamic": True}),  # the first write
        Case((F((5,)), I((), 0, 5), F(())), {"dynamic": False}),  # scalar elements
    ], FLOATS, value_dependent_shape=True),
    E("tensor_array_write_grad", lambda g, i, like: bind(ta_ops.WRITE_GRAD, g, i, like),
      _write_grad_ref, [
          Case((F((4, 3)), I((), 0, 4), F((4, 3)))),  # an overwrite: the row is cleared
          Case((F((5, 3)), I((), 4, 5), F((4, 2)))),  # an append: the first rows
          Case((F((3,)), I((), 1, 2), F((3,)))),
      ], FLOATS),
    E("tensor_array_read", ta_ops.read, lambda buf, i: buf[int(i)], [
        Case((F((4, 3)), I((), 0, 4))),
        Case((F((3,)), I((), 0, 3))),
        Case((F((2, 2, 3)), I((), 1, 2))),
    ], FLOATS),
    E("tensor_array_fit", ta_ops.fit, _fit_ref, [
        Case((F((4, 3)), F((2,)))),  # cut
        Case((F((2, 3)), F((5,)))),  # zero-padded
        Case((F((3, 2)), F((3, 1)))),  # unchanged
    ], FLOATS),
    E("tensor_array_zeros", ta_ops.zeros,
      lambda n, element_shape, dtype: np.zeros((int(n),) + element_shape, dtype), [
          Case((I((), 0, 4),), {"element_shape": (3,), "dtype": F32}),
          Case((I((), 2, 3),), {"element_shape": (), "dtype": np.dtype("float64")}),
      ], (F32,), grad=0, value_dependent_shape=True),
]
