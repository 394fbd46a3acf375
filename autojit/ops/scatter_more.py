"""More n-d scatters: ``tensor_scatter_nd_sub``, ``tensor_scatter_nd_max`` and
``tensor_scatter_nd_min`` (``aj.*``), next to ``_add``/``_update`` in ``scatter.py``.

They take the same ``[..., M]`` indices and updates of shape ``indices.shape[:-1] +
tensor.shape[M:]``, with the same shape rule and index range check. Repeated indices all
count: they subtract up, or the extreme of all of them (and the tensor's entry) wins. The max
and min kernels linearize the indices and reduce the updates per cell with the segmented scan
of ``segments.segment_reduce`` (CuPy has no ``ufunc.at`` for every dtype); their VJP is TF's:
the gradient of a cell is split among the tensor entry and the updates equal to the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit.errors import DTypeError
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.indexing import index_values
from autojit.ops.math import cast, divide, equal, multiply, negative
from autojit.ops.scatter import (GATHER_ND, TENSOR_SCATTER_ND_ADD, _depth_of, _like, _nd_key,
                                 _scatter_check, _scatter_rule)
from autojit.ops.segments import segment_reduce

# ----------------------------------------------------------------------------- sub


def _numeric_rule(name, tensor, indices, updates, *, depth, kind=None):
    if tensor.dtype.kind not in "iuf":
        raise DTypeError(f"{name}: expected a numeric tensor, got {tensor.dtype.name}")
    return _scatter_rule(name, tensor, indices, updates, depth=depth)


def _scatter_sub(xp, tensor, indices, updates, depth):
    out = tensor.copy()
    xp.add.at(out, _nd_key(xp, indices, depth), -updates)  # repeated indices subtract up
    return out


TENSOR_SCATTER_ND_SUB = defop(
    "tensor_scatter_nd_sub", ["tensor", "indices", "updates"],
    "_scatter_sub(xp, tensor, indices, updates, depth)", _numeric_rule,
    lambda g, out, tensor, indices, updates, *, depth: (
        g, None, negative(bind(GATHER_ND, g, indices, depth=depth))),
    attrs=("depth",), namespace={"_scatter_sub": _scatter_sub}, check=_scatter_check)


# ----------------------------------------------------------------------------- max, min


def _scatter_extreme(xp, tensor, indices, updates, depth, kind):
    lead, rest = tensor.shape[:depth], tensor.shape[depth:]
    cells = int(np.prod(lead, dtype=np.int64))
    rows = xp.asarray(indices).reshape(-1, depth).astype(xp.int64)
    cell = rows[:, 0]
    for k in range(1, depth):  # row-major position of each index row among the cells
        cell = cell * lead[k] + rows[:, k]
    info = np.finfo(tensor.dtype) if tensor.dtype.kind == "f" else np.iinfo(tensor.dtype)
    best = segment_reduce(xp, kind, updates.reshape((cell.shape[0],) + rest), cell, cells,
                          info.min if kind == "max" else info.max)
    pick = xp.maximum if kind == "max" else xp.minimum
    return pick(tensor.reshape((cells,) + rest), best).reshape(tensor.shape)


def _extreme_vjp(g, out, tensor, indices, updates, *, depth, kind):
    # TF's _TensorScatterMinOrMaxGrad: a cell's gradient goes in equal shares to the tensor
    # entry and to each update equal to the result there.
    if g.dtype.kind != "f":
        return None, None, None
    from_tensor = cast(equal(tensor, out), g.dtype)
    from_updates = cast(equal(updates, bind(GATHER_ND, out, indices, depth=depth)), g.dtype)
    shares = bind(TENSOR_SCATTER_ND_ADD, from_tensor, indices, from_updates, depth=depth)
    per_share = divide(g, shares)  # every cell has at least one share
    return (multiply(per_share, from_tensor), None,
            multiply(bind(GATHER_ND, per_share, indices, depth=depth), from_updates))


def _check(name, tensor, indices, updates, *, depth, kind):
    _scatter_check(name, tensor, indices, updates, depth=depth)


TENSOR_SCATTER_ND_EXTREME = {
    kind: defop(f"tensor_scatter_nd_{kind}", ["tensor", "indices", "updates"],
                "_scatter_extreme(xp, tensor, indices, updates, depth, kind)", _numeric_rule,
                _extreme_vjp, attrs=("depth", "kind"),
                namespace={"_scatter_extreme": _scatter_extreme}, check=_check)
    for kind in ("max", "min")}


def _bind(op: Any, name: str, tensor: Any, indices: Any, updates: Any, **attrs: Any) -> Any:
    tensor, indices = as_operand(tensor), index_values(indices)
    return bind(op, tensor, indices, _like(updates, tensor), depth=_depth_of(name, indices),
                **attrs)


def tensor_scatter_nd_sub(tensor: Any, indices: Any, updates: Any,
                          name: str | None = None) -> Any:
    """A copy of ``tensor`` with ``updates`` subtracted at ``indices`` (repeats subtract up).

    Usage: ``aj.tensor_scatter_nd_sub(x, [[0], [2]], rows)``
    """
    return _bind(TENSOR_SCATTER_ND_SUB, "tensor_scatter_nd_sub", tensor, indices, updates)


def tensor_scatter_nd_max(tensor: Any, indices: Any, updates: Any,
                          name: str | None = None) -> Any:
    """A copy of ``tensor`` with each entry at ``indices`` the max of itself and its updates.

    Usage: ``aj.tensor_scatter_nd_max(x, [[1, 1]], [5.0])``
    """
    return _bind(TENSOR_SCATTER_ND_EXTREME["max"], "tensor_scatter_nd_max", tensor, indices,
                 updates, kind="max")


def tensor_scatter_nd_min(tensor: Any, indices: Any, updates: Any,
                          name: str | None = None) -> Any:
    """A copy of ``tensor`` with each entry at ``indices`` the min of itself and its updates.

    Usage: ``aj.tensor_scatter_nd_min(x, [[0], [3]], rows)``
    """
    return _bind(TENSOR_SCATTER_ND_EXTREME["min"], "tensor_scatter_nd_min", tensor, indices,
                 updates, kind="min")
