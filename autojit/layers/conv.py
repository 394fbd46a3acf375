"""Convolution and pooling layers (Keras names): ``Conv1D``, ``Conv2D``, ``DepthwiseConv2D``,
``SeparableConv2D``, ``Conv2DTranspose``, ``MaxPool1D``,
``MaxPool2D``, ``AveragePooling1D``, ``AveragePooling2D``, and the global poolings
``GlobalAveragePooling1D``/``2D`` and ``GlobalMaxPooling1D``/``2D``.

Usage: ``y = aj.layers.Conv2D(32, 3, padding="same", activation="relu")(images)``

Conv layers build their weights on the first call, from the input's channel count (as
Keras), so inside ``@aj.function`` they are created on the first trace only; a later call
with another channel count is a clear error. Kernels start ``glorot_uniform`` (fans count
every window position, as Keras) and biases at zero.
"""

from __future__ import annotations

import math
from typing import Any

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.layers.core import as_positive_int, get_activation
from autojit.layers.functional import accepts_keras_tensors
from autojit.layers.masking import as_mask
from autojit.module import Module
from autojit.ops import conv, shapes
from autojit.ops.array import expand_dims, reshape
from autojit.ops.math import cast
from autojit.ops.reduce import reduce_max, reduce_mean, reduce_sum
from autojit.tensor import Tensor, convert_to_tensor
from autojit.variables import Variable

_FORMATS = {"channels_last": False, "channels_first": True}


