"""Keras's semantics of ``compile``/``fit``/``evaluate`` (autojit/layers/training.py, Note
[Keras training]) checked against NumPy: EarlyStopping's patience, validation_split's size,
the regularizers' penalties in evaluate, sample_weight and class_weight, validation_freq and
validation_batch_size, loss_weights and weighted_metrics, and the arguments that are refused
rather than ignored."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 4)).astype(np.float32)
Y = RNG.normal(size=(8, 1)).astype(np.float32)
SW = np.array([1, 1, 1, 1, 0, 0, 0, 0.5], np.float32)


def linear(x: np.ndarray, units: int = 1, lr: float = 0.0, loss: object = "mse",
           **compile_kw: object) -> aj.keras.Sequential:
    """A built ``Dense(units)`` model compiled with SGD(``lr``): lr 0 keeps its weights."""
    aj.random.set_seed(0)
    model = aj.keras.Sequential([aj.keras.layers.Dense(units)])
    model(x[:1])
    model.compile(aj.optimizers.SGD(learning_rate=lr), loss, **compile_kw)
    return model


def squared_errors(model: aj.keras.Sequential, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The per-sample MSE of ``model`` on ``(x, y)``, in NumPy from its weights."""
    layer = model.layers[0]
    pred = x @ layer.w.numpy() + layer.b.numpy()
    return np.mean((pred - y) ** 2, axis=-1)


def log_softmax_ce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


# --- EarlyStopping ---------------------------------------------------------------------------

@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience):
    model = linear(X)  # lr 0: the loss of epoch 0 is never improved on
    stop = aj.keras.callbacks.EarlyStopping(monitor="loss", patience=patience)
    history = model.fit(X, Y, epochs=20, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[stop])
    # Keras 3: epoch 0 sets the best; then `patience` misses stop it (and never at epoch 0)
    want = 1 + max(patience, 1)
    assert len(history.history["loss"]) == want
    assert stop.stopped_epoch == want - 1


def drive(stop: aj.keras.callbacks.EarlyStopping, values: list) -> int | None:
    """Feed ``values`` as the monitored logs of successive epochs; the epoch it stopped at."""
    stop.model = SimpleNamespace(stop_training=False, variables=[])
    stop.on_train_begin()
    for epoch, value in enumerate(values):
        stop.on_epoch_end(epoch, {stop.monitor: value})
        if stop.model.stop_training:
            return epoch
    return None


def test_early_stopping_counts_misses_since_the_last_improvement():
    ES = aj.keras.callbacks.EarlyStopping
    # by hand, with Keras 3's rule (wait += 1; improvement: wait = 0; stop at wait >= patience)
    assert drive(ES(monitor="loss", patience=2), [5, 4, 4, 3, 3, 3, 3]) == 5
    assert drive(ES(monitor="loss", patience=2), [5, 4, 4, 3, 3.5, 2, 2.5]) is None
    assert drive(ES(monitor="loss", patience=1, min_delta=0.1), [1.0, 0.95, 0.5]) == 1
    assert drive(ES(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.6]) == 2  # auto: max
    assert drive(ES(monitor="loss", patience=1, mode="max"), [0.5, 0.4]) == 1


def test_early_stopping_baseline_and_start_from_epoch():
    ES = aj.keras.callbacks.EarlyStopping
    # Keras 3: an improvement that does not beat the baseline keeps the wait counting, so
    # the first epoch without improvement may stop it
    assert drive(ES(monitor="loss", patience=2, baseline=2.0), [5, 4, 4, 4]) == 2
    assert drive(ES(monitor="loss", patience=2), [5, 4, 4, 4]) == 3
    assert drive(ES(monitor="loss", patience=2, baseline=2.0), [5, 1.5, 1.2, 1.0, 1.1]) is None
    assert drive(ES(monitor="val_auc", patience=2, baseline=0.9), [0.8, 0.85, 0.85]) == 2
    assert drive(ES(monitor="val_auc", patience=2), [0.8, 0.85, 0.85]) is None  # auto: max
    # epochs before start_from_epoch are not looked at (a warm-up)
    assert drive(ES(monitor="loss", patience=1, start_from_epoch=3), [1, 2, 3, 4, 5, 6]) == 4
    assert drive(ES(monitor="loss", patience=1), [1, 2, 3, 4, 5, 6]) == 1


# --- validation_split ------------------------------------------------------------------------

@pytest.mark.parametrize("n, split", [(10, 0.05), (10, 0.25), (30, 0.05), (7, 0.5)])
def test_validation_split_holds_out_keras_count_of_examples(n, split):
    x = RNG.normal(size=(n, 4)).astype(np.float32)
    y = RNG.normal(size=(n, 1)).astype(np.float32)
    model = linear(x)
    history = model.fit(x, y, epochs=1, batch_size=n, validation_split=split, shuffle=False,
                        verbose=0)
    split_at = int(math.floor(n * (1.0 - split)))  # Keras's train_validation_split
    errors = squared_errors(model, x, y)
    np.testing.assert_allclose(history.history["loss"], [errors[:split_at].mean()], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [errors[split_at:].mean()],
                               rtol=1e-5)


