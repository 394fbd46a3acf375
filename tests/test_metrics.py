"""Tests for ``aj.metrics``: running values against NumPy over several updates (with and
without sample weights), reset, use inside ``@aj.function`` (updates at every replay), the
Keras alias, and the error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(0)


def batches(n=4, size=8, classes=5):
    rng = np.random.default_rng(1)
    return [(rng.integers(0, classes, size=size), rng.normal(size=(size, classes)),
             rng.uniform(0.0, 2.0, size=size)) for _ in range(n)]


def test_mean_of_several_updates():
    m = aj.metrics.Mean()
    assert float(m.result()) == 0.0  # nothing counted yet: 0, not NaN
    chunks = [RNG.normal(size=5), RNG.normal(size=3), np.float32(2.5)]
    for chunk in chunks:
        m.update_state(chunk)
    expected = np.concatenate([chunks[0], chunks[1], [2.5]]).mean()
    np.testing.assert_allclose(float(m.result()), expected, rtol=1e-6)
    assert m.result().dtype == aj.float32


def test_mean_with_sample_weights():
    values = RNG.normal(size=6)
    weights = RNG.uniform(size=6)
    m = aj.metrics.Mean()
    m.update_state(values, sample_weight=weights)
    m.update_state([10.0, 20.0], sample_weight=[0.0, 1.0])
    expected = (np.sum(values * weights) + 20.0) / (np.sum(weights) + 1.0)
    np.testing.assert_allclose(float(m.result()), expected, rtol=1e-6)


def test_mean_per_sample_weights_on_rank_2_values():
    # Keras 3: values are averaged over the dims the weights lack, then weighted per sample.
    values = RNG.normal(size=(4, 3))
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    expected = np.sum(values.mean(axis=1) * weights) / weights.sum()
    for w in (weights, weights[:, None]):  # [N] and [N, 1] weights mean the same
        m = aj.metrics.Mean()
        m.update_state(values, sample_weight=w)
        np.testing.assert_allclose(float(m.result()), expected, rtol=1e-6)


def test_mean_elementwise_weights():
    values = RNG.normal(size=(3, 4))
    weights = RNG.uniform(size=(3, 4))
    m = aj.metrics.Mean()
    m.update_state(values, sample_weight=weights)
    np.testing.assert_allclose(float(m.result()), np.sum(values * weights) / weights.sum(),
                               rtol=1e-6)


def test_sum():
    s = aj.metrics.Sum()
    s.update_state([1.0, 2.0, 3.5])
    s.update_state([[1.0, 1.0], [2.0, 2.0]], sample_weight=[3.0, 0.5])
    np.testing.assert_allclose(float(s.result()), 6.5 + 3.0 * 2.0 + 0.5 * 4.0, rtol=1e-7)


def test_sparse_categorical_accuracy():
    acc = aj.metrics.SparseCategoricalAccuracy()
    right = total = 0.0
    for labels, logits, _ in batches():
        acc.update_state(labels, logits)
        right += np.sum(np.argmax(logits, axis=1) == labels)
        total += len(labels)
    np.testing.assert_allclose(float(acc.result()), right / total, rtol=1e-6)
    assert 0.0 < right / total < 1.0  # the data has both hits and misses


def test_sparse_categorical_accuracy_column_labels_and_weights():
    acc = aj.metrics.SparseCategoricalAccuracy()
    num = den = 0.0
    for labels, logits, weights in batches():
        acc.update_state(labels[:, None].astype(np.float32), aj.constant(logits),
                         sample_weight=weights)
        num += np.sum((np.argmax(logits, axis=1) == labels) * weights)
        den += np.sum(weights)
    np.testing.assert_allclose(float(acc.result()), num / den, rtol=1e-6)


def test_categorical_accuracy():
    acc = aj.metrics.CategoricalAccuracy()
    hits = []
    for labels, logits, _ in batches():
        acc.update_state(np.eye(5)[labels], logits)
        hits.extend(np.argmax(logits, axis=1) == labels)
    np.testing.assert_allclose(float(acc.result()), np.mean(hits), rtol=1e-6)


def test_accuracy_and_binary_accuracy():
    acc = aj.metrics.Accuracy()
    acc.update_state([1, 2, 3, 4], [1, 2, 0, 4])
    acc.update_state([[5], [6]], [5, 0])  # [N, 1] against [N]: same rank first
    np.testing.assert_allclose(float(acc.result()), 4 / 6, rtol=1e-6)
    binary = aj.metrics.BinaryAccuracy()
    y_true = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    y_prob = np.array([0.9, 0.6, 0.4, 0.1, 0.5])
    binary.update_state(y_true, y_prob)
    np.testing.assert_allclose(float(binary.result()), np.mean((y_prob > 0.5) == y_true))
    strict = aj.metrics.BinaryAccuracy(threshold=0.3)
    np.testing.assert_allclose(float(strict(y_true, y_prob)), np.mean((y_prob > 0.3) == y_true))


def test_per_sample_functions():
    np.testing.assert_array_equal(
        aj.metrics.sparse_categorical_accuracy([2, 0], [[0.1, 0.2, 0.7], [0.1, 0.8, 0.1]])
        .numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(aj.metrics.binary_accuracy([1.0, 0.0], [0.9, 0.7]).numpy(),
                                  [1.0, 0.0])


def test_reset_state_and_call():
    m = aj.metrics.Mean()
    assert float(m([2.0, 4.0])) == 3.0  # __call__: update, then result
    m.reset_state()
    assert float(m.result()) == 0.0
    assert [float(v) for v in (m.total, m.count)] == [0.0, 0.0]
    assert float(m(5.0)) == 5.0


def test_state_is_non_trainable_variables():
    acc = aj.metrics.SparseCategoricalAccuracy()
    assert acc.name == "sparse_categorical_accuracy"
    assert sorted(v.name for v in acc.variables) == [
        "sparse_categorical_accuracy/count:0", "sparse_categorical_accuracy/total:0"]
    assert acc.trainable_variables == ()
    assert aj.metrics.Mean(name="train_loss", dtype=aj.float64).result().dtype == aj.float64


def test_inside_function_updates_at_every_replay():
    loss_metric = aj.metrics.Mean()
    acc = aj.metrics.SparseCategoricalAccuracy()

    @aj.function
    def step(labels, logits):
        loss = aj.reduce_mean(aj.keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True))
        loss_metric.update_state(loss)
        acc.update_state(labels, logits)
        return acc.result()

    losses, hits, running = [], [], []
    for labels, logits, _ in batches(n=5):
        running.append(float(step(aj.constant(labels), aj.constant(logits, dtype=aj.float32))))
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.append(-np.mean(logp[np.arange(len(labels)), labels]))
        hits.extend(np.argmax(logits, axis=1) == labels)
        np.testing.assert_allclose(running[-1], np.mean(hits), rtol=1e-6)
    assert step.tracing_count == 1
    np.testing.assert_allclose(float(loss_metric.result()), np.mean(losses), rtol=1e-5)


def test_reset_inside_function_and_metric_created_on_first_trace():
    holder = {}

    @aj.function
    def epoch_end(values):
        if "m" not in holder:
            holder["m"] = aj.metrics.Mean()  # created on the first trace, as a Variable may
        holder["m"].update_state(values)
        out = holder["m"].result()
        holder["m"].reset_state()
        return out

    assert float(epoch_end(aj.constant([1.0, 2.0]))) == 1.5
    assert float(epoch_end(aj.constant([5.0, 7.0]))) == 6.0  # reset ran at the last replay
    assert epoch_end.tracing_count == 1
    assert float(holder["m"].result()) == 0.0


def test_custom_metric_subclass():
    class Max(aj.metrics.Metric):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.best = self.add_variable("best", initializer=-1000.0)

        def update_state(self, values):
            self.best.assign(aj.maximum(self.best, aj.reduce_max(aj.constant(values))))

        def result(self):
            return self.best.read_value()

    m = Max()
    m.update_state([1.0, 7.0])
    m.update_state([3.0])
    assert float(m.result()) == 7.0
    m.reset_state()
    assert float(m.result()) == -1000.0


def test_keras_alias():
    assert aj.keras.metrics.SparseCategoricalAccuracy is aj.metrics.SparseCategoricalAccuracy
    assert aj.keras.metrics.Mean is aj.metrics.Mean


def test_errors():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "categorical_accuracy: expected one-hot y_true of the rank of y_pred (2), got shape "
            "[4]; for integer labels use sparse_categorical_accuracy")):
        aj.metrics.CategoricalAccuracy().update_state([0, 1, 2, 1], np.eye(4, 3))
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "sparse_categorical_accuracy: expected y_pred of rank >= 1 (scores over the last "
            "axis), got shape []")):
        aj.metrics.SparseCategoricalAccuracy().update_state(1, 0.5)
    with pytest.raises(ShapeError, match=re.escape("squeeze: cannot squeeze axis 1")):
        aj.metrics.SparseCategoricalAccuracy().update_state(np.zeros((4, 2)), np.eye(4, 3))
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Mean: expected a floating dtype for the metric's state, got int32")):
        aj.metrics.Mean(dtype=aj.int32)
