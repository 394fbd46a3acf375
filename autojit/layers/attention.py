"""``MultiHeadAttention`` (Keras's layer and argument names).

Note [Attention]: for a query ``[batch, T, dq]`` and a value ``[batch, S, dv]`` (key defaults to
value), each of ``num_heads`` heads projects ``q = query @ Wq + bq``, ``k``, ``v`` to
``key_dim`` (``value_dim`` for ``v``), scores ``q k^T / sqrt(key_dim)`` ``[batch, heads, T, S]``,
takes the softmax over ``S`` where ``attention_mask`` ``[batch, T, S]`` (True: attend) and the
causal mask (``use_causal_mask``: position ``t`` sees ``s <= t``) allow it (a masked score is
pushed down by 1e9 before the softmax, as Keras, so a fully masked row attends uniformly),
drops attention weights with ``dropout`` when training, mixes ``v`` with them, and projects the
heads back with ``Wo`` ``[heads, value_dim, out]`` (``out``: ``output_shape`` or ``dq``). The
weights are named as Keras's: ``query/kernel`` ``[dq, heads, key_dim]``, ``query/bias``
``[heads, key_dim]``, ``key/...``, ``value/...``, ``attention_output/kernel`` and ``/bias``;
they are built on the first call from the input feature sizes. Every product is one
``aj.einsum``, so the layer differentiates and traces like any other code.
"""

from __future__ import annotations

import math
from typing import Any

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.layers.core import as_positive_int
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops import shapes
from autojit.ops.array import expand_dims, ones, shape
from autojit.ops.dropout import dropout
from autojit.ops.einsum import einsum
from autojit.ops.math import add, cast, multiply, subtract
from autojit.ops.nn import softmax
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable

_MASKED = -1e9  # added to masked scores (Keras's large negative)