@pytest.mark.parametrize("n, split", [(1, 0.5), (4, 0.8), (10, 1e-17)])
def test_a_validation_split_that_leaves_a_side_empty_is_an_error(n, split):
    x = np.ones((n, 4), np.float32)
    model = linear(x)
    with pytest.raises(InvalidArgumentError, match=rf"the data has {n} examples, not enough to "
                                                   rf"split by validation_split={split}"):
        model.fit(x, np.ones((n, 1), np.float32), validation_split=split, verbose=0)


# --- regularizers in evaluate ----------------------------------------------------------------

def test_evaluate_and_val_loss_include_the_regularizers_penalties():
    aj.random.set_seed(0)
    model = aj.keras.Sequential([aj.keras.layers.Dense(
        1, kernel_regularizer=aj.keras.regularizers.L2(0.5))])
    model(X[:1])
    model.compile(aj.optimizers.SGD(learning_rate=0.0), "mse")
    history = model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0,
                        validation_data=(X, Y))
    want = squared_errors(model, X, Y).mean() + 0.5 * np.sum(model.layers[0].w.numpy() ** 2)
    np.testing.assert_allclose(history.history["loss"], [want], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [want], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(X, Y, batch_size=3, verbose=0), want, rtol=1e-5)


# --- sample_weight -----------------------------------------------------------------------------

def squared(y_true, y_pred):
    """A loss given as a plain function of per-sample losses."""
    return aj.reduce_mean(aj.square(y_pred - y_true), axis=-1)


@pytest.mark.parametrize("batch_size, loss", [(8, "mse"), (3, "mse"), (3, squared)])
def test_evaluate_weights_each_sample_as_keras_sum_over_batch_size(batch_size, loss):
    model = linear(X, loss=loss)
    # Keras: each batch's loss is sum(w * l) / batch, averaged over batches by their sizes
    want = np.sum(SW * squared_errors(model, X, Y)) / len(X)
    got = model.evaluate(X, Y, sample_weight=SW, batch_size=batch_size, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(X, Y, sample_weight=SW[:, None], verbose=0),
                               want, rtol=1e-5)  # [n, 1] weights too


def test_fit_reports_the_weighted_loss_and_shuffles_the_weights_with_their_samples():
    model = linear(X)
    want = np.sum(SW * squared_errors(model, X, Y)) / len(X)
    aj.random.set_seed(4)
    history = model.fit(X, Y, sample_weight=SW, batch_size=3, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [want, want], rtol=1e-5)


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_fit_with_sample_weight_takes_the_steps_numpy_takes(run_eagerly):
    model = linear(X, lr=0.1, run_eagerly=run_eagerly)
    w, b = model.layers[0].w.numpy().astype(np.float64), model.layers[0].b.numpy()
    for _ in range(3):  # full batch: d/dpred of sum(sw * (pred - y)^2) / n
        grad = 2 * SW[:, None] * (X @ w + b - Y) / len(X)
        w, b = w - 0.1 * X.T @ grad, b - 0.1 * grad.sum(axis=0)
    model.fit(X, Y, sample_weight=SW, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(model.layers[0].w.numpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.layers[0].b.numpy(), b, rtol=1e-5, atol=1e-6)


def test_weights_are_a_traced_argument_so_the_step_traces_once_per_batch_shape():
    x = RNG.normal(size=(100, 4)).astype(np.float32)
    y = RNG.normal(size=(100, 1)).astype(np.float32)
    model = linear(x, lr=0.01)
    for epoch in range(2):
        model.fit(x, y, sample_weight=RNG.uniform(size=100), batch_size=32, epochs=2,
                  verbose=0)
    assert model._compiled.train_step.tracing_count <= 2  # full batches, then the last
    unweighted = linear(x, lr=0.01)
    unweighted.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert unweighted._compiled.train_step.tracing_count <= 2


def test_validation_split_splits_the_sample_weights_too():
    model = linear(X)
    history = model.fit(X, Y, sample_weight=SW, validation_split=0.25, epochs=1, verbose=0)
    errors = squared_errors(model, X, Y)
    np.testing.assert_allclose(history.history["loss"], [np.sum(SW[:6] * errors[:6]) / 6],
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [np.sum(SW[6:] * errors[6:]) / 2],
                               rtol=1e-5)


def test_validation_data_may_carry_sample_weights():
    model = linear(X)
    history = model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y, SW))
    want = np.sum(SW * squared_errors(model, X, Y)) / len(X)
    np.testing.assert_allclose(history.history["val_loss"], [want], rtol=1e-5)


