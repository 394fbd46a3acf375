"""Linear solves and factorizations of batched matrices, with VJPs written in autojit ops (so
they differentiate to any order and inside graphs): ``solve``, ``triangular_solve``,
``cholesky``, ``slogdet``, and ``band_part`` (the triangles they keep).

Note [Triangular solves]: NumPy has no triangular solver, so ``triangular_solve`` solves with
the triangle it is told to use (``xp.linalg.solve`` of ``tril(A)`` or ``triu(A)``): the other
triangle is never read, as in TF, at the cost of a general solve. Its VJP solves with the
same triangle transposed and keeps only that triangle of the matrix's cotangent.

Note [Cholesky gradient]: ``cholesky`` reads the lower triangle of a symmetric positive
definite ``A``. Its VJP (Murray 2016, "Differentiation of the Cholesky decomposition") is
``S = L^-T Phi(L^T gL) L^-1`` symmetrized, ``gA = (S + S^T) / 2``, where ``Phi`` keeps the
lower triangle and halves the diagonal: the gradient of a function of the symmetric matrix,
as TF's. It is the derivative along symmetric directions; a test against finite differences
must perturb symmetrically (the op table calls ``cholesky(sym(A))``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import expand_dims
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.linalg import MATRIX_INVERSE, _mm, _square, matrix_transpose
from autojit.ops.math import add, multiply, negative


def _float(label: str, x: Any) -> None:
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise DTypeError(f"{label}: expected float32 or float64 matrices, got {x.dtype.name}")


def _rhs_rule(label: str, a: Any, b: Any) -> tuple:
    n = _square(label, a)
    _float(label, b)
    if b.dtype != a.dtype:
        raise DTypeError(f"{label}: matrix and rhs must have one dtype, got {a.dtype.name} and "
                         f"{b.dtype.name}")
    batch = zip(b.shape[:-2], a.shape[:-2])
    if len(b.shape) != len(a.shape) or any(None not in (p, q) and p != q for p, q in batch) or (
            None not in (n, b.shape[-2]) and b.shape[-2] != n):
        raise ShapeError(f"{label}: rhs must be [..., n, k] with the matrix's batch dims and n "
                         f"rows, got matrix {shapes.fmt(a.shape)} and rhs "
                         f"{shapes.fmt(b.shape)}")
    return b.shape, b.dtype


def _solve(xp, a, b, adjoint):
    try:
        return xp.linalg.solve(xp.swapaxes(a, -1, -2) if adjoint else a, b)
    except np.linalg.LinAlgError:  # NumPy only: CuPy returns non-finite values instead
        raise InvalidArgumentError("linalg.solve: a matrix is singular (not invertible)"
                                   ) from None


def _solve_vjp(g, out, a, b, *, adjoint):
    # x = A^-1 b: gb = A^-T g, gA = -gb x^T (with A^T for adjoint: gA = -x gb^T).
    gb = bind(MATRIX_SOLVE, a, g, adjoint=not adjoint)
    ga = _mm(out, gb, False, True) if adjoint else _mm(gb, out, False, True)
    return negative(ga), gb


MATRIX_SOLVE = defop("matrix_solve", ["a", "b"], "_solve(xp, a, b, adjoint)",
                     lambda name, a, b, *, adjoint: _rhs_rule("linalg.solve", a, b),
                     _solve_vjp, attrs=("adjoint",), namespace={"_solve": _solve})


def solve(matrix: Any, rhs: Any, adjoint: bool = False, name: str | None = None) -> Any:
    """``x`` with ``matrix @ x = rhs`` for each square matrix ([..., n, n]) and right-hand
    sides ([..., n, k]); with ``adjoint=True`` for the transposed matrices, as
    ``tf.linalg.solve``. Usage: ``x = aj.linalg.solve(a, b)``
    """
    a = as_operand(matrix)
    return bind(MATRIX_SOLVE, a, as_operand(rhs, a.dtype), adjoint=bool(adjoint))


# ----------------------------------------------------------------------------- triangular


def _band_part(xp, x, num_lower, num_upper):
    rows = xp.arange(x.shape[-2])[:, None]
    cols = xp.arange(x.shape[-1])[None, :]
    keep = ((num_lower < 0) | (rows - cols <= num_lower)) & \
        ((num_upper < 0) | (cols - rows <= num_upper))
    return xp.where(keep, x, xp.zeros((), dtype=x.dtype))


def _band_rule(name, x, *, num_lower, num_upper):
    if len(x.shape) < 2:
        raise ShapeError(f"linalg.band_part: expected matrices [..., m, n], got shape "
                         f"{shapes.fmt(x.shape)}")
    return x.shape, x.dtype


BAND_PART = defop("band_part", ["x"], "_band_part(xp, x, num_lower, num_upper)", _band_rule,
                  lambda g, out, x, *, num_lower, num_upper: (
                      bind(BAND_PART, g, num_lower=num_lower, num_upper=num_upper),),
                  attrs=("num_lower", "num_upper"), namespace={"_band_part": _band_part})


def band_part(input: Any, num_lower: int, num_upper: int,  # noqa: A002
              name: str | None = None) -> Any:
    """Each matrix with the entries more than ``num_lower`` below or ``num_upper`` above the
    diagonal set to zero (a negative count keeps that whole triangle), as
    ``tf.linalg.band_part``. Usage: ``aj.linalg.band_part(a, -1, 0)`` (the lower triangle)
    """
    return bind(BAND_PART, as_operand(input), num_lower=int(num_lower),
                num_upper=int(num_upper))


def _band(x: Any, lower: bool) -> Any:
    """The lower (or upper) triangle of each matrix, the rest zero."""
    return bind(BAND_PART, x, num_lower=-1 if lower else 0, num_upper=0 if lower else -1)


def _tri_solve(xp, a, b, lower, adjoint):
    t = xp.tril(a) if lower else xp.triu(a)
    try:
        return xp.linalg.solve(xp.swapaxes(t, -1, -2) if adjoint else t, b)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("linalg.triangular_solve: a matrix has a zero on its "
                                   "diagonal (singular)") from None


def _tri_solve_vjp(g, out, a, b, *, lower, adjoint):
    gb = bind(TRIANGULAR_SOLVE, a, g, lower=lower, adjoint=not adjoint)
    ga = _mm(out, gb, False, True) if adjoint else _mm(gb, out, False, True)
    return _band(negative(ga), lower), gb


TRIANGULAR_SOLVE = defop(
    "matrix_triangular_solve", ["a", "b"], "_tri_solve(xp, a, b, lower, adjoint)",
    lambda name, a, b, *, lower, adjoint: _rhs_rule("linalg.triangular_solve", a, b),
    _tri_solve_vjp, attrs=("lower", "adjoint"), namespace={"_tri_solve": _tri_solve})


def triangular_solve(matrix: Any, rhs: Any, lower: bool = True, adjoint: bool = False,
                     name: str | None = None) -> Any:
    """``x`` with ``T @ x = rhs`` where ``T`` is the lower (``lower=True``) or upper triangle
    of each matrix (the other triangle is not read; Note [Triangular solves]); ``adjoint``
    solves with ``T``'s transpose. Usage: ``aj.linalg.triangular_solve(l, b)``
    """
    a = as_operand(matrix)
    return bind(TRIANGULAR_SOLVE, a, as_operand(rhs, a.dtype), lower=bool(lower),
                adjoint=bool(adjoint))


# ----------------------------------------------------------------------------- cholesky


def _cholesky_rule(name, x):
    n = _square("linalg.cholesky", x)
    return x.shape[:-2] + (n, n), x.dtype


def _cholesky(xp, x):
    try:
        return xp.linalg.cholesky(x)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("linalg.cholesky: a matrix is not symmetric positive "
                                   "definite") from None


def _cholesky_vjp(g, out, x):
    # Note [Cholesky gradient]
    lower = out
    p = _band(_mm(lower, g, True, False), True)
    half = multiply(bind(BAND_PART, p, num_lower=0, num_upper=0), 0.5)
    phi = add(p, negative(half))  # the lower triangle, its diagonal halved
    inner = bind(TRIANGULAR_SOLVE, lower, matrix_transpose(phi), lower=True, adjoint=True)
    s = bind(TRIANGULAR_SOLVE, lower, matrix_transpose(inner), lower=True, adjoint=True)
    return (multiply(add(s, matrix_transpose(s)), 0.5),)


CHOLESKY = defop("cholesky", ["x"], "_cholesky(xp, x)", _cholesky_rule, _cholesky_vjp,
                 namespace={"_cholesky": _cholesky})


def cholesky(input: Any, name: str | None = None) -> Any:  # noqa: A002
    """The lower-triangular ``L`` with ``L @ L^T = input`` for each symmetric positive definite
    matrix (its lower triangle is read; Note [Cholesky gradient]).

    Usage: ``l = aj.linalg.cholesky(cov)``
    """
    return bind(CHOLESKY, as_operand(input))


# ----------------------------------------------------------------------------- slogdet


def _slogdet_rule(name, x):
    _square("linalg.slogdet", x)
    return [(x.shape[:-2], x.dtype), (x.shape[:-2], x.dtype)]


def _slogdet(xp, x):
    sign, logdet = xp.linalg.slogdet(x)
    return sign.astype(x.dtype), logdet.astype(x.dtype)


def _slogdet_vjp(gs, outs, x):
    # d log|det A| = tr(A^-1 dA): the cotangent is g A^-T; the sign has no gradient.
    g = gs[1]
    if g is None:
        return (None,)
    scale = expand_dims(expand_dims(g, -1), -1)
    return (multiply(scale, matrix_transpose(bind(MATRIX_INVERSE, x))),)


SLOGDET = defop("slogdet", ["x"], "_slogdet(xp, x)", _slogdet_rule, _slogdet_vjp,
                multiple=True, namespace={"_slogdet": _slogdet})


def slogdet(input: Any, name: str | None = None) -> tuple:  # noqa: A002
    """``(sign, log|det|)`` of each square matrix: the log-determinant without overflow, as
    ``tf.linalg.slogdet``. Usage: ``sign, logdet = aj.linalg.slogdet(a)``
    """
    sign, logdet = bind(SLOGDET, as_operand(input))
    return sign, logdet


__all__ = ["band_part", "cholesky", "slogdet", "solve", "triangular_solve"]