def _tuple(owner: str, what: str, value: Any, n: int) -> tuple:
    """Keras's int-or-tuple convention: ``3`` -> ``(3, 3)``; each a positive int."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise InvalidArgumentError(f"{owner}: expected {what} as an int or {n} ints, "
                                   f"got {value!r}")
    out = tuple(as_positive_int(v) for v in values)
    if None in out:
        raise InvalidArgumentError(f"{owner}: expected {what} to be positive ints, "
                                   f"got {value!r}")
    return out


def _padding(owner: str, padding: Any, allowed: tuple) -> str:
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    raise InvalidArgumentError(f"{owner}: expected padding to be one of "
                               f"{', '.join(map(repr, allowed))}, got {padding!r}")


def _channels_first(owner: str, data_format: str | None) -> bool:
    fmt = "channels_last" if data_format is None else data_format
    if fmt not in _FORMATS:
        raise InvalidArgumentError(f"{owner}: expected data_format 'channels_last' or "
                                   f"'channels_first', got {data_format!r}")
    return _FORMATS[fmt]


def _as_input(x: Any, dtype: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    kind = getattr(getattr(x, "dtype", None), "kind", "")
    return convert_to_tensor(x, dtype=dtype) if kind == "f" or not kind else convert_to_tensor(x)


@accepts_keras_tensors
class _Conv(Module):
    """Shared by ``Conv1D`` and ``Conv2D``: arguments, lazy build, the call."""

    rank = 2
    keras_name = "conv2d"  # the default name Keras gives (camel_to_snake says "conv2_d")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 name: str | None = None, dtype: Any = dtypes.float32,
                 kernel_regularizer: Any = None, bias_regularizer: Any = None):
        super().__init__(name=name)  # Module names it keras_name, numbered
        self._add_regularizer(kernel_regularizer, "kernel")
        self._add_regularizer(bias_regularizer, "bias")
        owner = type(self).__name__
        self.filters = _tuple(owner, "filters", filters, 1)[0]
        self.kernel_size = _tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = _tuple(owner, "strides", strides, self.rank)
        self.dilation_rate = _tuple(owner, "dilation_rate", dilation_rate, self.rank)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.padding = _padding(owner, padding, allowed)
        self.channels_first = _channels_first(owner, data_format)
        if self.padding == "causal" and self.channels_first:
            raise InvalidArgumentError(f"{owner}: padding='causal' needs "
                                       "data_format='channels_last'")
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(self.dtype):
            raise InvalidArgumentError(f"{owner}: expected a floating-point dtype, got "
                                       f"{self.dtype.name}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = None
        self.bias = None
        self.in_channels: int | None = None

    def _describe(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    def _check(self, x: Tensor) -> int:
        rank = self.rank + 2
        layout = "[batch, channels, " if self.channels_first else "[batch, "
        layout += ", ".join(["width"] if self.rank == 1 else ["height", "width"])
        layout += "]" if self.channels_first else ", channels]"
        if len(x.shape) != rank:
            raise ShapeError(f"{self._describe()}: expected input of rank {rank} {layout}, got "
                             f"shape {shapes.fmt(x.shape)}")
        channels = x.shape[1] if self.channels_first else x.shape[-1]
        if channels is None:
            raise ShapeError(f"{self._describe()}: the channel dim of the input must be known "
                             f"to build the layer, got shape {shapes.fmt(x.shape)}")
        if self.in_channels is not None and channels != self.in_channels:
            raise ShapeError(f"{self._describe()}: the layer was built for inputs with "
                             f"{self.in_channels} channels, got {channels} (input shape "
                             f"{shapes.fmt(x.shape)}); use a new layer for other inputs")
        return channels

    def _kernel_shape(self, in_channels: int) -> tuple:
        return (*self.kernel_size, in_channels, self.filters)

    def build(self, in_channels: int) -> None:
        """Create ``kernel`` [*kernel_size, in_channels, filters] (transposed convolutions:
        [*kernel_size, filters, in_channels]) and ``bias`` [filters].

        Usage: ``layer.build(3)`` (done by the first call)
        """
        shape = self._kernel_shape(in_channels)
        with self.name_scope:
            self.kernel = Variable(self.kernel_initializer(shape, self.dtype), name="kernel")
            if self.use_bias:
                self.bias = Variable(self.bias_initializer((self.filters,), self.dtype),
                                     name="bias")
        self.in_channels = in_channels

    def __call__(self, x: Any) -> Tensor:
        """Apply the layer. Usage: ``y = layer(x)``"""
        x = _as_input(x, self.dtype)
        channels = self._check(x)
        if self.kernel is None:
            self.build(channels)
        y = self._convolve(x)
        if self.use_bias:
            bias = reshape(self.bias, (self.filters,) + (1,) * self.rank) \
                if self.channels_first else self.bias
            y = y + bias
        if self.activation is not None:
            y = self.activation(y)
        return y

    def _convolve(self, x: Tensor) -> Tensor:
        fmt = "NCHW" if self.channels_first else "NHWC"
        return conv.conv2d(x, self.kernel, self.strides, self.padding.upper(), fmt,
                           self.dilation_rate)

    def count_params(self) -> int:
        """Number of weights (the layer must be built). Usage: ``layer.count_params()``"""
        if self.kernel is None:
            raise InvalidArgumentError(f"{self._describe()}: the layer is not built yet; call "
                                       "it on an input first")
        return sum(math.prod(v.shape) for v in (self.kernel, self.bias) if v is not None)

    def __repr__(self) -> str:
        return (f"<aj.layers.{type(self).__name__} {self.name!r} filters={self.filters} "
                f"kernel_size={self.kernel_size} in_channels={self.in_channels}>")


class Conv2D(_Conv):
    """2-D convolution layer: ``activation(conv2d(x, kernel) + bias)``.

    Usage::

        layer = aj.layers.Conv2D(32, (3, 3), strides=1, padding="same", activation="relu")
        y = layer(images)          # [batch, 28, 28, 1] -> [batch, 28, 28, 32]

    ``padding`` is "valid" or "same" (Keras's lower case; upper case works too);
    ``data_format`` "channels_last" (default) or "channels_first".
    """

    rank = 2


class Conv1D(_Conv):
    """1-D convolution layer over [batch, steps, channels]; ``padding`` may also be
    "causal" (output t sees inputs up to t only).

    Usage: ``y = aj.layers.Conv1D(16, 5, padding="causal")(sequences)``
    """

    rank = 1
    keras_name = "conv1d"

    def _convolve(self, x: Tensor) -> Tensor:
        padding = self.padding.upper()
        if padding == "CAUSAL":
            padding = [[self.dilation_rate[0] * (self.kernel_size[0] - 1), 0]]
        fmt = "NCW" if self.channels_first else "NWC"
        return conv.conv1d(x, self.kernel, self.strides, padding, fmt, self.dilation_rate)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution (the adjoint of ``Conv2D``, "deconvolution"), as Keras:
    each input pixel spreads ``kernel`` [kh, kw, filters, in_channels] over a
    ``strides``-spaced output; "same" gives ``input * strides``, "valid"
    ``input * strides + max(kernel - strides, 0)`` per spatial dim (the dims must be known).

    Usage: ``y = aj.layers.Conv2DTranspose(16, 3, strides=2, padding="same")(x)`` (2x the size)
    """

    keras_name = "conv2d_transpose"

    def _kernel_shape(self, in_channels: int) -> tuple:
        return (*self.kernel_size, self.filters, in_channels)

    def _convolve(self, x: Tensor) -> Tensor:
        spatial = x.shape[2:] if self.channels_first else x.shape[1:3]
        if None in spatial:
            raise ShapeError(f"{self._describe()}: the height and width of the input must be "
                             f"known, got shape {shapes.fmt(x.shape)}")
        sizes = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            k = k + (k - 1) * (d - 1)
            sizes.append(n * s if self.padding == "same" else n * s + max(k - s, 0))
        out = [1, self.filters, *sizes] if self.channels_first else [1, *sizes, self.filters]
        fmt = "NCHW" if self.channels_first else "NHWC"
        return conv.conv2d_transpose(x, self.kernel, out, self.strides, self.padding.upper(),
                                     fmt, self.dilation_rate)


class DepthwiseConv2D(_Conv):
    """Depthwise 2-D convolution, as Keras: each input channel convolved with its own
    ``depth_multiplier`` filters (``depthwise_kernel`` [kh, kw, in_channels,
    depth_multiplier]), giving ``in_channels * depth_multiplier`` channels, plus ``bias``.

    Usage: ``y = aj.layers.DepthwiseConv2D(3, padding="same")(images)`` (channels kept)
    """

    keras_name = "depthwise_conv2d"

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", name: str | None = None,
                 dtype: Any = dtypes.float32, depthwise_regularizer: Any = None,
                 bias_regularizer: Any = None):
        owner = type(self).__name__
        self.depth_multiplier = _tuple(owner, "depth_multiplier", depth_multiplier, 1)[0]
        super().__init__(self.depth_multiplier, kernel_size, strides, padding, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, name, dtype, depthwise_regularizer,
                         bias_regularizer)

    @property
    def depthwise_kernel(self) -> Any:
        """The kernel [kh, kw, in_channels, depth_multiplier] (Keras's name).

        Usage: ``layer.depthwise_kernel.shape``
        """
        return self.kernel

    def build(self, in_channels: int) -> None:
        """Create ``kernel`` [*kernel_size, in_channels, depth_multiplier] and ``bias``
        [in_channels * depth_multiplier]. Usage: ``layer.build(3)`` (done by the first call)
        """
        self.filters = in_channels * self.depth_multiplier  # the output channels
        with self.name_scope:
            _depthwise_kernel(self, in_channels)
            if self.use_bias:
                self.bias = Variable(self.bias_initializer((self.filters,), self.dtype),
                                     name="bias")
        self.in_channels = in_channels

    def _convolve(self, x: Tensor) -> Tensor:
        return _depthwise(self, x)


