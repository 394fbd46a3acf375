"""Small TF names: ``aj.roll``, ``aj.linalg.matvec``, ``aj.nn.embedding_lookup``,
``aj.keras.utils.to_categorical``, ``experimental_relax_shapes``, ``aj.ensure_shape``,
``executing_eagerly``, ``init_scope``, ``control_dependencies``, ``no_op``, ``identity_n`` and
``is_tensor``, against NumPy (values) and finite differences (gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError
from tests.numeric import check_graph_replays_eager, numeric_grad

RNG = np.random.default_rng(5)
A = RNG.standard_normal((3, 4))


@pytest.mark.parametrize("shift, axis", [(1, 0), (-1, 1), (5, 1), (0, 0), ([1, 2], [0, 1]),
                                         (2, -1), ([1, 1], [1, 1])])
def test_roll_matches_numpy_and_differentiates(shift, axis):
    got = aj.roll(aj.constant(A), shift, axis)
    np.testing.assert_array_equal(got.numpy(), np.roll(A, shift, axis))
    weights = RNG.standard_normal(A.shape)

    def loss(a):
        return float(np.sum(np.roll(a, shift, axis) ** 2 * weights))

    x = aj.constant(A)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(aj.square(aj.roll(x, shift, axis)) * weights)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), numeric_grad(loss, A), rtol=1e-6)
    check_graph_replays_eager(lambda t: aj.roll(t, shift, axis), [x, x * 2.0])


def test_roll_errors():
    with pytest.raises(InvalidArgumentError, match="roll: expected as many shifts as axes"):
        aj.roll(aj.constant(A), [1, 2], 0)


def test_matvec_and_embedding_lookup():
    v = RNG.standard_normal(4)
    np.testing.assert_allclose(aj.linalg.matvec(aj.constant(A), aj.constant(v)).numpy(), A @ v)
    batch = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(
        aj.linalg.matvec(aj.constant(batch), aj.constant(RNG.standard_normal((2, 3))),
                         transpose_a=True).shape, (2, 4))
    check_graph_replays_eager(lambda m: aj.linalg.matvec(m, aj.constant(v)), [aj.constant(A)])
    ids = np.array([[0, 2], [2, 1]])
    np.testing.assert_array_equal(aj.nn.embedding_lookup(aj.constant(A), ids).numpy(),
                                  np.take(A, ids, axis=0))


def test_to_categorical():
    np.testing.assert_array_equal(aj.keras.utils.to_categorical([0, 2, 1], 4),
                                  np.eye(4, dtype=np.float32)[[0, 2, 1]])
    assert aj.keras.utils.to_categorical(np.array([[1], [0]])).shape == (2, 1, 2)
    with pytest.raises(ValueError, match="class indices must be in \\[0, 2\\)"):
        aj.keras.utils.to_categorical([0, 2], 2)


def test_experimental_relax_shapes_is_reduce_retracing():
    f = aj.function(lambda x: x * 2.0, experimental_relax_shapes=True)
    assert f.reduce_retracing
    for n in (2, 3, 4):
        f(aj.ones((n,)))
    assert f.tracing_count == 2  # the second shape relaxes to an unknown dim


def test_more_error_messages():
    from autojit.errors import GradientError
    from autojit.ops.core import bind
    from autojit.ops.creation import FILL_DYNAMIC

    with pytest.raises(InvalidArgumentError, match="embedding_lookup: max_norm is not "
                       "supported, got 1.0"):
        aj.nn.embedding_lookup(aj.constant(A), [0], max_norm=1.0)
    with pytest.raises(InvalidArgumentError, match="zip: expected a tuple of Datasets"):
        aj.data.Dataset.zip((aj.data.Dataset.range(2), 3))
    with pytest.raises(InvalidArgumentError, match="fill_dynamic: dimensions must be >= 0, "
                       "got \\[-1\\]"):
        bind(FILL_DYNAMIC, np.array([-1], np.int32), np.float32(0.0), hint=(None,))
    with pytest.raises(InvalidArgumentError, match="fill_dynamic: expected a 1-D integer "
                       "shape of length 1, got float32\\[1\\]"):
        bind(FILL_DYNAMIC, np.array([1.0], np.float32), np.float32(0.0), hint=(None,))
    v = aj.Variable(2.0)

    @aj.custom_gradient
    def bad(x):
        return x * v, lambda dy, variables: dy
    x = aj.constant(1.0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = bad(x)
    with pytest.raises(GradientError, match="must return \\(gradients of the inputs, "
                       "gradients of the variables\\)"):
        tape.gradient(y, x)

    class Bad(aj.keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight("w", (2,), initializer=3)
    with pytest.raises(InvalidArgumentError, match="unknown initializer 3"):
        Bad()(aj.constant([1.0]))


def test_ensure_shape_checks_known_dims_while_tracing_and_the_rest_at_each_call():
    x = aj.constant(A)
    assert aj.ensure_shape(x, [3, None]) is not None
    with pytest.raises(aj.errors.ShapeError, match=r"expected a tensor of shape \[3, 5\], got "
                                                   r"float64\[3, 4\]"):
        aj.ensure_shape(x, [3, 5])

    @aj.function(input_signature=[aj.TensorSpec([None, None], aj.float64)])
    def f(v):
        y = aj.ensure_shape(v, (None, 4))
        assert y.shape == (None, 4)  # the static shape takes the dims given
        return y * 2.0

    np.testing.assert_array_equal(f(x).numpy(), A * 2.0)
    with pytest.raises(aj.errors.ShapeError, match=r"expected a tensor of shape \[\?, 4\], "
                                                   r"got float64\[3, 2\]"):
        f(aj.constant(A[:, :2]))
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(aj.ensure_shape(x, (3, 4)) ** 2)
    np.testing.assert_allclose(tape.gradient(total, x).numpy(), 2 * A)


def test_context_names_as_tf():
    assert aj.executing_eagerly()
    seen = []

    @aj.function
    def f(x):
        seen.append(aj.executing_eagerly())
        with aj.init_scope():
            seen.append(aj.executing_eagerly())
            table = aj.constant([1.0, 2.0, 3.0])
        with aj.control_dependencies([x]):
            y = aj.identity(x)
        assert aj.no_op() is None
        a, b = aj.identity_n([y, table])
        return a + b

    np.testing.assert_array_equal(f(aj.constant([1.0, 1.0, 1.0])).numpy(), [2.0, 3.0, 4.0])
    assert seen == [False, True]
    assert aj.is_tensor(aj.constant(1.0)) and aj.is_tensor(aj.Variable(1.0))
    assert not aj.is_tensor(np.ones(2)) and not aj.is_tensor(1.0)
    with pytest.raises(InvalidArgumentError, match="expected a list of tensors or None"):
        with aj.control_dependencies(aj.constant(1.0)):
            pass
