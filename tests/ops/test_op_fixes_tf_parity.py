"""Ops checked against TF's documented behaviour where they once differed: clipping an
infinite global norm, non-square ``diag_part``/``trace``, ``one_hot`` dtypes from its
values, and ``batch_normalization`` with Python-number statistics."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError
from tests.numeric import numeric_grad


def _t(value, dtype=None):
    return aj.constant(np.asarray(value), dtype=dtype)


# ----------------------------------------------------------------------------- clipping


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy notes the overflow and inf - inf
def test_clip_by_global_norm_of_an_infinite_norm_is_all_nan():
    # TF: "If global_norm == infinity then the entries in t_list are all set to NaN".
    big = [_t(np.array([1e30, 1.0], np.float32)), _t(np.array([2.0], np.float32))]
    clipped, norm = aj.clip_by_global_norm(big, 1.0)  # 1e30**2 overflows float32 to inf
    assert np.isinf(norm.numpy())
    for c in clipped:
        assert c.dtype == aj.float32 and np.isnan(c.numpy()).all()
    clipped, _ = aj.clip_by_global_norm([_t([np.inf, 1.0]), None], 1.0)
    assert np.isnan(clipped[0].numpy()).all() and clipped[1] is None
    clipped, _ = aj.clip_by_global_norm([_t([np.nan, 1.0])], 1.0)
    assert np.isnan(clipped[0].numpy()).all()


def test_clip_by_global_norm_of_finite_norms_and_a_python_use_norm():
    t = _t(np.array([3.0, 4.0], np.float32))
    clipped, norm = aj.clip_by_global_norm([t], 1.0)
    np.testing.assert_allclose(clipped[0].numpy(), [0.6, 0.8], rtol=1e-6)
    zero, _ = aj.clip_by_global_norm([_t([0.0, 0.0])], 1.0)  # a zero norm is no error
    np.testing.assert_array_equal(zero[0].numpy(), [0.0, 0.0])
    clipped, norm = aj.clip_by_global_norm([t], 1.0, use_norm=10.0)  # as TF, a Python float
    np.testing.assert_allclose(clipped[0].numpy(), [0.3, 0.4], rtol=1e-6)
    assert norm.dtype == aj.float32 and float(norm) == 10.0


def test_clip_by_global_norm_gradient_matches_finite_differences():
    x0 = np.array([[0.5, -2.0], [1.5, 3.0]])
    w = np.array([[1.0, 2.0], [-1.0, 0.5]])

    def loss(x):
        clipped, _ = aj.clip_by_global_norm([x, x * 2.0], 1.0)
        return aj.reduce_sum((clipped[0] + clipped[1]) * w)

    x = _t(x0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = loss(x)
    want = numeric_grad(lambda v: float(loss(_t(v))), x0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- linalg

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("shape", [(2, 3), (4, 2), (2, 3, 5), (3, 1), (3, 3), (2, 4, 4)])
def test_diag_part_and_trace_of_any_matrix_match_numpy(shape):
    # TF: diag_part of [..., M, N] is [..., min(M, N)]; trace sums it.
    a = RNG.normal(size=shape)
    diagonal = aj.linalg.diag_part(_t(a))
    assert diagonal.shape == shape[:-2] + (min(shape[-2:]),)
    np.testing.assert_allclose(diagonal.numpy(), np.diagonal(a, axis1=-2, axis2=-1))
    np.testing.assert_allclose(aj.linalg.trace(_t(a)).numpy(),
                               np.trace(a, axis1=-2, axis2=-1))


@pytest.mark.parametrize("fn", ["diag_part", "trace"])
@pytest.mark.parametrize("shape", [(2, 3), (3, 2), (2, 2, 3)])
def test_diag_part_and_trace_gradients_match_finite_differences(fn, shape):
    a0 = RNG.normal(size=shape)
    f = getattr(aj.linalg, fn)
    w = RNG.normal(size=np.shape(np.diagonal(a0, axis1=-2, axis2=-1)) if fn == "diag_part"
                   else shape[:-2])

    def loss(a):
        return aj.reduce_sum(f(a) * w)

    a = _t(a0)
    with aj.GradientTape() as outer:
        outer.watch(a)
        with aj.GradientTape() as inner:
            inner.watch(a)
            y = loss(a)
        g = inner.gradient(y, a)
        gg = aj.reduce_sum(g * g)
    want = numeric_grad(lambda v: float(loss(_t(v))), a0)
    np.testing.assert_allclose(g.numpy(), want, atol=1e-8)
    second = outer.gradient(gg, a)  # the gradient is constant in a: no second-order term
    assert second is None or np.allclose(second.numpy(), 0.0)


def test_diag_part_traced_on_a_non_square_matrix_replays_eagerly():
    from tests.numeric import check_graph_replays_eager

    check_graph_replays_eager(aj.linalg.diag_part, [_t(RNG.normal(size=(2, 3))),
                                                    _t(RNG.normal(size=(2, 3)))])
    check_graph_replays_eager(aj.linalg.trace, [_t(RNG.normal(size=(4, 3)))])


@pytest.mark.parametrize("fn", ["diag_part", "trace"])
def test_diag_part_and_trace_of_a_vector_is_a_clear_error(fn):
    with pytest.raises(aj.errors.ShapeError, match=re.escape(
            f"{fn}: expected matrices, a tensor of rank >= 2 ([..., M, N]), got shape [3]")):
        getattr(aj.linalg, fn)(_t([1.0, 2.0, 3.0]))


# ----------------------------------------------------------------------------- one_hot

HOT = np.array([[1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("kwargs, dtype", [
    ({}, aj.float32),  # none of dtype, on_value, off_value: float32
    ({"on_value": 1, "off_value": 0}, aj.int32),  # Python ints are int32
    ({"on_value": 7}, aj.int32),
    ({"off_value": -1}, aj.int32),
    ({"on_value": 2.5, "off_value": -1.0}, aj.float32),
    ({"on_value": np.float64(1.0)}, aj.float64),
    ({"on_value": _t(1.0, aj.float64), "off_value": _t(0.0, aj.float64)}, aj.float64),
    ({"on_value": _t(3, aj.int64), "off_value": _t(-1, aj.int64)}, aj.int64),
    ({"on_value": 1, "off_value": 0, "dtype": aj.float64}, aj.float64),  # ints fit float64
    ({"dtype": aj.int64}, aj.int64),
    ({"on_value": True, "off_value": False}, aj.bool),
])
def test_one_hot_takes_its_dtype_from_the_values_as_tf(kwargs, dtype):
    got = aj.one_hot([0, 2], 3, **kwargs)
    on = kwargs.get("on_value", 1)
    off = kwargs.get("off_value", 0)
    on, off = (np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in (on, off))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.numpy(), np.where(HOT == 1, on, off).astype(dtype))


def test_one_hot_with_int_values_matches_tf_and_traces():
    got = aj.one_hot([0, 2], 3, on_value=7, off_value=-1)
    assert got.dtype == aj.int32 and got.numpy().tolist() == [[7, -1, -1], [-1, -1, 7]]
    traced = aj.function(lambda i: aj.one_hot(i, 3, on_value=7, off_value=-1))
    assert traced(aj.constant([0, 2])).numpy().tolist() == [[7, -1, -1], [-1, -1, 7]]
    assert traced(aj.constant([1])).dtype == aj.int32


@pytest.mark.parametrize("kwargs, message", [
    ({"on_value": 1, "off_value": 0.0},
     "one_hot: on_value is int32 but off_value is float32; give both one dtype"),
    ({"on_value": _t(1.0, aj.float64), "off_value": 0.0},
     "one_hot: on_value is float64 but off_value is float32; give both one dtype"),
    ({"on_value": _t(1.0, aj.float64), "dtype": aj.float32},
     "one_hot: on_value is float64 but dtype is float32; pass matching values or no dtype"),
    ({"on_value": 1.5, "dtype": aj.int32},
     "one_hot: on_value is float32 but dtype is int32; pass matching values or no dtype"),
])
def test_one_hot_mismatched_dtypes_are_a_clear_error(kwargs, message):
    with pytest.raises(DTypeError, match=re.escape(message)):
        aj.one_hot([0, 2], 3, **kwargs)


def test_one_hot_on_value_must_be_a_scalar():
    with pytest.raises(aj.errors.InvalidArgumentError, match=re.escape(
            "one_hot: expected on_value as a scalar, got shape [2]")):
        aj.one_hot([0, 2], 3, on_value=_t([1.0, 2.0]))


# ----------------------------------------------------------------------------- normalization


def _bn_ref(x, mean, var, offset, scale, eps):
    inv = 1.0 / np.sqrt(var + eps) * (1.0 if scale is None else scale)
    return x * inv + ((0.0 if offset is None else offset) - mean * inv)


@pytest.mark.parametrize("offset, scale", [(0.5, 2.0), (None, None), (None, 3.0), (-1.0, None)])
def test_batch_normalization_of_float64_with_python_statistics(offset, scale):
    x = np.array([1.0, 2.0, 3.0])
    got = aj.nn.batch_normalization(_t(x), 1.0, 4.0, offset, scale, 1e-3)
    assert got.dtype == aj.float64
    np.testing.assert_allclose(got.numpy(), _bn_ref(x, 1.0, 4.0, offset, scale, 1e-3),
                               rtol=1e-12)


@pytest.mark.parametrize("stats", [np.float32, np.float16, "python"])
def test_batch_normalization_of_float16_casts_the_statistics_to_x_as_tf(stats):
    # TF: x * cast(inv, x.dtype) + cast(offset - mean * inv, x.dtype), inv computed in the
    # statistics' dtype (float32 for Python numbers).
    x = RNG.normal(size=(4, 3)).astype(np.float16)
    mean, var, beta, gamma = (RNG.normal(size=3), RNG.uniform(0.5, 2.0, size=3),
                              RNG.normal(size=3), RNG.normal(size=3))
    if stats == "python":
        mean, var, beta, gamma = (float(v[0]) for v in (mean, var, beta, gamma))
        work = np.float32
        args = (mean, var, beta, gamma)
    else:
        work = stats
        mean, var, beta, gamma = (v.astype(stats) for v in (mean, var, beta, gamma))
        args = tuple(_t(v) for v in (mean, var, beta, gamma))
    got = aj.nn.batch_normalization(_t(x), *args, variance_epsilon=1e-3)
    assert got.dtype == aj.float16
    inv = (1.0 / np.sqrt(np.asarray(var, work) + work(1e-3)) * np.asarray(gamma, work))
    inv = inv.astype(work)
    shift = (np.asarray(beta, work) - np.asarray(mean, work) * inv).astype(work)
    want = x * inv.astype(np.float16) + shift.astype(np.float16)
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.astype(np.float64),
                               rtol=2e-3, atol=2e-3)


def test_batch_normalization_mixed_statistics_take_the_tensor_dtype_and_differentiate():
    x0 = RNG.normal(size=(3, 2))
    var0 = np.array([0.5, 2.0])

    def bn(x, var):
        return aj.nn.batch_normalization(x, 0.25, var, 0.5, 2.0, 1e-3)

    x, var = _t(x0), _t(var0)
    with aj.GradientTape(persistent=True) as tape:
        tape.watch([x, var])
        y = aj.reduce_sum(aj.square(bn(x, var)))
    assert bn(x, var).dtype == aj.float64
    np.testing.assert_allclose(bn(x, var).numpy(), _bn_ref(x0, 0.25, var0, 0.5, 2.0, 1e-3),
                               rtol=1e-12)
    for arg, at, f in [(x, x0, lambda v: bn(_t(v), var)), (var, var0, lambda v: bn(x, _t(v)))]:
        want = numeric_grad(lambda v: float(aj.reduce_sum(aj.square(f(v)))), at)
        np.testing.assert_allclose(tape.gradient(y, arg).numpy(), want, rtol=1e-6)
