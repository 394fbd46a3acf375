"""``aj.image``: image ops on ``[batch, height, width, channels]`` (or one ``[h, w, c]``
image), as ``tf.image``.

Note [Resizing as products]: ``resize`` multiplies by two constant interpolation matrices,
``R_h`` ``[new_h, h]`` and ``R_w`` ``[new_w, w]`` (one ``einsum`` each), built on the host from
the sizes alone. Each row holds the weights TF2 gives one output row or column: "bilinear"
samples at ``(i + 0.5) * in / out - 0.5`` (half-pixel centers, clamped to the edges) between
its two neighbours; "nearest" takes ``floor((i + 0.5) * in / out)``; "area" averages the input
cells each output cell covers (fractions at the borders). So resizing is linear in the image,
differentiates with no op of its own, and traces like any product; the sizes must be known
while tracing (a ``None`` height or width is an error).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops import shapes
from autojit.ops.array import concat, constant, identity, pad, transpose
from autojit.ops.core import as_operand, bind
from autojit.ops.dropout import DROPOUT_MASK
from autojit.ops.einsum import einsum
from autojit.ops.extra_array import reverse
from autojit.ops.math import (add, cast, clip_by_value, floordiv, greater, maximum,
                              multiply, sqrt, subtract, where)
from autojit.ops.reduce import reduce_mean
from autojit.tensor import Tensor

_METHODS = ("bilinear", "nearest", "area")


def _images(name: str, images: Any) -> tuple[Tensor, bool]:
    """``images`` as a 4-D tensor, and whether it was one 3-D image."""
    x = images if isinstance(images, Tensor) else as_operand(images)
    if len(x.shape) not in (3, 4):
        raise ShapeError(f"image.{name}: expected images [batch, height, width, channels] or "
                         f"one image [height, width, channels], got shape {shapes.fmt(x.shape)}")
    if len(x.shape) == 3:
        from autojit.ops.array import expand_dims

        return expand_dims(x, 0), True
    return x, False


def _back(x: Tensor, single: bool) -> Tensor:
    from autojit.ops.array import squeeze

    return squeeze(x, 0) if single else x


def _weights(n_in: int, n_out: int, method: str) -> np.ndarray:
    """The ``[n_out, n_in]`` interpolation matrix (Note [Resizing as products])."""
    scale = n_in / n_out
    out = np.zeros((n_out, n_in))
    for i in range(n_out):
        if method == "nearest":
            out[i, min(int(math.floor((i + 0.5) * scale)), n_in - 1)] = 1.0
        elif method == "bilinear":
            src = min(max((i + 0.5) * scale - 0.5, 0.0), n_in - 1)
            low = int(math.floor(src))
            high = min(low + 1, n_in - 1)
            frac = src - low
            out[i, low] += 1.0 - frac
            out[i, high] += frac
        else:  # area: the input cells [i * scale, (i + 1) * scale) covers, by overlap
            start, end = i * scale, (i + 1) * scale
            for j in range(int(math.floor(start)), min(int(math.ceil(end)), n_in)):
                out[i, j] = min(end, j + 1) - max(start, j)
            out[i] /= out[i].sum()
    return out


def resize(images: Any, size: Any, method: str = "bilinear", preserve_aspect_ratio: bool = False,
           antialias: bool = False, name: str | None = None) -> Tensor:
    """Images resized to ``size`` ``(new_height, new_width)`` by ``method`` ("bilinear",
    "nearest" or "area"), as TF2's ``tf.image.resize`` (Note [Resizing as products]).
    Float images keep their dtype (TF returns float32 for float64 too); integer ones become
    float32, except with "nearest", as TF.

    Usage: ``small = aj.image.resize(images, (14, 14))``
    """
    x, single = _images("resize", images)
    if method not in _METHODS:
        raise InvalidArgumentError(f"image.resize: method must be one of {list(_METHODS)}, "
                                   f"got {method!r}")
    if preserve_aspect_ratio or antialias:
        raise InvalidArgumentError("image.resize: preserve_aspect_ratio and antialias are not "
                                   "implemented")
    new = tuple(int(d) for d in size)
    if len(new) != 2 or min(new) < 1:
        raise InvalidArgumentError(f"image.resize: size must be (new_height, new_width) of "
                                   f"positive ints, got {size!r}")
    h, w = x.shape[1:3]
    if h is None or w is None:
        raise ShapeError(f"image.resize: the height and width must be known, got shape "
                         f"{shapes.fmt(x.shape)}")
    if not dtypes.is_floating(x.dtype) and method != "nearest":
        x = cast(x, dtypes.float32)
    rows = constant(_weights(h, new[0], method), dtype=x.dtype)
    cols = constant(_weights(w, new[1], method), dtype=x.dtype)
    out = einsum("pw,bowc->bopc", cols, einsum("oh,bhwc->bowc", rows, x))
    return _back(out, single)


def flip_left_right(image: Any) -> Tensor:
    """Each image mirrored left to right. Usage: ``aj.image.flip_left_right(images)``"""
    x, single = _images("flip_left_right", image)
    return _back(reverse(x, [2]), single)


def flip_up_down(image: Any) -> Tensor:
    """Each image mirrored top to bottom. Usage: ``aj.image.flip_up_down(images)``"""
    x, single = _images("flip_up_down", image)
    return _back(reverse(x, [1]), single)


def _random_flip(name: str, image: Any, axis: int, seed: int | None) -> Tensor:
    x, single = _images(name, image)
    # one coin per image, for any batch size: dropout's mask of shape [batch, 1, 1, 1]
    source = x if dtypes.is_floating(x.dtype) else cast(x, dtypes.float32)
    coin = bind(DROPOUT_MASK, source, rate=0.5, noise_shape=(None, 1, 1, 1),
                seed=None if seed is None else int(seed))
    return _back(where(greater(coin, 0.0), reverse(x, [axis]), x), single)


def random_flip_left_right(image: Any, seed: int | None = None) -> Tensor:
    """Each image mirrored left to right with probability 1/2 (a new draw per call).

    Usage: ``images = aj.image.random_flip_left_right(images)``
    """
    return _random_flip("random_flip_left_right", image, 2, seed)


def random_flip_up_down(image: Any, seed: int | None = None) -> Tensor:
    """Each image mirrored top to bottom with probability 1/2 (a new draw per call).

    Usage: ``images = aj.image.random_flip_up_down(images)``
    """
    return _random_flip("random_flip_up_down", image, 1, seed)


def rot90(image: Any, k: int = 1, name: str | None = None) -> Tensor:
    """Each image rotated by ``k`` quarter turns counter-clockwise (as ``np.rot90``).

    Usage: ``aj.image.rot90(images, k=1)``
    """
    x, single = _images("rot90", image)
    k = int(k) % 4
    for _ in range(k):
        x = reverse(transpose(x, [0, 2, 1, 3]), [1])
    return _back(x, single)


def crop_to_bounding_box(image: Any, offset_height: int, offset_width: int,
                         target_height: int, target_width: int) -> Tensor:
    """The ``[target_height, target_width]`` window of each image starting at
    ``(offset_height, offset_width)``. Usage: ``aj.image.crop_to_bounding_box(x, 2, 2, 24, 24)``
    """
    x, single = _images("crop_to_bounding_box", image)
    h, w = x.shape[1:3]
    top, left, th, tw = int(offset_height), int(offset_width), int(target_height), \
        int(target_width)
    if min(top, left) < 0 or min(th, tw) < 1 or (h is not None and top + th > h) or (
            w is not None and left + tw > w):
        raise InvalidArgumentError(f"image.crop_to_bounding_box: the box ({top}, {left}) + "
                                   f"({th}, {tw}) does not fit images of height {h} and width "
                                   f"{w}")
    return _back(x[:, top:top + th, left:left + tw, :], single)


def pad_to_bounding_box(image: Any, offset_height: int, offset_width: int,
                        target_height: int, target_width: int) -> Tensor:
    """Each image placed at ``(offset_height, offset_width)`` in a zero image of
    ``[target_height, target_width]``. Usage: ``aj.image.pad_to_bounding_box(x, 2, 2, 32, 32)``
    """
    x, single = _images("pad_to_bounding_box", image)
    h, w = x.shape[1:3]
    top, left = int(offset_height), int(offset_width)
    bottom, right = int(target_height) - top - (h or 0), int(target_width) - left - (w or 0)
    if None in (h, w) or min(top, left, bottom, right) < 0:
        raise InvalidArgumentError(f"image.pad_to_bounding_box: images of height {h} and width "
                                   f"{w} at ({top}, {left}) do not fit in ({target_height}, "
                                   f"{target_width})")
    return _back(pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)]), single)


def central_crop(image: Any, central_fraction: float) -> Tensor:
    """The central ``central_fraction`` of each image's height and width.

    Usage: ``aj.image.central_crop(images, 0.5)``
    """
    if not 0 < central_fraction <= 1:
        raise InvalidArgumentError(f"image.central_crop: central_fraction must be in (0, 1], "
                                   f"got {central_fraction!r}")
    x, single = _images("central_crop", image)
    h, w = x.shape[1:3]
    if h is None or w is None:
        raise ShapeError(f"image.central_crop: the height and width must be known, got shape "
                         f"{shapes.fmt(x.shape)}")
    top = int((h - h * central_fraction) / 2)
    left = int((w - w * central_fraction) / 2)
    return _back(x[:, top:h - top, left:w - left, :], single)


def convert_image_dtype(image: Any, dtype: Any, saturate: bool = False,
                        name: str | None = None) -> Tensor:
    """``image`` in ``dtype``, rescaled as ``tf.image.convert_image_dtype``: an integer image
    spans ``[0, MAX]`` of its dtype, a floating one ``[0, 1]``. Integers to floats multiply by
    ``1 / MAX``, floats to integers by ``MAX + 0.5`` and truncate, integers to integers
    rescale by a power of two, floats to floats cast. With ``saturate`` a value outside the
    integer dtype's range is clipped to it first; without, it wraps (as TF).

    Usage: ``x = aj.image.convert_image_dtype(jpeg, aj.float32)``   # uint8 0..255 -> 0..1
    """
    x = as_operand(image)
    src, dst = x.dtype, dtypes.as_dtype(dtype)
    if not (_numeric(src) and _numeric(dst)):
        raise DTypeError(f"image.convert_image_dtype: expected an integer or floating image "
                         f"and dtype, got {src.name} to {dst.name}")
    if src == dst:
        return identity(x)
    if dtypes.is_floating(src) and dtypes.is_floating(dst):
        return cast(x, dst)
    if dtypes.is_floating(dst):
        return multiply(cast(x, dst), 1.0 / np.iinfo(src).max)
    if dtypes.is_floating(src):  # the 0.5 makes 1.0 truncate to MAX, not to MAX - 1
        return _integer(multiply(x, np.iinfo(dst).max + 0.5), dst, saturate)
    in_max, out_max = np.iinfo(src).max, np.iinfo(dst).max
    if in_max > out_max:  # divide first: MAX lands just under the new MAX + 1
        return _integer(floordiv(x, (in_max + 1) // (out_max + 1)), dst, saturate)
    return multiply(_integer(x, dst, saturate), (out_max + 1) // (in_max + 1))


def _numeric(dtype: Any) -> bool:
    return dtypes.is_floating(dtype) or dtypes.is_integer(dtype)


def _integer(x: Tensor, dtype: Any, saturate: bool) -> Tensor:
    """``cast(x, dtype)``; with ``saturate``, ``x`` is clipped first to the part of
    ``dtype``'s range that ``x``'s own dtype holds (a float bound that would round up past
    the integer MAX is the float just below)."""
    if saturate:
        low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
        if dtypes.is_integer(x.dtype):
            own = np.iinfo(x.dtype)
            low, high = x.dtype.type(max(low, own.min)), x.dtype.type(min(high, own.max))
        else:
            low, high = x.dtype.type(low), x.dtype.type(high)
            if high > np.iinfo(dtype).max:  # also an inf: float16 cannot hold int32's MAX
                high = np.nextafter(high, x.dtype.type(0))
        x = clip_by_value(x, low, high)
    return cast(x, dtype)


def rgb_to_grayscale(images: Any, name: str | None = None) -> Tensor:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` as one channel, in the images' dtype, as TF:
    integer (and float16) images are weighed in float32 through ``convert_image_dtype``, so
    uint8 in gives uint8 out. (TF weighs float64 images in float32 too; here they keep their
    precision.)

    Usage: ``gray = aj.image.rgb_to_grayscale(images)``   # [..., 3] -> [..., 1]
    """
    x = as_operand(images)
    if not x.shape or x.shape[-1] != 3:
        raise ShapeError(f"image.rgb_to_grayscale: expected 3 channels last, got shape "
                         f"{shapes.fmt(x.shape)}")
    if not _numeric(x.dtype):
        raise DTypeError(f"image.rgb_to_grayscale: expected an integer or floating image, got "
                         f"{x.dtype.name}")
    work = dtypes.float64 if x.dtype == dtypes.float64 else dtypes.float32
    weights = constant(np.array([[0.2989], [0.587], [0.114]]), dtype=work)
    gray = einsum("...c,cd->...d", convert_image_dtype(x, work), weights)
    return convert_image_dtype(gray, x.dtype)


