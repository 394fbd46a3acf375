"""Convolutions and pooling from the user's side: TF's padding and gradient conventions, eager
vs ``@aj.function``, and one test per error message. Values against nested-loop references
are in the op table (``op_table_conv.py``)."""

from __future__ import annotations

import re

import numpy as np
import op_table  # (first: it imports the theme files, op_table_conv among them)
import pytest
from op_table_conv import ENTRIES, avg_pool_ref, conv2d_ref, max_pool_ref

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError

RNG = np.random.default_rng(0)


def _x(*shape):
    return aj.constant(RNG.standard_normal(shape).astype(np.float32))


# ----------------------------------------------------------------------------- conventions


def test_same_padding_with_an_even_kernel_pads_more_after_as_tf():
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    y = aj.nn.conv2d(x, np.ones((2, 2, 1, 1)), strides=1, padding="SAME").numpy()[0, :, :, 0]
    # window (r, c) covers rows r..r+1 and columns c..c+1; the extra pad is at the end
    assert y[2, 2] == 8.0 and y[0, 0] == 0 + 1 + 3 + 4 and y[2, 0] == 6 + 7


def test_avg_pool_same_counts_only_real_elements():
    y = aj.nn.avg_pool2d(np.ones((1, 3, 3, 2)), ksize=2, strides=2, padding="SAME")
    np.testing.assert_array_equal(y.numpy(), np.ones((1, 2, 2, 2)))


def test_max_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    x = aj.constant(np.ones((1, 2, 2, 1)))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.nn.max_pool2d(x, ksize=2, strides=2)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy()[0, :, :, 0], [[1, 0], [0, 0]])
    x = aj.constant(np.array([[0.0, 2.0], [2.0, 1.0]]).reshape(1, 2, 2, 1))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.nn.max_pool2d(x, ksize=2, strides=2)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy()[0, :, :, 0], [[0, 1], [0, 0]])


def test_aliases_and_lowercase_padding():
    x = _x(2, 6, 6, 3)
    np.testing.assert_array_equal(aj.nn.max_pool(x, 2, 2, "same").numpy(),
                                  aj.nn.max_pool2d(x, 2, 2, "SAME").numpy())
    np.testing.assert_array_equal(aj.nn.avg_pool(x[:, 0], 3, 1, "VALID").numpy(),
                                  aj.nn.avg_pool1d(x[:, 0], 3, 1).numpy())


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    x, w, g = _x(2, 7, 7, 3), _x(3, 3, 3, 5), _x(2, 4, 4, 5)
    y = aj.nn.conv2d(x, w, strides=2, padding="SAME")
    back = aj.nn.conv2d_transpose(g, w, [2, 7, 7, 3], strides=2, padding="SAME")
    lhs = float(np.sum(y.numpy().astype(np.float64) * g.numpy()))
    rhs = float(np.sum(x.numpy().astype(np.float64) * back.numpy()))
    assert abs(lhs - rhs) <= 1e-4 * abs(lhs)


def test_eager_and_graph_agree_forward_and_backward():
    x, w = _x(2, 8, 8, 3), aj.Variable(_x(3, 3, 3, 4))

    def step(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            h = aj.nn.relu(aj.nn.conv2d(x, w, 1, "SAME", dilations=2))
            h = aj.nn.max_pool2d(h, 2, 2, "SAME") + aj.nn.avg_pool2d(h, 3, 2, "SAME")
            d = aj.nn.depthwise_conv2d(h, aj.ones((2, 2, 4, 2)), [1, 1, 1, 1], "VALID")
            loss = aj.reduce_sum(d * d)
        return (loss, *tape.gradient(loss, [x, w]))

    eager = [t.numpy() for t in step(x)]
    graph = [t.numpy() for t in aj.function(step)(x)]
    for e, g in zip(eager, graph):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        aj.nn.conv2d(x, w, 1, "SAME", dilations=2).numpy(),
        conv2d_ref(x.numpy(), w.numpy(), 1, "SAME", 2), rtol=1e-4, atol=1e-5)


