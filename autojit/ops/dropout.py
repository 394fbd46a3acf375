"""``nn.dropout``: inverted dropout as TF (kept entries scaled by ``1 / (1 - rate)``).

The mask comes from ``dropout_mask``, a random op like those of ``ops/random.py`` (an effect,
drawn from the device's generator, Note [Random generators]): passes never fold or merge it,
so every call and every graph replay draws a new mask. It takes ``x`` only for its runtime
shape (unknown batch dims in graphs are fine) and has no gradient of its own; the output is
``x * mask``, so the gradient is ``mask * scale`` through ``multiply``.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.core import as_operand, bind
from autojit.ops.math import float_unary_rule, multiply
from autojit.ops.random import _generator, defrandom


def _mask_shape(x_shape, noise_shape):
    return x_shape if noise_shape is None else tuple(
        d if n is None else n for d, n in zip(x_shape, noise_shape))


def _mask_rule(name, x, *, rate, noise_shape, seed):
    float_unary_rule(name, x)
    if noise_shape is not None:
        if len(noise_shape) != len(x.shape) or any(
                n is not None and d is not None and n not in (1, d)
                for n, d in zip(noise_shape, x.shape)):
            raise ShapeError(f"dropout: noise_shape {shapes.fmt(noise_shape)} must broadcast "
                             f"to the input's shape {shapes.fmt(x.shape)} (each dim 1 or equal)")
    return _mask_shape(tuple(x.shape), noise_shape), x.dtype


def _mask(xp, x, rate, noise_shape, seed):
    shape = _mask_shape(x.shape, noise_shape)
    draw = x.dtype if x.dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
    keep = _generator(xp, seed).random(shape, dtype=draw) >= rate
    return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))


DROPOUT_MASK = defrandom("dropout_mask", ["x"], "_dropout_mask(xp, x, rate, noise_shape, seed)",
                         _mask_rule, attrs=("rate", "noise_shape", "seed"),
                         namespace={"_dropout_mask": _mask})


def dropout(x: Any, rate: float, noise_shape: Any = None, seed: int | None = None,
            name: str | None = None) -> Any:
    """Zero each entry of ``x`` with probability ``rate`` and scale the rest by
    ``1 / (1 - rate)`` (so the expectation is unchanged); a new mask at every call and graph
    replay; ``rate=0`` returns ``x``. ``noise_shape`` (``None`` dims follow ``x``) shares
    the mask along its size-1 dims.

    Usage: ``h = aj.nn.dropout(h, rate=0.5)``
    """
    from autojit.ops.creation import python_number

    value = python_number("dropout", rate, "rate")
    if not 0 <= value < 1:
        raise InvalidArgumentError(f"dropout: rate must be in [0, 1), got {rate!r}; it is the "
                                   "probability of dropping an entry")
    x = as_operand(x)
    float_unary_rule("dropout", x)
    if value == 0:
        return x
    if noise_shape is not None:
        noise_shape = tuple(None if n is None else int(n) for n in noise_shape)
    mask = bind(DROPOUT_MASK, x, rate=float(value), noise_shape=noise_shape,
                seed=None if seed is None else int(seed))
    return multiply(x, mask)
