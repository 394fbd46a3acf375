"""Matrix products: ``matmul`` (batched, with transpose flags) and ``matrix_transpose``."""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import ShapeError
from autojit.ops import shapes
from autojit.ops.core import bind, defop
from autojit.ops.math import unbroadcast


def _matmul_rule(name, a, b, *, transpose_a, transpose_b):
    dt = dtypes.same_dtype(name, (a.dtype, b.dtype))
    if dt == dtypes.bool:
        raise dtypes.DTypeError(f"{name}: expected numeric tensors, got bool")
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ShapeError(f"{name}: expected tensors of rank >= 2, got shapes "
                         f"{shapes.fmt(a.shape)} and {shapes.fmt(b.shape)}")
    n, k = a.shape[-2:][::-1] if transpose_a else a.shape[-2:]
    k2, m = b.shape[-2:][::-1] if transpose_b else b.shape[-2:]
    if k is not None and k2 is not None and k != k2:
        flags = "".join([" (transpose_a)" if transpose_a else "",
                         " (transpose_b)" if transpose_b else ""])
        raise ShapeError(f"{name}: inner dimensions differ: {shapes.fmt(a.shape)} @ "
                         f"{shapes.fmt(b.shape)}{flags} ({k} != {k2})")
    batch = shapes.broadcast(name, a.shape[:-2], b.shape[:-2])
    return batch + (n, m), dt


def _matmul_vjp(g, out, a, b, *, transpose_a, transpose_b):
    # The transpose flags keep gradients free of transposed views (eagerly, a view of a
    # Variable would be copied; in graphs it is one node less). Deferred (Note [Deferred
    # cotangents] in autodiff.py): only the needed product runs.
    if not transpose_a and not transpose_b:
        ga, gb = (lambda: _mm(g, b, False, True)), (lambda: _mm(a, g, True, False))
    elif not transpose_a:
        ga, gb = (lambda: _mm(g, b, False, False)), (lambda: _mm(g, a, True, False))
    elif not transpose_b:
        ga, gb = (lambda: _mm(b, g, False, True)), (lambda: _mm(a, g, False, False))
    else:
        ga, gb = (lambda: _mm(b, g, True, True)), (lambda: _mm(g, a, True, True))
    return (lambda: unbroadcast(ga(), a)), (lambda: unbroadcast(gb(), b))


def _mm(a, b, transpose_a, transpose_b):
    return bind(MATMUL, a, b, transpose_a=transpose_a, transpose_b=transpose_b)


# Codegen drops the dead arm of each ``... if <literal> else ...``, so the replay line is
# ``xp.matmul(a, b)`` or ``xp.matmul(a, xp.swapaxes(b, -1, -2))``.
MATMUL = defop("matmul", ["a", "b"],
               "xp.matmul(xp.swapaxes(a, -1, -2) if transpose_a else a, "
               "xp.swapaxes(b, -1, -2) if transpose_b else b)",
               _matmul_rule, _matmul_vjp, attrs=("transpose_a", "transpose_b"))


def _transpose_rule(name, x):
    if len(x.shape) < 2:
        raise ShapeError(f"{name}: expected a tensor of rank >= 2, got shape {shapes.fmt(x.shape)}")
    return x.shape[:-2] + (x.shape[-1], x.shape[-2]), x.dtype


MATRIX_TRANSPOSE = defop("matrix_transpose", ["x"], "xp.swapaxes(x, -1, -2)", _transpose_rule,
                         lambda g, out, x: (matrix_transpose(g),))


def matrix_transpose(a: Any, name: str | None = None) -> Any:
    """Swap the last two axes. Usage: ``aj.linalg.matrix_transpose(w)``"""
    return bind(MATRIX_TRANSPOSE, a)


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           name: str | None = None) -> Any:
    """Matrix product of the last two axes, batched over the leading ones (broadcasting).

    Usage: ``aj.matmul(x, w)``, ``aj.matmul(g, w, transpose_b=True)``, ``v @ w``

    A 1-D operand follows NumPy: ``a`` is a row, ``b`` a column, and that axis is dropped
    from the result (vector @ matrix, matrix @ vector, vector @ vector gives a scalar); its
    transpose flag is ignored.
    """
    vector_a, vector_b = _ndim(a) == 1, _ndim(b) == 1
    if not (vector_a or vector_b):
        return bind(MATMUL, a, b, transpose_a=bool(transpose_a), transpose_b=bool(transpose_b))
    from autojit.ops.array import expand_dims, squeeze  # array builds on linalg's peers

    # Composed of reshapes around the matrix product, so gradients come with them.
    out = bind(MATMUL, expand_dims(a, 0) if vector_a else a,
               expand_dims(b, -1) if vector_b else b,
               transpose_a=bool(transpose_a) and not vector_a,
               transpose_b=bool(transpose_b) and not vector_b)
    if vector_b:
        out = squeeze(out, -1)
    if vector_a:
        out = squeeze(out, -1 if vector_b else -2)
    return out


def _ndim(value: Any) -> int:
    shape = getattr(value, "shape", None)
    return len(shape) if shape is not None else np.ndim(value)
