"""Normalization layers (Keras names): ``BatchNormalization`` and ``LayerNormalization``.

Usage: ``y = aj.layers.BatchNormalization()(x, training=True)``

Both build on the first call from the input's size along ``axis`` (so inside
``@aj.function`` their variables are created on the first trace only). ``BatchNormalization``
keeps ``moving_mean``/``moving_variance`` as non-trainable Variables; with ``training=True``
it normalizes by the batch's statistics and assigns
``moving = moving * momentum + batch * (1 - momentum)`` (the biased batch variance, as
Keras), an assignment that a traced step performs at every replay. A frozen
``BatchNormalization`` (``trainable == False``, or inside a model frozen with
``model.trainable = False``) runs in inference mode even with ``training=True``, as Keras:
it normalizes by the moving statistics and leaves them alone (fine-tuning a frozen base).
"""

from __future__ import annotations

import math
import operator
from typing import Any

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops import shapes
from autojit.ops.array import reshape
from autojit.ops.normalization import batch_normalization, moments
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable


def as_input(x: Any, dtype: Any) -> Tensor:
    """``x`` as a Tensor; float arrays and Python numbers take the layer's dtype."""
    if isinstance(x, Tensor):
        return x
    kind = getattr(getattr(x, "dtype", None), "kind", "")
    return convert_to_tensor(x, dtype=dtype) if kind == "f" or not kind else convert_to_tensor(x)


def _float_dtype(owner: str, dtype: Any) -> Any:
    dtype = dtypes.as_dtype(dtype)
    if not dtypes.is_floating(dtype):
        raise InvalidArgumentError(f"{owner}: expected a floating-point dtype, got {dtype.name}")
    return dtype


def _axis(owner: str, axis: Any) -> int:
    try:
        return operator.index(axis)
    except TypeError:
        raise InvalidArgumentError(f"{owner}: expected axis to be an int, got {axis!r}") from None