def _depthwise_kernel(layer: Any, in_channels: int) -> None:
    """``layer.kernel``, the depthwise kernel [*kernel_size, in_channels, depth_multiplier]."""
    shape = (*layer.kernel_size, in_channels, layer.depth_multiplier)
    layer.kernel = Variable(layer.kernel_initializer(shape, layer.dtype),
                            name="depthwise_kernel")


def _depthwise(layer: Any, x: Tensor) -> Tensor:
    """``layer``'s depthwise convolution of ``x``: its strides, padding, format, dilation."""
    fmt = "NCHW" if layer.channels_first else "NHWC"
    return conv.depthwise_conv2d(x, layer.kernel, layer.strides, layer.padding.upper(), fmt,
                                 layer.dilation_rate)


class SeparableConv2D(_Conv):
    """Depthwise then pointwise 2-D convolution, as Keras: ``depthwise_kernel`` [kh, kw,
    in_channels, depth_multiplier], then a 1x1 ``pointwise_kernel`` [1, 1, in_channels *
    depth_multiplier, filters], then ``bias`` [filters].

    Usage: ``y = aj.layers.SeparableConv2D(64, 3, padding="same", activation="relu")(x)``
    """

    keras_name = "separable_conv2d"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, depth_multiplier: int = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 name: str | None = None, dtype: Any = dtypes.float32,
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, depthwise_initializer, bias_initializer, name,
                         dtype, depthwise_regularizer, bias_regularizer)
        self.depth_multiplier = _tuple(type(self).__name__, "depth_multiplier",
                                       depth_multiplier, 1)[0]
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self._add_regularizer(pointwise_regularizer, "pointwise_kernel")
        self.pointwise_kernel = None

    @property
    def depthwise_kernel(self) -> Any:
        """The depthwise kernel (Keras's name). Usage: ``layer.depthwise_kernel.shape``"""
        return self.kernel

    def build(self, in_channels: int) -> None:
        """Create the depthwise ``kernel``, ``pointwise_kernel`` and ``bias``.

        Usage: ``layer.build(3)`` (done by the first call)
        """
        depth = in_channels * self.depth_multiplier
        with self.name_scope:
            _depthwise_kernel(self, in_channels)
            self.pointwise_kernel = Variable(self.pointwise_initializer(
                (1, 1, depth, self.filters), self.dtype), name="pointwise_kernel")
            if self.use_bias:
                self.bias = Variable(self.bias_initializer((self.filters,), self.dtype),
                                     name="bias")
        self.in_channels = in_channels

    def _convolve(self, x: Tensor) -> Tensor:
        fmt = "NCHW" if self.channels_first else "NHWC"
        return conv.conv2d(_depthwise(self, x), self.pointwise_kernel, 1, "VALID", fmt)

    def count_params(self) -> int:
        """Number of weights (the layer must be built). Usage: ``layer.count_params()``"""
        return super().count_params() + math.prod(self.pointwise_kernel.shape)