def test_unknown_batch_in_a_graph():
    fn = aj.function(lambda x: aj.nn.max_pool2d(aj.nn.conv2d(x, np.ones((3, 3, 2, 1),
                                                                       np.float32), 1, "SAME"),
                                                2),
                     input_signature=[aj.TensorSpec([None, 4, 4, 2], aj.float32)])
    x = np.ones((3, 4, 4, 2), np.float32)
    out = fn(x).numpy()
    assert out.shape == (3, 2, 2, 1)
    np.testing.assert_allclose(out, max_pool_ref(conv2d_ref(x, np.ones((3, 3, 2, 1), np.float32),
                                                            1, "SAME"), 2))


def test_nchw_matches_nhwc():
    x = _x(2, 3, 5, 6)  # NCHW
    nhwc = np.transpose(x.numpy(), (0, 2, 3, 1))
    y = aj.nn.avg_pool2d(x, 2, 1, "SAME", data_format="NCHW").numpy()
    np.testing.assert_allclose(y, avg_pool_ref(nhwc, 2, 1, "SAME").transpose(0, 3, 1, 2),
                               rtol=1e-6)


CASES = [pytest.param(e, c, id=i) for e in ENTRIES for c, i in zip(e.cases, e.ids())]


@pytest.mark.parametrize("entry,case", CASES)
def test_every_table_case_replays_in_a_graph_as_eagerly(entry, case, request):
    """Forward and first-order gradients of each op-table case inside ``@aj.function``
    equal the eager ones (float64)."""
    values = op_table.make_inputs(case, np.dtype("float64"), request.node.callspec.id)
    floats = [i for i, a in enumerate(case.args) if isinstance(a, op_table.F)]

    def run(*inputs):
        inputs = list(inputs)
        with aj.GradientTape() as tape:
            for i in floats:
                tape.watch(inputs[i])
            out = entry.fn(*inputs, **case.attrs)
            total = aj.reduce_sum(out * out)
        return (out, *tape.gradient(total, [inputs[i] for i in floats]))

    tensors = op_table.to_tensors(values)
    eager = run(*tensors)
    graph = aj.function(run)(*tensors)
    assert [e is None for e in eager] == [g is None for g in graph]  # max-pool index inputs
    for e, g in zip(eager, graph):
        if e is not None:
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- errors


def test_wrong_input_rank_names_op_shapes_and_format():
    msg = ("conv2d: expected input of rank 4 (data_format NHWC), got rank 3 (input shape "
           "[5, 5, 3], filter shape [3, 3, 3, 4], data_format NHWC)")
    with pytest.raises(ShapeError, match=re.escape(msg)):
        aj.nn.conv2d(_x(5, 5, 3), _x(3, 3, 3, 4), padding="SAME")


def test_wrong_filter_rank():
    with pytest.raises(ShapeError, match=re.escape("conv2d: expected filter of rank 4, got "
                                                   "rank 2 (input shape [1, 5, 5, 3], filter "
                                                   "shape [3, 3], data_format NHWC)")):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3))


def test_conv1d_wrong_rank():
    with pytest.raises(ShapeError, match=re.escape("conv1d: expected input of rank 3 "
                                                   "(data_format NWC), got rank 4")):
        aj.nn.conv1d(_x(1, 5, 5, 3), _x(3, 3, 4))


def test_pool_wrong_rank():
    with pytest.raises(ShapeError, match=re.escape("max_pool2d: expected input of rank 4 "
                                                   "(data_format NHWC), got rank 2 (input "
                                                   "shape [5, 3], data_format NHWC)")):
        aj.nn.max_pool2d(_x(5, 3), 2)


def test_channel_mismatch():
    msg = ("conv2d: the input has 3 channels but the filter expects 2 (filter dim 2) (input "
           "shape [1, 5, 5, 3], filter shape [3, 3, 2, 4], data_format NHWC)")
    with pytest.raises(ShapeError, match=re.escape(msg)):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 2, 4))


def test_channel_mismatch_nchw_while_tracing():
    fn = aj.function(lambda x: aj.nn.conv2d(x, np.ones((3, 3, 4, 4), np.float32),
                                            data_format="NCHW"))
    with pytest.raises(ShapeError, match=re.escape("conv2d: the input has 3 channels but the "
                                                   "filter expects 4")):
        fn(_x(1, 3, 5, 5))


