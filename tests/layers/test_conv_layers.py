"""Tests for the convolution and pooling layers (``autojit/layers/conv.py``): shapes,
parameter counts, values against the ``aj.nn`` ops and NumPy, lazy building inside
``@aj.function``, and the error messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(3)


def _images(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("kwargs,out_shape", [
    ({"filters": 8, "kernel_size": 3}, (2, 8, 10, 8)),
    ({"filters": 8, "kernel_size": 3, "padding": "same"}, (2, 10, 12, 8)),
    ({"filters": 4, "kernel_size": (3, 1), "strides": 2, "padding": "same"}, (2, 5, 6, 4)),
    ({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (2, 6, 8, 4)),
])
def test_conv2d_shapes_and_parameter_count(kwargs, out_shape):
    layer = aj.layers.Conv2D(**kwargs)
    y = layer(_images(2, 10, 12, 3))
    assert y.shape == out_shape and y.dtype == aj.float32
    kh, kw = layer.kernel_size
    assert layer.kernel.shape == (kh, kw, 3, kwargs["filters"])
    assert layer.count_params() == kh * kw * 3 * kwargs["filters"] + kwargs["filters"]
    assert sum(v.numpy().size for v in layer.trainable_variables) == layer.count_params()


def test_conv2d_values_match_the_op_plus_bias_and_activation():
    layer = aj.layers.Conv2D(5, 3, padding="same", activation="relu", name="c1")
    x = _images(2, 6, 6, 3)
    layer(x)
    layer.bias.assign(np.arange(5, dtype=np.float32) - 2)
    expected = np.maximum(aj.nn.conv2d(x, layer.kernel, 1, "SAME").numpy()
                          + layer.bias.numpy(), 0)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)
    assert [v.name for v in layer.trainable_variables] == ["c1/bias:0", "c1/kernel:0"]


def test_keras_default_initializers():
    aj.random.set_seed(7)
    layer = aj.layers.Conv2D(64, 3)
    layer(_images(1, 5, 5, 32))
    kernel = layer.kernel.numpy()
    limit = math.sqrt(6.0 / (9 * 32 + 9 * 64))  # glorot_uniform over every window position
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / math.sqrt(3)) < 0.05 * limit
    np.testing.assert_array_equal(layer.bias.numpy(), 0.0)


def test_use_bias_false_and_channels_first():
    layer = aj.layers.Conv2D(4, 2, use_bias=False, data_format="channels_first")
    x = _images(2, 3, 5, 5)
    y = layer(x)
    assert layer.bias is None and layer.count_params() == 2 * 2 * 3 * 4
    nhwc = aj.nn.conv2d(np.transpose(x, (0, 2, 3, 1)), layer.kernel, 1, "VALID").numpy()
    np.testing.assert_allclose(y.numpy(), np.transpose(nhwc, (0, 3, 1, 2)), rtol=1e-5)


def test_conv1d_and_causal_padding():
    layer = aj.layers.Conv1D(3, 4, padding="causal", dilation_rate=2)
    x = _images(2, 9, 2)
    y = layer(x)
    assert y.shape == (2, 9, 3) and layer.count_params() == 4 * 2 * 3 + 3
    # output t only sees inputs <= t: changing the last step leaves earlier outputs unchanged
    x2 = x.copy()
    x2[:, -1] += 10.0
    np.testing.assert_array_equal(layer(x2).numpy()[:, :-1], y.numpy()[:, :-1])
    valid = aj.layers.Conv1D(3, 4, strides=2)
    assert valid(x).shape == (2, 3, 3)


def test_pooling_layers():
    x = _images(2, 7, 8, 3)
    assert aj.layers.MaxPool2D()(x).shape == (2, 3, 4, 3)
    assert aj.layers.MaxPooling2D is aj.layers.MaxPool2D
    np.testing.assert_array_equal(aj.layers.MaxPool2D(3, 2, "same")(x).numpy(),
                                  aj.nn.max_pool2d(x, 3, 2, "SAME").numpy())
    np.testing.assert_allclose(aj.layers.AveragePooling2D(2)(x).numpy(),
                               x[:, :6].reshape(2, 3, 2, 4, 2, 3).mean(axis=(2, 4)), rtol=1e-6)
    np.testing.assert_allclose(aj.layers.GlobalAveragePooling2D()(x).numpy(),
                               x.mean(axis=(1, 2)), rtol=1e-6)
    assert aj.layers.GlobalAveragePooling2D(keepdims=True)(x).shape == (2, 1, 1, 3)
    seq = x[:, 0]
    np.testing.assert_array_equal(aj.layers.MaxPool1D(2)(seq).numpy(),
                                  seq.reshape(2, 4, 2, 3).max(axis=2))
    assert aj.layers.AveragePooling1D(3, 1, "same")(seq).shape == (2, 8, 3)
    assert aj.keras.layers.Conv2D is aj.layers.Conv2D
    names = [aj.layers.AveragePooling2D().name, aj.layers.MaxPool1D().name,
             aj.layers.GlobalAveragePooling2D().name]
    for name, base in zip(names, ["average_pooling2d", "max_pooling1d",
                                  "global_average_pooling2d"]):
        assert re.fullmatch(rf"{base}(_\d+)?", name)  # Keras's default names, numbered


def test_lazy_build_inside_function_creates_variables_on_the_first_trace_only():
    conv = aj.layers.Conv2D(4, 3, padding="same", activation="relu")
    pool = aj.layers.MaxPool2D(2)
    head = aj.layers.GlobalAveragePooling2D()
    opt_vars = []

    @aj.function
    def step(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_sum(head(pool(conv(x))))
        grads = tape.gradient(loss, conv.trainable_variables)
        opt_vars.append(len(conv.trainable_variables))
        for v, g in zip(conv.trainable_variables, grads):
            v.assign_sub(0.1 * g)
        return loss

    x = _images(2, 6, 6, 3)
    assert conv.kernel is None
    step(x)
    kernel = conv.kernel
    assert kernel is not None and kernel.shape == (3, 3, 3, 4)
    before = conv.kernel.numpy().copy()
    step(x)  # replay: no new variables, the update runs again
    step(_images(5, 6, 6, 3))  # a new batch size retraces; the same variables
    assert conv.kernel is kernel and step.tracing_count == 2 and opt_vars == [2, 2]
    assert not np.allclose(conv.kernel.numpy(), before)


def test_gradients_flow_to_kernel_and_bias():
    layer = aj.layers.Conv2D(2, 2)
    x = aj.constant(_images(1, 3, 3, 1))
    with aj.GradientTape() as tape:
        y = aj.reduce_sum(layer(x))
    gk, gb = tape.gradient(y, [layer.kernel, layer.bias])
    np.testing.assert_allclose(gb.numpy(), [4.0, 4.0])  # 2x2 outputs per filter
    window_sums = [[x.numpy()[0, i:i + 2, j:j + 2, 0].sum() for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(gk.numpy()[:, :, 0, 0], window_sums, rtol=1e-6)


# ----------------------------------------------------------------------------- errors


def test_other_channel_count_after_build():
    layer = aj.layers.Conv2D(4, 3, name="c")
    layer(_images(1, 5, 5, 3))
    msg = ("Conv2D 'c': the layer was built for inputs with 3 channels, got 2 (input shape "
           "[1, 5, 5, 2]); use a new layer for other inputs")
    with pytest.raises(ShapeError, match=re.escape(msg)):
        layer(_images(1, 5, 5, 2))


def test_wrong_rank():
    with pytest.raises(ShapeError, match=re.escape(
            "Conv2D 'conv2d': expected input of rank 4 [batch, height, width, channels], got "
            "shape [5, 5, 3]")):
        aj.layers.Conv2D(4, 3, name="conv2d")(_images(5, 5, 3))
    with pytest.raises(ShapeError, match=re.escape(
            "Conv1D 'conv1d': expected input of rank 3 [batch, width, channels]")):
        aj.layers.Conv1D(4, 3, name="conv1d")(_images(1, 5, 5, 3))
    with pytest.raises(ShapeError, match=re.escape("MaxPool2D 'max_pooling2d': expected input of "
                                                   "rank 4, got shape [5, 3]")):
        aj.layers.MaxPool2D(name="max_pooling2d")(_images(5, 3))
    with pytest.raises(ShapeError, match="GlobalAveragePooling2D .*expected input of rank 4"):
        aj.layers.GlobalAveragePooling2D()(_images(5, 3))


def test_unknown_channels_cannot_build():
    layer = aj.layers.Conv2D(4, 3)
    fn = aj.function(layer, input_signature=[aj.TensorSpec([None, 5, 5, None], aj.float32)])
    with pytest.raises(ShapeError, match="the channel dim of the input must be known"):
        fn(_images(1, 5, 5, 3))


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Conv2D: expected padding to be one of 'valid', 'same', got 'full'")):
        aj.layers.Conv2D(4, 3, padding="full")
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Conv2D: expected kernel_size as an int or 2 ints, got (3, 3, 3)")):
        aj.layers.Conv2D(4, (3, 3, 3))
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Conv2D: expected filters to be positive ints, got 0")):
        aj.layers.Conv2D(0, 3)
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "MaxPool2D: expected data_format 'channels_last' or 'channels_first', got 'NHWC'")):
        aj.layers.MaxPool2D(data_format="NHWC")
    with pytest.raises(InvalidArgumentError, match="not built yet"):
        aj.layers.Conv2D(4, 3).count_params()


# ------------------------------------------------------------------------ transposed, upsampled


def _transpose_ref(x, kernel, bias, strides, padding):
    """Each input pixel adds ``x[n, i, j, c] * kernel[a, b, :, c]`` at ``(i*s + a, j*s + b)``;
    "same" keeps ``n * s`` rows from ``max(k - s, 0) // 2`` (the adjoint of conv2d SAME)."""
    n, h, w, _ = x.shape
    kh, kw, out_c, _ = kernel.shape
    (sh, sw) = strides
    full = np.zeros((n, max((h - 1) * sh + kh, h * sh), max((w - 1) * sw + kw, w * sw), out_c))
    for i in range(h):
        for j in range(w):
            full[:, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
                "nc,abdc->nabd", x[:, i, j], kernel)
    if padding == "same":
        top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
        full = full[:, top:top + h * sh, left:left + w * sw]
    else:
        full = full[:, :h * sh + max(kh - sh, 0), :w * sw + max(kw - sw, 0)]
    return full + bias


