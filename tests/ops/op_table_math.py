"""Op-table entries for more math (issue 9): erf, expm1, softplus, logsumexp, einsum, cumulative
sums and products, sorting and top_k, n-d gathers and scatters, boolean masks, where(condition),
segment sums, norms and clipping; and tf.math's compositions (reciprocal, squared_difference,
divide_no_nan, xlogy, reduce_variance, reduce_std, reduce_euclidean_norm, count_nonzero).
References are written independently with NumPy (and ``math.erf``); compositions are entries
under one of the ops they run.
"""

from __future__ import annotations

import math

import numpy as np
from op_table import (
    F64,
    FLOATS,
    I32,
    I64,
    NUMERIC,
    B,
    Case,
    F,
    I,
    binary,
    reduction,
    unary,
)
from op_table import Entry as E

import autojit as aj
from autojit.ops.core import bind
from autojit.ops.sorting import TAKE_ALONG_AXIS_GRAD, take_along_axis

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _erf_ref(x):
    return _erf(x).astype(x.dtype)


def _logsumexp_ref(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x.astype(np.float64)), axis=axis, keepdims=keepdims)).astype(
        x.dtype)


def _scan_ref(product):
    def ref(x, axis=0, exclusive=False, reverse=False):
        moved = np.moveaxis(x, axis, 0)
        out = np.empty_like(moved)
        n = moved.shape[0]
        order = range(n - 1, -1, -1) if reverse else range(n)
        acc = np.ones_like(moved[0]) if product else np.zeros_like(moved[0])
        for i in order:  # a plain loop: independent of cumsum/cumprod
            if exclusive:
                out[i] = acc
                acc = acc * moved[i] if product else acc + moved[i]
            else:
                acc = acc * moved[i] if product else acc + moved[i]
                out[i] = acc
        return np.moveaxis(out, 0, axis)
    return ref


def _stable_order(x, axis, descending):
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, np.int64)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index].tolist()
        keys = sorted(range(len(row)), key=lambda i: (-row[i] if descending else row[i], i))
        out[index] = keys
    return np.moveaxis(out, -1, axis)


def _sort_ref(values, axis=-1, direction="ASCENDING"):
    order = _stable_order(values, axis, direction == "DESCENDING")
    return np.take_along_axis(values, order, axis)


def _argsort_ref(values, axis=-1, direction="ASCENDING"):
    return _stable_order(values, axis, direction == "DESCENDING").astype(I32)


def _top_k_ref(x, k=1):
    order = _stable_order(x, -1, True)[..., :k]
    return np.take_along_axis(x, order, -1), order.astype(I32)


def _take_grad_ref(g, indices, like, axis):
    out = np.zeros(like.shape, g.dtype)
    for index in np.ndindex(g.shape):
        target = list(index)
        target[axis] = indices[index]
        out[tuple(target)] += g[index]
    return out


def _gather_nd_ref(params, indices):
    indices = np.asarray(indices)
    rows = [params[tuple(row)] for row in indices.reshape(-1, indices.shape[-1])]
    return np.asarray(rows, params.dtype).reshape(indices.shape[:-1] + params.shape[
        indices.shape[-1]:])


def _scatter_ref(tensor, indices, updates, add=True):
    out = np.array(tensor, copy=True)
    indices = np.asarray(indices)
    m = indices.shape[-1]
    flat = updates.reshape((-1,) + out.shape[m:])
    for row, update in zip(indices.reshape(-1, m), flat):
        if add:
            out[tuple(row)] += update
        else:
            out[tuple(row)] = update
    return out


def _segment_ref(data, ids, num_segments=None):
    ids = np.asarray(ids)
    n = num_segments if num_segments is not None else int(ids.max()) + 1
    out = np.zeros((n,) + data.shape[ids.ndim:], data.dtype)
    for index in np.ndindex(ids.shape):
        if ids[index] >= 0:
            out[ids[index]] += data[index]
    return out


def _norm_ref(x, ord="euclidean", axis=None, keepdims=False):
    if isinstance(axis, (list, tuple)) and len(axis) == 2:
        a = np.moveaxis(x, axis, (0, 1))
        if ord in ("euclidean", "fro"):
            out = np.sqrt((a ** 2).sum(axis=(0, 1)))
        elif ord == 1:
            out = np.abs(a).sum(axis=0).max(axis=0)
        else:
            out = np.abs(a).sum(axis=1).max(axis=0)
        if keepdims:
            out = np.expand_dims(np.expand_dims(out, 0), 0)
            out = np.moveaxis(out, (0, 1), axis)
        return np.asarray(out, x.dtype)
    p = 2.0 if ord == "euclidean" else float(ord)
    a = np.abs(x)
    out = a.max(axis=axis, keepdims=keepdims) if p == math.inf else (
        (a ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p))
    return np.asarray(out, x.dtype)


