"""Creation ops' TF defaults, shapes as dynamic tensors in graphs, and the random ops:
reproducible per seed, independent op seeds, the right distributions, fresh draws per replay.
"""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError


@pytest.fixture(autouse=True)
def _restore_seed():
    yield
    aj.random.set_seed(None)


# ----------------------------------------------------------------------------- creation defaults


@pytest.mark.parametrize("make,dtype,values", [
    (lambda: aj.range(5), aj.int32, [0, 1, 2, 3, 4]),
    (lambda: aj.range(0.0, 1.0, 0.25), aj.float32, [0.0, 0.25, 0.5, 0.75]),
    (lambda: aj.range(3, dtype=aj.float64), aj.float64, [0.0, 1.0, 2.0]),
    (lambda: aj.range(aj.constant(np.int64(2)), 5), aj.int64, [2, 3, 4]),
    (lambda: aj.range(5, 0, -2), aj.int32, [5, 3, 1]),
    (lambda: aj.linspace(0.0, 1.0, 3), aj.float32, [0.0, 0.5, 1.0]),
    (lambda: aj.linspace(aj.constant(np.float64(1.0)), 2.0, 2), aj.float64, [1.0, 2.0]),
    (lambda: aj.fill((2,), 9), aj.int32, [9, 9]),
    (lambda: aj.eye(2), aj.float32, [[1.0, 0.0], [0.0, 1.0]]),
    (lambda: aj.zeros(2), aj.float32, [0.0, 0.0]),
], ids=["range-int", "range-float", "range-dtype", "range-tensor", "range-down",
        "linspace", "linspace-f64", "fill-int", "eye", "zeros-int-shape"])
def test_creation_defaults_follow_tensorflow(make, dtype, values):
    out = make()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), values)


def test_shape_size_rank_are_tensors_that_stay_dynamic_in_graphs():
    @aj.function(input_signature=[aj.TensorSpec([None, 4], aj.float32)], autograph=False)
    def facts(x):
        return aj.shape(x), aj.size(x), aj.rank(x)

    for rows in (2, 5):
        shape, size, rank = facts(aj.zeros((rows, 4)))
        np.testing.assert_array_equal(shape.numpy(), [rows, 4])
        assert int(size) == rows * 4 and int(rank) == 2
    assert facts.tracing_count == 1
    assert aj.shape(aj.zeros((2, 3)), out_type=aj.int64).dtype == aj.int64


def test_eye_batch_and_fill_gradient():
    np.testing.assert_array_equal(aj.eye(2, batch_shape=[3]).numpy(), np.broadcast_to(np.eye(2),
                                                                                       (3, 2, 2)))
    value = aj.constant(2.0)
    with aj.GradientTape() as tape:
        tape.watch(value)
        total = aj.reduce_sum(aj.fill((2, 3), value))
    assert float(tape.gradient(total, value)) == 6.0


# ----------------------------------------------------------------------------- random


def test_random_shapes_dtypes_and_defaults():
    assert aj.random.normal((2, 3)).shape == (2, 3)
    assert aj.random.normal([4], dtype=aj.float64).dtype == aj.float64
    assert aj.random.normal((3,), dtype=aj.float16).dtype == aj.float16
    assert aj.random.uniform(()).shape == ()
    assert aj.random.uniform((5,), 0, 10, dtype=aj.int64).dtype == aj.int64


def test_set_seed_repeats_the_sequence():
    aj.random.set_seed(7)
    first = [aj.random.normal((3,)).numpy(), aj.random.uniform((2,)).numpy()]
    aj.random.set_seed(7)
    second = [aj.random.normal((3,)).numpy(), aj.random.uniform((2,)).numpy()]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert aj.random.get_seed() == 7
    aj.random.set_seed(8)
    assert not np.array_equal(aj.random.normal((3,)).numpy(), first[0])


def test_later_draws_differ_from_earlier_ones():
    aj.random.set_seed(1)
    assert not np.array_equal(aj.random.normal((4,)).numpy(), aj.random.normal((4,)).numpy())


def test_op_seed_sequence_ignores_other_draws():
    aj.random.set_seed(3)
    a = aj.random.normal((3,), seed=11).numpy()
    aj.random.set_seed(3)
    aj.random.uniform((10,))  # an unseeded draw in between does not shift the seeded one
    b = aj.random.normal((3,), seed=11).numpy()
    np.testing.assert_array_equal(a, b)
    aj.random.set_seed(3)
    assert not np.array_equal(aj.random.normal((3,), seed=12).numpy(), a)


def test_normal_and_uniform_distributions():
    aj.random.set_seed(0)
    n = aj.random.normal((20000,), mean=2.0, stddev=3.0).numpy()
    assert abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 3.0) < 0.1
    u = aj.random.uniform((20000,), -1.0, 3.0).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.05
    k = aj.random.uniform((20000,), 2, 5, dtype=aj.int32).numpy()
    assert set(np.unique(k)) == {2, 3, 4}


def test_random_ops_draw_anew_at_each_replay():
    @aj.function(autograph=False)
    def draw():
        return aj.random.normal((4,)) + aj.random.normal((4,))

    aj.random.set_seed(5)
    a, b = draw().numpy(), draw().numpy()
    assert not np.array_equal(a, b)
    aj.random.set_seed(5)
    np.testing.assert_array_equal(draw().numpy(), a)
    assert draw.tracing_count == 1


