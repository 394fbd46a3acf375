"""``unique``, ``unique_with_counts``, ``math.bincount`` and ``searchsorted`` against plain
Python and NumPy, eagerly and inside ``@aj.function`` (unknown lengths), bincount's weight
gradient against central differences, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from tests.numeric import numeric_grad

RNG = np.random.default_rng(17)


def _unique_ref(values):
    seen: dict = {}
    for v in values.tolist():
        seen.setdefault(v, len(seen))
    y = np.array(list(seen), values.dtype)
    idx = np.array([seen[v] for v in values.tolist()], np.int32)
    count = np.array([values.tolist().count(v) for v in seen], np.int32)
    return y, idx, count


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_unique_keeps_first_occurrence_order(mode):
    for _ in range(10):
        values = RNG.integers(-3, 4, RNG.integers(0, 12)).astype(np.int64)
        call = aj.unique_with_counts if mode == "eager" else aj.function(
            aj.unique_with_counts, input_signature=[aj.TensorSpec([None], aj.int64)])
        y, idx, count = call(aj.constant(values))
        want = _unique_ref(values)
        for got, ref in zip((y, idx, count), want):
            np.testing.assert_array_equal(got.numpy(), ref)
        np.testing.assert_array_equal(y.numpy()[idx.numpy()], values)
    y, idx = aj.unique(aj.constant([1.5, 1.5, -2.0]), out_idx=aj.int64)
    np.testing.assert_array_equal(y.numpy(), [1.5, -2.0])
    assert idx.dtype == aj.int64
    graph = aj.function(lambda v: aj.unique(v)[0]).get_concrete_function(
        aj.constant([1, 2, 2])).graph
    assert graph.outputs[0].spec.shape == (None,)  # the length is known only from the values


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_bincount_counts_and_sums_weights(mode):
    arr = RNG.integers(0, 6, 20).astype(np.int32)
    weights = RNG.normal(size=20)
    run = (lambda f, *a: f(*a)) if mode == "eager" else (lambda f, *a: aj.function(f)(*a))
    np.testing.assert_array_equal(run(aj.math.bincount, aj.constant(arr)).numpy(),
                                  np.bincount(arr))
    got = run(lambda a, w: aj.math.bincount(a, w, minlength=9), aj.constant(arr),
              aj.constant(weights))
    np.testing.assert_allclose(got.numpy(), np.bincount(arr, weights, minlength=9))
    capped = run(lambda a: aj.math.bincount(a, maxlength=3), aj.constant(arr))
    np.testing.assert_array_equal(capped.numpy(), np.bincount(arr)[:3])
    fixed = aj.function(lambda a: aj.math.bincount(a, minlength=6, maxlength=6))
    assert fixed.get_concrete_function(aj.constant(arr)).graph.outputs[0].spec.shape == (6,)


def test_bincount_weight_gradient_matches_finite_differences():
    arr = np.array([0, 2, 2, 5, 1, 7])
    w0 = RNG.normal(size=6)
    scale = RNG.normal(size=6)
    w = aj.constant(w0)
    with aj.GradientTape() as tape:
        tape.watch(w)
        total = aj.reduce_sum(aj.math.bincount(aj.constant(arr), w, maxlength=6) ** 2 * scale)

    def ref(v):
        return float(np.sum(np.bincount(arr, v, minlength=8)[:6] ** 2 * scale))

    np.testing.assert_allclose(tape.gradient(total, w).numpy(), numeric_grad(ref, w0),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy_row_by_row(side):
    seq = np.sort(RNG.integers(0, 10, (3, 8)), axis=1).astype(np.float64)
    values = RNG.integers(-1, 11, (3, 5)).astype(np.float64)
    got = aj.searchsorted(aj.constant(seq), aj.constant(values), side=side)
    want = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seq, values)])
    np.testing.assert_array_equal(got.numpy(), want)
    assert got.dtype == aj.int32
    flat = aj.function(lambda s, v: aj.searchsorted(s, v, side=side, out_type=aj.int64))
    out = flat(aj.constant(seq[0]), aj.constant(values[0]))
    np.testing.assert_array_equal(out.numpy(), np.searchsorted(seq[0], values[0], side=side))
    assert out.dtype == aj.int64


def test_counting_errors():
    with pytest.raises(ShapeError, match=r"unique: expected a 1-D tensor, got shape \[2, 2\]"):
        aj.unique(aj.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="values must be non-negative, got -1"):
        aj.math.bincount(aj.constant([1, -1]))
    traced = aj.function(lambda a: aj.math.bincount(a))
    traced(aj.constant([0, 1]))
    with pytest.raises(InvalidArgumentError, match="values must be non-negative"):
        traced(aj.constant([0, -2]))
    with pytest.raises(DTypeError, match="expected integer values, got float32"):
        aj.math.bincount(aj.constant([1.0]))
    with pytest.raises(ShapeError, match="weights must have the shape of arr"):
        aj.math.bincount(aj.constant([1, 2]), aj.constant([1.0]))
    with pytest.raises(InvalidArgumentError, match="side must be 'left' or 'right'"):
        aj.searchsorted(aj.constant([1.0]), aj.constant([1.0]), side="middle")
    with pytest.raises(ShapeError, match="must have the same leading dims"):
        aj.searchsorted(aj.ones((2, 3)), aj.ones((3, 1)))
