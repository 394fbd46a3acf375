"""Op-table entries for more array ops: ``ensure_shape``, ``reverse`` and ``repeat``
(primitives; ``repeat_grad``, the sum of the repeated copies, too), ``meshgrid`` (an entry
under ``broadcast_to``) and ``sequence_mask`` (under ``less``). References are written with
NumPy (``np.flip``, ``np.repeat``, ``np.meshgrid``) or with loops.
"""

from __future__ import annotations

import numpy as np
from op_table import F64, I64, NUMERIC, Case, E, F, I

import autojit as aj
from autojit.ops.core import bind
from autojit.ops.extra_array import REPEAT_GRAD


def _repeat_ref(x, repeats, axis=None):
    return np.repeat(x, repeats, axis=axis)


def _repeat_grad_ref(g, like, repeats, axis):
    # A loop over the output positions: each adds its gradient to the entry it copies.
    counts = [repeats] * like.shape[axis] if isinstance(repeats, int) else list(repeats)
    source = [i for i, c in enumerate(counts) for _ in range(c)]
    out = np.zeros(like.shape, g.dtype)
    for position, i in enumerate(source):
        index = (slice(None),) * axis
        out[index + (i,)] += g[index + (position,)]
    return out


def _meshgrid_fn(*xs, indexing="xy"):
    return aj.meshgrid(*xs, indexing=indexing)


def _meshgrid_ref(*xs, indexing="xy"):
    return [np.array(grid) for grid in np.meshgrid(*xs, indexing=indexing)]


def _sequence_mask_ref(lengths, maxlen=None, dtype=np.dtype(bool)):
    if maxlen is None:
        maxlen = max(0, int(lengths.max())) if lengths.size else 0
    mask = np.zeros(lengths.shape + (maxlen,), bool)
    for index in np.ndindex(lengths.shape):
        mask[index][:max(0, min(maxlen, int(lengths[index])))] = True
    return mask.astype(dtype)


ENTRIES = [
    E("ensure_shape", aj.ensure_shape, lambda x, shape: x, [
        Case((F((2, 3)),), {"shape": (None, 3)}),
        Case((F((4,)),), {"shape": (4,)}),
        Case((F(()),), {"shape": ()}),
    ], NUMERIC),
    E("reverse", aj.reverse, lambda tensor, axis: np.flip(tensor, tuple(axis)),
      [Case((F((3, 4)),), {"axis": a}) for a in ([0], [1], [-1], [0, 1], [1, -2])]
      + [Case((F((2, 3, 4)),), {"axis": [0, 2]}), Case((F((5,)),), {"axis": [0]})], NUMERIC),
    E("repeat", aj.repeat, _repeat_ref,
      [Case((F((3, 4)),), {"repeats": 2, "axis": 0}),
       Case((F((3, 4)),), {"repeats": [1, 0, 2], "axis": 0}),
       Case((F((3, 4)),), {"repeats": [2, 1, 1, 3], "axis": -1}),
       Case((F((3, 4)),), {"repeats": [2], "axis": 1}),  # one count for every entry
       Case((F((3, 4)),), {"repeats": 0, "axis": 1}),
       Case((F((2, 3)),), {"repeats": 3}),  # axis None: the flattened input
       Case((F(()),), {"repeats": 2}),
       Case((F((2, 3, 2)),), {"repeats": np.array([1, 3, 0]), "axis": 1})], NUMERIC),
    E("repeat_grad",
      lambda g, like, repeats, axis: bind(REPEAT_GRAD, g, like, repeats=repeats, axis=axis),
      _repeat_grad_ref,
      [Case((F((6, 4)), F((3, 4))), {"repeats": 2, "axis": 0}),
       Case((F((3, 5)), F((3, 3))), {"repeats": (2, 0, 3), "axis": 1})]),
    E("broadcast_to", _meshgrid_fn, _meshgrid_ref,
      [Case((F((3,)), F((4,))), {"indexing": "xy"}), Case((F((3,)), F((4,))), {"indexing": "ij"}),
       Case((F((2,)), F((3,)), F((4,))), {"indexing": "xy"}),
       Case((F((2,)), F((3,)), F((4,))), {"indexing": "ij"}),
       Case((F((3,)),)), Case((F((2, 2)), F(()))),  # other ranks are flattened
       Case((F((0,)), F((3,))))], NUMERIC),
    E("less", aj.sequence_mask, _sequence_mask_ref,
      [Case((I((4,), 0, 6),), {"maxlen": 6}), Case((I((4,), 0, 6),)),
       Case((I((2, 3), 0, 5),), {"maxlen": 3}),  # lengths above maxlen fill the row
       Case((I((), 0, 4),), {"maxlen": 4}), Case((I((3,), -2, 3, I64),)),
       Case((I((3,), 0, 4),), {"maxlen": 5, "dtype": np.dtype("float32")}),
       Case((I((2,), 0, 3),), {"maxlen": 0, "dtype": F64})], grad=0),
]