@pytest.mark.parametrize("kernel_size, strides", [(3, 2), (2, 2), (3, 1), ((2, 3), (3, 1)),
                                                  (1, 2)])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_transpose_matches_a_scatter_of_each_pixel(kernel_size, strides, padding):
    rng = np.random.default_rng(4)
    layer = aj.layers.Conv2DTranspose(4, kernel_size, strides=strides, padding=padding,
                                      bias_initializer="ones", dtype=aj.float64)
    x = rng.normal(size=(2, 3, 4, 5))
    y = layer(aj.constant(x))
    assert layer.kernel.shape[-2:] == (4, 5)  # [kh, kw, filters, in_channels], as Keras
    s = strides if isinstance(strides, tuple) else (strides, strides)
    want = _transpose_ref(x, layer.kernel.numpy(), layer.bias.numpy(), s, padding)
    assert y.shape == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)


def test_a_decoder_with_transposed_convolutions_trains_the_same_eagerly_and_as_a_graph():
    rng = np.random.default_rng(8)
    codes = aj.constant(rng.normal(size=(4, 6)).astype(np.float32))
    images = aj.constant(rng.normal(size=(4, 8, 8, 1)).astype(np.float32))
    losses = {}
    for mode in ("eager", "function"):
        aj.random.set_seed(1)
        decoder = aj.layers.Sequential([
            aj.layers.Dense(2 * 2 * 8, activation="relu"), aj.layers.Reshape((2, 2, 8)),
            aj.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            aj.layers.UpSampling2D(2), aj.layers.ZeroPadding2D(1),
            aj.layers.Conv2D(1, 3, padding="valid")])
        opt = aj.optimizers.Adam(1e-2)

        def step(z, target, decoder=decoder, opt=opt):
            with aj.GradientTape() as tape:
                loss = aj.reduce_mean(aj.square(decoder(z) - target))
            variables = decoder.trainable_variables
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        run = aj.function(step) if mode == "function" else step
        losses[mode] = [float(run(codes, images)) for _ in range(10)]
    np.testing.assert_allclose(losses["function"], losses["eager"], rtol=1e-5)
    assert losses["eager"][-1] < losses["eager"][0]


