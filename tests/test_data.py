"""``aj.data.Dataset`` against NumPy slicing and Python's own iteration."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

Dataset = aj.data.Dataset
X = np.arange(14, dtype=np.float32).reshape(7, 2)
Y = np.arange(7, dtype=np.int64)


def rows(ds):
    return [tuple(np.asarray(t.numpy()).tolist() for t in element) for element in ds]


@pytest.mark.parametrize("drop", [False, True])
def test_slices_in_batches(drop):
    ds = Dataset.from_tensor_slices((X, Y)).batch(3, drop_remainder=drop)
    want = [(X[i:i + 3].tolist(), Y[i:i + 3].tolist()) for i in range(0, 7, 3)]
    if drop:
        want = want[:-1]
    assert rows(ds) == want and len(ds) == len(want)
    xb, yb = next(iter(ds))
    assert isinstance(xb, aj.Tensor) and xb.dtype == aj.float32 and yb.dtype == aj.int64


def test_a_full_buffer_shuffle_is_a_new_permutation_each_epoch():
    ds = Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=3).batch(7)
    epochs = [rows(ds)[0] for _ in range(3)]
    for xs, ys in epochs:
        assert sorted(ys) == Y.tolist()
        assert [x for x, y in zip(xs, ys)] == [X[y].tolist() for y in ys]  # pairs kept
    assert len({tuple(ys) for _, ys in epochs}) > 1
    again = Dataset.from_tensor_slices((X, Y)).shuffle(100, seed=3).batch(7)
    assert rows(again)[0] == epochs[0]  # the same seed: the same first epoch
    fixed = Dataset.from_tensor_slices(Y).shuffle(7, seed=1, reshuffle_each_iteration=False)
    assert list(fixed.as_numpy_iterator()) == list(fixed.as_numpy_iterator())


@pytest.mark.parametrize("buffer", [1, 2, 5])
def test_a_small_buffer_shuffle_draws_from_the_buffer(buffer):
    ds = Dataset.from_tensor_slices(Y).shuffle(buffer, seed=0)
    out = [int(v) for v in ds.as_numpy_iterator()]
    assert sorted(out) == Y.tolist()
    if buffer == 1:
        assert out == Y.tolist()
    for k, v in enumerate(out):  # an element leaves at most buffer - 1 places early
        assert v <= k + buffer - 1


def test_map_filter_and_the_element_by_element_batch():
    ds = (Dataset.from_tensor_slices({"x": X, "y": Y})
          .map(lambda d: (d["x"] * 2.0, d["y"] + 1))
          .filter(lambda x, y: y % 2 == 0)
          .batch(2))
    kept = [i for i in range(7) if (i + 1) % 2 == 0]
    want = [((X[kept] * 2)[i:i + 2].tolist(), (Y[kept] + 1)[i:i + 2].tolist())
            for i in range(0, len(kept), 2)]
    assert rows(ds) == want
    assert ds.cardinality() == aj.data.UNKNOWN


def test_python_data_and_structures():
    ds = Dataset.from_tensor_slices(([1.0, 2.0], [3, 4]))  # a tuple of two list tensors
    (a, b), _ = list(ds)
    assert a.dtype == aj.float32 and b.dtype == aj.int32 and (float(a), int(b)) == (1.0, 3)
    one = list(Dataset.from_tensors([[1.0, 2.0]]))
    assert len(one) == 1 and one[0].shape == (1, 2)


def test_repeat_take_skip_enumerate_zip_range():
    ds = Dataset.range(5)
    assert [int(v) for v in ds.repeat(2).skip(3).take(4)] == [3, 4, 0, 1]
    assert ds.repeat().cardinality() == aj.data.INFINITE
    assert [int(v) for v in ds.repeat().take(7)] == [0, 1, 2, 3, 4, 0, 1]
    pairs = [(int(i), int(v)) for i, v in ds.skip(2).enumerate(10)]
    assert pairs == [(10, 2), (11, 3), (12, 4)]
    zipped = Dataset.zip((ds, Dataset.from_tensor_slices(X)))
    assert len(zipped) == 5 and [int(a) for a, _ in zipped] == list(range(5))
    assert ds.prefetch(1) is ds and ds.cache() is ds


def test_a_training_loop_over_batches():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).astype(np.float32)
    w = aj.Variable(np.zeros(3, np.float32))
    opt = aj.optimizers.SGD(0.1)

    @aj.function
    def step(xb, yb):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(aj.reduce_sum(xb * w, axis=1) - yb))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    ds = Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16, drop_remainder=True)
    losses = [float(step(xb, yb)) for _ in range(10) for xb, yb in ds]
    assert losses[-1] < 0.01 * losses[0] and step.tracing_count == 1


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="from_tensor_slices: expected arrays with "
                       "the same first dimension, got shapes \\[\\[7, 2\\], \\[3\\]\\]"):
        Dataset.from_tensor_slices((X, Y[:3]))
    with pytest.raises(InvalidArgumentError, match="batch: expected batch_size as a positive "
                       "int, got 0"):
        Dataset.range(3).batch(0)
    with pytest.raises(TypeError, match="the dataset's length is infinite"):
        len(Dataset.range(3).repeat())


def test_skip_minus_one_skips_everything():
    ds = Dataset.range(5).skip(-1)  # TF: "If count is -1, skips the entire dataset."
    assert list(ds.as_numpy_iterator()) == [] and ds.cardinality() == 0 and len(ds) == 0
    assert Dataset.range(5).skip(7).cardinality() == 0
    assert [int(v) for v in Dataset.range(5).take(-1)] == [0, 1, 2, 3, 4]


U, INF = aj.data.UNKNOWN, aj.data.INFINITE


def unknown(n):  # a dataset of n elements whose cardinality is unknown, as after filter
    return Dataset.range(n).filter(lambda x: x >= 0)


# TF's CardinalityInternal of each dataset op: UNKNOWN and INFINITE inputs stay what they are
# unless the op itself decides the count (take of an infinite input, repeat forever or 0 times).
@pytest.mark.parametrize("make, want", [
    (lambda: unknown(5).take(4), U),
    (lambda: unknown(5).take(-1), U),
    (lambda: Dataset.range(5).repeat().take(4), 4),
    (lambda: Dataset.range(5).take(9), 5),
    (lambda: unknown(5).skip(2), U),
    (lambda: unknown(5).skip(-1), U),
    (lambda: Dataset.range(5).repeat().skip(2), INF),
    (lambda: unknown(5).batch(2), U),
    (lambda: Dataset.range(5).repeat().batch(2), INF),
    (lambda: unknown(5).repeat(3), U),
    (lambda: unknown(5).repeat(), INF),
    (lambda: Dataset.range(5).repeat().repeat(2), INF),
    (lambda: Dataset.range(5).repeat().repeat(0), 0),
    (lambda: unknown(5).repeat(0), 0),
    (lambda: Dataset.range(0).repeat(), 0),
    (lambda: Dataset.range(5).repeat().filter(lambda x: x > 2), U),
    (lambda: Dataset.zip((Dataset.range(3), unknown(5))), U),
    (lambda: Dataset.zip((Dataset.range(3), Dataset.range(2).repeat())), 3),
    (lambda: Dataset.zip((Dataset.range(3).repeat(), Dataset.range(2).repeat())), INF),
])
def test_cardinality_follows_tf_through_unknown_and_infinite_inputs(make, want):
    ds = make()
    assert ds.cardinality() == want
    if want >= 0:
        assert len(ds) == want == len(list(ds.take(100).as_numpy_iterator()))
    if want == U:
        with pytest.raises(TypeError, match="the dataset's length is unknown"):
            len(ds)


def test_take_of_an_unknown_dataset_yields_what_there_is():
    ds = Dataset.range(5).filter(lambda x: x > 2).take(4)
    assert [int(v) for v in ds] == [3, 4] and ds.cardinality() == aj.data.UNKNOWN


def test_repeating_an_empty_dataset_forever_ends():
    assert list(Dataset.range(0).repeat().as_numpy_iterator()) == []
    assert list(unknown(0).repeat().take(3).as_numpy_iterator()) == []


@pytest.mark.parametrize("op", ["take", "skip", "repeat"])
def test_a_bad_count_is_a_clear_error(op):
    with pytest.raises(InvalidArgumentError, match=f"{op}: expected count as an int >= -1 "
                       "\\(-1 for all\\), got -2"):
        getattr(Dataset.range(3), op)(-2)
    with pytest.raises(InvalidArgumentError, match=f"{op}: expected count as an int"):
        getattr(Dataset.range(3), op)(1.5)
