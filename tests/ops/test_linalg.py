"""``tensordot``, ``linalg.inv``, ``linalg.det``, the solves and factorizations and the
``aj.linalg`` composites (trace, diag, logdet, cholesky_solve) from the user's side: traced
functions agree with eager runs at every replay (gradients too), unknown dims are read at run time,
known values and gradients, and one test per error message, eagerly and while tracing.
Values and VJPs against NumPy and finite differences are in ``op_table_linalg.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError, TracingError
from tests.numeric import check_graph_replays_eager, numeric_grad

RNG = np.random.default_rng(5)


def _t(value):
    return aj.constant(np.asarray(value))


def _matrices(*shape):
    return 3.0 * np.eye(shape[-1]) + RNG.uniform(-0.5, 0.5, shape)


# ----------------------------------------------------------------------------- graphs

GRAPH_CASES = {
    "tensordot": lambda a: aj.tensordot(a, a, axes=[[0, 2], [0, 2]]),
    "tensordot-outer": lambda a: aj.tensordot(a[0, 0], a[1], axes=0),
    "tensordot-2d": lambda a: aj.tensordot(a[0], a[1], axes=[0, 0]),
    "inv": lambda a: aj.linalg.inv(a),
    "inv-adjoint": lambda a: aj.linalg.inv(a, adjoint=True),
    "det": lambda a: aj.linalg.det(a),
    "solve": lambda a: aj.linalg.solve(a, a[..., :2]),
    "triangular_solve": lambda a: aj.linalg.triangular_solve(a, a, lower=False, adjoint=True),
    "cholesky": lambda a: aj.linalg.cholesky(aj.matmul(a, a, transpose_b=True)),
    "slogdet": lambda a: aj.linalg.slogdet(a)[1],
    "band_part": lambda a: aj.linalg.band_part(a, 1, 0),
    "logdet": lambda a: aj.linalg.logdet(aj.matmul(a, a, transpose_b=True)),
    "cholesky_solve": lambda a: aj.linalg.cholesky_solve(aj.linalg.cholesky(
        aj.matmul(a, a, transpose_b=True)), a),
    "trace": lambda a: aj.linalg.trace(a),
    "eigvalsh": lambda a: aj.linalg.eigvalsh(a + aj.linalg.adjoint(a)),
    "qr": lambda a: aj.linalg.qr(a)[1],
    "diag": lambda a: aj.linalg.diag(aj.linalg.diag_part(a)) + aj.linalg.adjoint(a),
}


@pytest.mark.parametrize("name", sorted(GRAPH_CASES))
def test_traced_function_replays_the_eager_values_and_gradients(name):
    check_graph_replays_eager(GRAPH_CASES[name], [_t(_matrices(2, 3, 3)) for _ in range(3)],
                              rtol=1e-10)


def test_tensordot_reads_unknown_dims_at_run_time():
    @aj.function(input_signature=[aj.TensorSpec([None, 3, None], aj.float64),
                                  aj.TensorSpec([None, 3, 2], aj.float64)])
    def contract(a, b):
        with aj.GradientTape() as tape:
            tape.watch(a)
            out = aj.tensordot(a, b, axes=[[1, 2], [1, 0]])
            loss = aj.reduce_sum(out * out)
        return out, tape.gradient(loss, a)

    assert contract.get_concrete_function().graph.outputs[0].spec.shape == (None, 2)
    for n, k in ((2, 4), (5, 1)):
        a, b = RNG.normal(size=(n, 3, k)), RNG.normal(size=(k, 3, 2))
        out, grad = contract(_t(a), _t(b))
        expected = np.tensordot(a, b, axes=[[1, 2], [1, 0]])
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
        np.testing.assert_allclose(grad.numpy(), np.tensordot(2 * expected, b, [[1], [2]])
                                   .transpose(0, 2, 1), rtol=1e-12)
    assert contract.tracing_count == 1


def test_tensordot_of_two_matrices_is_one_matmul():
    graph = aj.function(lambda a, b: aj.tensordot(a, b, 1), autograph=False) \
        .get_concrete_function(aj.ones((2, 3)), aj.ones((3, 4))).graph
    assert [node.op.name for node in graph.nodes] == ["matmul"]


def test_inverse_and_determinant_known_values():
    a = _t([[4.0, 7.0], [2.0, 6.0]])
    np.testing.assert_allclose(aj.linalg.inv(a).numpy(), [[0.6, -0.7], [-0.2, 0.4]])
    np.testing.assert_allclose(aj.linalg.inv(a, adjoint=True).numpy(), [[0.6, -0.2], [-0.7, 0.4]])
    assert float(aj.linalg.det(a)) == pytest.approx(10.0)
    batch = aj.linalg.det(_t(np.stack([np.eye(3), 2 * np.eye(3)])))
    np.testing.assert_allclose(batch.numpy(), [1.0, 8.0])
    assert aj.linalg.det(aj.eye(2)).dtype == aj.float32


def test_determinant_gradient_is_det_times_inverse_transpose():
    value = _matrices(2, 3, 3)
    a = _t(value)
    with aj.GradientTape() as tape:
        tape.watch(a)
        total = aj.reduce_sum(aj.linalg.det(a))
    expected = np.linalg.det(value)[:, None, None] * np.linalg.inv(value).transpose(0, 2, 1)
    np.testing.assert_allclose(tape.gradient(total, a).numpy(), expected, rtol=1e-12)


def test_inverse_gradient_of_the_trace():
    # d tr(A^-1) / dA = -(A^-2)^T
    value = _matrices(3, 3)
    a = _t(value)
    with aj.GradientTape() as tape:
        tape.watch(a)
        trace = aj.reduce_sum(aj.linalg.inv(a) * aj.eye(3, dtype=aj.float64))
    inverse = np.linalg.inv(value)
    np.testing.assert_allclose(tape.gradient(trace, a).numpy(), -(inverse @ inverse).T,
                               rtol=1e-12)


def test_singular_matrix_is_an_error_eagerly_and_at_replay():
    message = "linalg.inv: a matrix is singular (not invertible); its determinant is 0"
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        aj.linalg.inv(_t([[1.0, 2.0], [2.0, 4.0]]))
    traced = aj.function(lambda a: aj.linalg.inv(a), autograph=False)
    traced(_t(np.eye(2)))
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        traced(_t(np.zeros((2, 2))))
    assert float(aj.linalg.det(_t([[1.0, 2.0], [2.0, 4.0]]))) == 0.0


# ----------------------------------------------------------------------------- errors

# (id, fn(x) with x a float32 [3, 4] tensor, error class, message)
ERRORS = [
    ("tensordot-dims", lambda x: aj.tensordot(x, x, 1), ShapeError,
     ("tensordot: contracted dims differ: axis 1 of a (shape [3, 4]) has size 4, axis 0 of b "
      "(shape [3, 4]) has size 3")),
    ("tensordot-pair-dims", lambda x: aj.tensordot(x, x, [[0], [1]]), ShapeError,
     "tensordot: contracted dims differ: axis 0 of a (shape [3, 4]) has size 3, axis 1 of b"),
    ("tensordot-too-many", lambda x: aj.tensordot(x, x[0], 2), InvalidArgumentError,
     ("tensordot: axes = 2 must be >= 0 and at most the rank of each input (a has rank 2, b has "
      "rank 1)")),
    ("tensordot-negative", lambda x: aj.tensordot(x, x, -1), InvalidArgumentError,
     "tensordot: axes = -1 must be >= 0"),
    ("tensordot-not-a-pair", lambda x: aj.tensordot(x, x, [[0], [0], [1]]), InvalidArgumentError,
     "tensordot: expected axes as an int or a pair [a_axes, b_axes], got [[0], [0], [1]]"),
    ("tensordot-lengths", lambda x: aj.tensordot(x, x, [[0, 1], [0]]), InvalidArgumentError,
     "tensordot: expected as many axes of a as of b, got [0, 1] and [0]"),
    ("tensordot-range", lambda x: aj.tensordot(x, x, [[2], [0]]), InvalidArgumentError,
     ("tensordot: axis 2 of a is out of range for a tensor of rank 2 (expected -2 <= axis < "
      "2)")),
    ("tensordot-repeated", lambda x: aj.tensordot(x, x, [[0, 0], [0, 1]]), InvalidArgumentError,
     "tensordot: repeated axis in the axes of a: [0, 0]"),
    ("tensordot-float-axes", lambda x: aj.tensordot(x, x, [[0.5], [0]]), InvalidArgumentError,
     "tensordot: expected the axes of a as an int or a list of ints, got [0.5]"),
    ("tensordot-dtypes", lambda x: aj.tensordot(x, aj.cast(x, aj.float64), [[0], [0]]),
     DTypeError, "tensordot: expected inputs of one dtype, got float32 and float64"),
    ("tensordot-bool", lambda x: aj.tensordot(x > 0, x > 0, [[0], [0]]), DTypeError,
     "tensordot: expected numeric tensors, got bool"),
    ("inv-int", lambda x: aj.linalg.inv(aj.cast(x[:, :3], aj.int32)), DTypeError,
     "linalg.inv: expected float32 or float64 matrices, got int32"),
    ("inv-not-square", lambda x: aj.linalg.inv(x), ShapeError,
     "linalg.inv: expected square matrices of shape [..., n, n], got shape [3, 4]"),
    ("inv-vector", lambda x: aj.linalg.inv(x[0]), ShapeError,
     "linalg.inv: expected square matrices of shape [..., n, n], got shape [4]"),
    ("det-float16", lambda x: aj.linalg.det(aj.cast(x[:, :3], aj.float16)), DTypeError,
     "linalg.det: expected float32 or float64 matrices, got float16"),
    ("det-not-square", lambda x: aj.linalg.det(aj.reshape(x, (2, 3, 2))), ShapeError,
     "linalg.det: expected square matrices of shape [..., n, n], got shape [2, 3, 2]"),
]


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m in ERRORS])
def test_eager_error(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn(aj.constant(np.ones((3, 4), np.float32)))


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m in ERRORS])
def test_same_error_while_tracing(fn, error, message):
    traced = aj.function(fn, autograph=False)
    with pytest.raises(error, match=re.escape(message)):
        traced(aj.constant(np.ones((3, 4), np.float32)))


def test_tensordot_axes_must_be_known_while_tracing():
    traced = aj.function(lambda x: aj.tensordot(x, x, aj.cast(x[0, 0], aj.int32)),
                         autograph=False)
    with pytest.raises(TracingError, match=re.escape(
            "tensordot: axes must be known while the function is traced, got a symbolic tensor "
            "that depends on the function's inputs")):
        traced(aj.ones((3, 3)))
    known = aj.function(lambda x: aj.tensordot(x, x, aj.rank(x) - 1), autograph=False)
    np.testing.assert_allclose(known(aj.ones((3, 3))).numpy(), np.full((3, 3), 3.0))


def test_rules_reject_bad_matrices_with_unknown_dims_only_when_they_are_known():
    @aj.function(input_signature=[aj.TensorSpec([None, None], aj.float64)])
    def inverse(a):
        return aj.linalg.inv(a), aj.linalg.det(a)

    inv, det = inverse.get_concrete_function().graph.outputs
    assert (inv.spec.shape, det.spec.shape) == ((None, None), ())
    np.testing.assert_allclose(inverse(_t(4.0 * np.eye(2)))[0].numpy(), 0.25 * np.eye(2))


# ----------------------------------------------------------------------------- solves


def test_composites_match_numpy():
    a = _matrices(2, 3, 3)
    spd = a @ np.swapaxes(a, -1, -2)
    b = RNG.normal(size=(2, 3, 2))
    np.testing.assert_allclose(aj.linalg.trace(_t(a)).numpy(), np.trace(a, axis1=-2, axis2=-1))
    np.testing.assert_allclose(aj.linalg.diag_part(_t(a)).numpy(),
                               np.diagonal(a, axis1=-2, axis2=-1))
    np.testing.assert_allclose(aj.linalg.diag(_t(a[0, 0])).numpy(), np.diag(a[0, 0]))
    np.testing.assert_allclose(aj.linalg.adjoint(_t(a)).numpy(), np.swapaxes(a, -1, -2))
    np.testing.assert_allclose(aj.linalg.logdet(_t(spd)).numpy(), np.linalg.slogdet(spd)[1],
                               rtol=1e-12)
    x = aj.linalg.cholesky_solve(aj.linalg.cholesky(_t(spd)), _t(b)).numpy()
    np.testing.assert_allclose(spd @ x, b, atol=1e-12)


def test_logdet_and_solve_gradients_match_finite_differences():
    a0 = _matrices(3, 3)
    b0 = RNG.normal(size=(3, 2))
    a = _t(a0)
    with aj.GradientTape() as tape:
        tape.watch(a)
        total = aj.linalg.logdet(aj.matmul(a, a, transpose_b=True)) + aj.reduce_sum(
            aj.linalg.solve(a, _t(b0)) ** 2)
    grad = tape.gradient(total, a).numpy()

    def ref(m):
        return np.linalg.slogdet(m @ m.T)[1] + np.sum(np.linalg.solve(m, b0) ** 2)

    np.testing.assert_allclose(grad, numeric_grad(ref, a0), rtol=1e-6, atol=1e-8)


def test_singular_and_indefinite_matrices_are_errors():
    singular = _t(np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(InvalidArgumentError, match="linalg.solve: a matrix is singular"):
        aj.linalg.solve(singular, _t(np.ones((2, 1))))
    with pytest.raises(InvalidArgumentError, match="not symmetric positive definite"):
        aj.linalg.cholesky(_t(np.array([[1.0, 0.0], [0.0, -1.0]])))
    with pytest.raises(InvalidArgumentError, match="triangular_solve: a matrix has a zero on its "
                                                   r"diagonal \(singular\)"):
        aj.linalg.triangular_solve(_t(np.array([[1.0, 0.0], [3.0, 0.0]])), _t(np.ones((2, 1))))
    traced = aj.function(lambda m: aj.linalg.cholesky(m))
    with pytest.raises(InvalidArgumentError, match="not symmetric positive definite"):
        traced(_t(-np.eye(2)))


def test_solve_shapes_and_dtypes_are_checked():
    a = _t(_matrices(2, 3, 3))
    with pytest.raises(ShapeError, match=r"rhs must be \[\.\.\., n, k\] with the matrix's batch "
                                         r"dims and n rows, got matrix \[2, 3, 3\] and rhs "
                                         r"\[2, 3\]"):
        aj.linalg.solve(a, _t(np.ones((2, 3))))
    with pytest.raises(ShapeError, match="rhs must be"):
        aj.linalg.triangular_solve(a, _t(np.ones((3, 3, 1))))
    with pytest.raises(ShapeError, match=r"expected square matrices of shape \[\.\.\., n, n\]"):
        aj.linalg.cholesky(_t(np.ones((2, 3))))
    with pytest.raises(DTypeError, match="expected float32 or float64 matrices, got int32"):
        aj.linalg.slogdet(aj.constant([[1, 0], [0, 1]]))
    with pytest.raises(ShapeError, match=r"expected matrices \[\.\.\., m, n\]"):
        aj.linalg.band_part(_t(np.ones(3)), 0, 0)


def test_eigh_and_qr_decompose_and_their_errors():
    a = RNG.normal(size=(2, 4, 3))
    q, r = aj.linalg.qr(_t(a))
    np.testing.assert_allclose(q.numpy() @ r.numpy(), a, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(q.numpy(), -1, -2) @ q.numpy(),
                               np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)
    assert np.allclose(np.tril(r.numpy(), -1), 0)
    sym = a[:, :3] + np.swapaxes(a[:, :3], -1, -2)
    e, v = aj.linalg.eigh(_t(sym))
    np.testing.assert_allclose(v.numpy() @ (e.numpy()[..., None] * np.swapaxes(v.numpy(), -1,
                                                                               -2)), sym,
                               atol=1e-12)
    assert np.all(np.diff(e.numpy(), axis=-1) > 0)
    with pytest.raises(ShapeError, match=r"at least as many rows as columns \(m >= n\), got "
                                         r"shape \[3, 4\]"):
        aj.linalg.qr(_t(np.ones((3, 4))))
    with pytest.raises(InvalidArgumentError, match="full_matrices=True is not implemented"):
        aj.linalg.qr(_t(a), full_matrices=True)
    with pytest.raises(ShapeError, match="expected square matrices"):
        aj.linalg.eigh(_t(np.ones((2, 3))))
