"""Adversarial eager programs checked against NumPy and central finite differences."""

import numpy as np
import pytest

import autojit as aj
from autojit.ops import math as m
from autojit.ops.core import bind
from tests.numeric import numeric_grad


def _grad(fn, x0):
    x = aj.constant(np.asarray(x0, np.float64))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(fn(x))
    return tape.gradient(y, x).numpy()


def _fd(fn, x0, eps=1e-6):
    return numeric_grad(lambda a: float(aj.reduce_sum(fn(aj.constant(a)))), x0, eps)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# --- bugs found (fixed) ----------------------------------------------------------------


def test_binary_crossentropy_from_logits_gradient_at_zero_logits():
    # Zero logits are what a zero-initialized output layer gives. d/dx = (sigmoid(x) - z)/n.
    z = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    x0 = np.zeros((2, 3))

    def loss(x):
        return aj.losses.binary_crossentropy(aj.constant(z), x, from_logits=True)

    expected = (_sigmoid(x0) - z) / 3
    np.testing.assert_allclose(_grad(loss, x0), expected, atol=1e-12)
    np.testing.assert_allclose(_fd(loss, x0), expected, atol=1e-6)
    # and still finite and exact for extreme logits
    x1 = np.array([[1e4, -1e4, 0.0]])
    z1 = np.array([[0.0, 0.0, 1.0]])
    g = _grad(lambda x: aj.losses.binary_crossentropy(aj.constant(z1), x, from_logits=True), x1)
    np.testing.assert_allclose(g, (_sigmoid(x1) - z1) / 3, atol=1e-12)


def test_one_hot_small_int_indices_do_not_wrap():
    # int8 positions 128..199 would wrap to -128..-57 if compared in int8.
    idx = np.array([-100, 3, 127, -1], np.int8)
    out = aj.one_hot(aj.constant(idx), 200).numpy()
    ref = (idx.astype(np.int64)[:, None] == np.arange(200)).astype(np.float32)
    np.testing.assert_array_equal(out, ref)
    # uint8 indices with depth > 256 must not overflow
    idx = np.array([255, 7], np.uint8)
    out = aj.one_hot(aj.constant(idx), 300).numpy()
    np.testing.assert_array_equal(out, (idx[:, None] == np.arange(300)).astype(np.float32))


def test_cast_of_variable_to_its_own_dtype_is_a_snapshot():
    # Note [Variable views]: no op may hand out the live Variable.
    v = aj.Variable(np.array([1.0, 2.0]))
    c = aj.cast(v, aj.float64)
    v.assign(np.array([5.0, 6.0]))
    assert not isinstance(c, aj.Variable)
    np.testing.assert_array_equal(c.numpy(), [1.0, 2.0])
    with aj.GradientTape() as tape:
        y = aj.reduce_sum(aj.cast(v, aj.float64) * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 3.0])


def test_op_returning_first_of_two_variable_inputs_is_copied():
    # The eager trace only compared the result with the *last* Variable input's buffer.
    w = aj.Variable(np.zeros((2, 3)))
    v = aj.Variable(np.ones((2, 3)))
    out = bind(m.UNBROADCAST, w, v)  # kernel returns ``g`` itself when shapes agree
    w.assign(5.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3)))


# --- probes that pass (regression guards) -------------------------------------------------

_R = np.random.RandomState(0)
_C1 = _R.randn(2, 4, 3)
_C2 = _R.randn(5, 2, 4, 3)
_C3 = _R.randn(2, 1, 4)
_C4 = _R.randn(3, 2)


@pytest.mark.parametrize("name, fn, x0", [
    ("bcast_mid", lambda x: x * aj.constant(_C1), _R.randn(2, 1, 3)),
    ("bcast_lead_rdiv", lambda x: aj.constant(_C2) / x, _R.rand(2, 1, 3) + 1),
    ("pow_neg_base", lambda x: x ** 3.0, np.array([-2.0, -0.5, 1.5])),
    ("rpow", lambda x: 2.0 ** x, np.array([0.5, -1.0])),
    ("rsub_int", lambda x: 1 - x * 2, np.array([0.5, -1.0])),
    ("rmod", lambda x: 2.3 % x, np.array([0.5, -1.0, 2.0])),
    ("max_ties", lambda x: aj.reduce_max(x, axis=-1), np.array([[1., 3., 3.], [2., 0., 1.]])),
    ("min_neg_axes", lambda x: aj.reduce_min(x, axis=[-1, 0]) * aj.constant(np.arange(3.)),
     _R.randn(2, 3, 4)),
    ("mean_keepdims", lambda x: aj.reduce_mean(x, axis=-2, keepdims=True) * aj.constant(_C3),
     _R.randn(2, 3, 4)),
    ("prod_zeros", lambda x: aj.reduce_prod(x, axis=1),
     np.array([[1., 0., 3.], [2., 0., 0.], [1., 2., 3.]])),
    ("maximum_rscalar", lambda x: aj.maximum(0.5, x), np.array([0.1, 0.7, 0.3])),
    ("clip_tensor_lo", lambda x: aj.clip_by_value(aj.constant(np.array([0.1, 0.7, -0.9])), x, 0.5),
     np.array([0.0, -0.5, -0.2])),
    ("where_scalar_first", lambda x: aj.where(x > 0, 2.0, x) * x, np.array([0.1, -0.7, 0.3])),
    ("log_softmax_axis0", lambda x: aj.nn.log_softmax(x, axis=-2) * aj.constant(_C4),
     _R.randn(3, 2)),
    ("getitem_neg_step", lambda x: x[::-2, None, ..., 1] * 3.0, _R.randn(5, 3)),
    ("gather_last_axis", lambda x: aj.gather(x, [2, 0, 2], axis=-1) ** 2, _R.randn(2, 3)),
])
def test_gradients_match_finite_differences(name, fn, x0):
    np.testing.assert_allclose(_grad(fn, x0), _fd(fn, x0), rtol=1e-4, atol=1e-5)


def test_weak_scalars_keep_tensor_dtype():
    h = aj.constant(np.array([1.5, -2.0], np.float16))
    assert (2.5 - h).dtype == np.float16
    assert aj.where(h > 0, 1, h).dtype == np.float16
    assert aj.maximum(2, h).dtype == np.float16
    i64 = aj.constant(np.array([3, -4], np.int64))
    np.testing.assert_array_equal((i64 + 2**40).numpy(), np.array([3, -4]) + 2**40)
    np.testing.assert_array_equal((-7 % i64).numpy(), -7 % np.array([3, -4]))


def test_eager_rule_cache_does_not_keep_assigned_variables_alive():
    import gc
    import weakref

    v = aj.Variable(np.zeros(3, np.float32))
    v.assign_add(np.ones(3, np.float32))
    ref = weakref.ref(v)
    del v
    gc.collect()
    assert ref() is None
