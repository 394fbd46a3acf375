"""``reverse``, ``repeat``, ``meshgrid`` and ``sequence_mask`` from the user's side: traced
functions agree with eager runs at every replay (gradients too), the value-dependent width of
``sequence_mask`` without ``maxlen`` is unknown in graphs, and one test per error message,
eagerly and while tracing. Values and VJPs against NumPy are in ``op_table_array.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError, TracingError
from tests.numeric import check_graph_replays_eager

RNG = np.random.default_rng(3)


def _t(value):
    return aj.constant(np.asarray(value))


# ----------------------------------------------------------------------------- graphs

GRAPH_CASES = {
    "reverse": lambda x: aj.reverse(x, [0, -1]),
    "reverse-none": lambda x: aj.reverse(x, []),
    "repeat": lambda x: aj.repeat(x, 2, axis=1),
    "repeat-counts": lambda x: aj.repeat(x, [3, 0, 1], axis=0),
    "repeat-flat": lambda x: aj.repeat(x, 2),
    "meshgrid-xy": lambda x: aj.meshgrid(x[0], x[:, 1])[0] * aj.meshgrid(x[0], x[:, 1])[1],
    "meshgrid-ij": lambda x: aj.add_n(aj.meshgrid(x[0], x[1], x[:, 2], indexing="ij")),
    "sequence_mask": lambda x: x * aj.sequence_mask([4, 1, 2], 4, dtype=aj.float64),
}


@pytest.mark.parametrize("name", sorted(GRAPH_CASES))
def test_traced_function_replays_the_eager_values_and_gradients(name):
    check_graph_replays_eager(GRAPH_CASES[name], [_t(RNG.normal(size=(3, 4))) for _ in range(3)])


def test_reverse_gradient_is_the_reversed_gradient():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    weights = _t([[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]])
    with aj.GradientTape() as tape:
        tape.watch(x)
        loss = aj.reduce_sum(aj.reverse(x, [1]) * weights)
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(),
                                  [[100.0, 10.0, 1.0], [200.0, 20.0, 2.0]])
    np.testing.assert_array_equal(aj.reverse(x, 0).numpy(), x.numpy()[::-1])  # an int axis


def test_repeat_gradient_sums_the_copies():
    x = _t([1.0, 2.0, 3.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.repeat(x, [2, 0, 3])
        loss = aj.reduce_sum(y * _t([1.0, 2.0, 3.0, 4.0, 5.0]))
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0, 3.0, 3.0, 3.0])
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [3.0, 0.0, 12.0])


def test_repeat_takes_counts_from_arrays_and_concrete_tensors_and_keeps_unknown_dims():
    x = _t([[1, 2], [3, 4]])
    np.testing.assert_array_equal(aj.repeat(x, aj.constant([1, 2]), axis=0).numpy(),
                                  [[1, 2], [3, 4], [3, 4]])
    np.testing.assert_array_equal(aj.repeat(x, np.array(2), axis=1).numpy(),
                                  [[1, 1, 2, 2], [3, 3, 4, 4]])

    @aj.function(input_signature=[aj.TensorSpec([None, 2], aj.int32)])
    def twice(x):
        return aj.repeat(x, 2, axis=0), aj.repeat(x, [1, 3], axis=1)

    rows, columns = twice.get_concrete_function().graph.outputs
    assert (rows.spec.shape, columns.spec.shape) == ((None, 2), (None, 4))
    for n in (1, 3):
        value = np.arange(2 * n, dtype=np.int32).reshape(n, 2)
        a, b = twice(aj.constant(value))
        np.testing.assert_array_equal(a.numpy(), np.repeat(value, 2, axis=0))
        np.testing.assert_array_equal(b.numpy(), np.repeat(value, [1, 3], axis=1))
    assert twice.tracing_count == 1


def test_meshgrid_matches_numpy_with_unknown_sizes_and_no_retrace():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float64),
                                  aj.TensorSpec([None], aj.int32)])
    def grids(x, y):
        return aj.meshgrid(x, y), aj.meshgrid(x, y, indexing="ij")

    for n, m in ((3, 2), (1, 4)):
        x, y = RNG.normal(size=n), np.arange(m, dtype=np.int32)
        xy, ij = grids(_t(x), aj.constant(y))
        for got, want in zip(xy + ij, np.meshgrid(x, y) + np.meshgrid(x, y, indexing="ij")):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got.numpy(), want)
    assert grids.tracing_count == 1


def test_meshgrid_gradient_sums_over_the_broadcast_axes_also_with_unknown_sizes():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.float64),
                                  aj.TensorSpec([None], aj.float64)])
    def grads(x, y):
        with aj.GradientTape() as tape:
            tape.watch([x, y])
            gx, gy = aj.meshgrid(x, y)
            loss = aj.reduce_sum(gx * gy)
        return tape.gradient(loss, [x, y])

    x, y = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0])
    dx, dy = grads(_t(x), _t(y))
    np.testing.assert_allclose(dx.numpy(), np.full(3, y.sum()))
    np.testing.assert_allclose(dy.numpy(), np.full(2, x.sum()))


def test_meshgrid_of_nothing_is_an_empty_list():
    assert aj.meshgrid() == []


def test_sequence_mask_without_maxlen_has_an_unknown_width_in_graphs():
    @aj.function(input_signature=[aj.TensorSpec([None], aj.int32)])
    def mask(lengths):
        return aj.sequence_mask(lengths)

    assert mask.get_concrete_function().graph.outputs[0].spec.shape == (None, None)
    for lengths in ([1, 3, 2], [5], [0, 0], []):
        got = mask(aj.constant(lengths, aj.int32)).numpy()
        width = max(lengths, default=0)
        np.testing.assert_array_equal(got, np.arange(width) < np.array(lengths, int)[:, None])
        assert got.shape == (len(lengths), width)
    assert mask.tracing_count == 1


def test_sequence_mask_width_is_known_with_a_python_maxlen_and_may_be_a_traced_tensor():
    @aj.function(input_signature=[aj.TensorSpec([2], aj.int64)])
    def fixed(lengths):
        return aj.sequence_mask(lengths, 4, dtype=aj.float32)

    assert fixed.get_concrete_function().graph.outputs[0].spec.shape == (2, 4)
    np.testing.assert_array_equal(fixed(aj.constant([1, 3], aj.int64)).numpy(),
                                  [[1, 0, 0, 0], [1, 1, 1, 0]])

    @aj.function(input_signature=[aj.TensorSpec([2], aj.int32), aj.TensorSpec([], aj.int32)])
    def given(lengths, maxlen):
        return aj.sequence_mask(lengths, maxlen)

    np.testing.assert_array_equal(given(aj.constant([1, 3]), aj.constant(2)).numpy(),
                                  [[True, False], [True, True]])
    assert given(aj.constant([1, 3]), aj.constant(5)).shape == (2, 5)
    assert given.tracing_count == 1


def test_sequence_mask_of_no_lengths_and_of_a_scalar():
    assert aj.sequence_mask([]).shape == (0, 0)
    assert aj.sequence_mask([], 3).shape == (0, 3)
    np.testing.assert_array_equal(aj.sequence_mask(2, 3).numpy(), [True, True, False])
    np.testing.assert_array_equal(aj.sequence_mask([-1, 2]).numpy(),  # negative: no entries
                                  [[False, False], [True, True]])


# ----------------------------------------------------------------------------- errors

X = np.ones((3, 4), np.float32)

# (id, fn(x) with x a float32 [3, 4] tensor, error class, message, also raised while tracing)
ERRORS = [
    ("reverse-axis", lambda x: aj.reverse(x, [2]), InvalidArgumentError,
     "reverse: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)", True),
    ("reverse-twice", lambda x: aj.reverse(x, [0, -2]), InvalidArgumentError,
     "reverse: axis [0, -2] names a dimension more than once; expected distinct axes", True),
    ("reverse-float", lambda x: aj.reverse(x, [0.5]), InvalidArgumentError,
     "reverse: expected axis as integers, got [0.5]", True),
    ("repeat-negative", lambda x: aj.repeat(x, [1, -1, 2], axis=0), InvalidArgumentError,
     "repeat: repeats must be >= 0, got [1, -1, 2]", True),
    ("repeat-count", lambda x: aj.repeat(x, [1, 2], axis=0), InvalidArgumentError,
     ("repeat: expected 3 repeats (one per entry of axis 0 of a tensor of shape [3, 4]) or a "
      "single count, got 2"), True),
    ("repeat-rank", lambda x: aj.repeat(x, [[1, 2]], axis=1), InvalidArgumentError,
     "repeat: expected repeats as an int or a 1-D list of ints, got a value of rank 2", True),
    ("repeat-float", lambda x: aj.repeat(x, 1.5), InvalidArgumentError,
     "repeat: expected repeats as integers, got 1.5", True),
    ("repeat-axis", lambda x: aj.repeat(x, 2, axis=2), InvalidArgumentError,
     "repeat: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)", True),
    ("meshgrid-indexing", lambda x: aj.meshgrid(x[0], x[1], indexing="xz"), InvalidArgumentError,
     "meshgrid: indexing must be 'xy' or 'ij', got 'xz'", True),
    ("sequence_mask-float", lambda x: aj.sequence_mask(x[0]), DTypeError,
     "sequence_mask: expected integer lengths, got float32", True),
    ("sequence_mask-float-maxlen", lambda x: aj.sequence_mask([1, 2], 2.5), DTypeError,
     "sequence_mask: expected an integer maxlen, got 2.5", True),
    ("sequence_mask-float-tensor", lambda x: aj.sequence_mask([1, 2], x[0, 0]), DTypeError,
     "sequence_mask: expected an integer maxlen, got float32", True),
    ("sequence_mask-negative", lambda x: aj.sequence_mask([1, 2], -1), InvalidArgumentError,
     "sequence_mask: expected maxlen >= 0, got -1", True),
    ("sequence_mask-maxlen-shape", lambda x: aj.sequence_mask([1, 2], aj.constant([2, 3])),
     ShapeError, "sequence_mask: expected a scalar maxlen, got shape [2]", True),
]


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m, _ in ERRORS])
def test_eager_error(fn, error, message):
    with pytest.raises(error, match=re.escape(message)):
        fn(aj.constant(X))


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m, traced in ERRORS if traced])
def test_same_error_while_tracing(fn, error, message):
    traced = aj.function(fn, autograph=False)
    with pytest.raises(error, match=re.escape(message)):
        traced(aj.constant(X))


@pytest.mark.parametrize("fn,message", [
    (lambda x: aj.repeat(x, aj.cast(x[0, 0], aj.int32)),
     "repeat: repeats must be known while the function is traced, got a symbolic tensor that "
     "depends on the function's inputs"),
    (lambda x: aj.reverse(x, aj.cast(x[0, :1], aj.int32)),
     "reverse: axis must be known while the function is traced, got a symbolic tensor that "
     "depends on the function's inputs"),
], ids=["repeat", "reverse"])
def test_static_arguments_refuse_symbolic_tensors(fn, message):
    traced = aj.function(fn, autograph=False)
    with pytest.raises(TracingError, match=re.escape(message)):
        traced(aj.constant(X))


@pytest.mark.parametrize("fn", [lambda x: aj.repeat(x, aj.shape(x)[0] - 1, axis=1),
                                lambda x: aj.reverse(x, aj.rank(x) - 1)],
                         ids=["repeat", "reverse"])
def test_static_arguments_known_while_tracing_are_read(fn):
    # computed from the static shape only: known while tracing (Note [Known values])
    np.testing.assert_array_equal(aj.function(fn, autograph=False)(aj.constant(X)).numpy(),
                                  fn(aj.constant(X)).numpy())
