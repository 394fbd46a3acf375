"""``einsum``: Einstein summation over any number of operands (``aj.einsum``).

The public function turns the user's equation into an explicit one without ``...`` (each
ellipsis dim gets a letter; operands whose ellipsis dims are 1 where others are larger are
broadcast first, so the op itself never broadcasts). The op's VJP for operand ``i`` is one
more einsum: the output cotangent contracted with the other operands down to operand ``i``'s
subscripts (Note [Einsum VJP]), so gradients of any order come from the same op.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind, defop
from autojit.ops.math import broadcast_like

_LETTERS = string.ascii_letters


def _parse(name: str, equation: str) -> tuple[list[str], str]:
    """(input subscripts, output subscripts) of an explicit, ellipsis-free equation."""
    inputs, output = equation.split("->")
    return inputs.split(","), output


def _einsum_rule(name, *operands, equation):
    dt = dtypes.same_dtype(name, tuple(o.dtype for o in operands))
    if dt == dtypes.bool:
        raise DTypeError(f"{name}: expected numeric tensors, got bool; use aj.cast")
    subs, output = _parse(name, equation)
    sizes: dict = {}
    for k, (sub, operand) in enumerate(zip(subs, operands)):
        for letter, d in zip(sub, operand.shape):
            seen = sizes.get(letter)
            if seen is not None and d is not None and seen != d:
                raise ShapeError(f"{name}: subscript {letter!r} has size {seen} in one operand "
                                 f"and {d} in operand {k} (shape {shapes.fmt(operand.shape)}); "
                                 f"equation {equation!r}")
            if seen is None:
                sizes[letter] = d
    return tuple(sizes[letter] for letter in output), dt


# Note [Einsum VJP]: for operand i with subscripts s_i, d out / d x_i contracted with g is
# einsum(s_out, s_others... -> s_i)(g, others...). Two kinds of letters need help: a letter
# repeated in s_i (a diagonal, "ii->i") gets a fresh letter for each repeat, tied to the
# first by an identity-matrix operand; a letter found only in s_i (summed out of x_i alone,
# "ij->i") is left out of the contraction and its dim restored by broadcasting against x_i.
def _einsum_vjp(g, out, *operands, equation):
    subs, output = _parse("einsum", equation)
    return tuple(_deferred_operand_grad(g, operands, subs, output, i)
                 for i in range(len(operands)))


def _deferred_operand_grad(g, operands, subs, output, i):
    return lambda: _operand_grad(g, operands, subs, output, i)


def _operand_grad(g, operands, subs, output, i):
    sub = subs[i]
    x = operands[i]
    if isinstance(x, (bool, int, float)) or not dtypes.is_floating(g.dtype):
        return None
    others = [(s, o) for k, (s, o) in enumerate(zip(subs, operands)) if k != i]
    elsewhere = set(output) | {c for s, _ in others for c in s}
    used = set("".join(subs) + output)
    fresh = (c for c in _LETTERS if c not in used)
    target = []
    eyes = []
    lone_axes = []
    for axis, letter in enumerate(sub):
        if letter in target:
            new = next(fresh)
            n = x.shape[axis]
            if n is None:
                raise ShapeError(f"einsum: the gradient of a diagonal ({letter!r} repeated in "
                                 f"{sub!r}) needs a known size, got shape {shapes.fmt(x.shape)}")
            eyes.append((letter + new, np.eye(n, dtype=g.dtype)))
            target.append(new)
        elif letter not in elsewhere and sub.count(letter) == 1:
            lone_axes.append(axis)
            target.append(None)
        else:
            target.append(letter)
    pieces = [(output, g), *others, *eyes]
    reduced = "".join(t for t in target if t is not None)
    equation = ",".join(s for s, _ in pieces) + "->" + reduced
    grad = bind(EINSUM, *[v for _, v in pieces], equation=equation)
    if lone_axes:
        from autojit.ops.array import expand_dims_many  # array ops build on math

        grad = broadcast_like(expand_dims_many(grad, tuple(lone_axes)), x)
    return grad


def _einsum(xp, operands, equation):
    # optimize=True lets NumPy contract pairwise with BLAS (tensordot); without it even a
    # plain matrix product runs as a C loop, ~50x slower at 256x256.
    if len(operands) == 1:
        return xp.einsum(equation, operands[0])
    return xp.einsum(equation, *operands, optimize=True)


EINSUM = defop("einsum", ["*operands"], "_einsum(xp, operands, equation)", _einsum_rule,
               _einsum_vjp, attrs=("equation",), namespace={"_einsum": _einsum})


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Any:
    """Einstein summation as ``tf.einsum`` / ``np.einsum``: ``"ij,jk->ik"``, batch dims with
    ``...``, implicit outputs (``"ij,jk"``), traces (``"ii->"``) and diagonals (``"ii->i"``).

    Usage: ``aj.einsum("bij,bjk->bik", a, b)``, ``aj.einsum("...d,d->...", x, w)``
    """
    kwargs.pop("name", None)
    if kwargs:
        raise InvalidArgumentError(f"einsum: unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(equation, str):
        raise InvalidArgumentError(f"einsum: expected an equation string such as 'ij,jk->ik', "
                                   f"got {equation!r}")
    operands = [as_operand(o) for o in inputs]
    explicit, operands = _explicit(equation, operands)
    return bind(EINSUM, *operands, equation=explicit)


def _explicit(equation: str, operands: list) -> tuple[str, list]:
    """The equation with ``...`` spelled out in letters and an explicit output, and the
    operands, those with size-1 ellipsis dims broadcast to the others' sizes."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise InvalidArgumentError(f"einsum: expected at most one '->' in {equation!r}")
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise InvalidArgumentError(f"einsum: the equation {equation!r} names {len(subs)} "
                                   f"operands, got {len(operands)} tensors")
    for part in [*subs, rhs]:
        bad = set(part.replace("...", "")) - set(_LETTERS)
        if bad or part.count("...") > 1:
            raise InvalidArgumentError(f"einsum: bad subscripts {part!r} in {equation!r}; "
                                       "expected letters and at most one '...' per operand")
    used = set(eq) & set(_LETTERS)
    spare = [c for c in reversed(_LETTERS) if c not in used]
    ellipsis_dims = []
    for k, (sub, operand) in enumerate(zip(subs, operands)):
        rank = len(operand.shape)
        named = len(sub.replace("...", ""))
        if ("..." in sub and named > rank) or ("..." not in sub and named != rank):
            raise ShapeError(f"einsum: operand {k} has shape {shapes.fmt(operand.shape)} (rank "
                             f"{rank}) but its subscripts {sub!r} name {named} dimensions; "
                             f"equation {equation!r}")
        ellipsis_dims.append(rank - named if "..." in sub else 0)
    n_ell = max(ellipsis_dims, default=0)
    ell = "".join(spare[:n_ell][::-1])
    batch = _ellipsis_shape(equation, subs, operands, ellipsis_dims)
    out_subs = []
    new_operands = []
    for sub, operand, e in zip(subs, operands, ellipsis_dims):
        if "..." in sub:
            start = sub.index("...")
            own = batch[n_ell - e:] if e else ()
            have = tuple(operand.shape[start:start + e])
            if have != own:
                target = tuple(operand.shape[:start]) + own + tuple(operand.shape[start + e:])
                if None in target:
                    raise ShapeError(f"einsum: broadcasting '...' dims {shapes.fmt(have)} to "
                                     f"{shapes.fmt(own)} needs known sizes")
                from autojit.ops.array import broadcast_to  # array ops build on math

                operand = broadcast_to(operand, target)
            sub = sub.replace("...", ell[n_ell - e:])
        out_subs.append(sub)
        new_operands.append(operand)
    if arrow:
        if "..." not in rhs and n_ell:
            raise InvalidArgumentError(f"einsum: the inputs of {equation!r} have '...' dims "
                                       f"{shapes.fmt(batch)} but the output has no '...'; add "
                                       "'...' to the output (as NumPy, they are not summed)")
        output = rhs.replace("...", ell)
    else:
        counts = "".join(s.replace("...", "") for s in subs)
        output = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    inputs_letters = set("".join(out_subs))
    for c in output:
        if c not in inputs_letters:
            raise InvalidArgumentError(f"einsum: output subscript {c!r} of {equation!r} does "
                                       "not appear in any input")
        if output.count(c) > 1:
            raise InvalidArgumentError(f"einsum: output subscript {c!r} appears more than once "
                                       f"in {equation!r}")
    return ",".join(out_subs) + "->" + output, new_operands


def _ellipsis_shape(equation: str, subs: list, operands: list, ellipsis_dims: list) -> tuple:
    shape: tuple = ()
    for sub, operand, e in zip(subs, operands, ellipsis_dims):
        if e:
            start = sub.index("...")
            dims = tuple(operand.shape[start:start + e])
            try:
                shape = shapes.broadcast("einsum", shape, dims)
            except ShapeError:
                raise ShapeError(f"einsum: the '...' dims {shapes.fmt(dims)} cannot be broadcast "
                                 f"with {shapes.fmt(shape)} in {equation!r}") from None
    return shape
