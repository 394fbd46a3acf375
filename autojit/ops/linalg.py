"""Matrix products: ``matmul`` (batched, with transpose flags), ``matrix_transpose`` and
``tensordot`` (built from transposes, reshapes and one matmul); the inverse and determinant
of batched square matrices (``inv``, ``det``) with their VJPs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims, reshape, shape, squeeze, transpose
from autojit.ops.core import as_operand, bind, concrete, defop
from autojit.ops.math import multiply, negative, unbroadcast


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


# ----------------------------------------------------------------------------- tensordot
# A composition: the contracted axes of ``a`` go last and those of ``b`` first, both become
# matrices, one matmul contracts them, and a reshape restores the free axes. Gradients (of
# any order) come from those ops; dims unknown while tracing are read at run time.


def tensordot(a: Any, b: Any, axes: Any, name: str | None = None) -> Any:
    """Sum the products of ``a`` and ``b`` over the given axes, as ``tf.tensordot``: ``axes``
    is an int N (the last N axes of ``a`` with the first N of ``b``) or a pair
    ``[a_axes, b_axes]`` (each an int or a list of ints).

    Usage: ``aj.tensordot(x, w, axes=1)``, ``aj.tensordot(a, b, axes=[[1, 2], [0, 1]])``
    """
    a, b = as_operand(a), as_operand(b)
    dt = dtypes.same_dtype("tensordot", (a.dtype, b.dtype))
    if dt == dtypes.bool:
        raise DTypeError("tensordot: expected numeric tensors, got bool")
    a_axes, b_axes = _tensordot_axes(axes, len(a.shape), len(b.shape))
    for i, j in zip(a_axes, b_axes):
        if a.shape[i] is not None and b.shape[j] is not None and a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: contracted dims differ: axis {i} of a (shape "
                             f"{shapes.fmt(a.shape)}) has size {a.shape[i]}, axis {j} of b "
                             f"(shape {shapes.fmt(b.shape)}) has size {b.shape[j]}")
    free_a = [i for i in range(len(a.shape)) if i not in a_axes]
    free_b = [j for j in range(len(b.shape)) if j not in b_axes]
    dims_a, dims_b = _dims(a), _dims(b)
    # A contracted dim unknown in one operand may be known in the other.
    inner = _product([dims_a[i] if a.shape[i] is not None else dims_b[j]
                      for i, j in zip(a_axes, b_axes)])
    def matrix(x, free, contracted, free_first, shape):
        """``x`` as a matrix (free axes as rows for ``a``, as columns for ``b``), and whether
        the matmul should transpose it: a 2-D operand needs neither transpose nor reshape."""
        if len(x.shape) == 2 and len(free) == 1:
            return x, free != ([0] if free_first else [1])
        perm = free + contracted if free_first else contracted + free
        if perm != list(range(len(perm))):
            x = transpose(x, perm)
        return reshape(x, shape), False

    lhs, t_a = matrix(a, free_a, a_axes, True, [_product([dims_a[i] for i in free_a]), inner])
    rhs, t_b = matrix(b, free_b, b_axes, False, [inner, _product([dims_b[j] for j in free_b])])
    out = _mm(lhs, rhs, t_a, t_b)
    if len(free_a) == 1 and len(free_b) == 1:
        return out  # already [rows of a, columns of b]
    return reshape(out, [dims_a[i] for i in free_a] + [dims_b[j] for j in free_b])


def _dims(x: Any) -> list:
    """Each dim of ``x``: a Python int where known, else an int32 scalar read at run time."""
    if None not in x.shape:
        return list(x.shape)
    sizes = shape(x)
    return [d if d is not None else sizes[i] for i, d in enumerate(x.shape)]


def _product(dims: list) -> Any:
    known = 1
    for d in dims:
        if isinstance(d, int):
            known *= d
    out = known
    for d in dims:
        if not isinstance(d, int):
            out = multiply(out, d)
    return out


def _tensordot_axes(axes: Any, rank_a: int, rank_b: int) -> tuple:
    """TF's ``axes`` as two lists of non-negative axes, or a clear error."""
    if hasattr(axes, "_array") and hasattr(axes, "dtype"):
        axes = concrete("tensordot", axes, "axes", "Python ints")
    if isinstance(axes, (np.ndarray, np.generic)):
        axes = axes.tolist()
    if isinstance(axes, int) and not isinstance(axes, bool):
        if not 0 <= axes <= min(rank_a, rank_b):
            raise InvalidArgumentError(
                f"tensordot: axes = {axes} must be >= 0 and at most the rank of each input "
                f"(a has rank {rank_a}, b has rank {rank_b})")
        return list(range(rank_a - axes, rank_a)), list(range(axes))
    if not isinstance(axes, (list, tuple)) or len(axes) != 2:
        raise InvalidArgumentError(f"tensordot: expected axes as an int or a pair [a_axes, "
                                   f"b_axes], got {axes!r}")
    a_axes, b_axes = _axis_list(axes[0], rank_a, "a"), _axis_list(axes[1], rank_b, "b")
    if len(a_axes) != len(b_axes):
        raise InvalidArgumentError(f"tensordot: expected as many axes of a as of b, got "
                                   f"{list(axes[0])} and {list(axes[1])}")
    return a_axes, b_axes