def _clip_ref(t, clip_norm, axes=None):
    axes = None if axes is None else tuple(axes)
    l2 = np.sqrt((t ** 2).sum(axis=axes, keepdims=True))
    return (t * clip_norm / np.maximum(l2, clip_norm)).astype(t.dtype)


def _global_clip_ref(*ts, clip_norm):
    total = math.sqrt(sum(float((t.astype(np.float64) ** 2).sum()) for t in ts))
    scale = clip_norm / max(total, clip_norm)
    return [(t * scale).astype(t.dtype) for t in ts] + [np.asarray(total, ts[0].dtype)]


def _as_arrays(x, y):
    """Both operands as arrays of the one array's dtype (a Python scalar is weak)."""
    dtype = x.dtype if isinstance(x, np.ndarray) else y.dtype
    return np.asarray(x, dtype), np.asarray(y, dtype)


def _divide_no_nan_ref(x, y):
    x, y = _as_arrays(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = x / y
    return np.where(y == 0, np.zeros_like(q), q)


def _xlogy_ref(x, y):
    x, y = _as_arrays(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    return np.where(x == 0, np.zeros_like(out), out)


def _np_moment(f):
    return lambda x, axis=None, keepdims=False: np.asarray(f(x, axis=axis, keepdims=keepdims),
                                                           x.dtype)


def _euclidean_ref(x, axis=None, keepdims=False):
    return np.asarray(np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)), x.dtype)


def _count_nonzero_ref(input, axis=None, keepdims=False, dtype=I64):
    counts = np.sum(np.asarray(input) != 0, axis=axis, keepdims=keepdims)
    return np.asarray(counts).astype(dtype)


_WITH_ZEROS = np.array([[0.0, 1.5, 0.0, -2.0], [0.0, 0.0, 0.0, 0.0], [3.0, np.nan, 0.0, 1.0]])


def _not_scalar(entry):
    """``entry`` without its 0-d case (a standard deviation of one value is sqrt(0): no
    derivative)."""
    entry.cases = [c for c in entry.cases if c.args[0].shape != ()]
    return entry


def _einsum_fn(*xs, equation):
    return aj.einsum(equation, *xs)


def _einsum_ref(*xs, equation):
    return np.asarray(np.einsum(equation, *xs))


_EINSUM_CASES = [
    ("ij,jk->ik", (3, 4), (4, 2)), ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)), ("ii->", (3, 3)),
    ("ii->i", (3, 3)), ("ij->", (3, 4)), ("ij->ji", (3, 4)), ("ij->i", (3, 4)),
    ("i,i->", (4,), (4,)), ("i,j->ij", (3,), (4,)), ("ij,jk", (3, 4), (4, 2)),
    ("ij,ij->ij", (3, 4), (3, 4)), ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    ("...ij,...jk->...ik", (2, 3, 4), (4, 5)), ("...ij,...jk->...ik", (1, 3, 4), (2, 4, 2)),
    ("...d,d->...", (2, 3, 4), (4,)), ("bi,bi->b", (3, 4), (3, 4)), ("iij->ij", (2, 2, 3)),
]