def grayscale_to_rgb(images: Any, name: str | None = None) -> Tensor:
    """One channel repeated as three. Usage: ``aj.image.grayscale_to_rgb(gray)``"""
    x = as_operand(images)
    if not x.shape or x.shape[-1] != 1:
        raise ShapeError(f"image.grayscale_to_rgb: expected 1 channel last, got shape "
                         f"{shapes.fmt(x.shape)}")
    return concat([x, x, x], axis=-1)


def adjust_brightness(image: Any, delta: Any) -> Tensor:
    """``image + delta``. Usage: ``aj.image.adjust_brightness(images, 0.1)``"""
    return add(as_operand(image), delta)


def adjust_contrast(images: Any, contrast_factor: Any) -> Tensor:
    """Each channel's distance from its per-image mean scaled by ``contrast_factor``.

    Usage: ``aj.image.adjust_contrast(images, 2.0)``
    """
    x, single = _images("adjust_contrast", images)
    mean = reduce_mean(x, axis=(1, 2), keepdims=True)
    return _back(add(mean, multiply(subtract(x, mean), contrast_factor)), single)


def per_image_standardization(image: Any) -> Tensor:
    """Each image scaled to mean 0 and standard deviation 1 (the deviation at least
    ``1 / sqrt(number of values)``, as TF). Usage: ``aj.image.per_image_standardization(x)``
    """
    x, single = _images("per_image_standardization", image)
    if not dtypes.is_floating(x.dtype):
        x = cast(x, dtypes.float32)
    n = math.prod(d for d in x.shape[1:] if d is not None)
    mean = reduce_mean(x, axis=(1, 2, 3), keepdims=True)
    centered = subtract(x, mean)
    std = sqrt(reduce_mean(multiply(centered, centered), axis=(1, 2, 3), keepdims=True))
    return _back(centered / maximum(std, 1.0 / math.sqrt(n)), single)


__all__ = ["adjust_brightness", "adjust_contrast", "central_crop", "convert_image_dtype",
           "crop_to_bounding_box", "flip_left_right", "flip_up_down", "grayscale_to_rgb",
           "pad_to_bounding_box", "per_image_standardization", "random_flip_left_right",
           "random_flip_up_down", "resize", "rgb_to_grayscale", "rot90"]