@accepts_keras_tensors
class UpSampling2D(Module):
    """Repeats rows and columns ``size`` times ("nearest"), or resizes to ``size`` times the
    height and width ("bilinear", ``aj.image.resize``), as Keras.

    Usage: ``y = aj.layers.UpSampling2D(2)(x)``   # [b, 7, 7, c] -> [b, 14, 14, c]
    """

    keras_name = "up_sampling2d"

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", name: str | None = None):
        super().__init__(name=name)
        self.size = _tuple("UpSampling2D", "size", size, 2)
        self.channels_first = _channels_first("UpSampling2D", data_format)
        if interpolation not in ("nearest", "bilinear"):
            raise InvalidArgumentError(f"UpSampling2D: interpolation must be 'nearest' or "
                                       f"'bilinear', got {interpolation!r}")
        self.interpolation = interpolation

    def __call__(self, x: Any) -> Tensor:
        """Upsample ``x`` [batch, h, w, c]. Usage: ``y = layer(x)``"""
        from autojit.ops.extra_array import repeat

        x = _as_input(x, dtypes.float32)
        if len(x.shape) != 4:
            raise ShapeError(f"UpSampling2D {self.name!r}: expected input of rank 4, got shape "
                             f"{shapes.fmt(x.shape)}")
        first = 2 if self.channels_first else 1
        if self.interpolation == "bilinear":
            from autojit.image import resize
            from autojit.ops.array import transpose

            nhwc = transpose(x, [0, 2, 3, 1]) if self.channels_first else x
            h, w = nhwc.shape[1:3]
            if h is None or w is None:
                raise ShapeError(f"UpSampling2D {self.name!r}: bilinear needs a known height "
                                 f"and width, got shape {shapes.fmt(x.shape)}")
            y = resize(nhwc, (h * self.size[0], w * self.size[1]), "bilinear")
            return transpose(y, [0, 3, 1, 2]) if self.channels_first else y
        return repeat(repeat(x, self.size[0], axis=first), self.size[1], axis=first + 1)


