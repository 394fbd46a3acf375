"""Every value check an op makes eagerly also runs at every graph replay, with the same error
(Note [Value checks] in autojit/ops/core.py): an out-of-range label or index inside
``@aj.function`` must not wrap around silently."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
import autojit.variables  # noqa: F401  (registers its ops before the registry is read)
from autojit.errors import InvalidArgumentError
from autojit.ops import core
from autojit.ops.sorting import take_along_axis

LOGITS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
X = np.arange(12.0).reshape(3, 4)

def _label_check(labels):
    """The check the GPU lowering keeps for a sparse cross-entropy (graph/passes/lower.py),
    bound directly (users never write it)."""
    from autojit.graph.passes.lower import LABEL_CHECK

    core.bind(LABEL_CHECK, labels, classes=3)
    return labels * 1


# op name -> [(function of tensors, bad inputs, message fragment)], one or more bad cases each
BAD = {
    "label_check": [
        (_label_check, (np.array([0, 3]),),
         "sparse_softmax_cross_entropy_with_logits: label 3 is out of range for 3 classes"),
        (_label_check, (np.array([-1, 0]),), "label -1 is out of range for 3 classes")],
    "sparse_softmax_cross_entropy_with_logits": [
        (lambda labels, logits: aj.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits), (np.array([0, -1]), LOGITS),
         "label -1 is out of range for 3 classes; expected 0 <= label < 3"),
        (lambda labels, logits: aj.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits), (np.array([3, 0]), LOGITS),
         "label 3 is out of range for 3 classes"),
        (lambda labels, logits: aj.keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True), (np.array([0, -1]), LOGITS),
         "label -1 is out of range for 3 classes"),
    ],
    # aj.TensorArray (tests/test_tensor_array.py)
    "tensor_array_read": [
        (lambda i: aj.TensorArray(aj.float64, size=3, element_shape=[2]).read(i),
         (np.array(3),), "TensorArray.read: index 3 is out of range for an array of size 3"),
    ],
    "tensor_array_write": [
        (lambda x, i: aj.TensorArray(aj.float64, size=2).write(i, x).stack(),
         (np.array([1.0]), np.array(2)), "TensorArray.write: index 2 is out of range"),
        (lambda x, i: aj.TensorArray(aj.float64).write(i, x).stack(),
         (np.array([1.0]), np.array(-1)), "TensorArray.write: index -1 is negative"),
    ],
    "tensor_array_zeros": [
        (lambda n: aj.TensorArray(aj.float64, size=n, element_shape=[2]).stack(),
         (np.array(-1),), "TensorArray: expected a size >= 0, got -1"),
    ],
    "gather": [
        (lambda x, i: aj.gather(x, i), (X, np.array([0, -1])),
         "index -1 is out of range for axis 0 of size 3"),
        (lambda x, i: aj.gather(x, i, axis=1), (X, np.array([4])),
         "index 4 is out of range for axis 1 of size 4"),
    ],
    "getitem_advanced": [
        (lambda x, i: x[i], (X, np.array([0, 3])), "index 3 is out of range for dimension 0"),
        (lambda x, i: x[:, i], (X, np.array([[-5]])), "index -5 is out of range for dimension 1"),
    ],
    "index_at": [
        (lambda x, i: x[i], (X, np.array(3)), "index 3 is out of range for dimension 0"),
        (lambda x, i: x[:, i], (X, np.array(-5)), "index -5 is out of range for dimension 1"),
    ],
    # issue 9: sorting, n-d gathers and scatters, segment sums
    "take_along_axis": [
        (lambda x, i: take_along_axis(x, i, axis=1), (X, np.array([[0], [4], [1]])),
         "index 4 is out of range for axis 1 of size 4"),
    ],
    "gather_nd": [
        (lambda x, i: aj.gather_nd(x, i), (X, np.array([[0, 1], [3, 0]])),
         "index 3 is out of range for dimension 0 of size 3"),
    ],
    "tensor_scatter_nd_add": [
        (lambda x, i, u: aj.tensor_scatter_nd_add(x, i, u), (X, np.array([[0, 4]]),
                                                            np.array([1.0])),
         "index 4 is out of range for dimension 1 of size 4"),
    ],
    "tensor_scatter_nd_update": [
        (lambda x, i, u: aj.tensor_scatter_nd_update(x, i, u), (X, np.array([[-1, 0]]),
                                                               np.array([1.0])),
         "index -1 is out of range for dimension 0 of size 3"),
    ],
    "scatter_nd": [
        (lambda i, u: aj.scatter_nd(i, u, [3]), (np.array([[3]]), np.array([1.0])),
         "index 3 is out of range for dimension 0 of size 3"),
    ],
    "segment_sum": [
        (lambda d, i: aj.math.unsorted_segment_sum(d, i, 2), (X, np.array([0, 2, 1])),
         "segment id 2 is out of range for 2 segments"),
        (lambda d, i: aj.math.segment_sum(d, i), (X, np.array([1, 0, 0])),
         "segment ids must be non-negative and sorted"),
    ],
    # segment max/min/prod, more n-d scatters, dynamic_partition/_stitch
    "segment_max": [(lambda d, i: aj.math.unsorted_segment_max(d, i, 2), (X, np.array([0, 2, 1])),
                     "segment id 2 is out of range for 2 segments")],
    "segment_min": [(lambda d, i: aj.math.segment_min(d, i), (X, np.array([1, 0, 0])),
                     "segment ids must be non-negative and sorted")],
    "segment_prod": [(lambda d, i: aj.math.unsorted_segment_prod(d, i, 2), (X, np.array([0, 2, 1])),
                      "segment id 2 is out of range for 2 segments")],
    "tensor_scatter_nd_sub": [(lambda x, i, u: aj.tensor_scatter_nd_sub(x, i, u),
                               (X, np.array([[0, 4]]), np.array([1.0])),
                               "index 4 is out of range for dimension 1 of size 4")],
    "tensor_scatter_nd_max": [(lambda x, i, u: aj.tensor_scatter_nd_max(x, i, u),
                               (X, np.array([[3, 0]]), np.array([1.0])),
                               "index 3 is out of range for dimension 0 of size 3")],
    "tensor_scatter_nd_min": [(lambda x, i, u: aj.tensor_scatter_nd_min(x, i, u),
                               (X, np.array([[-1, 0]]), np.array([1.0])),
                               "index -1 is out of range for dimension 0 of size 3")],
    "dynamic_partition": [(lambda d, p: aj.dynamic_partition(d, p, 2), (X, np.array([0, 2, 1])),
                           "dynamic_partition: partition 2 is out of range for 2 partitions")],
    "dynamic_stitch": [(lambda i, d: aj.dynamic_stitch([i], [d]), (np.array([0, -1, 1]), X),
                        "dynamic_stitch: expected indices >= 0, got -1 in indices[0]")],
    "bincount": [
        (lambda a: aj.math.bincount(a, minlength=4, maxlength=4), (np.array([1, -2]),),
         "bincount: values must be non-negative, got -2"),
    ],
    # one count per entry: a dim unknown while traced (a boolean_mask's) is checked at replay
    "repeat": [
        (lambda x: aj.repeat(aj.boolean_mask(x, x >= 0), [1, 2, 3]), (np.array([1.0, -1.0, 2.0]),),
         "repeat: expected 2 repeats (one per entry of axis 0 of a tensor of shape [2]) or a "
         "single count, got 3"),
    ],
    # the largest/smallest of nothing: range(1 - n) is empty for n = 1, of unknown length
    # while traced (tests/autograph/test_ranges.py)
    **{name: [(lambda n, fn=fn: fn(aj.range(1 - n)), (np.array(1),),
               f"{name}: cannot reduce an empty tensor (shape [0], axis 0 has size 0)")]
       for name, fn in (("reduce_max", aj.reduce_max), ("reduce_min", aj.reduce_min),
                        ("argmax", aj.argmax), ("argmin", aj.argmin))},
}
CASES = [(name, k) for name, cases in BAD.items() for k in range(len(cases))]


def test_every_op_with_a_value_check_has_bad_cases():
    checked = {name for name, op in core.registry().items() if op.check is not None}
    assert checked <= set(BAD), f"ops with a value check but no bad case here: {checked - set(BAD)}"


def _tensors(values):
    return [aj.constant(v, aj.float64) if v.dtype.kind == "f" else aj.constant(v) for v in values]


@pytest.mark.parametrize("name,k", CASES)
def test_same_error_eagerly_and_at_every_replay(name, k):
    fn, bad, fragment = BAD[name][k]
    with pytest.raises(InvalidArgumentError, match=re.escape(fragment)) as eager:
        fn(*_tensors(bad))
    eager_text = str(eager.value)
    compiled = aj.function(fn)
    good = [np.zeros_like(v) for v in bad]  # all-zero indices are valid: trace on them
    compiled(*_tensors(good))
    for _ in range(2):  # the same concrete function, replayed
        with pytest.raises(InvalidArgumentError) as graph:
            compiled(*_tensors(bad))
        assert eager_text in str(graph.value)
        assert __file__ in str(graph.value)  # the user's line
    assert compiled.tracing_count == 1


def test_constant_bad_indices_are_not_folded_away():
    @aj.function
    def f(logits):
        return aj.nn.sparse_softmax_cross_entropy_with_logits(labels=aj.constant([0, -1]),
                                                              logits=logits)

    with pytest.raises(InvalidArgumentError, match="label -1 is out of range"):
        f(aj.constant(LOGITS))


def test_failed_check_leaves_variables_unchanged():
    v = aj.Variable([1.0, 2.0, 3.0], dtype=aj.float64)

    @aj.function
    def step(i):
        v.assign_add(aj.constant([1.0, 1.0, 1.0], aj.float64))
        return aj.gather(v, i)

    step(aj.constant([0]))
    before = v.numpy().copy()
    with pytest.raises(InvalidArgumentError, match="index 5 is out of range"):
        step(aj.constant([5]))
    np.testing.assert_array_equal(v.numpy(), before)
