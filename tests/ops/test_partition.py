"""Beyond the op table: ``aj.dynamic_partition`` and ``aj.dynamic_stitch`` on TF's documented
examples, duplicates and missing rows, unknown lengths in graphs (one trace for any count),
gradients inside ``@aj.function`` equal to eager ones, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError

from test_segments_more import same_error_eagerly_and_at_every_replay  # tests/ops is on the path


def test_tf_examples():
    parts = aj.dynamic_partition(aj.constant([10, 20, 30, 40, 50]), [0, 0, 1, 1, 0], 2)
    assert [p.numpy().tolist() for p in parts] == [[10, 20, 50], [30, 40]]
    parts = aj.dynamic_partition(aj.constant([10, 20, 30, 40, 50]), [1, 1, 1, 3, 3], 4)
    assert [p.numpy().tolist() for p in parts] == [[], [10, 20, 30], [], [40, 50]]
    merged = aj.dynamic_stitch(
        [6, [4, 1], [[5, 2], [0, 3]]],
        [[61, 62], [[41, 42], [11, 12]], [[[51, 52], [21, 22]], [[1, 2], [31, 32]]]])
    np.testing.assert_array_equal(merged.numpy(), [[1, 2], [11, 12], [21, 22], [31, 32],
                                                   [41, 42], [51, 52], [61, 62]])
    assert merged.dtype == aj.int32


def test_partition_by_a_matrix_keeps_row_major_order_and_trailing_dims():
    data = np.arange(24.0).reshape(2, 3, 4)
    partitions = np.array([[2, 0, 2], [1, 2, 0]])
    parts = aj.dynamic_partition(aj.constant(data), partitions, 3)
    for k, part in enumerate(parts):
        np.testing.assert_array_equal(part.numpy(), data[partitions == k])
        assert part.shape[1:] == (4,)


def test_stitch_later_indices_win_and_missing_rows_are_zero():
    merged = aj.dynamic_stitch([[0, 3], [3]], [aj.constant([1.0, 2.0]), aj.constant([5.0])])
    np.testing.assert_array_equal(merged.numpy(), [1.0, 0.0, 0.0, 5.0])
    # TF's gradient: every data entry gets the gradient at its index, overwritten or not
    a, b = aj.constant([1.0, 2.0]), aj.constant([5.0])
    with aj.GradientTape() as tape:
        tape.watch([a, b])
        y = aj.reduce_sum(aj.dynamic_stitch([[0, 3], [3]], [a, b]) * [1.0, 2.0, 3.0, 4.0])
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_array_equal(ga.numpy(), [1.0, 4.0])
    np.testing.assert_array_equal(gb.numpy(), [4.0])


def test_partition_then_stitch_round_trip_with_gradients_in_a_graph():
    # TF's documented pattern: change the rows of one partition and stitch them back.
    def step(x, condition):
        with aj.GradientTape() as tape:
            tape.watch(x)
            positions = aj.dynamic_partition(aj.range(aj.shape(x)[0]), condition, 2)
            parts = aj.dynamic_partition(x, condition, 2)
            parts[1] = parts[1] * 2.0
            y = aj.dynamic_stitch(positions, parts)
            loss = aj.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    traced = aj.function(step)
    rng = np.random.default_rng(3)
    for flags in ([1, 0, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 0, 1, 1]):
        x = aj.constant(rng.standard_normal((5, 2)))
        condition = aj.constant(flags)
        want_y, want_g = step(x, condition)
        got_y, got_g = traced(x, condition)
        scale = np.where(np.array(flags)[:, None] == 1, 2.0, 1.0)
        np.testing.assert_allclose(want_y.numpy(), x.numpy() * scale)
        np.testing.assert_allclose(want_g.numpy(), 2 * x.numpy() * scale ** 2)
        np.testing.assert_allclose(got_y.numpy(), want_y.numpy(), rtol=1e-12)
        np.testing.assert_allclose(got_g.numpy(), want_g.numpy(), rtol=1e-12)
    assert traced.tracing_count == 1


def test_lengths_are_unknown_while_tracing():
    seen = []

    @aj.function
    def f(x, p, i):
        parts = aj.dynamic_partition(x, p, 3)
        seen.append([part.shape for part in parts])
        merged = aj.dynamic_stitch([i], [x])
        seen.append(merged.shape)
        return parts, merged

    x = aj.constant(np.arange(6.0).reshape(3, 2))
    parts, merged = f(x, aj.constant([2, 2, 0]), aj.constant([4, 0, 1]))
    assert [p.shape for p in parts] == [(1, 2), (0, 2), (2, 2)] and merged.shape == (5, 2)
    assert seen == [[(None, 2)] * 3, (None, 2)]
    f(x, aj.constant([1, 1, 1]), aj.constant([0, 1, 2]))
    assert f.tracing_count == 1


def test_second_derivatives_through_partition():
    x = aj.constant(np.array([1.0, -2.0, 3.0, 0.5]))
    with aj.GradientTape() as outer:
        outer.watch(x)
        with aj.GradientTape() as inner:
            inner.watch(x)
            a, b = aj.dynamic_partition(x, [0, 1, 0, 1], 2)
            y = aj.reduce_sum(a ** 3) + aj.reduce_sum(b * b)
        g = inner.gradient(y, x)
    np.testing.assert_allclose(g.numpy(), [3.0, -4.0, 27.0, 1.0])
    np.testing.assert_allclose(outer.gradient(g, x).numpy(), [6.0, 2.0, 18.0, 2.0])


def test_errors_say_what_was_expected():
    x = aj.constant([1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgumentError, match="dynamic_partition: partition 3 is out of "
                       "range for 3 partitions; expected 0 <= partition < 3"):
        aj.dynamic_partition(x, [0, 3, 1], 3)
    with pytest.raises(InvalidArgumentError, match="dynamic_partition: partition -1 is out"):
        aj.dynamic_partition(x, [0, -1, 1], 3)
    with pytest.raises(InvalidArgumentError, match="dynamic_partition: expected "
                       "num_partitions >= 1 as a Python int, got 0"):
        aj.dynamic_partition(x, [0, 0, 0], 0)
    with pytest.raises(DTypeError, match="dynamic_partition: expected int32 or int64 "
                       "partitions, got float32"):
        aj.dynamic_partition(x, aj.constant([0.0, 1.0, 0.0]), 2)
    with pytest.raises(ShapeError, match=r"dynamic_partition: the shape of partitions \[2\] "
                       r"must be a prefix of the shape of data \[3\]"):
        aj.dynamic_partition(x, [0, 1], 2)
    with pytest.raises(InvalidArgumentError, match="dynamic_stitch: expected indices >= 0, got "
                       r"-1 in indices\[1\]"):
        aj.dynamic_stitch([[0], [-1]], [[1.0], [2.0]])
    with pytest.raises(InvalidArgumentError, match="dynamic_stitch: expected as many data "
                       "tensors as index tensors"):
        aj.dynamic_stitch([[0], [1]], [[1.0]])
    with pytest.raises(ShapeError, match=r"dynamic_stitch: data\[1\] has rows of shape \[3\] "
                       r"but data\[0\] rows of shape \[2\]"):
        aj.dynamic_stitch([[0], [1]], [np.ones((1, 2)), np.ones((1, 3))])
    with pytest.raises(DTypeError, match="dynamic_stitch: expected inputs of one dtype"):
        aj.dynamic_stitch([[0], [1]], [aj.constant([1.0]), aj.constant([1])])
    with pytest.raises(ShapeError, match=r"dynamic_stitch: the shape of indices\[0\] \[2\] "
                       r"must be a prefix of the shape of data\[0\] \[3\]"):
        aj.dynamic_stitch([[0, 1]], [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("fn,bad,fragment", [
    (lambda d, p: aj.dynamic_partition(d, p, 2), (np.ones((3, 2)), np.array([0, 2, 1])),
     "dynamic_partition: partition 2 is out of range for 2 partitions"),
    (lambda i, d: aj.dynamic_stitch([i], [d]), (np.array([0, -1, 1]), np.ones((3, 2))),
     "dynamic_stitch: expected indices >= 0, got -1 in indices[0]"),
], ids=["partition", "stitch"])
def test_value_checks_run_eagerly_and_at_every_replay(fn, bad, fragment):
    same_error_eagerly_and_at_every_replay(fn, bad, fragment, __file__)
