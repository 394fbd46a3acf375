"""Norms and clipping built from existing ops: ``linalg.norm`` (``aj.norm``),
``linalg.global_norm``, ``clip_by_norm`` and ``clip_by_global_norm``, as TF.

Clipping takes TF's safe square root: a zero tensor gets a zero gradient, not NaN.
"""

from __future__ import annotations

import math
from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.ops import shapes
from autojit.ops.array import add_n, constant, squeeze
from autojit.ops.core import as_operand
from autojit.ops.math import (abs, add, cast, divide, float_unary_rule, greater, maximum, multiply,
                              ones_like_value, pow, sqrt, square, subtract, where)
from autojit.ops.reduce import reduce_max, reduce_sum

def _tensor(name: str, x: Any) -> Any:
    x = as_operand(x)
    float_unary_rule(name, x)
    return x


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None,  # noqa: A002
         keepdims: bool = False, name: str | None = None) -> Any:
    """The vector norm over ``axis`` (an int, or None for all entries: ``ord`` in
    ``'euclidean'``, 1, 2, ``inf`` or any p > 0), or the matrix norm over a pair of axes
    (``'euclidean'``/``'fro'``, 1, ``inf``), as ``tf.norm``.

    Usage: ``aj.linalg.norm(x)``, ``aj.norm(x, axis=-1)``, ``aj.norm(m, ord=1, axis=[0, 1])``
    """
    x = _tensor("norm", tensor)
    ndim = len(x.shape)
    matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if isinstance(axis, (list, tuple)) and len(axis) not in (1, 2):
        raise InvalidArgumentError(f"norm: expected axis None, an int or a pair of ints, got "
                                   f"{axis!r}")
    axes = shapes.normalize_axes("norm", axis, ndim)
    if matrix:
        if len(axes) != 2:
            raise InvalidArgumentError(f"norm: the two matrix axes must differ, got {axis!r}")
        # rows along axis[0], columns along axis[1] (order matters for ord 1 and inf)
        pair = tuple(shapes.normalize_axis("norm", a, ndim) for a in axis)
        out = _matrix_norm(x, ord, pair)
    else:
        out = _vector_norm(x, ord, axes)
    return out if keepdims else (squeeze(out, axis=axes) if axes else out)


def _vector_norm(x, ord, axes):  # noqa: A002
    if ord in ("euclidean", 2):
        return sqrt(reduce_sum(square(x), axis=axes, keepdims=True))
    if ord == 1:
        return reduce_sum(abs(x), axis=axes, keepdims=True)
    if ord == math.inf:
        return reduce_max(abs(x), axis=axes, keepdims=True)
    if isinstance(ord, (int, float)) and not isinstance(ord, bool) and ord > 0:
        p = float(ord)
        return pow(reduce_sum(pow(abs(x), p), axis=axes, keepdims=True), 1.0 / p)
    raise InvalidArgumentError(f"norm: expected ord 'euclidean', 1, 2, inf or a number > 0 for a "
                               f"vector norm, got {ord!r}")


def _matrix_norm(x, ord, axes):  # noqa: A002
    rows, cols = axes
    if ord in ("euclidean", "fro"):
        return sqrt(reduce_sum(square(x), axis=axes, keepdims=True))
    if ord == 1:  # the largest column sum
        return reduce_max(reduce_sum(abs(x), axis=rows, keepdims=True), axis=cols, keepdims=True)
    if ord == math.inf:  # the largest row sum
        return reduce_max(reduce_sum(abs(x), axis=cols, keepdims=True), axis=rows, keepdims=True)
    raise InvalidArgumentError(f"norm: expected ord 'euclidean', 'fro', 1 or inf for a matrix "
                               f"norm, got {ord!r} (the spectral norm, ord=2, needs an SVD)")


def _safe_sqrt(total: Any) -> Any:
    """sqrt(total), with a zero (not NaN) gradient where ``total`` is 0 (TF's trick)."""
    positive = greater(total, 0)
    return where(positive, sqrt(where(positive, total, ones_like_value(total))), total)


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Any:
    """``t * clip_norm / max(norm(t, axes), clip_norm)``: ``t`` rescaled so its L2 norm over
    ``axes`` (all when None) is at most ``clip_norm``.

    Usage: ``g = aj.clip_by_norm(g, 1.0)``
    """
    x = _tensor("clip_by_norm", t)
    axes = shapes.normalize_axes("clip_by_norm", axes, len(x.shape))
    l2 = _safe_sqrt(reduce_sum(square(x), axis=axes, keepdims=True))
    clip = _scalar("clip_by_norm", clip_norm, x)
    return divide(multiply(x, clip), maximum(l2, clip))


def _scalar(name: str, value: Any, like: Any) -> Any:
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return cast(value, like.dtype)
    return constant(value, dtype=like.dtype)


def global_norm(t_list: Any, name: str | None = None) -> Any:
    """``sqrt(sum of squares of every entry of every tensor)`` (None entries skipped).

    Usage: ``aj.linalg.global_norm(grads)``
    """
    tensors = [t for t in _listed("global_norm", t_list) if t is not None]
    if not tensors:
        raise InvalidArgumentError("global_norm: expected at least one tensor, got none")
    dt = tensors[0].dtype
    totals = [cast(reduce_sum(square(_tensor("global_norm", t))), dt) for t in tensors]
    return _safe_sqrt(add_n(totals))


def _listed(name: str, t_list: Any) -> list:
    if not isinstance(t_list, (list, tuple)):
        raise InvalidArgumentError(f"{name}: expected a list or tuple of tensors, got "
                                   f"{type(t_list).__name__}")
    return [None if t is None else _tensor(name, t) for t in t_list]


def clip_by_global_norm(t_list: Any, clip_norm: Any, use_norm: Any = None,
                        name: str | None = None) -> tuple:
    """``(clipped list, global norm)``: every tensor scaled by
    ``clip_norm / max(global_norm, clip_norm)``; None entries stay None. An infinite or NaN
    global norm makes every entry NaN, TF's signal that an error occurred.

    Usage: ``grads, norm = aj.clip_by_global_norm(grads, 5.0)``
    """
    tensors = _listed("clip_by_global_norm", t_list)
    total = global_norm(tensors) if use_norm is None else _given_norm(use_norm, tensors)
    clip = _scalar("clip_by_global_norm", clip_norm, total)
    # + (total - total), as TF: 0 for a finite norm, NaN for an infinite one (clip / inf
    # alone would quietly zero every entry)
    scale = add(divide(clip, maximum(total, clip)), subtract(total, total))
    clipped = [None if t is None else multiply(t, cast(scale, t.dtype)) for t in tensors]
    return clipped, total


def _given_norm(use_norm: Any, tensors: list) -> Any:
    """``use_norm`` as an operand: a Python number takes the first tensor's dtype, as it
    would in TF's arithmetic with it."""
    if hasattr(use_norm, "shape") and hasattr(use_norm, "dtype"):
        return use_norm
    present = [t for t in tensors if t is not None]
    return constant(use_norm, dtype=present[0].dtype if present else None)