@accepts_keras_tensors
class MultiHeadAttention(Module):
    """Multi-head (self- or cross-) attention, as ``keras.layers.MultiHeadAttention``
    (Note [Attention]).

    Usage::

        mha = aj.layers.MultiHeadAttention(num_heads=4, key_dim=16)
        y = mha(x, x, use_causal_mask=True)                 # self-attention, [b, T, d]
        y, weights = mha(q, v, return_attention_scores=True)  # weights [b, heads, T, S]
    """

    keras_name = "multi_head_attention"

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: Any = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 name: str | None = None, dtype: Any = dtypes.float32):
        super().__init__(name=name)
        self.num_heads = _positive("num_heads", num_heads)
        self.key_dim = _positive("key_dim", key_dim)
        self.value_dim = self.key_dim if value_dim is None else _positive("value_dim",
                                                                          value_dim)
        if not 0 <= float(dropout) < 1:
            raise InvalidArgumentError(f"MultiHeadAttention: dropout must be in [0, 1), got "
                                       f"{dropout!r}")
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None and not isinstance(output_shape, int):
            output_shape = tuple(output_shape)
            if len(output_shape) != 1:
                raise InvalidArgumentError("MultiHeadAttention: output_shape must be one size "
                                           f"(the output features), got {output_shape!r}")
            output_shape = output_shape[0]
        self.output_size = None if output_shape is None else _positive("output_shape",
                                                                       output_shape)
        self.dtype = dtypes.as_dtype(dtype)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.built = False

    def _dense(self, scope: str, kernel_shape: tuple, bias_shape: tuple) -> tuple:
        from autojit.variables import name_scope

        with self.name_scope, name_scope(scope):
            kernel = Variable(self.kernel_initializer(kernel_shape, self.dtype), name="kernel")
            bias = Variable(self.bias_initializer(bias_shape, self.dtype), name="bias") \
                if self.use_bias else None
        return kernel, bias

    def build(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> None:
        """Create the projections for inputs with these shapes (done by the first call).

        Usage: ``mha.build((None, 10, 32), (None, 12, 32))``
        """
        dq, dv = _features("query", query_shape), _features("value", value_shape)
        dk = dv if key_shape is None else _features("key", key_shape)
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self.output_size or dq
        self.query_kernel, self.query_bias = self._dense("query", (dq, h, kd), (h, kd))
        self.key_kernel, self.key_bias = self._dense("key", (dk, h, kd), (h, kd))
        self.value_kernel, self.value_bias = self._dense("value", (dv, h, vd), (h, vd))
        self.output_kernel, self.output_bias = self._dense("attention_output", (h, vd, out),
                                                           (out,))
        self.features = (dq, dv, dk)
        self.built = True

    def __call__(self, query: Any, value: Any, key: Any = None, attention_mask: Any = None,
                 return_attention_scores: bool = False, training: bool | None = None,
                 use_causal_mask: bool = False) -> Any:
        """Attend from ``query`` [batch, T, dq] to ``value`` [batch, S, dv] (``key`` defaults
        to ``value``). Usage: ``y = mha(x, x)``"""
        query, value = self._input(query), self._input(value)
        key = value if key is None else self._input(key)
        if not self.built:
            self.build(query.shape, value.shape, key.shape)
        for label, x, size in (("query", query, self.features[0]),
                               ("value", value, self.features[1]),
                               ("key", key, self.features[2])):
            if len(x.shape) < 3 or x.shape[-1] not in (None, size):
                raise ShapeError(f"MultiHeadAttention {self.name!r}: expected {label} of shape "
                                 f"[batch, steps, {size}], got {shapes.fmt(x.shape)}")
        q = self._project(query, self.query_kernel, self.query_bias)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        q = multiply(q, 1.0 / math.sqrt(self.key_dim))
        scores = einsum("...shd,...thd->...hts", k, q)
        mask = self._mask(attention_mask, use_causal_mask, query, value)
        if mask is not None:
            scores = add(scores, multiply(subtract(1.0, cast(mask, scores.dtype)), _MASKED))
        weights = softmax(scores, axis=-1)
        mixed = weights
        if training and self.dropout > 0:
            mixed = dropout(weights, self.dropout)
        heads = einsum("...hts,...shd->...thd", mixed, v)
        out = einsum("...thd,hdo->...to", heads, self.output_kernel)
        if self.output_bias is not None:
            out = add(out, self.output_bias)
        return (out, weights) if return_attention_scores else out

    def _input(self, x: Any) -> Tensor:
        return x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=self.dtype)

    @staticmethod
    def _project(x: Tensor, kernel: Variable, bias: Variable | None) -> Tensor:
        y = einsum("...sf,fhd->...shd", x, kernel)
        return y if bias is None else add(y, bias)

    def _mask(self, attention_mask: Any, causal: bool, query: Tensor, value: Tensor) -> Any:
        """The [batch, 1, T, S] (or [1, 1, T, S]) bool mask of allowed scores, or None."""
        from autojit.ops.decompositions import band_part
        from autojit.ops.math import logical_and

        mask = None
        if attention_mask is not None:
            mask = attention_mask if isinstance(attention_mask, Tensor) \
                else convert_to_tensor(attention_mask)
            if len(mask.shape) != len(query.shape):
                raise ShapeError(f"MultiHeadAttention {self.name!r}: expected attention_mask of "
                                 f"shape [batch, T, S], got {shapes.fmt(mask.shape)}")
            mask = expand_dims(cast(mask, dtypes.bool), -3)
        if causal:
            t, s = shape(query)[-2], shape(value)[-2]
            steps = ones([t, s], dtypes.float32) if None in (query.shape[-2], value.shape[-2]) \
                else ones([query.shape[-2], value.shape[-2]], dtypes.float32)
            lower = cast(band_part(steps, -1, 0), dtypes.bool)
            mask = lower if mask is None else logical_and(mask, lower)
        return mask

    def __repr__(self) -> str:
        return (f"<aj.layers.MultiHeadAttention {self.name!r} num_heads={self.num_heads} "
                f"key_dim={self.key_dim}>")


def _positive(what: str, value: Any) -> int:
    number = as_positive_int(value)
    if number is None:
        raise InvalidArgumentError(f"MultiHeadAttention: expected {what} to be a positive int, "
                                   f"got {value!r}")
    return number


def _features(label: str, shape_: Any) -> int:
    dims = tuple(shape_)
    if len(dims) < 3 or dims[-1] is None:
        raise ShapeError(f"MultiHeadAttention: expected {label} of shape [batch, steps, "
                         f"features] with known features to build the layer, got "
                         f"{shapes.fmt(dims)}")
    return int(dims[-1])


__all__ = ["MultiHeadAttention"]