def test_random_runs_on_the_scope_device():
    with aj.device("CPU:0"):
        out = aj.random.uniform((2,))
    assert out.device == "CPU:0"


def test_truncated_normal_stays_within_two_standard_deviations():
    aj.random.set_seed(2)
    t = aj.random.truncated_normal((40000,), mean=1.0, stddev=0.5, dtype=aj.float64).numpy()
    assert t.dtype == np.float64 and np.all(np.abs(t - 1.0) <= 1.0)
    # a standard normal cut at +-2 has standard deviation 0.8796 (not 1)
    assert abs(t.mean() - 1.0) < 0.01 and abs(t.std() / 0.5 - 0.8796) < 0.01
    assert aj.random.truncated_normal((2, 3)).dtype == aj.float32


def test_shuffle_permutes_rows_repeatably_and_anew_at_each_replay():
    rows = np.arange(24).reshape(8, 3)
    aj.random.set_seed(4)
    a = aj.random.shuffle(aj.constant(rows)).numpy()
    assert sorted(map(tuple, a)) == sorted(map(tuple, rows)) and not np.array_equal(a, rows)
    aj.random.set_seed(4)
    np.testing.assert_array_equal(aj.random.shuffle(aj.constant(rows)).numpy(), a)
    step = aj.function(lambda x: aj.random.shuffle(x), autograph=False)
    first, second = step(aj.constant(rows)).numpy(), step(aj.constant(rows)).numpy()
    assert not np.array_equal(first, second) and step.tracing_count == 1
    x = aj.constant(rows.astype(np.float64))
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(aj.random.shuffle(x))
    assert tape.gradient(total, x) is None  # no gradient, as TF
    with pytest.raises(InvalidArgumentError, match="a first axis to shuffle, got a scalar"):
        aj.random.shuffle(aj.constant(1.0))


def test_categorical_draws_follow_the_softmax_of_the_logits():
    aj.random.set_seed(6)
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]))
    draws = aj.random.categorical(aj.constant(logits), 30000)
    assert draws.shape == (2, 30000) and draws.dtype == aj.int64
    for row, p in zip(draws.numpy(), np.exp(logits)):
        freq = np.bincount(row, minlength=3) / row.size
        np.testing.assert_allclose(freq, p, atol=0.012)
    assert aj.random.categorical(aj.zeros([4, 2]), 1, dtype=aj.int32).dtype == aj.int32
    traced = aj.function(lambda z: aj.random.categorical(z, 5), autograph=False)
    assert traced(aj.zeros([3, 4])).shape == (3, 5)
    with pytest.raises(InvalidArgumentError, match=r"logits of shape \[batch, classes\], got "
                                                   r"float32\[3\]"):
        aj.random.categorical(aj.zeros([3]), 2)
    with pytest.raises(DTypeError, match="int32 or int64, got float32"):
        aj.random.categorical(aj.zeros([1, 3]), 2, dtype=aj.float32)


def test_stateless_draws_depend_only_on_the_seed():
    a = aj.random.stateless_normal((2000,), seed=[4, 5], mean=1.0, stddev=2.0,
                                   dtype=aj.float64).numpy()
    aj.random.set_seed(123)  # the global seed plays no part
    b = aj.random.stateless_normal((2000,), seed=aj.constant([4, 5]), mean=1.0, stddev=2.0,
                                   dtype=aj.float64).numpy()
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 1.0) < 0.15 and abs(a.std() - 2.0) < 0.15
    c = aj.random.stateless_normal((2000,), seed=[4, 6], dtype=aj.float64).numpy()
    assert not np.allclose(c, (a - 1.0) / 2.0)
    k = aj.random.stateless_uniform((1000,), seed=[1, 1], minval=3, maxval=6,
                                    dtype=aj.int32).numpy()
    assert set(np.unique(k)) == {3, 4, 5}
    traced = aj.function(lambda s: aj.random.stateless_uniform((5,), seed=s), autograph=False)
    seed = aj.constant([9, 9])
    np.testing.assert_array_equal(traced(seed).numpy(), traced(seed).numpy())
    np.testing.assert_array_equal(traced(seed).numpy(),
                                  aj.random.stateless_uniform((5,), seed=[9, 9]).numpy())
    with pytest.raises(InvalidArgumentError, match=r"seed must be a shape \[2\] integer tensor, "
                                                   r"got int32\[3\]"):
        aj.random.stateless_normal((2,), seed=aj.constant([1, 2, 3]))


def test_a_generator_streams_repeatably_eagerly_and_in_graphs():
    first = aj.random.Generator.from_seed(11)
    eager = [first.normal((4,)).numpy() for _ in range(3)]
    assert not np.array_equal(eager[0], eager[1])
    again = aj.random.Generator.from_seed(11)
    step = aj.function(lambda: again.normal((4,)), autograph=False)
    traced = [step().numpy() for _ in range(3)]
    for a, b in zip(eager, traced):
        np.testing.assert_array_equal(a, b)
    assert step.tracing_count == 1 and again.state.numpy().tolist() == [11, 3]
    u = aj.random.Generator.from_seed(2).uniform((100,), minval=-1.0, maxval=1.0).numpy()
    assert u.min() >= -1 and u.max() < 1
    holder = aj.Module()
    holder.generator = first  # a Module: checkpoints hold its state
    assert [v.name for v in holder.variables] == ["generator_state:0"]