@accepts_keras_tensors
class ZeroPadding2D(Module):
    """Pads height and width with zeros: ``padding`` an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``, as Keras.

    Usage: ``y = aj.layers.ZeroPadding2D(1)(x)``   # [b, 28, 28, c] -> [b, 30, 30, c]
    """

    keras_name = "zero_padding2d"

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 name: str | None = None):
        super().__init__(name=name)
        if isinstance(padding, int):
            pads = ((padding, padding), (padding, padding))
        elif len(padding) == 2 and all(isinstance(p, int) for p in padding):
            pads = ((padding[0], padding[0]), (padding[1], padding[1]))
        else:
            pads = tuple(tuple(int(q) for q in p) for p in padding)
        if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
            raise InvalidArgumentError(f"ZeroPadding2D: expected padding as an int, (rows, "
                                       f"cols) or ((top, bottom), (left, right)) of sizes >= 0, "
                                       f"got {padding!r}")
        self.padding = pads
        self.channels_first = _channels_first("ZeroPadding2D", data_format)

    def __call__(self, x: Any) -> Tensor:
        """Pad ``x`` [batch, h, w, c]. Usage: ``y = layer(x)``"""
        from autojit.ops.array import pad

        x = _as_input(x, dtypes.float32)
        if len(x.shape) != 4:
            raise ShapeError(f"ZeroPadding2D {self.name!r}: expected input of rank 4, got shape "
                             f"{shapes.fmt(x.shape)}")
        none = (0, 0)
        pads = [none, none, *self.padding] if self.channels_first \
            else [none, *self.padding, none]
        return pad(x, pads)


@accepts_keras_tensors
class _Pool(Module):
    rank = 2
    pool = staticmethod(conv.max_pool2d)
    keras_name = "max_pooling2d"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, name: str | None = None):
        super().__init__(name=name)  # Module names it keras_name, numbered
        owner = type(self).__name__
        self.pool_size = _tuple(owner, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None \
            else _tuple(owner, "strides", strides, self.rank)
        self.padding = _padding(owner, padding, ("valid", "same"))
        self.channels_first = _channels_first(owner, data_format)

    def __call__(self, x: Any) -> Tensor:
        """Pool ``x``. Usage: ``y = layer(x)``"""
        x = _as_input(x, dtypes.float32)
        rank = self.rank + 2
        if len(x.shape) != rank:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: expected input of rank "
                             f"{rank}, got shape {shapes.fmt(x.shape)}")
        if self.rank == 1:
            fmt = "NCW" if self.channels_first else "NWC"
        else:
            fmt = "NCHW" if self.channels_first else "NHWC"
        return self.pool(x, self.pool_size, self.strides, self.padding.upper(), fmt)

    def __repr__(self) -> str:
        return (f"<aj.layers.{type(self).__name__} {self.name!r} pool_size={self.pool_size} "
                f"strides={self.strides}>")


class MaxPool2D(_Pool):
    """Max pooling over [batch, height, width, channels]; ``strides`` default to
    ``pool_size``.

    Usage: ``y = aj.layers.MaxPool2D(pool_size=2)(x)``   # [b, 28, 28, c] -> [b, 14, 14, c]
    """

    pool = staticmethod(conv.max_pool2d)


class AveragePooling2D(_Pool):
    """Average pooling over [batch, height, width, channels] ("same" counts only the real
    elements of each window, as Keras).

    Usage: ``y = aj.layers.AveragePooling2D(2)(x)``
    """

    keras_name = "average_pooling2d"
    pool = staticmethod(conv.avg_pool2d)


class MaxPool1D(_Pool):
    """Max pooling over [batch, steps, channels]. Usage: ``aj.layers.MaxPool1D(2)(x)``"""

    rank = 1
    keras_name = "max_pooling1d"
    pool = staticmethod(conv.max_pool1d)


