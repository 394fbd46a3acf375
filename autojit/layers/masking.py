"""Keras masking: the ``Masking`` layer, and how a mask travels through a ``Sequential``.

Usage::

    model = aj.layers.Sequential([aj.layers.Embedding(1000, 16, mask_zero=True),
                                  aj.layers.LSTM(32)])   # the LSTM skips the padding (id 0)

Note [Masks]: a mask is a bool tensor [batch, time], True at the real steps. As Keras, a
layer makes one with ``compute_mask(inputs, mask=None)`` (``Embedding(mask_zero=True)``:
``ids != 0``; ``Masking``: any feature differs from ``mask_value``; a recurrent layer with
``return_sequences`` passes its input mask on, without it returns None), and a layer whose
``__call__`` (a ``Layer``'s ``call``) takes ``mask`` receives it (the recurrent layers,
``Bidirectional``, ``GlobalAveragePooling1D``). Layers without ``compute_mask`` pass the mask
on unchanged when Keras marks them ``supports_masking`` (``Dense``, ``Activation``,
``Dropout``, ``BatchNormalization``, ``LayerNormalization``, ``TimeDistributed``, or any layer
with ``supports_masking = True``); any other layer (``Flatten``, ``Reshape``, convolutions,
``GlobalMaxPooling1D``) ends it, where Keras 3 also drops it rather than raise.
"""

from __future__ import annotations

from typing import Any

from autojit import dtypes
from autojit.errors import InvalidArgumentError
from autojit.layers.core import Activation, Dense
from autojit.layers.functional import accepts_keras_tensors
from autojit.layers.normalization import BatchNormalization, LayerNormalization
from autojit.layers.regularization import Dropout
from autojit.module import Module, parameters_of
from autojit.ops.math import cast, not_equal
from autojit.ops.reduce import reduce_any
from autojit.tensor import Tensor, convert_to_tensor

_PASS_THROUGH = (Activation, BatchNormalization, Dense, Dropout, LayerNormalization)


def takes_mask(layer: Any) -> bool:
    """True when ``layer(x, mask=...)`` is accepted (Note [Masks]).
    Usage: ``takes_mask(aj.layers.LSTM(4))``"""
    call = getattr(type(layer), "call", None) or type(layer).__call__  # a Layer's call
    return "mask" in parameters_of(call)


def output_mask(layer: Any, inputs: Any, mask: Any) -> Any:
    """The mask of ``layer``'s output, given its inputs and their mask (Note [Masks]).
    Usage: ``mask = output_mask(layer, x, mask)``"""
    compute = getattr(layer, "compute_mask", None)
    if compute is not None:
        return compute(inputs, mask)
    if isinstance(layer, _PASS_THROUGH) or getattr(layer, "supports_masking", False):
        return mask
    return None


def as_mask(owner: str, mask: Any) -> Tensor:
    """``mask`` as a bool tensor (ints and floats: nonzero is True). Usage: ``as_mask(n, m)``"""
    mask = mask if isinstance(mask, Tensor) else convert_to_tensor(mask)
    if mask.dtype != dtypes.bool:
        if not (dtypes.is_integer(mask.dtype) or dtypes.is_floating(mask.dtype)):
            raise InvalidArgumentError(f"{owner}: expected a bool mask, got dtype "
                                       f"{mask.dtype.name}")
        mask = not_equal(mask, 0)
    return mask


@accepts_keras_tensors
class Masking(Module):
    """Masks the time steps whose features all equal ``mask_value``: the mask is
    ``any(x != mask_value, axis=-1)`` ([batch, time]) and the output is ``x`` with the masked
    steps zeroed, as Keras (Note [Masks]).

    Usage: ``model = aj.layers.Sequential([Masking(0.0), aj.layers.LSTM(8)])`` (``from
    autojit.layers.masking import Masking``)
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, name: str | None = None):
        super().__init__(name=name)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise InvalidArgumentError(f"Masking: expected mask_value to be a number, got "
                                       f"{mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Tensor:
        """``any(inputs != mask_value, axis=-1)``. Usage: ``m = layer.compute_mask(x)``"""
        x = inputs if isinstance(inputs, Tensor) else convert_to_tensor(inputs)
        return reduce_any(not_equal(x, self.mask_value), axis=-1)

    def __call__(self, x: Any) -> Tensor:
        """``x`` with its masked steps zeroed. Usage: ``y = layer(x)``"""
        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        keep = reduce_any(not_equal(x, self.mask_value), axis=-1, keepdims=True)
        return x * cast(keep, x.dtype)

    def __repr__(self) -> str:
        return f"<aj.layers.Masking {self.name!r} mask_value={self.mask_value}>"


__all__ = ["Masking"]
