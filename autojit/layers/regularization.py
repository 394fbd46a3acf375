"""Regularization layers (Keras names): ``Dropout``.

Usage: ``h = aj.layers.Dropout(0.5)(h, training=True)``
"""

from __future__ import annotations

from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops.dropout import dropout
from autojit.tensor import Tensor, convert_to_tensor


@accepts_keras_tensors
class Dropout(Module):
    """With ``training=True`` zeroes each entry with probability ``rate`` and scales the rest
    by ``1 / (1 - rate)`` (``aj.nn.dropout``: a new mask at every call and graph replay);
    otherwise (``training`` False or None, as Keras) returns its input. It has no weights.

    Usage: ``h = aj.layers.Dropout(0.5)(h, training=True)``
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None):
        super().__init__(name=name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise InvalidArgumentError(f"Dropout: expected rate in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def __call__(self, x: Any, training: bool | None = None) -> Tensor:
        """Drop entries of ``x`` when training. Usage: ``h = layer(h, training=True)``"""
        if not isinstance(training, (bool, type(None))):
            raise InvalidArgumentError(f"Dropout {self.name!r}: expected training to be True, "
                                       f"False or None (a Python bool), got {training!r}")
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if not training or self.rate == 0:
            return x
        return dropout(x, self.rate, noise_shape=self.noise_shape, seed=self.seed)

    def __repr__(self) -> str:
        return f"<aj.layers.Dropout {self.name!r} rate={self.rate}>"


__all__ = ["Dropout"]