def test_a_dataset_of_x_y_sample_weight_batches_is_weighted():
    model = linear(X)
    data = aj.data.Dataset.from_tensor_slices((X, Y, SW)).batch(3)
    want = np.sum(SW * squared_errors(model, X, Y)) / len(X)
    np.testing.assert_allclose(model.evaluate(data, verbose=0), want, rtol=1e-5)
    np.testing.assert_allclose(model.fit(data, verbose=0).history["loss"], [want], rtol=1e-5)


def test_metrics_are_unweighted_and_weighted_metrics_weighted_as_keras():
    model = linear(X, metrics=["mae"], weighted_metrics=["mae", "mse"])
    layer = model.layers[0]
    err = (X @ layer.w.numpy() + layer.b.numpy() - Y)[:, 0]
    values = model.evaluate(X, Y, sample_weight=SW, batch_size=3, verbose=0, return_dict=True)
    assert list(values) == ["loss", "mae", "weighted_mae", "mse"]  # Keras's names
    np.testing.assert_allclose(values["mae"], np.mean(np.abs(err)), rtol=1e-5)
    np.testing.assert_allclose(values["weighted_mae"], np.sum(SW * np.abs(err)) / SW.sum(),
                               rtol=1e-5)
    np.testing.assert_allclose(values["mse"], np.sum(SW * err ** 2) / SW.sum(), rtol=1e-5)
    plain = model.evaluate(X, Y, verbose=0, return_dict=True)  # no weights: all unweighted
    np.testing.assert_allclose(plain["weighted_mae"], np.mean(np.abs(err)), rtol=1e-5)
    history = model.fit(X, Y, sample_weight=SW, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae", "weighted_mae", "mse"}


# --- class_weight ------------------------------------------------------------------------------

LABELS = np.array([0, 1, 2, 1, 0, 1, 2, 1])


def test_class_weight_weights_integer_and_one_hot_labels():
    weights = {0: 0.0, 1: 3.0}  # class 2 is missing: weight 1, as Keras 3
    per_sample = np.array([weights.get(c, 1.0) for c in LABELS])
    sparse = linear(X, units=3,
                    loss=aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    layer = sparse.layers[0]
    ce = log_softmax_ce(X @ layer.w.numpy() + layer.b.numpy(), LABELS)
    want = np.sum(per_sample * ce) / len(X)
    history = sparse.fit(X, LABELS, class_weight=weights, batch_size=3, epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [want], rtol=1e-5)

    one_hot = linear(X, units=3,
                     loss=aj.keras.losses.CategoricalCrossentropy(from_logits=True))
    history = one_hot.fit(X, np.eye(3, dtype=np.float32)[LABELS], class_weight=weights,
                          epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [want], rtol=1e-5)


def test_class_weight_multiplies_sample_weight_and_leaves_validation_unweighted():
    weights = {0: 2.0, 1: 0.5, 2: 1.5}
    model = linear(X, units=3,
                   loss=aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    layer = model.layers[0]
    ce = log_softmax_ce(X @ layer.w.numpy() + layer.b.numpy(), LABELS)
    per_sample = SW * np.array([weights[c] for c in LABELS])
    history = model.fit(X, LABELS, class_weight=weights, sample_weight=SW, epochs=1,
                        verbose=0, validation_data=(X, LABELS))
    np.testing.assert_allclose(history.history["loss"], [np.sum(per_sample * ce) / 8],
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [ce.mean()], rtol=1e-5)


# --- validation_freq, validation_batch_size ----------------------------------------------------

def test_validation_freq_validates_every_freq_epochs_or_the_listed_ones():
    seen = []

    class Record(aj.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, "val_loss" in logs))

    model = linear(X)
    history = model.fit(X, Y, epochs=5, verbose=0, validation_data=(X, Y), validation_freq=2,
                        callbacks=[Record()])
    assert seen == [(0, False), (1, True), (2, False), (3, True), (4, False)]
    assert len(history.history["val_loss"]) == 2 and len(history.history["loss"]) == 5
    history = model.fit(X, Y, epochs=5, verbose=0, validation_split=0.25,
                        validation_freq=[1, 5])
    assert len(history.history["val_loss"]) == 2


class CenteredDense(aj.keras.Model):
    """Outputs minus their batch mean: the loss depends on how the data is batched."""

    def __init__(self):
        super().__init__()
        self.dense = aj.keras.layers.Dense(1)

    def call(self, x):
        out = self.dense(x)
        return out - aj.reduce_mean(out, axis=0, keepdims=True)


def test_validation_batch_size_batches_the_validation_data():
    aj.random.set_seed(0)
    model = CenteredDense()
    model.compile(aj.optimizers.SGD(0.0), "mse")
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, validation_data=(X, Y),
                        validation_batch_size=3)
    np.testing.assert_allclose(history.history["val_loss"],
                               [model.evaluate(X, Y, batch_size=3, verbose=0)], rtol=1e-6)
    assert abs(model.evaluate(X, Y, batch_size=8, verbose=0) - history.history["val_loss"][0]) \
        > 1e-4  # so batching is seen


# --- compile's loss_weights and harmless arguments -------------------------------------------

def test_loss_weights_scale_the_compiled_loss_not_the_penalties():
    aj.random.set_seed(0)
    model = aj.keras.Sequential([aj.keras.layers.Dense(
        1, kernel_regularizer=aj.keras.regularizers.L2(0.5))])
    model(X[:1])
    model.compile(aj.optimizers.SGD(0.0), "mse", loss_weights=0.25, jit_compile=True,
                  steps_per_execution=4)
    penalty = 0.5 * np.sum(model.layers[0].w.numpy() ** 2)
    want = 0.25 * squared_errors(model, X, Y).mean() + penalty
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), want, rtol=1e-5)
    model.compile(aj.optimizers.SGD(0.0), "mse", loss_weights=[2.0])
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0),
                               2.0 * squared_errors(model, X, Y).mean() + penalty, rtol=1e-5)


