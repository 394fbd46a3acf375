"""The math of issue 9 from the user's side: graphs agree with eager runs (unknown dims where
shapes depend on values), numerical edge cases, and one test per error message."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from tests.numeric import check_graph_replays_eager

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4))


def _t(value):
    return aj.constant(np.asarray(value))


# ----------------------------------------------------------------------------- graphs


GRAPH_CASES = {
    "einsum": lambda x: aj.einsum("ij,kj->ik", x, x),
    "einsum-ellipsis": lambda x: aj.einsum("...j,j->...", x, x[0]),
    "cumsum": lambda x: aj.math.cumsum(x, axis=1, exclusive=True, reverse=True),
    "cumprod": lambda x: aj.math.cumprod(x, axis=0, exclusive=True),
    "logsumexp": lambda x: aj.reduce_logsumexp(x, axis=1),
    "sort": lambda x: aj.sort(x, direction="DESCENDING"),
    "top_k": lambda x: aj.math.top_k(x, k=2).values,
    "gather_nd": lambda x: aj.gather_nd(x, [[0, 1], [2, 3]]),
    "scatter": lambda x: aj.tensor_scatter_nd_add(x, [[1]], x[:1] * 2.0),
    "norm": lambda x: aj.norm(x, axis=-1),
    "gelu": lambda x: aj.nn.gelu(x),
    "moments": lambda x: aj.nn.moments(x, axes=[0])[1],
    "clip": lambda x: aj.clip_by_global_norm([x, x * 2.0], 1.0)[0][1],
    "divide_no_nan": lambda x: aj.math.divide_no_nan(x, aj.nn.relu(x)),  # zeros where x < 0
    "xlogy": lambda x: aj.math.xlogy(aj.nn.relu(x), aj.exp(x)),
    "variance": lambda x: aj.math.reduce_variance(x, axis=0),
    "std": lambda x: aj.math.reduce_std(x, axis=-1, keepdims=True),
    "euclidean_norm": lambda x: aj.math.reduce_euclidean_norm(x, axis=1),
}


@pytest.mark.parametrize("name", sorted(GRAPH_CASES))
def test_graph_equals_eager_with_gradients(name):
    check_graph_replays_eager(GRAPH_CASES[name], [_t(X)])


def test_boolean_mask_in_a_graph_has_an_unknown_dim_and_no_retrace():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float32)])
    def positives(x):
        picked = aj.boolean_mask(x, x > 0)
        return picked, aj.reduce_sum(picked)

    concrete = positives.get_concrete_function()
    assert "f32[?]" in str(concrete.graph)
    for values in ([1.0, -2.0, 3.0], [-1.0, -1.0], [5.0, 6.0, 7.0, -8.0, 9.0]):
        picked, total = positives(aj.constant(values))
        expected = np.array([v for v in values if v > 0], np.float32)
        np.testing.assert_array_equal(picked.numpy(), expected)
        assert float(total) == pytest.approx(expected.sum())
    assert positives.tracing_count == 1


def test_boolean_mask_gradient_scatters_back():
    x = _t(X)
    mask = X > 0
    with aj.GradientTape() as tape:
        tape.watch(x)
        loss = aj.reduce_sum(aj.boolean_mask(x, aj.constant(mask)) * 3.0)
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), np.where(mask, 3.0, 0.0))


def test_where_with_one_argument_in_a_graph():
    @aj.function(input_signature=[aj.TensorSpec([None, 2], aj.int32)])
    def coordinates(labels):
        return aj.where(labels == 3)

    labels = np.array([[3, 1], [0, 3], [3, 3]], np.int32)
    np.testing.assert_array_equal(coordinates(aj.constant(labels)).numpy(),
                                  np.argwhere(labels == 3))
    assert coordinates(aj.constant([[0, 0]])).numpy().shape == (0, 2)
    assert coordinates(aj.constant([[0, 0]])).dtype == aj.int64


def test_segment_sum_in_a_graph_counts_segments_at_run_time():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float64),
                                  aj.TensorSpec([None], aj.int32)])
    def sums(data, ids):
        return aj.math.segment_sum(data, ids)

    np.testing.assert_array_equal(sums(_t([1.0, 2.0, 3.0]), aj.constant([0, 0, 2])).numpy(),
                                  [3.0, 0.0, 3.0])
    np.testing.assert_array_equal(sums(_t([1.0, 2.0]), aj.constant([1, 4])).numpy(),
                                  [0.0, 1.0, 0.0, 0.0, 2.0])
    assert sums.tracing_count == 1


def test_count_nonzero_in_a_graph_counts_at_every_replay():
    @aj.function(input_signature=[aj.TensorSpec([None, 3], aj.float32)])
    def counts(x):
        return (aj.math.count_nonzero(x), aj.math.count_nonzero(x > 0, axis=1, keepdims=True),
                aj.math.count_nonzero(x, axis=0, dtype=aj.float32))

    for value in ([[0.0, 1.0, -2.0]], [[0.0, 0.0, 0.0], [3.0, 0.0, np.nan]]):
        value = np.array(value, np.float32)
        total, positive, per_column = counts(aj.constant(value))
        assert (total.dtype, positive.dtype, per_column.dtype) == (aj.int64, aj.int64,
                                                                   aj.float32)
        assert int(total) == np.count_nonzero(value)
        np.testing.assert_array_equal(positive.numpy(), (value > 0).sum(1, keepdims=True))
        np.testing.assert_array_equal(per_column.numpy(), (value != 0).sum(0))
    assert counts.tracing_count == 1


# ----------------------------------------------------------------------------- values


def test_erf_matches_the_c_library():
    values = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(aj.math.erf(_t(values)).numpy(), [math.erf(v) for v in values],
                               rtol=1e-14, atol=1e-16)
    assert aj.math.erf(aj.constant([0.5])).dtype == aj.float32


def test_gelu_selu_and_leaky_relu_known_values():
    np.testing.assert_allclose(aj.nn.gelu(_t([1.0])).numpy(), [0.8413447460685429], rtol=1e-12)
    np.testing.assert_allclose(aj.nn.gelu(_t([1.0]), approximate=True).numpy(),
                               [0.8411919906082768], rtol=1e-12)
    np.testing.assert_allclose(aj.nn.selu(_t([-1e9, 1.0])).numpy(),
                               [-1.7580993408473766, 1.0507009873554805], rtol=1e-12)
    np.testing.assert_allclose(aj.nn.leaky_relu(_t([-1.0, 2.0])).numpy(), [-0.2, 2.0])


def test_stable_functions_at_the_extremes():
    big = _t([-1000.0, 0.0, 1000.0])
    np.testing.assert_allclose(aj.math.log_sigmoid(big).numpy(), [-1000.0, -math.log(2), 0.0])
    np.testing.assert_allclose(aj.nn.softplus(big).numpy(), [0.0, math.log(2), 1000.0])
    np.testing.assert_allclose(aj.nn.elu(big).numpy(), [-1.0, 0.0, 1000.0])
    assert np.isfinite(aj.nn.selu(big).numpy()).all()
    with aj.GradientTape() as tape:
        tape.watch(big)
        loss = aj.reduce_sum(aj.nn.elu(big) + aj.math.log_sigmoid(big))
    assert np.isfinite(tape.gradient(loss, big).numpy()).all()


def test_logsumexp_of_infinite_rows():
    x = _t([[-math.inf, -math.inf], [1000.0, 1000.0], [math.inf, 0.0]])
    with np.errstate(divide="ignore"):  # log(0) = -inf for the row of -inf, as intended
        out = aj.reduce_logsumexp(x, axis=1).numpy()
    np.testing.assert_allclose(out, [-math.inf, 1000.0 + math.log(2), math.inf])


def test_top_k_values_indices_and_gradient():
    x = _t([[1.0, 5.0, 3.0, 5.0]])
    with aj.GradientTape() as tape:
        tape.watch(x)
        result = aj.math.top_k(x, k=2)
        loss = aj.reduce_sum(result.values * _t([[10.0, 1.0]]))
    np.testing.assert_array_equal(result.values.numpy(), [[5.0, 5.0]])
    np.testing.assert_array_equal(result.indices.numpy(), [[1, 3]])  # ties: lower index first
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [[0.0, 10.0, 0.0, 1.0]])


def test_top_k_from_a_function_keeps_its_fields():
    top = aj.function(lambda x: aj.math.top_k(x, k=2))(_t([[1.0, 3.0, 2.0]]))
    np.testing.assert_array_equal(top.values.numpy(), [[3.0, 2.0]])
    np.testing.assert_array_equal(top.indices.numpy(), [[1, 2]])


def test_erf_without_scipy_uses_the_c_library(monkeypatch):
    from autojit.ops import extra_math

    monkeypatch.setattr(extra_math, "_erf_numpy", extra_math._erf_python)
    values = np.array([-3.0, -0.5, 0.0, 0.25, 2.0])
    np.testing.assert_array_equal(aj.math.erf(_t(values)).numpy(), [math.erf(v) for v in values])
    assert float(aj.math.erf(aj.constant(0.5))) == pytest.approx(math.erf(0.5), rel=1e-7)
    with aj.GradientTape() as tape:
        x = _t(values)
        tape.watch(x)
        y = aj.math.erf(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(),
                               2 / math.sqrt(math.pi) * np.exp(-values ** 2), rtol=1e-14)


def test_scatter_nd_adds_repeats_and_update_takes_the_last():
    out = aj.scatter_nd([[1], [3], [1]], aj.constant([1.0, 2.0, 4.0]), [5])
    np.testing.assert_array_equal(out.numpy(), [0.0, 5.0, 0.0, 2.0, 0.0])
    replaced = aj.tensor_scatter_nd_update(aj.zeros([2, 2]), [[0, 1], [1, 0]], [7.0, 8.0])
    np.testing.assert_array_equal(replaced.numpy(), [[0.0, 7.0], [8.0, 0.0]])


def test_unsorted_segment_sum_drops_negative_ids():
    out = aj.math.unsorted_segment_sum(_t([1.0, 2.0, 4.0]), [1, -1, 1], num_segments=3)
    np.testing.assert_array_equal(out.numpy(), [0.0, 5.0, 0.0])


def test_clipping_values_and_zero_gradients_at_zero():
    t = _t([3.0, 4.0])
    np.testing.assert_allclose(aj.clip_by_norm(t, 1.0).numpy(), [0.6, 0.8])
    np.testing.assert_allclose(aj.clip_by_norm(t, 10.0).numpy(), [3.0, 4.0])
    clipped, total = aj.clip_by_global_norm([t, None, _t([12.0])], 6.5)
    assert clipped[1] is None and float(total) == pytest.approx(13.0)
    np.testing.assert_allclose(clipped[0].numpy(), [1.5, 2.0])
    np.testing.assert_allclose(aj.linalg.global_norm([t, _t([12.0])]).numpy(), 13.0)
    zero = _t([0.0, 0.0])
    with aj.GradientTape() as tape:
        tape.watch(zero)
        loss = aj.reduce_sum(aj.clip_by_norm(zero, 1.0))
    np.testing.assert_array_equal(tape.gradient(loss, zero).numpy(), [1.0, 1.0])


def test_moments_and_batch_normalization_normalize():
    x = _t(RNG.normal(3.0, 2.0, size=(200, 3)))
    mean, var = aj.nn.moments(x, axes=[0])
    y = aj.nn.batch_normalization(x, mean, var, offset=None, scale=None, variance_epsilon=0.0)
    np.testing.assert_allclose(y.numpy().mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.numpy().std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(aj.norm(aj.nn.l2_normalize(x, axis=1), axis=1).numpy(), 1.0)


def test_cumprod_gradient_is_finite_at_zeros():
    x = _t([2.0, 0.0, 3.0, 0.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        loss = aj.reduce_sum(aj.math.cumprod(x))
    # d/dx of 2 + 0 + 0 + 0 (only x0 and x1 matter): [1, 2 + 2*3, 0, 0]
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [1.0, 8.0, 0.0, 0.0])


def test_divide_no_nan_is_zero_with_a_finite_gradient_where_y_is_zero():
    x = _t([1.0, -2.0, np.nan, 6.0])
    y = _t([0.0, 0.0, 0.0, 4.0])
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        out = aj.math.divide_no_nan(x, y)
        loss = aj.reduce_sum(out)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, 0.0, 1.5])
    gx, gy = tape.gradient(loss, [x, y])
    np.testing.assert_array_equal(gx.numpy(), [0.0, 0.0, 0.0, 0.25])
    np.testing.assert_array_equal(gy.numpy(), [0.0, 0.0, 0.0, -6.0 / 16.0])
    zero = aj.math.divide_no_nan(_t([3.0, 4.0]), 0.0)  # a Python scalar denominator
    assert zero.dtype == aj.float64
    np.testing.assert_array_equal(zero.numpy(), [0.0, 0.0])


def test_xlogy_is_zero_where_x_is_zero():
    x = _t([0.0, 0.0, 0.0, 2.0])
    y = _t([0.0, np.nan, 3.0, np.e])
    with aj.GradientTape() as tape:
        tape.watch([x, y])
        out = aj.math.xlogy(x, y)
        loss = aj.reduce_sum(out)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, 0.0, 2.0])
    gx, gy = tape.gradient(loss, [x, y])
    np.testing.assert_array_equal(gx.numpy(), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(gy.numpy(), [0.0, 0.0, 0.0, 2.0 / np.e], rtol=1e-15)
    assert float(aj.math.xlogy(0.0, aj.constant(0.0))) == 0.0


def test_variance_std_and_euclidean_norm_known_values():
    x = _t([[1.0, 3.0], [2.0, 6.0]])
    np.testing.assert_allclose(aj.math.reduce_variance(x).numpy(), np.var(x.numpy()))
    np.testing.assert_allclose(aj.math.reduce_std(x, axis=1).numpy(), [1.0, 2.0])
    np.testing.assert_allclose(aj.math.reduce_euclidean_norm(x, axis=0, keepdims=True).numpy(),
                               [[math.sqrt(5.0), math.sqrt(45.0)]])
    assert aj.math.reduce_variance([1.0, 2.0]).dtype == aj.float32  # Python data: float32


# ----------------------------------------------------------------------------- errors

ERRORS = [
    (lambda: aj.einsum("ij,jk->ik", _t(X)), InvalidArgumentError,
     "einsum: the equation 'ij,jk->ik' names 2 operands, got 1 tensors"),
    (lambda: aj.einsum("i1->i", _t(X)), InvalidArgumentError, "einsum: bad subscripts 'i1'"),
    (lambda: aj.einsum("ijk->i", _t(X)), ShapeError,
     "einsum: operand 0 has shape [3, 4] (rank 2) but its subscripts 'ijk' name 3"),
    (lambda: aj.einsum("ij,jk->ik", _t(X), _t(X)), ShapeError,
     "einsum: subscript 'j' has size 4 in one operand and 3 in operand 1"),
    (lambda: aj.einsum("ij->k", _t(X)), InvalidArgumentError,
     "einsum: output subscript 'k' of 'ij->k' does not appear in any input"),
    (lambda: aj.einsum("ij->ii", _t(X)), InvalidArgumentError,
     "einsum: output subscript 'i' appears more than once"),
    (lambda: aj.einsum("...j->j", _t(X)), InvalidArgumentError,
     "but the output has no '...'"),
    (lambda: aj.einsum("ij->i->j", _t(X)), InvalidArgumentError,
     "einsum: expected at most one '->'"),
    (lambda: aj.einsum(3, _t(X)), InvalidArgumentError, "einsum: expected an equation string"),
    (lambda: aj.einsum("ij", _t(X), bogus=1), InvalidArgumentError,
     "einsum: unexpected keyword arguments ['bogus']"),
    (lambda: aj.einsum("ij", aj.constant([[True]])), DTypeError,
     "einsum: expected numeric tensors, got bool"),
    (lambda: aj.math.cumsum(aj.constant(1.0)), ShapeError,
     "cumsum: expected a tensor of rank >= 1, got a scalar"),
    (lambda: aj.math.cumprod(aj.constant([True])), DTypeError,
     "cumprod: expected a numeric tensor, got bool"),
    (lambda: aj.math.cumsum(_t(X), axis=2), InvalidArgumentError,
     "cumsum: axis 2 is out of range for a tensor of rank 2"),
    (lambda: aj.sort(_t(X), direction="UP"), InvalidArgumentError,
     "sort: direction must be 'ASCENDING' or 'DESCENDING', got 'UP'"),
    (lambda: aj.argsort(aj.constant(1.0)), ShapeError,
     "argsort: expected a tensor of rank >= 1, got a scalar"),
    (lambda: aj.sort(aj.constant([True, False])), DTypeError,
     "sort: expected a numeric tensor, got bool"),
    (lambda: aj.math.top_k(_t(X), k=5), InvalidArgumentError,
     "top_k: k = 5 is larger than the last dimension 4 of the input (shape [3, 4])"),
    (lambda: aj.math.top_k(_t(X), k=-1), InvalidArgumentError,
     "top_k: expected k >= 0 as a Python int, got -1"),
    (lambda: aj.math.top_k(aj.constant(1.0)), ShapeError,
     "top_k: expected a tensor of rank >= 1, got a scalar"),
    (lambda: aj.reduce_logsumexp(aj.constant([1, 2])), DTypeError,
     "reduce_logsumexp: expected a floating-point tensor"),
    (lambda: aj.math.erf(aj.constant([1, 2])), DTypeError, "erf: expected a floating-point"),
    (lambda: aj.nn.gelu(aj.constant([1, 2])), DTypeError, "gelu: expected a floating-point"),
    (lambda: aj.nn.leaky_relu(aj.constant([1, 2])), DTypeError, "leaky_relu: expected a float"),
    (lambda: aj.gather_nd(_t(X), [[0, 1, 2]]), ShapeError,
     "gather_nd: indices of shape [1, 3] address 3 dims, but the tensor has shape [3, 4]"),
    (lambda: aj.gather_nd(_t(X), 1), ShapeError,
     "gather_nd: expected indices of rank >= 1 ([..., M]), got a scalar"),
    (lambda: aj.gather_nd(_t(X), aj.constant([[0.0, 1.0]])), DTypeError,
     "gather_nd: expected int32 or int64 indices, got float32"),
    (lambda: aj.tensor_scatter_nd_add(_t(X), [[0], [1]], _t(np.ones((2, 3)))), ShapeError,
     "tensor_scatter_nd_add: expected updates of shape [2, 4] (indices.shape[:-1] + shape[1:])"
     ", got [2, 3]"),
    (lambda: aj.tensor_scatter_nd_update(_t(X), [[0, 0]], aj.constant([1], aj.int32)),
     DTypeError, "tensor_scatter_nd_update"),
    (lambda: aj.scatter_nd([[0]], _t([1.0, 2.0]), [3]), ShapeError,
     "scatter_nd: expected updates of shape [1]"),
    (lambda: aj.boolean_mask(_t(X), aj.constant(True)), ShapeError,
     "boolean_mask: the mask cannot be a scalar"),
    (lambda: aj.boolean_mask(_t(X), aj.constant([True, False])), ShapeError,
     "boolean_mask: a mask of shape [2] does not fit dims 0..0 of a tensor of shape [3, 4]"),
    (lambda: aj.boolean_mask(_t(X), aj.constant([1, 0, 1])), DTypeError,
     "boolean_mask: expected a bool mask, got int32"),
    (lambda: aj.where(aj.constant([True]), 1.0), InvalidArgumentError,
     "where: pass both x and y, or neither"),
    (lambda: aj.math.segment_sum(_t(X), aj.constant([[0, 0, 1, 1]] * 3)), ShapeError,
     "segment_sum: expected 1-D segment ids, got shape [3, 4]"),
    (lambda: aj.math.segment_sum(_t(X), [0, 1]), ShapeError,
     "segment_sum: segment ids of shape [2] must be a non-empty prefix of the data's shape"),
    (lambda: aj.math.segment_sum(_t(X), [0.0, 1.0, 1.0]), DTypeError,
     "segment_sum: expected int32 or int64 segment ids, got float32"),
    (lambda: aj.math.unsorted_segment_sum(_t(X), [0, 1, 1], num_segments=-2),
     InvalidArgumentError, "unsorted_segment_sum: expected num_segments >= 0 as an int"),
    (lambda: aj.norm(_t(X), ord="nuclear"), InvalidArgumentError,
     "norm: expected ord 'euclidean', 1, 2, inf or a number > 0 for a vector norm"),
    (lambda: aj.norm(_t(X), ord=2, axis=[0, 1]), InvalidArgumentError,
     "the spectral norm, ord=2, needs an SVD"),
    (lambda: aj.norm(_t(X), axis=[0, 0]), InvalidArgumentError, "norm: repeated axis"),
    (lambda: aj.norm(_t(X), axis=[0, 1, 2]), InvalidArgumentError,
     "norm: expected axis None, an int or a pair of ints"),
    (lambda: aj.clip_by_global_norm(_t(X), 1.0), InvalidArgumentError,
     "clip_by_global_norm: expected a list or tuple of tensors, got Tensor"),
    (lambda: aj.linalg.global_norm([None]), InvalidArgumentError,
     "global_norm: expected at least one tensor, got none"),
    (lambda: aj.nn.moments(aj.constant([1, 2]), axes=[0]), DTypeError,
     "moments: expected a floating-point tensor"),
    (lambda: aj.math.reduce_variance(aj.constant([1, 2])), DTypeError,
     "reduce_variance: expected a floating-point tensor"),
    (lambda: aj.math.reduce_std(aj.constant([1, 2])), DTypeError,
     "reduce_std: expected a floating-point tensor"),
    (lambda: aj.math.reduce_euclidean_norm(aj.constant([1, 2])), DTypeError,
     "reduce_euclidean_norm: expected a floating-point tensor"),
    (lambda: aj.math.reduce_variance(_t(X), axis=2), InvalidArgumentError,
     "reduce_variance: axis 2 is out of range for a tensor of rank 2"),
    (lambda: aj.math.divide_no_nan(aj.constant([1, 2]), aj.constant([1, 0])), DTypeError,
     "divide_no_nan: expected a floating-point tensor"),
    (lambda: aj.math.xlogy(aj.constant([1.0]), aj.constant([1.0], aj.float64)), DTypeError,
     "xlogy: expected inputs of one dtype, got float32 and float64"),
    (lambda: aj.math.divide_no_nan(_t(X), _t([1.0, 2.0])), ShapeError, "divide_no_nan: "),
    (lambda: aj.math.count_nonzero(_t(X), axis=2), InvalidArgumentError,
     "count_nonzero: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)"),
    (lambda: aj.math.count_nonzero(_t(X), dtype=aj.bool), DTypeError,
     "count_nonzero: expected a numeric dtype for the counts, got bool"),
]


@pytest.mark.parametrize("call,error,message", ERRORS,
                         ids=[m.split(":")[0] + f"-{i}" for i, (_, _, m) in enumerate(ERRORS)])
def test_errors_name_the_op_and_what_was_given(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
