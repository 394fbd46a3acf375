"""``aj.image`` against NumPy: ``resize`` against per-pixel loops written here from TF2's
sampling rules (bilinear with half-pixel centers, nearest, area), its gradient against
central differences, inside a function; flips, rotations, crops, pads and color ops against
their NumPy forms; random flips; the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError
from tests.numeric import numeric_grad

RNG = np.random.default_rng(31)


def _bilinear_ref(img, new_h, new_w):
    b, h, w, c = img.shape
    out = np.zeros((b, new_h, new_w, c))
    for i in range(new_h):
        y = min(max((i + 0.5) * h / new_h - 0.5, 0.0), h - 1)
        y0 = int(math.floor(y))
        y1, fy = min(y0 + 1, h - 1), y - y0
        for j in range(new_w):
            x = min(max((j + 0.5) * w / new_w - 0.5, 0.0), w - 1)
            x0 = int(math.floor(x))
            x1, fx = min(x0 + 1, w - 1), x - x0
            top = img[:, y0, x0] * (1 - fx) + img[:, y0, x1] * fx
            bottom = img[:, y1, x0] * (1 - fx) + img[:, y1, x1] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out


def _nearest_ref(img, new_h, new_w):
    _, h, w, _ = img.shape
    rows = [min(int((i + 0.5) * h / new_h), h - 1) for i in range(new_h)]
    cols = [min(int((j + 0.5) * w / new_w), w - 1) for j in range(new_w)]
    return img[:, rows][:, :, cols]


def _area_ref(img, new_h, new_w):
    """Each output cell: the mean of the input over its box, by area of overlap."""
    b, h, w, c = img.shape
    out = np.zeros((b, new_h, new_w, c))
    sh, sw = h / new_h, w / new_w
    for i in range(new_h):
        for j in range(new_w):
            total, area = 0.0, 0.0
            for y in range(h):
                dy = max(0.0, min((i + 1) * sh, y + 1) - max(i * sh, y))
                for x in range(w):
                    dx = max(0.0, min((j + 1) * sw, x + 1) - max(j * sw, x))
                    total = total + img[:, y, x] * dy * dx
                    area += dy * dx
            out[:, i, j] = total / area
    return out


REFS = {"bilinear": _bilinear_ref, "nearest": _nearest_ref, "area": _area_ref}


@pytest.mark.parametrize("method", sorted(REFS))
@pytest.mark.parametrize("size", [(8, 10), (3, 2), (5, 7), (4, 6)])
def test_resize_matches_tf2_sampling(method, size):
    img = RNG.normal(size=(2, 4, 6, 3))
    got = aj.image.resize(aj.constant(img), size, method=method)
    assert got.shape == (2, *size, 3) and got.dtype == aj.float64
    np.testing.assert_allclose(got.numpy(), REFS[method](img, *size), rtol=1e-12, atol=1e-12)
    single = aj.image.resize(aj.constant(img[0]), size, method=method)
    np.testing.assert_allclose(single.numpy(), got.numpy()[0])


def test_resize_differentiates_and_traces():
    img = RNG.normal(size=(1, 3, 4, 2))
    weights = RNG.normal(size=(1, 5, 7, 2))
    x = aj.constant(img)
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(aj.image.resize(x, (5, 7)) * weights)
    want = numeric_grad(lambda a: float(np.sum(_bilinear_ref(a, 5, 7) * weights)), img)
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), want, rtol=1e-6, atol=1e-9)
    traced = aj.function(lambda v: aj.image.resize(v, (5, 7)),
                         input_signature=[aj.TensorSpec([None, 3, 4, 2], aj.float64)])
    np.testing.assert_allclose(traced(x).numpy(), _bilinear_ref(img, 5, 7), rtol=1e-12)
    ints = aj.constant(RNG.integers(0, 255, (1, 2, 2, 1)).astype(np.uint8))
    assert aj.image.resize(ints, (4, 4)).dtype == aj.float32
    assert aj.image.resize(ints, (4, 4), method="nearest").dtype == aj.uint8


def test_flips_rotations_crops_and_pads_match_numpy():
    img = RNG.normal(size=(2, 4, 5, 3))
    x = aj.constant(img)
    np.testing.assert_array_equal(aj.image.flip_left_right(x).numpy(), img[:, :, ::-1])
    np.testing.assert_array_equal(aj.image.flip_up_down(x).numpy(), img[:, ::-1])
    for k in range(5):
        np.testing.assert_array_equal(aj.image.rot90(x, k).numpy(),
                                      np.rot90(img, k, axes=(1, 2)))
    np.testing.assert_array_equal(aj.image.crop_to_bounding_box(x, 1, 2, 2, 3).numpy(),
                                  img[:, 1:3, 2:5])
    np.testing.assert_array_equal(aj.image.pad_to_bounding_box(x, 1, 2, 7, 8).numpy(),
                                  np.pad(img, [(0, 0), (1, 2), (2, 1), (0, 0)]))
    np.testing.assert_array_equal(aj.image.central_crop(x, 0.5).numpy(), img[:, 1:3, 1:4])
    np.testing.assert_array_equal(aj.image.flip_left_right(aj.constant(img[0])).numpy(),
                                  img[0, :, ::-1])


def test_color_ops_match_numpy():
    img = RNG.uniform(size=(2, 3, 4, 3))
    x = aj.constant(img)
    gray = img @ np.array([0.2989, 0.587, 0.114])
    np.testing.assert_allclose(aj.image.rgb_to_grayscale(x).numpy(), gray[..., None])
    np.testing.assert_array_equal(aj.image.grayscale_to_rgb(aj.constant(gray[..., None])).numpy(),
                                  np.repeat(gray[..., None], 3, -1))
    np.testing.assert_allclose(aj.image.adjust_brightness(x, 0.25).numpy(), img + 0.25)
    mean = img.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(aj.image.adjust_contrast(x, 1.5).numpy(),
                               mean + (img - mean) * 1.5)
    flat = img.reshape(2, -1)
    std = np.maximum(flat.std(axis=1), 1 / math.sqrt(flat.shape[1]))
    want = (flat - flat.mean(axis=1, keepdims=True)) / std[:, None]
    np.testing.assert_allclose(aj.image.per_image_standardization(x).numpy(),
                               want.reshape(img.shape), rtol=1e-10)


def test_random_flips_flip_whole_images_repeatably_for_any_batch():
    img = RNG.normal(size=(64, 2, 3, 1))
    aj.random.set_seed(4)
    out = aj.image.random_flip_left_right(aj.constant(img)).numpy()
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, img)]
    kept = [np.array_equal(o, i) for o, i in zip(out, img)]
    assert all(f or k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 54
    aj.random.set_seed(4)
    np.testing.assert_array_equal(aj.image.random_flip_left_right(aj.constant(img)).numpy(), out)
    traced = aj.function(lambda v: aj.image.random_flip_up_down(v),
                         input_signature=[aj.TensorSpec([None, 2, 3, 1], aj.float64)])
    first = traced(aj.constant(img)).numpy()
    assert first.shape == img.shape and not np.array_equal(first, traced(aj.constant(img)).numpy())


def test_image_errors():
    x = aj.ones((2, 4, 4, 3))
    with pytest.raises(InvalidArgumentError, match="method must be one of"):
        aj.image.resize(x, (2, 2), method="bicubic")
    with pytest.raises(InvalidArgumentError, match="size must be \\(new_height, new_width\\)"):
        aj.image.resize(x, (0, 2))
    with pytest.raises(ShapeError, match=r"expected images \[batch, height, width, channels\]"):
        aj.image.resize(aj.ones((4, 4)), (2, 2))
    with pytest.raises(InvalidArgumentError, match="does not fit images of height 4"):
        aj.image.crop_to_bounding_box(x, 2, 0, 3, 2)
    with pytest.raises(InvalidArgumentError, match="do not fit in"):
        aj.image.pad_to_bounding_box(x, 1, 0, 4, 4)
    with pytest.raises(InvalidArgumentError, match="preserve_aspect_ratio and antialias are "
                                                   "not implemented"):
        aj.image.resize(x, (2, 2), antialias=True)
    with pytest.raises(InvalidArgumentError, match=r"central_fraction must be in \(0, 1\], "
                                                   "got 1.5"):
        aj.image.central_crop(x, 1.5)
    with pytest.raises(ShapeError, match="expected 3 channels last"):
        aj.image.rgb_to_grayscale(aj.ones((2, 2, 4)))
    traced = aj.function(lambda v: aj.image.resize(v, (2, 2)),
                         input_signature=[aj.TensorSpec([1, None, 4, 3])])
    with pytest.raises(ShapeError, match="the height and width must be known"):
        traced(x[:1])


def _tf_convert_ref(img, dtype):
    """TF's convert_image_dtype rules in NumPy, for the cases below."""
    src, dst = img.dtype, np.dtype(dtype)
    if src.kind in "ui" and dst.kind == "f":
        return (img.astype(dst) * dst.type(1.0 / np.iinfo(src).max)).astype(dst)
    if src.kind == "f" and dst.kind in "ui":
        return (img * src.type(np.iinfo(dst).max + 0.5)).astype(dst)
    if src.kind in "ui" and dst.kind in "ui":
        s_in, s_out = np.iinfo(src).max, np.iinfo(dst).max
        if s_in > s_out:
            return (img // ((s_in + 1) // (s_out + 1))).astype(dst)
        return img.astype(dst) * dst.type((s_out + 1) // (s_in + 1))
    return img.astype(dst)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32])