ENTRIES = [
    unary("erf", aj.math.erf, _erf_ref),
    unary("expm1", aj.math.expm1, np.expm1),
    # --- tf.math's compositions
    unary("divide", aj.math.reciprocal, lambda x: np.asarray(1 / x, x.dtype), kind="away"),
    binary("square", aj.math.squared_difference, lambda x, y: np.asarray(np.square(
        np.subtract(*_as_arrays(x, y))))),
    binary("divide", aj.math.divide_no_nan, _divide_no_nan_ref, kinds=("normal", "away"),
           dtypes=FLOATS),
    binary("log", aj.math.xlogy, _xlogy_ref, kinds=("normal", "pos"), dtypes=FLOATS),
    reduction("reduce_mean", aj.math.reduce_variance, _np_moment(np.var), dtypes=FLOATS),
    _not_scalar(reduction("sqrt", aj.math.reduce_std, _np_moment(np.std), dtypes=FLOATS)),
    reduction("sqrt", aj.math.reduce_euclidean_norm, _euclidean_ref, kind="away",
              dtypes=FLOATS),
    unary("softplus", aj.math.softplus, lambda x: np.log(1 + np.exp(x))),
    E("softplus", aj.nn.softplus, lambda x: np.logaddexp(0.0, x),  # stable at the extremes
      [Case((np.array([-800.0, -30.0, 0.0, 30.0, 800.0]),))], (F64,), grad=1),
    reduction("reduce_max", aj.reduce_logsumexp, _logsumexp_ref, dtypes=FLOATS),
    E("reduce_sum", aj.math.count_nonzero, _count_nonzero_ref,  # NaN counts, as TF
      [Case((_WITH_ZEROS,), {"axis": a, "keepdims": k}) for a in (None, 0, 1, (0, 1), -1)
       for k in (False, True)]
      + [Case((I((3, 4), 0, 2),), {"axis": 1}), Case((B((3, 4)),), {"axis": 0}),
         Case((F(()),)), Case((I((5,), 0, 2),), {"dtype": I32}),
         Case((_WITH_ZEROS,), {"axis": 1, "dtype": F64})], grad=0),
    E("einsum", _einsum_fn, _einsum_ref,
      [Case(tuple(F(s) for s in shapes), {"equation": eq}) for eq, *shapes in _EINSUM_CASES],
      NUMERIC),
    # --- cumulative ops
    E("cumsum", aj.math.cumsum, _scan_ref(False),
      [Case((F((3, 4)),), {"axis": a, "exclusive": e, "reverse": r})
       for a in (0, 1, -1) for e in (False, True) for r in (False, True)]
      + [Case((F((5,)),))], NUMERIC),
    E("cumprod", aj.math.cumprod, _scan_ref(True),
      [Case((F((3, 4), "away"),), {"axis": a, "exclusive": e, "reverse": r})
       for a in (0, 1) for e in (False, True) for r in (False, True)]
      + [Case((F((5,), "away"),), {"axis": -1})], NUMERIC),
    E("cumprod", aj.math.cumprod, _scan_ref(True),  # zeros: the exact VJP (Note [Cumprod VJP])
      [Case((np.array([1.5, 0.0, -2.0, 0.0, 3.0]),), {"exclusive": e, "reverse": r})
       for e in (False, True) for r in (False, True)]
      + [Case((np.array([[0.5, 2.0, 0.0], [0.0, 1.5, -1.0]]),), {"axis": 1})], (F64,)),
    # --- sorting
    E("sort", aj.sort, _sort_ref,
      [Case((F((3, 5), "distinct"),), {"axis": a, "direction": d})
       for a in (-1, 0) for d in ("ASCENDING", "DESCENDING")] + [Case((F((6,), "distinct"),))],
      NUMERIC),
    E("argsort", aj.argsort, _argsort_ref,
      [Case((I((3, 6), 0, 3),), {"axis": a, "direction": d})  # ties: stable both ways
       for a in (-1, 0) for d in ("ASCENDING", "DESCENDING")]
      + [Case((F((5,), "distinct"),))], NUMERIC, grad=0),
    E("take_along_axis", take_along_axis, lambda x, indices, axis: np.take_along_axis(
        x, indices, axis), [Case((F((3, 4)), I((3, 2), 0, 4)), {"axis": 1}),
                            Case((F((3, 4)), I((5, 4), 0, 3, I64)), {"axis": 0})], NUMERIC),
    E("take_along_axis_grad",
      lambda g, indices, like, axis: bind(TAKE_ALONG_AXIS_GRAD, g, indices, like, axis=axis),
      _take_grad_ref, [Case((F((3, 5)), I((3, 5), 0, 4), F((3, 4))), {"axis": 1})]),
    E("take_along_axis", aj.math.top_k, _top_k_ref,
      [Case((F((3, 6), "distinct"),), {"k": 2}), Case((F((5,), "distinct"),)),
       Case((F((2, 3, 4), "distinct"),), {"k": 4}), Case((I((2, 6), 0, 3),), {"k": 3})],
      NUMERIC),
    # --- n-d gathers and scatters
    E("gather_nd", aj.gather_nd, _gather_nd_ref,
      [Case((F((4, 3)), np.array([[0, 1], [3, 2], [0, 1]]))),
       Case((F((4, 3)), np.array([[2], [0]]))),
       Case((F((2, 3, 4)), np.array([[[1, 2]], [[0, 0]]]))),
       Case((F((3, 4)), np.array([1, 3], np.int64)))], NUMERIC),
    E("tensor_scatter_nd_add", aj.tensor_scatter_nd_add, _scatter_ref,
      [Case((F((4, 3)), np.array([[0, 1], [3, 2], [0, 1]]), F((3,)))),
       Case((F((4, 3)), np.array([[2], [0]]), F((2, 3))))], NUMERIC),
    E("tensor_scatter_nd_update", aj.tensor_scatter_nd_update,
      lambda t, i, u: _scatter_ref(t, i, u, add=False),
      [Case((F((4, 3)), np.array([[0, 1], [3, 2]]), F((2,)))),
       Case((F((2, 3, 2)), np.array([[1], [0]]), F((2, 3, 2))))], NUMERIC),
    E("scatter_nd", aj.scatter_nd,
      lambda indices, updates, shape: _scatter_ref(np.zeros(shape, updates.dtype), indices,
                                                   updates),
      [Case((np.array([[1], [3], [1]]), F((3,))), {"shape": (5,)}),
       Case((np.array([[0, 2], [1, 1]]), F((2, 4))), {"shape": (2, 3, 4)})], NUMERIC),
    # --- value-dependent shapes
    E("getitem_advanced", aj.boolean_mask,
      lambda tensor, mask, axis=None: np.asarray(tensor[(slice(None),) * (axis or 0) + (mask,)]),
      [Case((F((4, 3)), B((4,)))), Case((F((4, 3)), B((4, 3)))),
       Case((F((2, 4, 3)), B((4,))), {"axis": 1}), Case((F((5,)), B((5,))))],
      NUMERIC, value_dependent_shape=True),
    E("where_indices", aj.where, lambda c: np.argwhere(c).astype(I64),
      [Case((B((3, 4)),)), Case((B((5,)),)), Case((F((2, 3), "small"),))], NUMERIC,
      grad=0, value_dependent_shape=True),
    E("segment_sum", aj.math.segment_sum, _segment_ref,
      [Case((F((5, 3)), np.array([0, 0, 1, 3, 3]))), Case((F((4,)), np.array([0, 1, 2, 2])))],
      NUMERIC, value_dependent_shape=True),
    E("segment_sum", aj.math.unsorted_segment_sum, _segment_ref,
      [Case((F((5, 3)), np.array([2, 0, 2, -1, 1])), {"num_segments": 4}),
       Case((F((2, 3, 2)), np.array([[0, 1, 0], [2, 2, 1]])), {"num_segments": 3}),
       Case((F((4,)), np.array([1, 1, 1, 1], np.int64)), {"num_segments": 2})], NUMERIC),
    # --- norms and clipping (compositions)
    E("sqrt", aj.norm, _norm_ref,
      [Case((F((3, 4)),)), Case((F((3, 4)),), {"axis": 1}),
       Case((F((2, 3, 4)),), {"axis": -1, "keepdims": True}),
       Case((F((3, 4)),), {"ord": "fro", "axis": [0, 1]})], FLOATS),
    E("reduce_max", aj.linalg.norm, _norm_ref,
      [Case((F((3, 4), "distinct"),), {"ord": math.inf, "axis": 0}),
       Case((F((3, 4), "distinct"),), {"ord": 1, "axis": (0, 1)}),
       Case((F((3, 4), "distinct"),), {"ord": math.inf, "axis": (1, 0), "keepdims": True})],
      FLOATS),
    E("reduce_sum", aj.norm, _norm_ref,
      [Case((F((3, 4), "away"),), {"ord": 1}), Case((F((3, 4), "away"),), {"ord": 3, "axis": 1})],
      FLOATS),
    E("maximum", aj.clip_by_norm, _clip_ref,
      [Case((F((3, 4)),), {"clip_norm": 0.5}), Case((F((3, 4)),), {"clip_norm": 50.0}),
       Case((F((3, 4)),), {"clip_norm": 0.5, "axes": [1]})], FLOATS),
    E("maximum", lambda *ts, clip_norm: [*(lambda c, n: [*c, n])(
        *aj.clip_by_global_norm(list(ts), clip_norm))], _global_clip_ref,
      [Case((F((3, 4)), F((2,))), {"clip_norm": 1.0}), Case((F((3,)),), {"clip_norm": 100.0})],
      FLOATS),
]