def test_upsampling_and_zero_padding_match_numpy():
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    np.testing.assert_array_equal(aj.layers.UpSampling2D((2, 3))(aj.constant(x)).numpy(),
                                  x.repeat(2, axis=1).repeat(3, axis=2))
    np.testing.assert_array_equal(
        aj.layers.UpSampling2D(2, data_format="channels_first")(aj.constant(x)).numpy(),
        x.repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_array_equal(
        aj.layers.ZeroPadding2D(((1, 2), (0, 3)))(aj.constant(x)).numpy(),
        np.pad(x, [(0, 0), (1, 2), (0, 3), (0, 0)]))
    np.testing.assert_array_equal(aj.layers.ZeroPadding2D(2)(aj.constant(x)).numpy(),
                                  np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)]))
    np.testing.assert_allclose(
        aj.layers.UpSampling2D(2, interpolation="bilinear")(aj.constant(x)).numpy(),
        aj.image.resize(aj.constant(x), (6, 8)).numpy())
    with pytest.raises(InvalidArgumentError, match="interpolation must be 'nearest' or"):
        aj.layers.UpSampling2D(2, interpolation="bicubic")
    with pytest.raises(InvalidArgumentError, match="expected padding as an int"):
        aj.layers.ZeroPadding2D(((1, -1), (0, 0)))
    with pytest.raises(ShapeError, match="UpSampling2D .* expected input of rank 4"):
        aj.layers.UpSampling2D(2)(aj.ones((3, 4)))
    traced = aj.function(lambda v: aj.layers.Conv2DTranspose(2, 2)(v),
                         input_signature=[aj.TensorSpec([None, None, 4, 3])])
    with pytest.raises(ShapeError, match="the height and width of the input must be known"):
        traced(aj.ones((1, 2, 4, 3)))


