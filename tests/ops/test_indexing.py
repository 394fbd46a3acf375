"""``x[key]`` with NumPy semantics (basic and advanced), ``gather`` and ``one_hot`` beyond
the op table: many keys against NumPy, scatter-add gradients, tensor indices as graph inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from op_table import recorded_ops

import autojit as aj
from autojit.ops.indexing import IndexKey, Slot

X = np.arange(24.0).reshape(2, 3, 4)

BASIC = [0, -1, slice(None), slice(1, None), slice(None, None, -1), slice(-1, 0, -2), None,
         Ellipsis]
ADVANCED = [[1, 0], np.array([[0], [1]]), np.array([True, False]), np.array([-1, 0, -1])]


def _keys():
    keys = [k for k in BASIC]
    keys += list(itertools.product(BASIC, repeat=2))
    keys += [(a, b) for a in BASIC for b in ADVANCED] + [(b, a) for a in BASIC for b in ADVANCED]
    keys += [(slice(None), [0, 2, 2], slice(1, 3)), ([1, 0], None, [2, 1]),
             (0, slice(None), [3, 0]), ([0, 1], Ellipsis, [3, 2]), (X[..., 0] > 5,),
             (Ellipsis, np.array([True, False, True, False])), (None, 1, [0, 2], None)]
    return keys


def _valid(key):
    try:
        X[key]
    except (IndexError, ValueError):
        return False
    return True


KEYS = [k for k in _keys() if _valid(k)]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k).replace(" ", "") for k in KEYS])
def test_getitem_matches_numpy(key):
    out = aj.constant(X)[key]
    expected = X[key]
    assert out.shape == expected.shape and out.dtype == aj.float64
    np.testing.assert_array_equal(out.numpy(), expected)


def test_getitem_gradient_adds_up_repeated_indices():
    x = aj.constant(np.arange(4.0))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(x[[0, 0, 3, 0]] * aj.constant(np.array([1.0, 2.0, 3.0, 4.0])))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [7.0, 0.0, 0.0, 3.0])


def test_getitem_gradient_of_mask_and_negative_step():
    x = aj.constant(np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]]))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(x[x > 0] * 2.0) + aj.reduce_sum(x[::-1, ::-2] * 10.0)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(),
                                  [[12.0, 0.0, 12.0], [10.0, 2.0, 10.0]])


def test_tensor_indices_are_op_inputs_not_attributes():
    x = aj.constant(np.arange(12.0).reshape(3, 4))
    index = aj.constant([2, 0])
    _, calls = recorded_ops(lambda: x[index, 1:])
    (op, inputs, _, attrs), = calls
    assert op.name == "getitem_advanced"
    assert inputs[1] is index
    assert attrs["key"] == IndexKey((Slot(0), slice(1, None)))


def test_tensor_indices_stay_symbolic_in_a_graph():
    @aj.function(autograph=False)
    def rows(x, index):
        return x[index]

    x = aj.constant(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(rows(x, aj.constant([2, 0])).numpy(), X_rows(x, [2, 0]))
    np.testing.assert_array_equal(rows(x, aj.constant([1, 1])).numpy(), X_rows(x, [1, 1]))
    assert rows.tracing_count == 1  # new index values replay the same graph


def X_rows(x, index):  # noqa: N802
    return x.numpy()[index]


def test_slice_bounds_may_be_numpy_ints_and_concrete_tensors():
    x = aj.constant(np.arange(10.0))
    np.testing.assert_array_equal(x[np.int64(2):aj.constant(5)].numpy(), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(x[np.int32(-1)].numpy(), 9.0)


def test_index_keys_hash_slices():
    a = IndexKey((slice(1, None), 0, None, Ellipsis, Slot(0)))
    b = IndexKey((slice(1, None), 0, None, Ellipsis, Slot(0)))
    assert a == b and hash(a) == hash(b)
    assert hash(IndexKey((slice(2, None),))) != hash(IndexKey((slice(1, None),)))


def test_gather_gradient_accumulates_repeated_rows():
    table = aj.constant(np.ones((4, 2)))
    with aj.GradientTape() as tape:
        tape.watch(table)
        rows = aj.gather(table, aj.constant([[3, 0], [3, 3]]))
        y = aj.reduce_sum(rows)
    assert rows.shape == (2, 2, 2)
    np.testing.assert_array_equal(tape.gradient(y, table).numpy(),
                                  [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [3.0, 3.0]])


def test_one_hot_rows_for_out_of_range_indices_are_off():
    out = aj.one_hot(aj.constant([0, -1, 3, 2]), 3, on_value=2.0, off_value=-1.0)
    np.testing.assert_array_equal(out.numpy(), [[2, -1, -1], [-1, -1, -1], [-1, -1, -1],
                                                [-1, -1, 2]])
    assert out.dtype == aj.float32
