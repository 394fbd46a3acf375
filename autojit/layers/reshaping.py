"""Reshaping layers (Keras names): ``Flatten``.

Usage: ``y = aj.layers.Flatten()(images)``   # [batch, 8, 8, 3] -> [batch, 192]
"""

from __future__ import annotations

import math
from typing import Any

from autojit.errors import ShapeError
from autojit.module import Module
from autojit.ops import shapes
from autojit.ops.array import reshape
from autojit.tensor import Tensor, convert_to_tensor


class Flatten(Module):
    """Flattens every dim but the first (the batch): ``[b, d1, ..., dn] -> [b, d1*...*dn]``;
    a rank-1 input becomes ``[b, 1]`` (as Keras). It has no weights.

    Usage: ``y = aj.layers.Flatten()(x)``
    """

    def __call__(self, x: Any) -> Tensor:
        """Flatten ``x``. Usage: ``y = layer(x)``"""
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        shape = x.shape
        if len(shape) == 0:
            raise ShapeError(f"Flatten {self.name!r}: expected an input of rank >= 1 "
                             f"[batch, ...], got a scalar")
        rest = shape[1:]
        if any(d is None for d in rest):
            raise ShapeError(f"Flatten {self.name!r}: the dims after the batch must be known, "
                             f"got shape {shapes.fmt(shape)}")
        return reshape(x, (-1, math.prod(rest)))

    def __repr__(self) -> str:
        return f"<aj.layers.Flatten {self.name!r}>"


__all__ = ["Flatten"]
