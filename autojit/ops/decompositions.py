"""Linear solves and factorizations of batched matrices, with VJPs written in autojit ops (so
they differentiate to any order and inside graphs): ``solve``, ``triangular_solve``,
``cholesky``, ``slogdet``, ``eigh``, ``qr``, and ``band_part`` (the triangles they keep).

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
from autojit.ops.linalg import _mm, _square, matrix_transpose, scaled_inverse_transpose
from autojit.ops.extra_math import divide_no_nan
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


def _diagonal(x: Any) -> Any:
    """Each matrix's diagonal, the rest zero."""
    return bind(BAND_PART, x, num_lower=0, num_upper=0)


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
    half = multiply(_diagonal(p), 0.5)
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
    return (None,) if g is None else (scaled_inverse_transpose(g, x),)


SLOGDET = defop("slogdet", ["x"], "_slogdet(xp, x)", _slogdet_rule, _slogdet_vjp,
                multiple=True, namespace={"_slogdet": _slogdet})


def slogdet(input: Any, name: str | None = None) -> tuple:  # noqa: A002
    """``(sign, log|det|)`` of each square matrix: the log-determinant without overflow, as
    ``tf.linalg.slogdet``. Usage: ``sign, logdet = aj.linalg.slogdet(a)``
    """
    sign, logdet = bind(SLOGDET, as_operand(input))
    return sign, logdet


# ----------------------------------------------------------------------------- eigh, qr
#
# Note [Eigen and QR gradients]: for ``A = V diag(e) V^T`` (``eigh`` reads the lower
# triangle), ``G = V (diag(ge) + F o (V^T gV)) V^T`` with ``F_ij = 1 / (e_j - e_i)`` off the
# diagonal; the cotangent of the lower triangle it read is ``tril(G + G^T) - diag(G)``, as TF
# (distinct eigenvalues: at a repeated one the eigenvectors, and F, are not defined). For the
# reduced ``A = Q R`` (m >= n, full rank): ``M = R gR^T - gQ^T Q``,
# ``gA = (gQ + Q copyltu(M)) R^-T`` with ``copyltu(M)`` the symmetric matrix of M's lower
# triangle (the formula of PyTorch's and JAX's QR backward).


def _eigh_rule(name, x):
    n = _square("linalg.eigh", x)
    return [(x.shape[:-2] + (n,), x.dtype), (x.shape[:-2] + (n, n), x.dtype)]


def _eigh(xp, x):
    values, vectors = xp.linalg.eigh(x)
    return values.astype(x.dtype, copy=False), vectors.astype(x.dtype, copy=False)


def _eigh_vjp(gs, outs, x):
    from autojit.ops.array import eye

    ge, gv = gs
    e, v = outs
    n = x.shape[-1]
    inner = 0.0
    if gv is not None:
        gap = add(expand_dims(e, -2), negative(expand_dims(e, -1)))  # e_j - e_i
        off = add(1.0, negative(eye(n, dtype=x.dtype)))
        f = multiply(off, divide_no_nan(1.0, gap))
        inner = multiply(f, _mm(v, gv, True, False))
    if ge is not None:
        inner = add(inner, multiply(expand_dims(ge, -1), eye(n, dtype=x.dtype)))
    g = _mm(_mm(v, inner, False, False), v, False, True)
    lower = _band(add(g, matrix_transpose(g)), True)
    return (add(lower, negative(_diagonal(g))),)


EIGH = defop("eigh", ["x"], "_eigh(xp, x)", _eigh_rule, _eigh_vjp, multiple=True,
             namespace={"_eigh": _eigh})


def eigh(tensor: Any, name: str | None = None) -> tuple:
    """``(e, v)``: the eigenvalues (ascending) and eigenvectors (columns) of each symmetric
    matrix, from its lower triangle, as ``tf.linalg.eigh`` (Note [Eigen and QR gradients]).

    Usage: ``e, v = aj.linalg.eigh(cov)``
    """
    e, v = bind(EIGH, as_operand(tensor))
    return e, v


def _qr_rule(name, x):
    _float("linalg.qr", x)
    if len(x.shape) < 2:
        raise ShapeError(f"linalg.qr: expected matrices [..., m, n], got shape "
                         f"{shapes.fmt(x.shape)}")
    m, n = x.shape[-2:]
    if None not in (m, n) and m < n:
        raise ShapeError(f"linalg.qr: expected matrices with at least as many rows as "
                         f"columns (m >= n), got shape {shapes.fmt(x.shape)}")
    batch = x.shape[:-2]
    return [(batch + (m, n), x.dtype), (batch + (n, n), x.dtype)]


def _qr(xp, x):
    q, r = xp.linalg.qr(x, mode="reduced")
    return q.astype(x.dtype, copy=False), r.astype(x.dtype, copy=False)


def _qr_vjp(gs, outs, x):
    gq, gr = gs
    q, r = outs
    m = 0.0
    if gr is not None:
        m = _mm(r, gr, False, True)
    if gq is not None:
        m = add(m, negative(_mm(gq, q, True, False)))
    low = _band(m, True)
    diag = _diagonal(m)
    sym = add(add(low, matrix_transpose(low)), negative(diag))  # copyltu(M)
    b = _mm(q, sym, False, False)
    if gq is not None:
        b = add(b, gq)
    # gA = b R^-T: solve R X^T = b^T for X^T, R upper triangular
    return (matrix_transpose(bind(TRIANGULAR_SOLVE, r, matrix_transpose(b), lower=False,
                                  adjoint=False)),)


QR = defop("qr", ["x"], "_qr(xp, x)", _qr_rule, _qr_vjp, multiple=True,
           namespace={"_qr": _qr})


def qr(input: Any, full_matrices: bool = False, name: str | None = None) -> tuple:  # noqa: A002
    """``(q, r)``: the reduced QR decomposition of each matrix [..., m, n] (m >= n), ``q``
    with orthonormal columns [..., m, n] and ``r`` upper triangular [..., n, n], as
    ``tf.linalg.qr`` (Note [Eigen and QR gradients]). Usage: ``q, r = aj.linalg.qr(a)``
    """
    if full_matrices:
        raise InvalidArgumentError("linalg.qr: full_matrices=True is not implemented; the "
                                   "reduced decomposition (the default) is")
    q, r = bind(QR, as_operand(input))
    return q, r


__all__ = ["band_part", "cholesky", "eigh", "qr", "slogdet", "solve", "triangular_solve"]