def test_rgb_to_grayscale_of_integer_images_converts_as_tf(dtype):
    img = RNG.integers(0, np.iinfo(dtype).max, size=(2, 3, 4, 3), endpoint=True).astype(dtype)
    img[0, 0, 0], img[0, 0, 1] = np.iinfo(dtype).max, 0  # white and black
    gray = _tf_convert_ref(img, np.float32) @ np.array([0.2989, 0.587, 0.114], np.float32)
    want = _tf_convert_ref(gray[..., None].astype(np.float32), dtype)
    got = aj.image.rgb_to_grayscale(img)
    assert got.dtype == dtype and got.shape == (2, 3, 4, 1)
    # rtol: float32 sums in another order may differ by an ulp (64 at int32's scale); for
    # uint8 and int16 it still asks for equal values
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=0)


def test_rgb_to_grayscale_of_a_decoded_jpeg_pixel():
    img = np.array([[[0, 10, 20], [200, 100, 50]]], np.uint8)  # the values TF gives
    np.testing.assert_array_equal(aj.image.rgb_to_grayscale(img).numpy(), [[[8], [124]]])


def test_rgb_to_grayscale_of_float16_goes_through_float32():
    img = RNG.uniform(size=(3, 4, 3)).astype(np.float16)
    gray = img.astype(np.float32) @ np.array([0.2989, 0.587, 0.114], np.float32)
    got = aj.image.rgb_to_grayscale(aj.constant(img))
    assert got.dtype == aj.float16
    np.testing.assert_array_equal(got.numpy(), gray[..., None].astype(np.float16))


