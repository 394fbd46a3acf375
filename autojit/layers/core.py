"""Core layers: ``Dense`` and the activation lookup shared by every layer.

Usage: ``layer = aj.layers.Dense(784, 256, activation=aj.nn.relu); y = layer(x)``

``Dense(units)`` (one size, Keras's form) builds its weights on the first call from the
input's last dim, so inside ``@aj.function`` they are created on the first trace only; the
lecture's ``Dense(784, 256)`` creates them at once.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops import activations, nn, random, shapes
from autojit.ops.array import zeros
from autojit.ops.extra_math import softplus
from autojit.ops.linalg import matmul
from autojit.ops.math import exp, sigmoid, tanh
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable

_ACTIVATIONS: dict[str, Callable[[Any], Any] | None] = {
    "linear": None,
    "relu": nn.relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": nn.softmax,
    "log_softmax": nn.log_softmax,
    "elu": activations.elu,
    "selu": activations.selu,
    "gelu": activations.gelu,
    "silu": activations.silu,
    "swish": activations.silu,
    "leaky_relu": activations.leaky_relu,
    "relu6": activations.relu6,
    "softsign": activations.softsign,
    "hard_sigmoid": activations.hard_sigmoid,
    "softplus": softplus,
    "exponential": exp,
}


def get_activation(activation: str | Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """The activation function named by ``activation`` (``None``/``"linear"`` for none).

    Usage: ``aj.layers.get_activation("relu") is aj.nn.relu``
    """
    if activation is None or callable(activation):
        return activation
    if isinstance(activation, str) and activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]
    raise InvalidArgumentError(f"unknown activation {activation!r}; expected a callable such "
                               f"as aj.nn.relu or one of {sorted(_ACTIVATIONS)}")


@accepts_keras_tensors
class Dense(Module):
    """A fully connected layer: ``y = activation(x @ w + b)``.

    Usage::

        layer = aj.layers.Dense(784, 256, activation=aj.nn.relu)
        y = layer(x)                                   # x: [batch, 784] -> y: [batch, 256]
        aj.layers.Dense(input_size=784, output_size=256)   # the lecture's spelling works too
        aj.layers.Dense(10, activation="softmax")  # Keras's form: built on the first call

    ``in_features``/``out_features`` are the canonical names (the lecture's ``Dense``
    definition); ``input_size``/``output_size`` (what the lecture's ``MLP`` passes) are
    accepted as aliases. ``w`` starts Glorot-normal (standard deviation
    ``sqrt(2 / (in_features + out_features))``), ``b`` at zero. Given one size (or
    ``units=``), that is the output size and the layer is built lazily as Keras's ``Dense``:
    ``w`` from ``kernel_initializer`` (``"glorot_uniform"``), ``b`` from
    ``bias_initializer`` (``"zeros"``), ``b`` omitted when ``use_bias=False``.
    ``activation`` is a callable, a name (``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``,
    ``"linear"``) or None.
    """

    def __init__(self, units: int | None = None, out_features: int | None = None,
                 activation: str | Callable[[Any], Any] | None = None,
                 name: str | None = None, *, in_features: int | None = None,
                 input_size: int | None = None, output_size: int | None = None,
                 dtype: Any = dtypes.float32, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None):
        super().__init__(name=name)
        self._add_regularizer(kernel_regularizer, "w")
        self._add_regularizer(bias_regularizer, "b")
        if activation is None and (isinstance(out_features, str) or callable(out_features)):
            activation, out_features = out_features, None  # Keras's Dense(10, "relu")
        lazy = units is not None and out_features is None and output_size is None
        if lazy:  # Keras's Dense(units): the output size; built on the first call
            if in_features is not None or input_size is not None:
                raise InvalidArgumentError(f"Dense: got units={units!r} and an input size; "
                                           "pass units alone (built on the first call) or "
                                           "in_features and out_features")
            out_features = _one_of("units", units, "units", None)
            in_features = None
        else:  # the lecture's Dense(in_features, out_features): the first size is the input's
            if units is not None:
                if in_features is not None:
                    raise InvalidArgumentError(f"Dense: got both {units!r} (positional) and "
                                               f"in_features={in_features!r}; pass only one")
                in_features = units
            in_features = _one_of("in_features", in_features, "input_size", input_size)
            out_features = _one_of("out_features", out_features, "output_size", output_size)
        self.in_features = in_features
        self.out_features = out_features
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(dtype):
            raise InvalidArgumentError(f"Dense: expected a floating-point dtype, got {dtype.name}")
        self.dtype = dtype
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.w = self.b = None
        if in_features is None:
            return
        stddev = math.sqrt(2.0 / (in_features + out_features))
        with self.name_scope:
            self.w = Variable(random.normal((in_features, out_features), stddev=stddev,
                                            dtype=dtype), name="w")
            self.b = Variable(zeros((out_features,), dtype=dtype), name="b")

    def build(self, in_features: int) -> None:
        """Create ``w`` [in_features, units] and ``b`` [units] from the initializers.

        Usage: ``layer.build(784)`` (done by the first call)
        """
        with self.name_scope:
            self.w = Variable(self.kernel_initializer((in_features, self.out_features),
                                                      self.dtype), name="w")
            if self.use_bias:
                self.b = Variable(self.bias_initializer((self.out_features,), self.dtype),
                                  name="b")
        self.in_features = in_features

    def __call__(self, x: Any) -> Tensor:
        """Apply the layer to ``x`` of shape ``[..., in_features]``. Usage: ``y = layer(x)``"""
        if not isinstance(x, Tensor):
            x = convert_to_tensor(x, dtype=self.dtype) if _is_float_array(x) \
                else convert_to_tensor(x)
        shape = x.shape
        if self.w is None:
            if len(shape) < 2 or shape[-1] is None:
                raise ShapeError(f"Dense {self.name!r}: expected inputs of shape [batch, "
                                 f"features] with a known feature dim to build the layer, got "
                                 f"{shapes.fmt(shape)}")
            self.build(shape[-1])
        if len(shape) < 2 or (shape[-1] is not None and shape[-1] != self.in_features):
            raise ShapeError(
                f"Dense {self.name!r}: expected inputs of shape [batch, {self.in_features}] "
                f"(in_features={self.in_features}), got {shapes.fmt(shape)}")
        y = matmul(x, self.w)
        if self.b is not None:
            y = y + self.b
        if self.activation is not None:
            y = self.activation(y)
        return y

    def count_params(self) -> int:
        """Number of weights (the layer must be built). Usage: ``layer.count_params()``"""
        if self.w is None:
            raise InvalidArgumentError(f"Dense {self.name!r}: the layer is not built yet; call "
                                       "it on an input first")
        return sum(math.prod(v.shape) for v in (self.w, self.b) if v is not None)

    def __repr__(self) -> str:
        return (f"<aj.layers.Dense {self.name!r} in_features={self.in_features} "
                f"out_features={self.out_features}>")


@accepts_keras_tensors
class Activation(Module):
    """Applies an activation (a name such as ``"relu"``, or a callable). No weights.

    Usage: ``y = aj.layers.Activation("relu")(x)``
    """

    def __init__(self, activation: str | Callable[[Any], Any], name: str | None = None):
        super().__init__(name=name)
        self.activation = get_activation(activation)
        if self.activation is None:
            self.activation = lambda x: x  # "linear"

    def __call__(self, x: Any) -> Tensor:
        """Apply the activation to ``x``. Usage: ``y = layer(x)``"""
        return self.activation(x if isinstance(x, Tensor) else convert_to_tensor(x))

    def __repr__(self) -> str:
        return f"<aj.layers.Activation {self.name!r}>"


def _one_of(canonical: str, value: Any, alias: str, alias_value: Any) -> int:
    if value is not None and alias_value is not None:
        raise InvalidArgumentError(f"Dense: got both {canonical}={value!r} and "
                                   f"{alias}={alias_value!r}; pass only {canonical}")
    if value is None:
        value = alias_value
    if value is None:
        raise InvalidArgumentError(f"Dense: {canonical} is required, e.g. "
                                   f"aj.layers.Dense(784, 256) or Dense({alias}=784, ...)")
    number = as_positive_int(value)
    if number is None:
        raise InvalidArgumentError(f"Dense: expected {canonical} to be a positive int, "
                                   f"got {value!r}")
    return number


def as_positive_int(value: Any) -> int | None:
    """``value`` as an int when it is a positive integer (a NumPy integer too; not a float or
    a bool), else None, so each layer raises its own message. Usage: ``as_positive_int(3)``"""
    try:
        number = operator.index(value)
    except TypeError:
        return None
    if isinstance(value, bool) or number < 1:
        return None
    return number


def _is_float_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and getattr(dtype, "kind", "") == "f"


__all__ = ["Dense", "get_activation"]