def test_tf_era_arguments_that_change_nothing_are_accepted():
    model = linear(X)
    history = model.fit(X, Y, epochs=1, verbose=0, workers=4, use_multiprocessing=True,
                        max_queue_size=3, steps_per_epoch=None)
    assert len(history.history["loss"]) == 1


# --- errors --------------------------------------------------------------------------------------

def test_arguments_that_would_change_results_are_refused():
    model = linear(X)
    with pytest.raises(InvalidArgumentError, match="fit: steps_per_epoch is not implemented"):
        model.fit(X, Y, steps_per_epoch=2, verbose=0)
    with pytest.raises(InvalidArgumentError, match="fit: validation_steps is not implemented"):
        model.fit(X, Y, validation_data=(X, Y), validation_steps=1, verbose=0)
    with pytest.raises(InvalidArgumentError, match="evaluate: steps is not implemented"):
        model.evaluate(X, Y, steps=1, verbose=0)
    with pytest.raises(InvalidArgumentError, match="evaluate: callbacks are not implemented"):
        model.evaluate(X, Y, callbacks=[aj.keras.callbacks.Callback()], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: unexpected argument 'sample_weights'"):
        model.fit(X, Y, sample_weights=SW, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"evaluate: unexpected argument "
                                                   r"'class_weight'"):
        model.evaluate(X, Y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(InvalidArgumentError, match="compile: unexpected argument "
                                                   "'sample_weight_mode'"):
        model.compile("sgd", "mse", sample_weight_mode="temporal")
    with pytest.raises(InvalidArgumentError, match="compile: expected loss_weights as a number "
                                                   r"or a list of one number \(one output\), "
                                                   r"got \{'out': 1.0\}"):
        model.compile("sgd", "mse", loss_weights={"out": 1.0})


def test_weight_errors_say_what_was_expected():
    model = linear(X)
    with pytest.raises(InvalidArgumentError, match=r"fit: expected sample_weight with one weight "
                                                   r"per example \(8\), got shape \(7,\)"):
        model.fit(X, Y, sample_weight=SW[:7], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"evaluate: expected sample_weight with one "
                                                   r"weight per example \(8\), got shape "
                                                   r"\(\)"):
        model.evaluate(X, Y, sample_weight=np.float32(2.0), verbose=0)
    data = aj.data.Dataset.from_tensor_slices((X, Y)).batch(4)
    with pytest.raises(InvalidArgumentError, match="sample_weight must be None when x is a "
                                                   "Dataset"):
        model.fit(data, sample_weight=SW, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: expected class_weight as a dict "
                                                   r"\{class index: weight\}, got \[1.0, 2.0\]"):
        model.fit(X, Y, class_weight=[1.0, 2.0], verbose=0)
    with pytest.raises(InvalidArgumentError, match="fit: expected validation_freq as an int >= 1 "
                                                   "or a list of epochs, got 0"):
        model.fit(X, Y, validation_data=(X, Y), validation_freq=0, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"validation_data must be \(x, y\) or a "
                                                   r"Dataset of \(x, y\) batches, or \(x, y, "
                                                   r"sample_weight\); got a tuple of 4"):
        model.fit(X, Y, validation_data=(X, Y, SW, SW), verbose=0)
    with pytest.raises(InvalidArgumentError, match="compile: weighted_metrics need metrics whose "
                                                   "update_state takes sample_weight"):
        class Plain(aj.keras.metrics.Mean):
            def update_state(self, y_true, y_pred):
                pass
        model.compile("sgd", "mse", weighted_metrics=[Plain()])
