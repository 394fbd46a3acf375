"""``aj.map_fn``, ``aj.scan``, ``aj.foldl``, ``aj.foldr`` and ``aj.vectorized_map``: values
against plain Python loops over NumPy rows, eagerly and inside ``@aj.function`` (also with
an unknown first dim), gradients against central differences in float64, and the errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError
from tests.numeric import numeric_grad

RNG = np.random.default_rng(3)
X = RNG.normal(size=(5, 3))
MODES = ["eager", "function", "unknown_dim"]


def run(mode, fn, *arrays):
    """``fn(*tensors)`` eagerly, traced, or traced for an unknown first dim."""
    tensors = [aj.constant(a) for a in arrays]
    if mode == "eager":
        return fn(*tensors)
    if mode == "function":
        return aj.function(fn)(*tensors)
    specs = [aj.TensorSpec([None, *a.shape[1:]], aj.as_dtype(a.dtype)) for a in arrays]
    return aj.function(fn, input_signature=specs)(*tensors)


ROW_FNS = [
    (lambda r: r * 2.0 + 1.0, lambda r: r * 2.0 + 1.0),
    (lambda r: aj.reduce_sum(r * r), lambda r: np.sum(r * r)),
    (lambda r: aj.stack([aj.reduce_max(r), aj.reduce_min(r)]), lambda r: np.stack([r.max(),
                                                                                   r.min()])),
    (lambda r: aj.tanh(r)[::-1], lambda r: np.tanh(r)[::-1]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", range(len(ROW_FNS)))
def test_map_fn_applies_fn_to_each_row(mode, k):
    fn, ref = ROW_FNS[k]
    got = run(mode, lambda x: aj.map_fn(fn, x), X)
    np.testing.assert_allclose(got.numpy(), np.stack([ref(r) for r in X]), rtol=1e-12)
    got = run(mode, lambda x: aj.vectorized_map(fn, x), X)
    np.testing.assert_allclose(got.numpy(), np.stack([ref(r) for r in X]), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_map_fn_over_a_structure_with_an_output_signature(mode):
    labels = RNG.integers(0, 3, 5).astype(np.int32)

    def fn(x, y):
        return aj.map_fn(lambda e: {"pick": e[0][e[1]], "twice": e[1] * 2}, (x, y),
                         fn_output_signature={"pick": aj.float64, "twice": aj.int32})

    got = run(mode, fn, X, labels)
    np.testing.assert_allclose(got["pick"].numpy(), X[np.arange(5), labels])
    np.testing.assert_array_equal(got["twice"].numpy(), labels * 2)
    assert got["twice"].dtype == aj.int32


def test_map_fn_runs_a_converted_fn_with_tensor_control_flow():
    @aj.function
    def f(x):
        def clip(r):
            if aj.reduce_sum(r) > 0:
                return r
            return -r

        return aj.map_fn(clip, x)

    want = np.stack([r if r.sum() > 0 else -r for r in X])
    np.testing.assert_allclose(f(aj.constant(X)).numpy(), want)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_map_fn_gradient_matches_finite_differences(mode):
    w0 = RNG.normal(size=(3,))
    w = aj.Variable(w0)

    def loss(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.map_fn(lambda r: aj.reduce_sum(aj.sin(r * w)) ** 2, x)
            total = aj.reduce_sum(y * aj.range(1.0, 6.0, dtype=aj.float64))
        return tape.gradient(total, [x, w])

    gx, gw = (aj.function(loss) if mode == "function" else loss)(aj.constant(X))

    def ref(x, w_):
        return float(np.sum(np.sum(np.sin(x * w_), axis=1) ** 2 * np.arange(1.0, 6.0)))

    np.testing.assert_allclose(gx.numpy(), numeric_grad(lambda x: ref(x, w0), X), rtol=1e-6)
    np.testing.assert_allclose(gw.numpy(), numeric_grad(lambda v: ref(X, v), w0), rtol=1e-6)


def _scan_ref(fn, rows, init, reverse=False):
    order = list(range(len(rows)))[::-1] if reverse else list(range(len(rows)))
    out = [None] * len(rows)
    acc = init
    for i in order:
        acc = fn(acc, rows[i]) if acc is not None else rows[i]
        out[i] = acc
    return np.stack(out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("initial", [False, True])
def test_scan_matches_a_python_loop(mode, reverse, initial):
    init = np.array([0.5, -1.0, 2.0]) if initial else None

    def fn(x):
        return aj.scan(lambda a, r: a * 0.5 + aj.sin(r), x,
                       initializer=None if init is None else aj.constant(init), reverse=reverse)

    want = _scan_ref(lambda a, r: a * 0.5 + np.sin(r), X, init, reverse)
    np.testing.assert_allclose(run(mode, fn, X).numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_scan_carries_a_structured_accumulator(mode):
    def fn(x):
        return aj.scan(lambda acc, r: (acc[0] + r, acc[1] * 2), x,
                       initializer=(aj.zeros([3], aj.float64), aj.constant(1)))

    sums, powers = run(mode, fn, X)
    np.testing.assert_allclose(sums.numpy(), np.cumsum(X, axis=0), rtol=1e-12)
    np.testing.assert_array_equal(powers.numpy(), 2 ** np.arange(1, 6))


@pytest.mark.parametrize("mode", MODES)
def test_foldl_and_foldr_match_functools_reduce(mode):
    digits = np.array([1, 2, 3, 4], np.int64)
    left = run(mode, lambda d: aj.foldl(lambda a, x: a * 10 + x, d), digits)
    right = run(mode, lambda d: aj.foldr(lambda a, x: a * 10 + x, d), digits)
    assert int(left) == functools.reduce(lambda a, x: a * 10 + x, digits.tolist()) == 1234
    assert int(right) == functools.reduce(lambda a, x: a * 10 + x, digits[::-1].tolist())
    total = run(mode, lambda x: aj.foldl(lambda a, r: a * 0.9 + r, x,
                                         initializer=aj.ones([3], aj.float64)), X)
    want = functools.reduce(lambda a, r: a * 0.9 + r, list(X), np.ones(3))
    np.testing.assert_allclose(total.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_scan_and_fold_gradients_match_finite_differences(mode):
    init0 = RNG.normal(size=(3,))

    def grads(x, init):
        with aj.GradientTape() as tape:
            tape.watch([x, init])
            states = aj.scan(lambda a, r: aj.tanh(a * r + 0.3), x, initializer=init)
            last = aj.foldr(lambda a, r: a * aj.cos(r), x, initializer=init)
            total = aj.reduce_sum(states ** 2) + aj.reduce_sum(last)
        return tape.gradient(total, [x, init])

    gx, ginit = (aj.function(grads) if mode == "function" else grads)(
        aj.constant(X), aj.constant(init0))

    def ref(x, init):
        a, total = init, 0.0
        for r in x:
            a = np.tanh(a * r + 0.3)
            total += np.sum(a ** 2)
        b = init
        for r in x[::-1]:
            b = b * np.cos(r)
        return total + np.sum(b)

    np.testing.assert_allclose(gx.numpy(), numeric_grad(lambda x: ref(x, init0), X), rtol=1e-6)
    np.testing.assert_allclose(ginit.numpy(), numeric_grad(lambda v: ref(X, v), init0),
                               rtol=1e-6)


def test_empty_elems_give_empty_results():
    empty = aj.zeros([0, 3], aj.float64)
    out = aj.map_fn(lambda r: r * 2.0, empty, fn_output_signature=aj.TensorSpec([3], aj.float64))
    assert out.shape == (0, 3)
    assert aj.scan(lambda a, r: a + r, empty, initializer=aj.zeros([3], aj.float64)).shape \
        == (0, 3)
    assert float(aj.reduce_sum(aj.foldl(lambda a, r: a + r, empty,
                                        initializer=aj.ones([3], aj.float64)))) == 3.0


# ----------------------------------------------------------------------------- errors


def test_a_dtype_fn_changes_without_a_signature_is_an_error():
    with pytest.raises(InvalidArgumentError, match="fn returned a int32 tensor where float64 was "
                                                   "expected .*pass fn_output_signature="):
        aj.map_fn(lambda r: aj.cast(r, aj.int32), aj.constant(X))
    with pytest.raises(InvalidArgumentError, match="fn returned .*int32.*where float64"):
        aj.function(lambda x: aj.map_fn(lambda r: aj.cast(r, aj.int32), x))(aj.constant(X))


def test_a_structure_fn_changes_is_an_error():
    with pytest.raises(InvalidArgumentError, match=r"fn returned \(float64, float64\), but the "
                                                   "structure and dtypes of elems is float64"):
        aj.map_fn(lambda r: (r, r), aj.constant(X))
    with pytest.raises(InvalidArgumentError, match="the accumulator"):
        aj.scan(lambda a, r: (a, r), aj.constant(X))


def test_bad_elems_are_errors():
    with pytest.raises(ShapeError, match="must have a first axis"):
        aj.map_fn(lambda r: r, aj.constant(1.0))
    with pytest.raises(ShapeError, match="the same first dim, got 5, 4"):
        aj.map_fn(lambda e: e[0], (aj.constant(X), aj.constant(X[:4])))
    with pytest.raises(InvalidArgumentError, match="elems is empty and there is no initializer"):
        aj.foldl(lambda a, r: a + r, aj.zeros([0, 2]))
    with pytest.raises(InvalidArgumentError, match="fn_output_signature must be a dtype"):
        aj.map_fn(lambda r: r, aj.constant(X), fn_output_signature="not a dtype")