class _Normalization(Module):
    """Shared by both layers: arguments, the lazy build of ``gamma``/``beta``."""

    def __init__(self, axis: int, epsilon: float, center: bool, scale: bool,
                 beta_initializer: Any, gamma_initializer: Any, name: str | None,
                 dtype: Any):
        super().__init__(name=name)
        owner = type(self).__name__
        self.axis = _axis(owner, axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise InvalidArgumentError(f"{owner}: expected epsilon > 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.dtype = _float_dtype(owner, dtype)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.gamma = self.beta = None
        self.features: int | None = None
        self._rank: int | None = None

    def _describe(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _check(self, x: Tensor) -> int:
        """The axis index in ``x``; builds the layer on the first call."""
        rank = len(x.shape)
        if not -rank <= self.axis < rank:
            raise ShapeError(f"{self._describe()}: axis {self.axis} is out of range for an "
                             f"input of rank {rank} (shape {shapes.fmt(x.shape)})")
        axis = self.axis % rank
        size = x.shape[axis]
        if size is None:
            raise ShapeError(f"{self._describe()}: the size of axis {self.axis} must be known "
                             f"to build the layer, got shape {shapes.fmt(x.shape)}")
        if self.features is None:
            self.build(size)
            self._rank = rank
        elif size != self.features:
            raise ShapeError(f"{self._describe()}: the layer was built for {self.features} "
                             f"features on axis {self.axis}, got {size} (input shape "
                             f"{shapes.fmt(x.shape)}); use a new layer for other inputs")
        return axis

    def build(self, features: int) -> None:
        """Create ``gamma``/``beta`` [features]. Usage: ``layer.build(64)`` (done by the first
        call)"""
        with self.name_scope:
            if self.scale:
                self.gamma = Variable(self.gamma_initializer((features,), self.dtype),
                                      name="gamma")
            if self.center:
                self.beta = Variable(self.beta_initializer((features,), self.dtype),
                                     name="beta")
        self.features = features

    def _broadcast(self, value: Any, rank: int, axis: int) -> Any:
        if value is None or axis == rank - 1:
            return value
        return reshape(value, tuple(self.features if i == axis else 1 for i in range(rank)))

    def count_params(self) -> int:
        """Number of weights, trainable or not (the layer must be built).
        Usage: ``layer.count_params()``"""
        if self.features is None:
            raise InvalidArgumentError(f"{self._describe()}: the layer is not built yet; call "
                                       "it on an input first")
        return sum(math.prod(v.shape) for v in self.variables)


@accepts_keras_tensors
class BatchNormalization(_Normalization):
    """Normalizes over every axis but ``axis`` with the batch's statistics when training and
    the moving ones otherwise, then scales by ``gamma`` and shifts by ``beta`` (Keras's
    defaults: ``momentum=0.99``, ``epsilon=1e-3``).

    Usage::

        bn = aj.layers.BatchNormalization()
        y = bn(x, training=True)      # updates bn.moving_mean / bn.moving_variance
        y = bn(x)                     # inference: the moving statistics
        bn.trainable = False
        y = bn(x, training=True)      # frozen: inference too, as Keras
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", name: str | None = None,
                 dtype: Any = dtypes.float32):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         name, dtype)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
                or not 0 <= momentum <= 1:
            raise InvalidArgumentError(f"BatchNormalization: expected momentum in [0, 1], got "
                                       f"{momentum!r}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.moving_mean = self.moving_variance = None

    def build(self, features: int) -> None:
        """Create ``gamma``, ``beta``, ``moving_mean`` and ``moving_variance`` [features].
        Usage: ``layer.build(64)`` (done by the first call)"""
        super().build(features)
        with self.name_scope:
            self.moving_mean = Variable(self.moving_mean_initializer((features,), self.dtype),
                                        trainable=False, name="moving_mean")
            self.moving_variance = Variable(
                self.moving_variance_initializer((features,), self.dtype), trainable=False,
                name="moving_variance")

    def __call__(self, x: Any, training: bool | None = None) -> Tensor:
        """Normalize ``x``; ``training=True`` uses and records the batch's statistics unless
        the layer is frozen (``trainable == False``). Usage: ``y = bn(x, training=True)``"""
        x = as_input(x, self.dtype)
        axis = self._check(x)
        rank = len(x.shape)
        if not isinstance(training, (bool, type(None))):
            raise InvalidArgumentError(f"{self._describe()}: expected training to be True, "
                                       f"False or None (a Python bool), got {training!r}")
        if training and self.trainable:  # frozen: inference mode (Keras)
            reduce = [i for i in range(rank) if i != axis]
            mean, variance = moments(x, axes=reduce)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean, self.moving_variance
        b = self._broadcast
        return batch_normalization(x, b(mean, rank, axis), b(variance, rank, axis),
                                   b(self.beta, rank, axis), b(self.gamma, rank, axis),
                                   self.epsilon)

    def __repr__(self) -> str:
        return f"<aj.layers.BatchNormalization {self.name!r} features={self.features}>"


@accepts_keras_tensors
class LayerNormalization(_Normalization):
    """Normalizes each example over ``axis`` (the last by default) by its own mean and
    variance, then scales by ``gamma`` and shifts by ``beta`` (``epsilon=1e-3``, as Keras).

    Usage: ``y = aj.layers.LayerNormalization()(x)``
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", name: str | None = None,
                 dtype: Any = dtypes.float32):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         name, dtype)

    def __call__(self, x: Any) -> Tensor:
        """Normalize ``x`` along ``axis``. Usage: ``y = layer(x)``"""
        x = as_input(x, self.dtype)
        axis = self._check(x)
        rank = len(x.shape)
        mean, variance = moments(x, axes=[axis], keepdims=True)
        b = self._broadcast
        return batch_normalization(x, mean, variance, b(self.beta, rank, axis),
                                   b(self.gamma, rank, axis), self.epsilon)

    def __repr__(self) -> str:
        return f"<aj.layers.LayerNormalization {self.name!r} features={self.features}>"


__all__ = ["BatchNormalization", "LayerNormalization"]
