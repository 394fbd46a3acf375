"""Reshaping layers (Keras names): ``Flatten`` and ``Reshape``.

Usage: ``y = aj.layers.Flatten()(images)``   # [batch, 8, 8, 3] -> [batch, 192]
"""

from __future__ import annotations

import math
from typing import Any

from autojit.errors import InvalidArgumentError, ShapeError
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops import shapes
from autojit.ops.array import reshape, shape
from autojit.tensor import Tensor, convert_to_tensor


@accepts_keras_tensors
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


@accepts_keras_tensors
class Reshape(Module):
    """Reshapes every example: ``[b, ...] -> [b, *target_shape]`` (one entry may be -1, as
    Keras). It has no weights.

    Usage: ``y = aj.layers.Reshape((7, 7, 64))(x)``   # [batch, 3136] -> [batch, 7, 7, 64]
    """

    def __init__(self, target_shape: Any, name: str | None = None):
        super().__init__(name=name)
        dims = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in dims) > 1 or any(d < -1 or d == 0 for d in dims):
            raise InvalidArgumentError(f"Reshape: expected a target_shape of positive sizes "
                                       f"with at most one -1, got {target_shape!r}")
        self.target_shape = dims

    def __call__(self, x: Any) -> Tensor:
        """Reshape ``x``. Usage: ``y = layer(x)``"""
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if len(x.shape) == 0:
            raise ShapeError(f"Reshape {self.name!r}: expected an input [batch, ...], got a "
                             "scalar")
        rest = x.shape[1:]
        if -1 not in self.target_shape and None not in rest and \
                math.prod(rest) != math.prod(self.target_shape):
            raise ShapeError(f"Reshape {self.name!r}: cannot reshape examples of shape "
                             f"{shapes.fmt(rest)} ({math.prod(rest)} values) to "
                             f"{shapes.fmt(self.target_shape)}")
        batch = x.shape[0] if x.shape[0] is not None else shape(x)[0]
        return reshape(x, [batch, *self.target_shape])

    def __repr__(self) -> str:
        return f"<aj.layers.Reshape {self.name!r} target_shape={self.target_shape}>"


__all__ = ["Flatten", "Reshape"]