def _depthwise_ref(x, kernel, strides, padding):
    """NumPy depthwise convolution, NHWC, kernel [kh, kw, in, m] -> in * m channels (channel
    c * m + j from input channel c and filter j, as TF)."""
    kh, kw, cin, m = kernel.shape
    if padding == "same":
        oh, ow = -(-x.shape[1] // strides), -(-x.shape[2] // strides)
        ph = max((oh - 1) * strides + kh - x.shape[1], 0)
        pw = max((ow - 1) * strides + kw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    oh = (x.shape[1] - kh) // strides + 1
    ow = (x.shape[2] - kw) // strides + 1
    out = np.zeros((x.shape[0], oh, ow, cin * m))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * strides:i * strides + kh, j * strides:j * strides + kw, :]
            out[:, i, j, :] = np.einsum("bhwc,hwcm->bcm", patch, kernel).reshape(len(x), -1)
    return out


@pytest.mark.parametrize("strides, padding, multiplier", [(1, "same", 1), (2, "valid", 2),
                                                          (2, "same", 3)])
def test_depthwise_conv2d_matches_numpy(strides, padding, multiplier):
    x = np.random.RandomState(0).randn(2, 7, 6, 3)
    layer = aj.layers.DepthwiseConv2D(3, strides=strides, padding=padding,
                                      depth_multiplier=multiplier, activation="relu",
                                      dtype=aj.float64)
    layer(x)  # builds it
    layer.bias.assign(np.linspace(-1.0, 1.0, 3 * multiplier))
    y = layer(x).numpy()
    want = np.maximum(_depthwise_ref(x, layer.depthwise_kernel.numpy(), strides, padding)
                      + layer.bias.numpy(), 0.0)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-12)
    assert layer.count_params() == 3 * 3 * 3 * multiplier + 3 * multiplier


def test_separable_conv2d_is_depthwise_then_pointwise():
    x = np.random.RandomState(1).randn(2, 6, 6, 4)
    layer = aj.layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2,
                                      dtype=aj.float64)
    y = layer(x).numpy()
    depthwise = _depthwise_ref(x, layer.depthwise_kernel.numpy(), 1, "same")
    want = np.einsum("bhwc,cf->bhwf", depthwise, layer.pointwise_kernel.numpy()[0, 0])
    np.testing.assert_allclose(y, want + layer.bias.numpy(), rtol=1e-10, atol=1e-12)
    assert layer.count_params() == 3 * 3 * 4 * 2 + 8 * 5 + 5
    assert [v.name.split("/")[-1] for v in layer.trainable_weights] == [
        "bias:0", "depthwise_kernel:0", "pointwise_kernel:0"]


@pytest.mark.parametrize("make", [
    lambda: aj.layers.DepthwiseConv2D(2, strides=2, padding="same", depth_multiplier=2,
                                      dtype=aj.float64),
    lambda: aj.layers.SeparableConv2D(3, 2, dtype=aj.float64)])
def test_depthwise_and_separable_gradients_match_finite_differences(make):
    from tests.numeric import numeric_grad

    layer = make()
    x = np.random.RandomState(2).randn(1, 4, 4, 2)
    layer(x)
    kernel = layer.depthwise_kernel
    start = kernel.numpy().copy()

    def loss(k):
        kernel.assign(k)
        return float(aj.reduce_sum(aj.sin(layer(x))))

    with aj.GradientTape() as tape:
        y = aj.reduce_sum(aj.sin(layer(x)))
    got = tape.gradient(y, kernel).numpy()
    np.testing.assert_allclose(got, numeric_grad(loss, start), rtol=1e-6, atol=1e-9)


def test_depthwise_regularizer_and_channels_first():
    layer = aj.layers.DepthwiseConv2D(3, data_format="channels_first",
                                      depthwise_regularizer=aj.keras.regularizers.L2(0.5))
    x = np.random.RandomState(3).randn(2, 3, 5, 5).astype(np.float32)
    y = layer(x)
    assert y.shape == (2, 3, 3, 3)
    want = _depthwise_ref(np.transpose(x, (0, 2, 3, 1)), layer.kernel.numpy(), 1, "valid")
    np.testing.assert_allclose(y.numpy(), np.transpose(want, (0, 3, 1, 2)), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(float(layer.losses[0]),
                               0.5 * np.sum(layer.kernel.numpy() ** 2), rtol=1e-6)