class AveragePooling1D(_Pool):
    """Average pooling over [batch, steps, channels].

    Usage: ``aj.layers.AveragePooling1D(2)(x)``
    """

    rank = 1
    keras_name = "average_pooling1d"
    pool = staticmethod(conv.avg_pool1d)


@accepts_keras_tensors
class _GlobalPool(Module):
    rank = 2
    reduce = staticmethod(reduce_mean)

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 name: str | None = None):
        super().__init__(name=name)
        self.channels_first = _channels_first(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)

    def __call__(self, x: Any) -> Tensor:
        """Pool ``x`` over its spatial dims. Usage: ``y = layer(x)``"""
        x = _as_input(x, dtypes.float32)
        rank = self.rank + 2
        if len(x.shape) != rank:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: expected input of rank "
                             f"{rank}, got shape {shapes.fmt(x.shape)}")
        first = 2 if self.channels_first else 1
        return type(self).reduce(x, axis=tuple(range(first, first + self.rank)),
                                 keepdims=self.keepdims)


class GlobalAveragePooling2D(_GlobalPool):
    """The mean over height and width: [batch, h, w, c] -> [batch, c] (``keepdims=True``:
    [batch, 1, 1, c]).

    Usage: ``features = aj.layers.GlobalAveragePooling2D()(x)``
    """

    keras_name = "global_average_pooling2d"


class GlobalMaxPooling2D(_GlobalPool):
    """The maximum over height and width: [batch, h, w, c] -> [batch, c].

    Usage: ``features = aj.layers.GlobalMaxPooling2D()(x)``
    """

    keras_name = "global_max_pooling2d"
    reduce = staticmethod(reduce_max)


@accepts_keras_tensors
class GlobalAveragePooling1D(_GlobalPool):
    """The mean over steps: [batch, steps, c] -> [batch, c]; with ``mask`` [batch, steps] the
    mean of the unmasked steps (Keras's).

    Usage: ``aj.layers.GlobalAveragePooling1D()(x)``
    """

    keras_name = "global_average_pooling1d"
    rank = 1
    supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        """None: the pooling consumes the mask (Keras's). Usage: ``layer.compute_mask(x, m)``"""
        return None

    def __call__(self, x: Any, mask: Any = None) -> Tensor:
        """The mean over steps; with ``mask`` [batch, steps] (True: a real step) over the
        unmasked steps only, as Keras (a row with none gives NaN, as Keras's 0 / 0).
        Usage: ``y = layer(x, mask=m)``"""
        if mask is None:
            return _GlobalPool.__call__(self, x)
        x = _as_input(x, dtypes.float32)
        if len(x.shape) != 3:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: expected input of rank "
                             f"3, got shape {shapes.fmt(x.shape)}")
        weights = expand_dims(cast(as_mask(f"{type(self).__name__} {self.name!r}", mask),
                                   x.dtype), 1 if self.channels_first else 2)
        axis = 2 if self.channels_first else 1
        return (reduce_sum(x * weights, axis=axis, keepdims=self.keepdims)
                / reduce_sum(weights, axis=axis, keepdims=self.keepdims))


class GlobalMaxPooling1D(_GlobalPool):
    """The maximum over steps: [batch, steps, c] -> [batch, c]. As Keras 3, it takes no mask
    (a ``Sequential``'s mask ends here, Note [Masks] in layers/masking.py).

    Usage: ``aj.layers.GlobalMaxPooling1D()(x)``
    """

    keras_name = "global_max_pooling1d"
    rank = 1
    reduce = staticmethod(reduce_max)


# Keras's other spellings of the same layers
MaxPooling2D = MaxPool2D
MaxPooling1D = MaxPool1D
AvgPool2D = AveragePooling2D
AvgPool1D = AveragePooling1D
Convolution2D = Conv2D
Convolution2DTranspose = Conv2DTranspose
Convolution1D = Conv1D

__all__ = ["AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "Conv1D",
           "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D",
           "Convolution2DTranspose", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "MaxPooling1D",
           "MaxPooling2D", "UpSampling2D", "ZeroPadding2D", "DepthwiseConv2D", "SeparableConv2D"]
