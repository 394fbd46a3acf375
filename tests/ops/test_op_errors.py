"""Every error path of the array, indexing, nn and random ops: the message names the op, what
it expected and what it got, and reads the same eagerly and while tracing a function.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError, TracingError

# (id, fn(x) with x a float32 [3, 4] tensor, error class, message, also raised while tracing)
ERRORS = [
    # --- creation and shapes
    ("reshape-not-ints", lambda x: aj.reshape(x, "ab"), InvalidArgumentError,
     "reshape: expected a shape such as (-1, 784) as integers, got 'ab'", True),
    ("reshape-two-rests", lambda x: aj.reshape(x, (-1, -1)), InvalidArgumentError,
     "reshape: expected dims >= 0 and at most one -1, got shape [-1, -1]", True),
    ("reshape-negative", lambda x: aj.reshape(x, (-2, -6)), InvalidArgumentError,
     "reshape: expected dims >= 0 and at most one -1, got shape [-2, -6]", True),
    ("reshape-size", lambda x: aj.reshape(x, (5, 2)), ShapeError,
     "reshape: cannot reshape a tensor of shape [3, 4] (12 elements) to [5, 2] (10 elements)",
     True),
    ("zeros-negative", lambda x: aj.zeros((2, -1)), InvalidArgumentError,
     "zeros: dimensions must be >= 0, got [2, -1]", True),
    ("eye-negative", lambda x: aj.eye(-1), InvalidArgumentError,
     "eye: dimensions must be >= 0, got [-1]", True),
    ("range-not-a-number", lambda x: aj.range(0, "x"), InvalidArgumentError,
     "range: expected a number for limit, got 'x'", True),
    ("range-zero-delta", lambda x: aj.range(0, 5, 0), InvalidArgumentError,
     "range: delta must not be 0, got 0", True),
    ("fill-not-scalar", lambda x: aj.fill((2,), x[0]), ShapeError,
     "fill: expected a scalar value, got a tensor of shape [4]", True),
    ("linspace-ints", lambda x: aj.linspace(aj.constant(0), 1, 3), DTypeError,
     "linspace: expected floating-point start and stop, got int32", True),
    ("shape-out-type", lambda x: aj.shape(x, out_type=aj.float32), DTypeError,
     "shape: expected out_type int32 or int64, got float32", True),
    ("squeeze-not-one", lambda x: aj.squeeze(x, axis=1), ShapeError,
     "squeeze: cannot squeeze axis 1 of a tensor of shape [3, 4]: expected size 1, got 4", True),
    ("squeeze-axis", lambda x: aj.squeeze(x, axis=2), InvalidArgumentError,
     "squeeze: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)", True),
    ("transpose-perm", lambda x: aj.transpose(x, perm=[0, 0]), InvalidArgumentError,
     ("transpose: perm [0, 0] is not a permutation of the axes of a tensor of shape [3, 4]; "
      "expected an ordering of [0, 1]"), True),
    ("broadcast_to", lambda x: aj.broadcast_to(x[0, :3], (4, 2)), ShapeError,
     "broadcast_to: cannot broadcast a tensor of shape [3] to shape [4, 2]", True),
    ("tile-count", lambda x: aj.tile(x, [2]), InvalidArgumentError,
     "tile: expected 2 multiples (one per dimension of a tensor of shape [3, 4]), got [2]", True),
    ("tile-negative", lambda x: aj.tile(x, [2, -1]), InvalidArgumentError,
     "tile: multiples must be >= 0, got [2, -1]", True),
    ("pad-mode", lambda x: aj.pad(x, [[1, 1], [1, 1]], mode="WRAP"), InvalidArgumentError,
     "pad: mode must be one of ['CONSTANT', 'REFLECT', 'SYMMETRIC'], got 'WRAP'", True),
    ("pad-rows", lambda x: aj.pad(x, [[1, 1]]), InvalidArgumentError,
     "pad: expected paddings of shape [2, 2] for a tensor of shape [3, 4], got 1 rows", True),
    ("pad-not-pairs", lambda x: aj.pad(x, [1, 1]), InvalidArgumentError,
     "pad: expected paddings of shape [rank, 2], got [1, 1]", True),
    ("pad-negative", lambda x: aj.pad(x, [[1, -1], [0, 0]]), InvalidArgumentError,
     "pad: paddings must be >= 0, got [[1, -1], [0, 0]]", True),
    ("pad-reflect-too-wide", lambda x: aj.pad(x, [[3, 0], [0, 0]], mode="REFLECT"),
     InvalidArgumentError,
     "pad: REFLECT padding of axis 0 (size 3) can be at most 2 on each side, got [3, 0]", True),
    # --- joining and splitting
    ("concat-dtype", lambda x: aj.concat([x, aj.cast(x, aj.int32)], 0), DTypeError,
     "concat: expected inputs of one dtype, got float32 and int32", True),
    ("concat-shape", lambda x: aj.concat([x, aj.ones((3, 5))], 0), ShapeError,
     ("concat: shapes [3, 4] and [3, 5] differ in dimension 1 (4 vs 5); only axis 0 (the concat "
      "axis) may differ"), True),
    ("concat-rank", lambda x: aj.concat([x, x[0]], 0), ShapeError,
     "concat: expected tensors of one rank, got shapes [3, 4] and [4]", True),
    ("concat-scalars", lambda x: aj.concat([x[0, 0], x[0, 1]], 0), ShapeError,
     "concat: cannot concatenate scalars (rank 0); use aj.stack", True),
    ("concat-empty", lambda x: aj.concat([], 0), InvalidArgumentError,
     "concat: expected at least one tensor, got []", True),
    ("concat-axis", lambda x: aj.concat([x, x], 2), InvalidArgumentError,
     "concat: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)", True),
    ("split-unequal", lambda x: aj.split(x, 2), ShapeError,
     "split: cannot split axis 0 of size 3 (tensor shape [3, 4]) into 2 equal parts", True),
    ("split-sizes-sum", lambda x: aj.split(x, [1, 1]), ShapeError,
     "split: size_splits [1, 1] sum to 2, but axis 0 of the tensor (shape [3, 4]) has size 3",
     True),
    ("split-two-rests", lambda x: aj.split(x, [-1, -1]), InvalidArgumentError,
     "split: size_splits must be >= 0 with at most one -1, got [-1, -1]", True),
    ("split-zero-parts", lambda x: aj.split(x, 0), InvalidArgumentError,
     "split: expected a number of splits >= 1, got 0", True),
    ("stack-shapes", lambda x: aj.stack([x[0, :3], x[0]]), ShapeError,
     "stack: shapes [3] and [4] differ in dimension 0 (3 vs 4)", True),
    ("stack-empty", lambda x: aj.stack([]), InvalidArgumentError,
     "stack: expected at least one tensor", True),
    ("add_n-empty", lambda x: aj.add_n([]), InvalidArgumentError,
     "add_n: expected at least one tensor, got []", True),
    ("add_n-dtype", lambda x: aj.add_n([x, aj.cast(x, aj.int32)]), DTypeError,
     "add_n: expected inputs of one dtype, got float32 and int32", True),
    ("add_n-shape", lambda x: aj.add_n([x, x[:2]]), ShapeError,
     "add_n: shapes [3, 4] and [2, 4] differ in dimension 0 (3 vs 2)", True),
    ("add_n-bool", lambda x: aj.add_n([x > 0, x > 0]), DTypeError,
     "add_n: expected numeric tensors, got bool", True),
    # --- indexing
    ("getitem-float-slice", lambda x: x[0.5:], InvalidArgumentError,
     "getitem: slice bounds must be ints or int tensors, got slice(0.5, None, None)", True),
    ("getitem-zero-step", lambda x: x[::0], InvalidArgumentError,
     "getitem: slice step cannot be zero", True),
    ("getitem-scalar-bool", lambda x: x[True], InvalidArgumentError,
     "getitem: a scalar bool (True) is not a valid index; use a bool tensor mask", True),
    ("getitem-too-many", lambda x: x[0, 0, 0], InvalidArgumentError,
     ("getitem: too many indices for a tensor of shape [3, 4]: the key indexes 3 dimensions, "
      "the tensor has 2"), True),
    ("getitem-two-ellipses", lambda x: x[..., 0, ...], InvalidArgumentError,
     "getitem: an index can have only one '...'", True),
    ("getitem-int-range", lambda x: x[3], InvalidArgumentError,
     ("getitem: index 3 is out of range for dimension 0 of size 3 (tensor shape [3, 4]); "
      "expected -3 <= index < 3"), True),
    ("getitem-negative-range", lambda x: x[:, -5], InvalidArgumentError,
     ("getitem: index -5 is out of range for dimension 1 of size 4 (tensor shape [3, 4]); "
      "expected -4 <= index < 4"), True),
    ("getitem-list-range", lambda x: x[[0, 3]], InvalidArgumentError,
     ("getitem: index 3 is out of range for dimension 0 of size 3 (tensor shape [3, 4]); "
      "expected -3 <= index < 3"), False),
    ("getitem-tensor-range", lambda x: x[aj.constant([-4])], InvalidArgumentError,
     "getitem: index -4 is out of range for dimension 0 of size 3", False),
    ("getitem-mask-shape", lambda x: x[aj.constant([True, False])], ShapeError,
     ("getitem: a bool mask of shape [2] does not fit a tensor of shape [3, 4] at dimension 0; "
      "expected a mask of shape [3]"), True),
    ("getitem-float-index", lambda x: x[aj.constant([0.0, 1.0])], DTypeError,
     "getitem: expected int or bool index arrays, got float32", True),
    ("getitem-broadcast", lambda x: x[[0, 1], [0, 1, 2]], ShapeError,
     "getitem: index arrays of shapes [2] and [3] cannot be broadcast together", True),
    ("gather-float", lambda x: aj.gather(x, aj.constant([0.0])), DTypeError,
     "gather: expected int32 or int64 indices, got float32", True),
    ("gather-out-of-range", lambda x: aj.gather(x, [0, 3]), InvalidArgumentError,
     ("gather: index 3 is out of range for axis 0 of size 3 (params shape [3, 4]); "
      "expected 0 <= index < 3"), False),
    ("gather-negative", lambda x: aj.gather(x, [-1], axis=1), InvalidArgumentError,
     ("gather: index -1 is out of range for axis 1 of size 4 (params shape [3, 4]); "
      "expected 0 <= index < 4"), False),
    ("gather-batch-dims", lambda x: aj.gather(x, [0], batch_dims=1), InvalidArgumentError,
     "gather: batch_dims is not supported, got 1", True),
    ("gather-axis", lambda x: aj.gather(x, [0], axis=2), InvalidArgumentError,
     "gather: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)", True),
    ("one_hot-float", lambda x: aj.one_hot(x[0], 3), DTypeError,
     "one_hot: expected int32 or int64 indices, got float32", True),
    ("one_hot-depth", lambda x: aj.one_hot([0], -2), InvalidArgumentError,
     "one_hot: expected depth >= 0 as an int, got -2", True),
    # --- nn
    ("relu-bool", lambda x: aj.nn.relu(x > 0), DTypeError,
     "relu: expected a numeric tensor, got bool", True),
    ("softmax-int", lambda x: aj.nn.softmax(aj.cast(x, aj.int32)), DTypeError,
     "softmax: expected a floating-point tensor (float16/32/64), got int32", True),
    ("log_softmax-axis", lambda x: aj.nn.log_softmax(x, axis=2), InvalidArgumentError,
     "log_softmax: axis 2 is out of range for a tensor of rank 2 (expected -2 <= axis < 2)",
     True),
    ("sparse-xent-label-dtype",
     lambda x: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=x[:, 0], logits=x),
     DTypeError, ("sparse_softmax_cross_entropy_with_logits: expected int32 or int64 labels, "
                  "got float32"), True),
    ("sparse-xent-label-shape",
     lambda x: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=x),
     ShapeError, ("sparse_softmax_cross_entropy_with_logits: expected labels of shape [3] "
                  "(logits [3, 4] without the class axis), got [2]"), True),
    ("sparse-xent-label-range",
     lambda x: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 4, 1], logits=x),
     InvalidArgumentError, ("sparse_softmax_cross_entropy_with_logits: label 4 is out of range "
                            "for 4 classes; expected 0 <= label < 4"), False),
    ("sparse-xent-scalar-logits",
     lambda x: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=0, logits=x[0, 0]),
     ShapeError, ("sparse_softmax_cross_entropy_with_logits: expected logits of rank >= 1 "
                  "(classes last), got a scalar"), True),
    ("sparse-xent-int-logits",
     lambda x: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1, 2],
                                                              logits=aj.cast(x, aj.int32)),
     DTypeError, ("sparse_softmax_cross_entropy_with_logits: expected a floating-point tensor "
                  "(float16/32/64), got int32"), True),
    ("xent-shape",
     lambda x: aj.nn.softmax_cross_entropy_with_logits(labels=x[:, :3], logits=x), ShapeError,
     ("softmax_cross_entropy_with_logits: expected labels of the logits' shape [3, 4], "
      "got [3, 3]"), True),
    ("xent-dtype",
     lambda x: aj.nn.softmax_cross_entropy_with_logits(labels=aj.cast(x, aj.float64), logits=x),
     DTypeError, ("softmax_cross_entropy_with_logits: expected inputs of one dtype, got float64 "
                  "and float32"), True),
    ("xent-axis",
     lambda x: aj.nn.softmax_cross_entropy_with_logits(labels=x, logits=x, axis=0), ShapeError,
     ("softmax_cross_entropy_with_logits: only the last axis (axis=-1) can hold the classes, "
      "got axis=0"), True),
    # --- random
    ("normal-int", lambda x: aj.random.normal((2,), dtype=aj.int32), DTypeError,
     "random.normal: expected a floating-point dtype (float16/32/64), got int32", True),
    ("normal-shape", lambda x: aj.random.normal((2, -3)), InvalidArgumentError,
     "random.normal: dimensions must be >= 0, got [2, -3]", True),
    ("uniform-int-no-max", lambda x: aj.random.uniform((2,), dtype=aj.int32),
     InvalidArgumentError, "random.uniform: maxval must be given for the integer dtype int32",
     True),
    ("uniform-range", lambda x: aj.random.uniform((2,), 5.0, 1.0), InvalidArgumentError,
     "random.uniform: expected minval < maxval, got minval=5.0 and maxval=1.0", True),
    ("uniform-bool", lambda x: aj.random.uniform((2,), dtype=aj.bool), DTypeError,
     "random.uniform: expected a float or int dtype, got bool", True),
]


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m, _ in ERRORS])
def test_eager_error(fn, error, message):
    x = aj.constant(np.ones((3, 4), np.float32))
    with pytest.raises(error, match=re.escape(message)):
        fn(x)


@pytest.mark.parametrize("fn,error,message", [pytest.param(f, e, m, id=i)
                                               for i, f, e, m, traced in ERRORS if traced])
def test_same_error_while_tracing(fn, error, message):
    traced = aj.function(fn, autograph=False)
    with pytest.raises(error, match=re.escape(message)):
        traced(aj.constant(np.ones((3, 4), np.float32)))


@pytest.mark.parametrize("fn,message", [
    (lambda x: aj.tile(x, aj.cast(x[0, :2], aj.int32)),
     "tile: multiples must be known while the function is traced, got a symbolic tensor that "
     "depends on the function's inputs"),
], ids=["tile"])  # aj.range of symbolic bounds is a tensor (tests/autograph/test_ranges.py)
def test_static_arguments_refuse_symbolic_tensors(fn, message):
    traced = aj.function(fn, autograph=False)
    with pytest.raises(TracingError, match=re.escape(message)):
        traced(aj.constant(np.ones((3, 4), np.float32)))


def test_reshape_to_a_symbolic_shape_is_traced():
    # A shape computed in the graph is fine for reshape (reshape_dynamic), unlike tile/range.
    traced = aj.function(lambda x: aj.reshape(x, aj.shape(x)[::-1]), autograph=False)
    assert traced(aj.constant(np.ones((3, 4), np.float32))).shape == (4, 3)


def test_reshape_dynamic_rejects_a_bad_shape_tensor():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "reshape_dynamic: expected a 1-D integer shape of known length, got float32[2]")):
        aj.function(lambda x, s: aj.reshape(x, s), autograph=False)(
            aj.ones((2, 2)), aj.constant([4.0, 1.0]))


def test_value_dependent_checks_are_eager_only():
    # Inside a graph index values are unknown while tracing; the shape of a bool-mask
    # selection is unknown too (None), and the replay computes it.
    @aj.function(autograph=False)
    def pick(x, mask):
        return x[mask]

    x = aj.constant(np.arange(6.0).reshape(2, 3))
    concrete = pick.get_concrete_function(x, x > 2)
    assert concrete.graph.outputs[0].spec.shape == (None,)
    np.testing.assert_array_equal(pick(x, x > 2).numpy(), [3.0, 4.0, 5.0])


def test_sparse_cross_entropy_gradient_needs_a_known_class_count():
    @aj.function(input_signature=[aj.TensorSpec([None, None], aj.float32)], autograph=False)
    def grad(logits):
        with aj.GradientTape() as tape:
            tape.watch(logits)
            loss = aj.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=logits)
        return tape.gradient(loss, logits)

    with pytest.raises(ShapeError, match=re.escape(
            "sparse_softmax_cross_entropy_with_logits: the gradient needs a known number of "
            "classes, got logits of shape [?, ?]")):
        grad(aj.zeros((2, 3)))


def test_slicing_with_a_symbolic_bound_points_to_gather():
    traced = aj.function(lambda x: x[:aj.cast(x[0, 0], aj.int32)], autograph=False)
    with pytest.raises(TracingError, match=re.escape("Use aj.gather")):
        traced(aj.constant(np.ones((3, 4), np.float32)))
    # a bound known from the static shape is an index (Note [Known values])
    known = aj.function(lambda x: x[:aj.shape(x)[0] - 1, aj.size(x) - 12:], autograph=False)
    assert known(aj.constant(np.ones((3, 4), np.float32))).shape == (2, 4)


@pytest.mark.parametrize("call", [
    lambda bad: aj.nn.sparse_softmax_cross_entropy_with_logits(
        labels=aj.constant(bad), logits=aj.zeros((2, 3))),
    lambda bad: aj.gather(aj.zeros((3, 2)), aj.constant(bad)),
])
def test_value_checks_run_on_every_eager_call(call):
    # The eager trace skips rules it has already accepted for the same shapes (Note
    # [Checked signatures]); rules that check index values must still run every time.
    call([0, 1])
    with pytest.raises(aj.errors.InvalidArgumentError, match="out of range"):
        call([0, 7])