@pytest.mark.parametrize("src, dst", [(np.uint8, np.float32), (np.uint8, np.float64),
                                      (np.float32, np.uint8), (np.float64, np.int16),
                                      (np.uint8, np.int32), (np.int32, np.uint8),
                                      (np.int16, np.int16), (np.float64, np.float32)])
def test_convert_image_dtype_matches_tf_rules(src, dst):
    if np.dtype(src).kind == "f":
        img = RNG.uniform(size=(2, 3, 3)).astype(src)
    else:
        img = RNG.integers(0, np.iinfo(src).max, size=(2, 3, 3), endpoint=True).astype(src)
    got = aj.image.convert_image_dtype(aj.constant(img), dst)
    assert got.dtype == dst
    np.testing.assert_allclose(got.numpy(), _tf_convert_ref(img, dst), rtol=1e-7)


def test_convert_image_dtype_saturates_when_asked():
    img = aj.constant(np.array([-0.5, 0.5, 1.5], np.float32))
    np.testing.assert_array_equal(
        aj.image.convert_image_dtype(img, aj.uint8, saturate=True).numpy(), [0, 127, 255])
    wide = aj.constant(np.array([0, 70000, -5], np.int32))
    np.testing.assert_array_equal(  # int32 -> int16 divides by 2**16, then clips
        aj.image.convert_image_dtype(wide, aj.int16, saturate=True).numpy(), [0, 1, -1])


def test_convert_image_dtype_of_bool_is_a_clear_error():
    with pytest.raises(aj.errors.DTypeError, match="image.convert_image_dtype: expected an "
                       "integer or floating image and dtype, got bool to float32"):
        aj.image.convert_image_dtype(aj.constant([True, False]), aj.float32)
    with pytest.raises(aj.errors.DTypeError, match="image.rgb_to_grayscale: expected an "
                       "integer or floating image, got bool"):
        aj.image.rgb_to_grayscale(aj.constant(np.ones((2, 2, 3), bool)))
