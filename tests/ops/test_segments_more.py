"""Beyond the op table: ``aj.math.segment_{mean,max,min,prod}`` and
``unsorted_segment_{max,min,mean,prod,sqrt_n}`` (empty segments as TF documents them, tied
extremes splitting the gradient, products with zeros, the scan kernel on many random ids, graph
replays), ``truncatediv``/``truncatemod`` (C semantics) and ``tensor_scatter_nd_sub``/``_max``/
``_min`` (repeats, ties), and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from op_table import _scatter_nd_ref, _segments_ref

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.ops.segments import segment_reduce
from tests.numeric import check_graph_replays_eager, numeric_grad

RNG = np.random.default_rng(11)
SORTED = {"max": aj.math.segment_max, "min": aj.math.segment_min,
          "prod": aj.math.segment_prod, "mean": aj.math.segment_mean}
UNSORTED = {"max": aj.math.unsorted_segment_max, "min": aj.math.unsorted_segment_min,
            "prod": aj.math.unsorted_segment_prod, "mean": aj.math.unsorted_segment_mean,
            "sqrt_n": aj.math.unsorted_segment_sqrt_n}


def _grad(fn, x):
    x = aj.constant(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x).numpy()


# ----------------------------------------------------------------------------- empty segments


def test_empty_sorted_segments_hold_zero_or_one():
    data = aj.constant(np.array([[1.0, -2.0], [3.0, 4.0], [-5.0, 6.0]], np.float32))
    ids = [0, 0, 3]
    np.testing.assert_array_equal(aj.math.segment_max(data, ids).numpy(),
                                  [[3, 4], [0, 0], [0, 0], [-5, 6]])
    np.testing.assert_array_equal(aj.math.segment_min(data, ids).numpy(),
                                  [[1, -2], [0, 0], [0, 0], [-5, 6]])
    np.testing.assert_array_equal(aj.math.segment_prod(data, ids).numpy(),
                                  [[3, -8], [1, 1], [1, 1], [-5, 6]])
    np.testing.assert_array_equal(aj.math.segment_mean(data, ids).numpy(),
                                  [[2, 1], [0, 0], [0, 0], [-5, 6]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_empty_unsorted_segments_hold_the_dtype_extremes(dtype):
    data = aj.constant(np.array([4, -2, 7], dtype))
    ids = aj.constant([2, 2, -1])  # -1 is dropped: segments 0, 1 and 3 are empty
    info = np.finfo(dtype) if np.dtype(dtype).kind == "f" else np.iinfo(dtype)
    low, high = info.min, info.max
    np.testing.assert_array_equal(aj.math.unsorted_segment_max(data, ids, 4).numpy(),
                                  np.array([low, low, 4, low], dtype))
    np.testing.assert_array_equal(aj.math.unsorted_segment_min(data, ids, 4).numpy(),
                                  np.array([high, high, -2, high], dtype))
    np.testing.assert_array_equal(aj.math.unsorted_segment_prod(data, ids, 4).numpy(),
                                  np.array([1, 1, -8, 1], dtype))
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(aj.math.unsorted_segment_mean(data, ids, 4).numpy(),
                                   [0, 0, 1, 0])
        np.testing.assert_allclose(aj.math.unsorted_segment_sqrt_n(data, ids, 4).numpy(),
                                   [0, 0, 2 / math.sqrt(2), 0], rtol=1e-6)


def test_integer_segment_mean_rounds_toward_zero_as_tfs_kernel():
    out = aj.math.segment_mean(aj.constant([1, -4, 7, 2, -3]), [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(out.numpy(), [-1, 4, -3])
    assert out.dtype == aj.int32


def test_no_rows_give_no_segments_or_empty_ones():
    empty = aj.constant(np.zeros((0, 2)))
    assert aj.math.segment_max(empty, aj.constant(np.zeros(0, np.int32))).shape == (0, 2)
    np.testing.assert_array_equal(
        aj.math.unsorted_segment_prod(empty, aj.constant(np.zeros(0, np.int32)), 2).numpy(),
        np.ones((2, 2)))


# ----------------------------------------------------------------------------- the scan kernel


@pytest.mark.parametrize("kind", ["max", "min", "prod", "mean"])
@pytest.mark.parametrize("n", [1, 2, 7, 37, 200])
def test_random_ids_match_numpy(kind, n):
    data = RNG.uniform(0.5, 1.5, (n, 3)) * RNG.choice([-1.0, 1.0], (n, 3))
    ids = RNG.integers(-1, 9, n)
    want = _segments_ref(kind, data, ids, 9)
    got = UNSORTED[kind](aj.constant(data), aj.constant(ids), 9).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    ordered = np.sort(np.abs(ids))
    np.testing.assert_allclose(SORTED[kind](aj.constant(data), ordered).numpy(),
                               _segments_ref(kind, data, ordered), rtol=1e-12)


def test_segment_reduce_helper_drops_the_spare_row():
    values = np.array([5.0, 1.0, 7.0, 2.0])
    ids = np.array([1, 3, 1, 0])  # id 3 == rows: dropped
    np.testing.assert_array_equal(segment_reduce(np, "max", values, ids, 3, -1.0),
                                  [2.0, 7.0, -1.0])


# ----------------------------------------------------------------------------- gradients


def test_tied_maxima_and_minima_split_the_gradient_as_tf():
    data = np.array([1.0, 3.0, 3.0, 2.0, 2.0, 2.0])
    ids = [0, 0, 0, 1, 1, 1]
    grad = _grad(lambda x: aj.reduce_sum(aj.math.segment_max(x, ids) * [1.0, 3.0]), data)
    np.testing.assert_allclose(grad, [0, 0.5, 0.5, 1, 1, 1])
    grad = _grad(lambda x: aj.reduce_sum(aj.math.segment_min(x, ids)), data)
    np.testing.assert_allclose(grad, [1, 0, 0, 1 / 3, 1 / 3, 1 / 3])
    # unsorted: a dropped id (-1) equal to the max gets nothing and is no tie
    grad = _grad(lambda x: aj.reduce_sum(
        aj.math.unsorted_segment_max(x, [1, 0, 1, -1, 0, 1], 2)), np.array([3.0, 2, 3, 3, 2, 1]))
    np.testing.assert_allclose(grad, [0.5, 0.5, 0.5, 0, 0.5, 0])


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, 4.0, -1.5], [0.0, 0.0, 3.0, 0.0, 2.0],
                                  [1.5, -2.0, 0.5, 0.0, 3.0]],
                         ids=["one zero", "two zeros", "zero alone"])
@pytest.mark.parametrize("unsorted", [False, True])
def test_product_gradients_are_right_at_zeros(data, unsorted):
    data = np.array(data)
    ids = np.array([0, 0, 0, 2, 2])
    weights = np.array([1.5, -1.0, 2.0])

    def prod(x):
        if unsorted:
            return aj.math.unsorted_segment_prod(x, ids, 3)
        return aj.math.segment_prod(x, ids)

    def loss(x):
        return float(np.sum(_segments_ref("prod", x, ids, 3) * weights))

    grad = _grad(lambda x: aj.reduce_sum(prod(x) * weights), data)
    np.testing.assert_allclose(grad, numeric_grad(loss, data), atol=1e-8)
    assert np.all(np.isfinite(grad))


def test_mean_and_sqrt_n_gradients():
    ids = [1, 1, 0, 1]
    grad = _grad(lambda x: aj.reduce_sum(aj.math.unsorted_segment_mean(x, ids, 3)),
                 np.ones(4))
    np.testing.assert_allclose(grad, [1 / 3, 1 / 3, 1, 1 / 3])
    grad = _grad(lambda x: aj.reduce_sum(aj.math.unsorted_segment_sqrt_n(x, ids, 3)),
                 np.ones(4))
    np.testing.assert_allclose(grad, [3 ** -0.5, 3 ** -0.5, 1, 3 ** -0.5])


@pytest.mark.parametrize("kind", ["max", "min", "prod", "mean"])
def test_graph_replays_eager(kind):
    ids = aj.constant([0, 0, 1, 3, 3])
    inputs = [aj.constant(RNG.standard_normal((5, 2))) for _ in range(3)]
    check_graph_replays_eager(lambda x: SORTED[kind](x, ids), inputs)
    # every segment named (an empty max/min segment's extreme would overflow y * y)
    check_graph_replays_eager(lambda x: UNSORTED[kind](x, aj.constant([2, -1, 0, 2, 1]), 3),
                              inputs)


def test_sorted_ids_as_a_graph_input_give_an_unknown_number_of_segments():
    @aj.function
    def f(x, ids):
        out = aj.math.segment_max(x, ids)
        assert out.shape[0] is None
        return out

    x = aj.constant(np.arange(4.0))
    np.testing.assert_array_equal(f(x, aj.constant([0, 0, 1, 1])).numpy(), [1, 3])
    np.testing.assert_array_equal(f(x, aj.constant([0, 2, 2, 4])).numpy(), [0, 0, 2, 0, 3])
    assert f.tracing_count == 1


# ----------------------------------------------------------------------------- errors


def test_segment_errors_say_what_was_expected():
    x = aj.constant([1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgumentError, match=r"segment_max: segment ids must be "
                       r"non-negative and sorted .*unsorted_segment_max"):
        aj.math.segment_max(x, [1, 0, 2])
    with pytest.raises(InvalidArgumentError, match="segment_min: segment id 3 is out of range "
                       "for 3 segments"):
        aj.math.unsorted_segment_min(x, [0, 3, 1], 3)
    with pytest.raises(InvalidArgumentError, match="unsorted_segment_prod: expected "
                       "num_segments >= 0 as an int, got -1"):
        aj.math.unsorted_segment_prod(x, [0, 0, 1], -1)
    with pytest.raises(DTypeError, match="unsorted_segment_mean: expected floating-point data, "
                       "got int32"):
        aj.math.unsorted_segment_mean(aj.constant([1, 2]), [0, 1], 2)
    with pytest.raises(DTypeError, match="segment_prod: expected int32 or int64 segment ids, "
                       "got float32"):
        aj.math.segment_prod(x, aj.constant([0.0, 0.0, 1.0]))
    with pytest.raises(ShapeError, match=r"segment_min: segment ids of shape \[2\] must be a "
                       r"non-empty prefix of the data's shape \[3\]"):
        aj.math.segment_min(x, [0, 1])


# ----------------------------------------------------------------------------- truncatediv/mod


def test_truncating_division_is_cs():
    x = np.array([-7, 7, -7, 7, 0, -1, 9], np.int32)
    y = np.array([5, 5, -5, -5, 3, 4, 3], np.int32)
    want_q = [int(a / b) for a, b in zip(x.tolist(), y.tolist())]
    want_r = [int(math.fmod(a, b)) for a, b in zip(x.tolist(), y.tolist())]
    q, r = aj.truncatediv(aj.constant(x), aj.constant(y)), aj.truncatemod(aj.constant(x), y)
    assert q.dtype == r.dtype == aj.int32
    np.testing.assert_array_equal(q.numpy(), want_q)
    np.testing.assert_array_equal(r.numpy(), want_r)
    np.testing.assert_array_equal(q.numpy() * y + r.numpy(), x)
    assert aj.math.truncatediv is aj.truncatediv and aj.math.truncatemod is aj.truncatemod
    big = aj.constant(np.array([-2 ** 62 - 1], np.int64))
    assert int(aj.truncatediv(big, np.int64(3)).numpy()[0]) == -((2 ** 62 + 1) // 3)


def test_truncating_division_of_floats_and_its_gradients():
    x, y = np.array([-7.5, 7.5, 2.25]), np.array([2.0, -2.0, 0.5])
    np.testing.assert_array_equal(aj.truncatediv(aj.constant(x), aj.constant(y)).numpy(),
                                  [-3.0, -3.0, 4.0])
    np.testing.assert_array_equal(aj.truncatemod(aj.constant(x), aj.constant(y)).numpy(),
                                  np.fmod(x, y))
    tx, ty = aj.constant(np.array([-7.3, 7.3])), aj.constant(np.array([2.0, -2.0]))
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([tx, ty])
        r = aj.reduce_sum(aj.truncatemod(tx, ty))
        q = aj.reduce_sum(aj.truncatediv(tx, ty))
    gx, gy = tape.gradient(r, [tx, ty])
    np.testing.assert_allclose(gx.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(gy.numpy(), [3.0, 3.0])  # -trunc(x / y)
    assert tape.gradient(q, [tx, ty]) == [None, None]
    check_graph_replays_eager(lambda t: aj.truncatemod(t, 0.75), [tx, ty])


# ----------------------------------------------------------------------------- more scatters


def test_scatter_sub_max_min_with_repeated_indices():
    tensor = np.arange(12.0).reshape(4, 3)
    indices = np.array([[0], [2], [0]])
    updates = np.array([[5.0, -1, 1], [9, 9, 0], [-2, 3, 3]])
    for kind, fn in [("sub", aj.tensor_scatter_nd_sub), ("max", aj.tensor_scatter_nd_max),
                     ("min", aj.tensor_scatter_nd_min)]:
        got = fn(aj.constant(tensor), indices, aj.constant(updates))
        np.testing.assert_array_equal(got.numpy(), _scatter_nd_ref(kind, tensor, indices, updates))
    np.testing.assert_array_equal(
        aj.tensor_scatter_nd_max(aj.constant([1, 5, 2]), [[1], [2], [2]], [3, 4, 7]).numpy(),
        [1, 5, 7])


def test_scatter_max_splits_tied_gradients_between_tensor_and_updates():
    tensor = np.array([[0.0, 1.0], [2.0, 3.0]])
    updates = np.array([1.0, 1.0, 0.0, 5.0])
    indices = [[0, 1], [0, 1], [0, 0], [1, 0]]
    t, u = aj.constant(tensor), aj.constant(updates)
    with aj.GradientTape() as tape:
        tape.watch([t, u])
        y = aj.reduce_sum(aj.tensor_scatter_nd_max(t, indices, u) * [[1.0, 6.0], [2.0, 1.0]])
    gt, gu = tape.gradient(y, [t, u])
    np.testing.assert_allclose(gt.numpy(), [[0.5, 2.0], [0.0, 1.0]])
    np.testing.assert_allclose(gu.numpy(), [2.0, 2.0, 0.5, 2.0])


def test_scatters_replay_in_graphs_and_check_their_inputs():
    t = aj.constant(RNG.standard_normal((4, 3)))
    check_graph_replays_eager(
        lambda x: aj.tensor_scatter_nd_min(x, [[1, 2], [3, 0]], x[0, :2]), [t, t * 2.0])
    check_graph_replays_eager(lambda x: aj.tensor_scatter_nd_sub(x, [[1]], x[2:3] * 2.0), [t])
    with pytest.raises(InvalidArgumentError, match="tensor_scatter_nd_max: index 4 is out of "
                       "range"):
        aj.tensor_scatter_nd_max(t, [[4]], aj.zeros((1, 3), aj.float64))
    with pytest.raises(ShapeError, match=r"tensor_scatter_nd_sub: expected updates of shape "
                       r"\[1, 3\]"):
        aj.tensor_scatter_nd_sub(t, [[1]], aj.zeros((2, 3), aj.float64))
    with pytest.raises(DTypeError, match="tensor_scatter_nd_min: expected a numeric tensor, got "
                       "bool"):
        aj.tensor_scatter_nd_min(aj.constant([True, False]), [[0]], [False])


# ----------------------------------------------------------------------------- value checks
# (as tests/ops/test_value_checks.py: the same error eagerly and at every replay)

_X = np.arange(12.0).reshape(3, 4)
BAD = [
    (lambda d, i: aj.math.unsorted_segment_max(d, i, 2), (_X, np.array([0, 2, 1])),
     "segment_max: segment id 2 is out of range for 2 segments"),
    (lambda d, i: aj.math.segment_min(d, i), (_X, np.array([1, 0, 0])),
     "segment_min: segment ids must be non-negative and sorted"),
    (lambda d, i: aj.math.segment_prod(d, i), (_X, np.array([0, -1, 0])),
     "segment_prod: segment ids must be non-negative and sorted"),
    (lambda x, i, u: aj.tensor_scatter_nd_sub(x, i, u), (_X, np.array([[0, 4]]), np.array([1.0])),
     "tensor_scatter_nd_sub: index 4 is out of range for dimension 1 of size 4"),
    (lambda x, i, u: aj.tensor_scatter_nd_max(x, i, u), (_X, np.array([[3, 0]]), np.array([1.0])),
     "tensor_scatter_nd_max: index 3 is out of range for dimension 0 of size 3"),
    (lambda x, i, u: aj.tensor_scatter_nd_min(x, i, u),
     (_X, np.array([[-1, 0]]), np.array([1.0])),
     "tensor_scatter_nd_min: index -1 is out of range for dimension 0 of size 3"),
]


def same_error_eagerly_and_at_every_replay(fn, bad, fragment, filename=__file__):
    """``fn`` on ``bad`` raises the error with ``fragment`` eagerly and in each replay of a
    function traced on all-zero (valid) inputs, naming ``filename`` (the user's line)."""
    import re

    def tensors(values):
        return [aj.constant(v, aj.float64) if v.dtype.kind == "f" else aj.constant(v)
                for v in values]

    with pytest.raises(InvalidArgumentError, match=re.escape(fragment)) as eager:
        fn(*tensors(bad))
    compiled = aj.function(fn)
    compiled(*tensors([np.zeros_like(v) for v in bad]))
    for _ in range(2):
        with pytest.raises(InvalidArgumentError) as graph:
            compiled(*tensors(bad))
        assert str(eager.value) in str(graph.value) and filename in str(graph.value)
    assert compiled.tracing_count == 1


@pytest.mark.parametrize("k", range(len(BAD)))
def test_value_checks_run_eagerly_and_at_every_replay(k):
    same_error_eagerly_and_at_every_replay(*BAD[k])
