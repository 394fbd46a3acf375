"""Matrix products: ``matmul`` (batched, with transpose flags) and ``matrix_transpose``."""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import ShapeError
from autojit.ops import shapes
from autojit.ops.core import bind, defop
from autojit.ops.math import unbroadcast


def _matmul_rule(name, a, b):
    dt = dtypes.same_dtype(name, (a.dtype, b.dtype))
    if dt == dtypes.bool:
        raise dtypes.DTypeError(f"{name}: expected numeric tensors, got bool")
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ShapeError(f"{name}: expected tensors of rank >= 2, got shapes "
                         f"{shapes.fmt(a.shape)} and {shapes.fmt(b.shape)}")
    n, k = a.shape[-2:]
    k2, m = b.shape[-2:]
    if k is not None and k2 is not None and k != k2:
        raise ShapeError(f"{name}: inner dimensions differ: {shapes.fmt(a.shape)} @ "
                         f"{shapes.fmt(b.shape)} ({k} != {k2})")
    batch = shapes.broadcast(name, a.shape[:-2], b.shape[:-2])
    return batch + (n, m), dt


def _matmul_vjp(g, out, a, b):
    # Deferred (Note [Deferred cotangents] in autodiff.py): only the needed product runs.
    return (lambda: unbroadcast(bind(MATMUL, g, matrix_transpose(b)), a),
            lambda: unbroadcast(bind(MATMUL, matrix_transpose(a), g), b))


MATMUL = defop("matmul", ["a", "b"], "xp.matmul(a, b)", _matmul_rule, _matmul_vjp)


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

    Usage: ``aj.matmul(x, w)``, ``aj.matmul(g, w, transpose_b=True)``
    """
    if transpose_a:
        a = matrix_transpose(a)
    if transpose_b:
        b = matrix_transpose(b)
    return bind(MATMUL, a, b)
