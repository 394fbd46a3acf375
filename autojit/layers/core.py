"""Core layers: ``Dense`` and the activation lookup shared by every layer.

Usage: ``layer = aj.layers.Dense(784, 256, activation=aj.nn.relu); y = layer(x)``
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

from autojit import dtypes
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.module import Module
from autojit.ops import nn, random, shapes
from autojit.ops.array import zeros
from autojit.ops.linalg import matmul
from autojit.ops.math import sigmoid, tanh
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable

_ACTIVATIONS: dict[str, Callable[[Any], Any] | None] = {
    "linear": None,
    "relu": nn.relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": nn.softmax,
}


def get_activation(activation: "str | Callable[[Any], Any] | None") -> Callable[[Any], Any] | None:
    """The activation function named by ``activation`` (``None``/``"linear"`` for none).

    Usage: ``aj.layers.get_activation("relu") is aj.nn.relu``
    """
    if activation is None or callable(activation):
        return activation
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    raise InvalidArgumentError(f"unknown activation {activation!r}; expected a callable such "
                               f"as aj.nn.relu or one of {sorted(_ACTIVATIONS)}")


class Dense(Module):
    """A fully connected layer: ``y = activation(x @ w + b)``.

    Usage::

        layer = aj.layers.Dense(784, 256, activation=aj.nn.relu)
        y = layer(x)                                   # x: [batch, 784] -> y: [batch, 256]
        aj.layers.Dense(input_size=784, output_size=256)   # the lecture's spelling works too

    ``in_features``/``out_features`` are the canonical names (the lecture's ``Dense``
    definition); ``input_size``/``output_size`` (what the lecture's ``MLP`` passes) are
    accepted as aliases. ``w`` starts Glorot-normal (standard deviation
    ``sqrt(2 / (in_features + out_features))``), ``b`` at zero. ``activation`` is a callable,
    a name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``, ``"linear"``) or None.
    """

    def __init__(self, in_features: int | None = None, out_features: int | None = None,
                 activation: "str | Callable[[Any], Any] | None" = None,
                 name: str | None = None, *, input_size: int | None = None,
                 output_size: int | None = None, dtype: Any = dtypes.float32):
        super().__init__(name=name)
        in_features = _one_of("in_features", in_features, "input_size", input_size)
        out_features = _one_of("out_features", out_features, "output_size", output_size)
        self.in_features = in_features
        self.out_features = out_features
        self.activation = get_activation(activation)
        dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(dtype):
            raise InvalidArgumentError(f"Dense: expected a floating-point dtype, got {dtype.name}")
        stddev = math.sqrt(2.0 / (in_features + out_features))
        with self.name_scope:
            self.w = Variable(random.normal((in_features, out_features), stddev=stddev,
                                            dtype=dtype), name="w")
            self.b = Variable(zeros((out_features,), dtype=dtype), name="b")

    def __call__(self, x: Any) -> Tensor:
        """Apply the layer to ``x`` of shape ``[..., in_features]``. Usage: ``y = layer(x)``"""
        if not isinstance(x, Tensor):
            x = convert_to_tensor(x, dtype=self.w.dtype) if _is_float_array(x) \
                else convert_to_tensor(x)
        shape = x.shape
        if len(shape) < 2 or (shape[-1] is not None and shape[-1] != self.in_features):
            raise ShapeError(
                f"Dense {self.name!r}: expected inputs of shape [batch, {self.in_features}] "
                f"(in_features={self.in_features}), got {shapes.fmt(shape)}")
        y = matmul(x, self.w) + self.b
        if self.activation is not None:
            y = self.activation(y)
        return y

    def __repr__(self) -> str:
        return (f"<aj.layers.Dense {self.name!r} in_features={self.in_features} "
                f"out_features={self.out_features}>")


def _one_of(canonical: str, value: Any, alias: str, alias_value: Any) -> int:
    if value is not None and alias_value is not None:
        raise InvalidArgumentError(f"Dense: got both {canonical}={value!r} and "
                                   f"{alias}={alias_value!r}; pass only {canonical}")
    if value is None:
        value = alias_value
    if value is None:
        raise InvalidArgumentError(f"Dense: {canonical} is required, e.g. "
                                   f"aj.layers.Dense(784, 256) or Dense({alias}=784, ...)")
    try:
        number = operator.index(value)  # ints and NumPy integers; not floats
    except TypeError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise InvalidArgumentError(f"Dense: expected {canonical} to be a positive int, "
                                   f"got {value!r}")
    return number


def _is_float_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(dtype, "kind", "") == "f"


__all__ = ["Dense", "get_activation"]