def test_depthwise_channel_mismatch():
    with pytest.raises(ShapeError, match=re.escape("depthwise_conv2d: the input has 3 channels "
                                                   "but the filter expects 2")):
        aj.nn.depthwise_conv2d(_x(1, 5, 5, 3), _x(3, 3, 2, 1), 1, "SAME")


def test_bad_padding_string():
    msg = ("conv2d: expected padding 'SAME', 'VALID' or explicit [[before, after], ...] pairs, "
           "got 'FULL' (input shape [1, 5, 5, 3], filter shape [3, 3, 3, 4], data_format NHWC)")
    with pytest.raises(InvalidArgumentError, match=re.escape(msg)):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), padding="FULL")


def test_bad_pool_padding_string():
    with pytest.raises(InvalidArgumentError, match=re.escape("avg_pool2d: expected padding "
                                                             "'SAME', 'VALID'")):
        aj.nn.avg_pool2d(_x(1, 5, 5, 3), 2, padding="valid!")


def test_explicit_padding_of_the_batch_dim():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "conv2d: explicit padding of the batch and channel dims must be [0, 0]")):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), padding=[[1, 1], [1, 1], [1, 1], [0, 0]])


def test_negative_explicit_padding():
    with pytest.raises(InvalidArgumentError, match="explicit paddings must be non-negative"):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), padding=[[1, -1], [1, 1]])


def test_window_larger_than_input():
    with pytest.raises(ShapeError, match=re.escape("conv2d: the window does not fit in the "
                                                   "padded input")):
        aj.nn.conv2d(_x(1, 3, 3, 1), _x(5, 5, 1, 1), padding="VALID")
    with pytest.raises(ShapeError, match=re.escape("max_pool2d: the 4x4 window does not fit")):
        aj.nn.max_pool2d(_x(1, 3, 3, 1), 4)


def test_bad_strides():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "conv2d: strides for the batch and channel dims must be 1, got [2, 1, 1, 1]")):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), strides=[2, 1, 1, 1])
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "conv2d: expected strides as an int or a list of 1, 2 or 4 ints, got [1, 1, 1]")):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), strides=[1, 1, 1])
    with pytest.raises(InvalidArgumentError, match="expected dilations to be positive ints"):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), dilations=0)


def test_bad_data_format():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "conv2d: expected data_format 'NHWC' or 'NCHW', got 'HWCN'")):
        aj.nn.conv2d(_x(1, 5, 5, 3), _x(3, 3, 3, 4), data_format="HWCN")


def test_integer_inputs():
    with pytest.raises(DTypeError, match="max_pool2d: expected floating-point tensors, got int32"):
        aj.nn.max_pool2d(aj.ones((1, 4, 4, 1), aj.int32), 2)


def test_conv2d_transpose_output_shape_mismatch():
    with pytest.raises(ShapeError, match=re.escape(
            "conv2d_transpose: an output of spatial size [9, 9] comes from inputs of spatial "
            "size [5, 5] with these strides and padding, got [4, 4]")):
        aj.nn.conv2d_transpose(_x(1, 4, 4, 2), _x(3, 3, 3, 2), [1, 9, 9, 3], strides=2)
    with pytest.raises(ShapeError, match=re.escape(
            "conv2d_transpose: output_shape [1, 8, 8, 5] asks for 5 channels, but the filter "
            "[3, 3, 3, 2] makes 3")):
        aj.nn.conv2d_transpose(_x(1, 4, 4, 2), _x(3, 3, 3, 2), [1, 8, 8, 5], strides=2)
    with pytest.raises(ShapeError, match=re.escape("conv2d_transpose: the input has 4 channels "
                                                   "but the filter has 2 output channels")):
        aj.nn.conv2d_transpose(_x(1, 4, 4, 4), _x(3, 3, 3, 2), [1, 8, 8, 3], strides=2)


def test_gradient_with_unknown_spatial_size_is_a_clear_error():
    w = aj.Variable(np.ones((3, 3, 1, 1), np.float32))

    @aj.function(input_signature=[aj.TensorSpec([None, None, None, 1], aj.float32)])
    def grad(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.reduce_sum(aj.nn.conv2d(x, w, padding="SAME"))
        return tape.gradient(y, x)

    with pytest.raises(ShapeError, match=re.escape("conv2d: the gradient needs the input's "
                                                   "spatial size")):
        grad(np.ones((1, 4, 4, 1), np.float32))
