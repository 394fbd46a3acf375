"""``aj.nn.dropout``: identity at rate 0, fresh masks per call and per graph replay, inverted
scaling (expectation kept), gradient ``mask * scale``, noise_shape, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError


def _ones(shape=(64, 64), dtype=np.float32):
    return aj.constant(np.ones(shape, dtype))


def test_rate_zero_is_the_identity():
    x = aj.constant(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(aj.nn.dropout(x, 0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(aj.nn.dropout(x, rate=0).numpy(), x.numpy())


def test_kept_entries_are_scaled_and_the_rest_are_zero():
    out = aj.nn.dropout(_ones(), rate=0.75).numpy()
    assert out.dtype == np.float32
    assert set(np.unique(out).tolist()) <= {0.0, 4.0}
    assert 0 < (out == 0).sum() < out.size


def test_masks_differ_between_calls():
    x = _ones()
    first, second = aj.nn.dropout(x, 0.5).numpy(), aj.nn.dropout(x, 0.5).numpy()
    assert not np.array_equal(first == 0, second == 0)


def test_masks_differ_between_replays_of_one_function():
    @aj.function
    def step(x):
        return aj.nn.dropout(x, 0.5) * 1.0

    x = _ones()
    masks = [step(x).numpy() == 0 for _ in range(3)]
    assert step.tracing_count == 1
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[2])


def test_two_dropouts_in_one_graph_draw_two_masks():
    @aj.function
    def twice(x):
        return aj.nn.dropout(x, 0.5), aj.nn.dropout(x, 0.5)  # not merged by CSE: effects

    first, second = twice(_ones())
    assert not np.array_equal(first.numpy() == 0, second.numpy() == 0)


def test_masks_differ_between_replays_with_an_op_seed_and_unknown_batch():
    @aj.function(input_signature=[aj.TensorSpec([None, 32], aj.float32)])
    def step(x):
        return aj.nn.dropout(x, 0.5, seed=7)

    a, b = step(_ones((8, 32))).numpy(), step(_ones((8, 32))).numpy()
    assert a.shape == (8, 32) and not np.array_equal(a == 0, b == 0)
    assert step(_ones((3, 32))).numpy().shape == (3, 32)


def test_seeded_dropout_repeats_after_set_seed():
    aj.random.set_seed(3)
    first = aj.nn.dropout(_ones((16, 16)), 0.5, seed=1).numpy()
    aj.random.set_seed(3)
    again = aj.nn.dropout(_ones((16, 16)), 0.5, seed=1).numpy()
    aj.random.set_seed(None)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_expectation_is_preserved(rate):
    x = aj.constant(np.full((200, 500), 2.0))  # 100k entries: the mean's sd is ~0.02 at 0.9
    out = aj.nn.dropout(x, rate).numpy()
    assert abs(out.mean() - 2.0) < 0.15
    assert abs((out == 0).mean() - rate) < 0.02


def test_gradient_is_the_mask_times_the_scale():
    x = aj.constant(np.random.default_rng(0).normal(size=(20, 30)))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.nn.dropout(x, 0.4)
        loss = aj.reduce_sum(y * 3.0)
    grad = tape.gradient(loss, x).numpy()
    kept = y.numpy() != 0
    np.testing.assert_allclose(grad, np.where(kept, 3.0 / 0.6, 0.0), rtol=1e-12)


def test_gradient_inside_a_function_matches_its_own_mask():
    @aj.function
    def step(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.nn.dropout(x, 0.5)
            loss = aj.reduce_sum(y)
        return y, tape.gradient(loss, x)

    y, g = step(_ones((10, 10)))
    np.testing.assert_array_equal(g.numpy(), np.where(y.numpy() != 0, 2.0, 0.0))


def test_noise_shape_shares_the_mask_along_size_one_dims():
    out = aj.nn.dropout(_ones((6, 50)), 0.5, noise_shape=[6, 1]).numpy()
    for row in out:
        assert len(set(row.tolist())) == 1


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_rate_outside_zero_one_is_an_error(rate):
    with pytest.raises(InvalidArgumentError, match=r"dropout: rate must be in \[0, 1\), got"):
        aj.nn.dropout(_ones((2, 2)), rate)


def test_integer_input_is_an_error():
    with pytest.raises(aj.errors.DTypeError, match="dropout: expected a floating-point"):
        aj.nn.dropout(aj.constant([1, 2, 3]), 0.5)


def test_bad_noise_shape_is_an_error():
    with pytest.raises(ShapeError, match=r"dropout: noise_shape \[3, 1\] must broadcast"):
        aj.nn.dropout(_ones((2, 2)), 0.5, noise_shape=[3, 1])