def _axis_list(value: Any, rank: int, which: str) -> list:
    items = [value] if isinstance(value, int) else value
    if not isinstance(items, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in items):
        raise InvalidArgumentError(f"tensordot: expected the axes of {which} as an int or a "
                                   f"list of ints, got {value!r}")
    out = []
    for i in items:
        if not -rank <= i < rank:
            raise InvalidArgumentError(f"tensordot: axis {i} of {which} is out of range for a "
                                       f"tensor of rank {rank} (expected -{rank} <= axis < "
                                       f"{rank})")
        out.append(i % rank)
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"tensordot: repeated axis in the axes of {which}: "
                                   f"{list(items)}")
    return out


# ----------------------------------------------------------------------------- inverse, determinant


def _square(label: str, x: Any) -> int | None:
    """The size n of the [..., n, n] matrices in ``x``, or the error naming ``label``."""
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise DTypeError(f"{label}: expected float32 or float64 matrices, got {x.dtype.name}")
    if len(x.shape) < 2 or (None not in x.shape[-2:] and x.shape[-1] != x.shape[-2]):
        raise ShapeError(f"{label}: expected square matrices of shape [..., n, n], got shape "
                         f"{shapes.fmt(x.shape)}")
    return x.shape[-1] if x.shape[-1] is not None else x.shape[-2]


def _inv_rule(name, x):
    n = _square("linalg.inv", x)
    return x.shape[:-2] + (n, n), x.dtype


def _inv(xp, x):
    try:
        return xp.linalg.inv(x)
    except np.linalg.LinAlgError:  # NumPy only: CuPy returns non-finite values instead
        raise InvalidArgumentError("linalg.inv: a matrix is singular (not invertible); its "
                                   "determinant is 0") from None


def _inv_vjp(g, out, x):
    # d(A^-1) = -A^-1 dA A^-1, so the cotangent is -A^-T g A^-T.
    return (negative(_mm(out, _mm(g, out, False, True), True, False)),)


def _det_rule(name, x):
    _square("linalg.det", x)
    return x.shape[:-2], x.dtype


def scaled_inverse_transpose(scale: Any, x: Any) -> Any:
    """``scale[..., None, None] * x^-T``: the cotangent of ``det`` and of ``log|det|``."""
    return multiply(expand_dims(expand_dims(scale, -1), -1),
                    matrix_transpose(bind(MATRIX_INVERSE, x)))


def _det_vjp(g, out, x):
    # d det(A) = det(A) tr(A^-1 dA), so the cotangent is g det(A) A^-T (A must be invertible).
    return (scaled_inverse_transpose(multiply(g, out), x),)


MATRIX_INVERSE = defop("matrix_inverse", ["x"], "_inv(xp, x)", _inv_rule, _inv_vjp,
                       namespace={"_inv": _inv})
MATRIX_DETERMINANT = defop("matrix_determinant", ["x"], "xp.linalg.det(x)", _det_rule, _det_vjp)


def inv(input: Any, adjoint: bool = False, name: str | None = None) -> Any:  # noqa: A002
    """The inverse of each square matrix of ``input`` ([..., n, n], float32 or float64); of
    its transpose with ``adjoint=True``, as ``tf.linalg.inv``. Usage: ``aj.linalg.inv(a)``
    """
    out = bind(MATRIX_INVERSE, input)
    return matrix_transpose(out) if adjoint else out


def det(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The determinant of each square matrix of ``input`` ([..., n, n] gives [...]), as
    ``tf.linalg.det``. Usage: ``aj.linalg.det(a)``
    """
    return bind(MATRIX_DETERMINANT, input)
