"""Embedding layer (Keras name): ``Embedding``, a lookup table of learned vectors.

Usage: ``vectors = aj.layers.Embedding(1000, 64)(token_ids)``   # [b, t] -> [b, t, 64]

With ``mask_zero=True`` id 0 is padding: ``compute_mask(ids)`` is ``ids != 0`` and a
``Sequential`` hands it to the next layers (Note [Masks] in layers/masking.py).
"""

from __future__ import annotations

import math
from typing import Any

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError
from autojit.layers.core import as_positive_int
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops.indexing import gather
from autojit.ops.math import not_equal
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable


def _positive(name: str, value: Any) -> int:
    number = as_positive_int(value)
    if number is None:
        raise InvalidArgumentError(f"Embedding: expected {name} to be a positive int, got "
                                   f"{value!r}")
    return number


@accepts_keras_tensors
class Embedding(Module):
    """Maps integer ids in ``[0, input_dim)`` to rows of ``embeddings``
    [input_dim, output_dim] (Keras's default initializer: uniform in [-0.05, 0.05]). The
    table's shape is known from the arguments, so it is created at once. ``mask_zero=True``:
    id 0 is padding, masked by ``compute_mask`` (Note [Masks]).

    Usage: ``layer = aj.layers.Embedding(1000, 64); y = layer([[1, 2, 3]])``
    """

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: Any = "uniform", name: str | None = None,
                 dtype: Any = dtypes.float32, embeddings_regularizer: Any = None,
                 mask_zero: bool = False):
        super().__init__(name=name)
        self.mask_zero = bool(mask_zero)
        self._add_regularizer(embeddings_regularizer, "embeddings")
        self.input_dim = _positive("input_dim", input_dim)
        self.output_dim = _positive("output_dim", output_dim)
        self.dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(self.dtype):
            raise InvalidArgumentError(f"Embedding: expected a floating-point dtype, got "
                                       f"{self.dtype.name}")
        init = initializers.get(embeddings_initializer)
        with self.name_scope:
            self.embeddings = Variable(init((self.input_dim, self.output_dim), self.dtype),
                                       name="embeddings")

    def __call__(self, ids: Any) -> Tensor:
        """Look up ``ids`` (any shape of ints): the result has one more dim, ``output_dim``.
        Usage: ``y = layer(ids)``"""
        ids = ids if isinstance(ids, Tensor) else convert_to_tensor(ids)
        if not dtypes.is_integer(ids.dtype):
            raise InvalidArgumentError(f"Embedding {self.name!r}: expected integer ids, got "
                                       f"dtype {ids.dtype.name}")
        return gather(self.embeddings, ids)

    def compute_mask(self, ids: Any, mask: Any = None) -> Tensor | None:
        """``ids != 0`` with ``mask_zero``, else None (Keras's).
        Usage: ``m = layer.compute_mask(ids)``"""
        if not self.mask_zero:
            return None
        ids = ids if isinstance(ids, Tensor) else convert_to_tensor(ids)
        return not_equal(ids, 0)

    def count_params(self) -> int:
        """``input_dim * output_dim``. Usage: ``layer.count_params()``"""
        return math.prod(self.embeddings.shape)

    def __repr__(self) -> str:
        return (f"<aj.layers.Embedding {self.name!r} input_dim={self.input_dim} "
                f"output_dim={self.output_dim}>")


__all__ = ["Embedding"]
