"""Keras's ``compile``/``fit``/``evaluate``/``predict`` on ``Sequential`` and ``aj.keras.Model``
(Note [Keras training]): the same weights as a training loop written by hand, metrics and
losses as computed from the predictions, validation, Datasets, callbacks, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

RNG = np.random.default_rng(21)
X = RNG.normal(size=(100, 4)).astype(np.float32)
Y = (X[:, 0] - X[:, 2] > 0).astype(np.int64)


def model_and_copy():
    """Two models with the same initial weights."""
    models = []
    for _ in range(2):
        aj.random.set_seed(3)  # the layers build (and draw their weights) on the first call
        model = aj.keras.Sequential([aj.layers.Dense(8, activation="tanh"), aj.layers.Dense(2)])
        model(X[:1])
        models.append(model)
    a, b = models
    for va, vb in zip(a.variables, b.variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    return a, b


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_fit_gives_the_weights_of_a_loop_written_by_hand(run_eagerly):
    model, reference = model_and_copy()
    loss = aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(aj.keras.optimizers.SGD(0.1), loss, run_eagerly=run_eagerly)
    history = model.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0)

    opt = aj.keras.optimizers.SGD(0.1)
    want = []
    for _ in range(3):
        total = 0.0
        for start in range(0, 100, 32):  # 32, 32, 32, 4: the last batch is smaller
            xb, yb = aj.constant(X[start:start + 32]), aj.constant(Y[start:start + 32])
            with aj.GradientTape() as tape:
                value = loss(yb, reference(xb, training=True))
            grads = tape.gradient(value, reference.trainable_variables)
            opt.apply_gradients(zip(grads, reference.trainable_variables))
            total += float(value) * int(xb.shape[0])
        want.append(total / 100)
    for a, b in zip(model.variables, reference.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], want, rtol=1e-5)
    assert history.epoch == [0, 1, 2]
    if not run_eagerly:
        assert model._compiled.train_step.tracing_count <= 2  # full batches, then the last


def test_evaluate_and_predict_match_the_model_called_directly():
    model, _ = model_and_copy()
    model.compile("adam", aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    logits = model(X).numpy()
    np.testing.assert_allclose(model.predict(X, batch_size=7), logits, rtol=1e-6, atol=1e-7)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    want_loss = float(-log_p[np.arange(100), Y].mean())
    want_accuracy = float((logits.argmax(axis=1) == Y).mean())
    loss, accuracy = model.evaluate(X, Y, batch_size=30, verbose=0)
    np.testing.assert_allclose([loss, accuracy], [want_loss, want_accuracy], rtol=1e-5)
    assert model.evaluate(X, Y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    assert [m.name for m in model.metrics] == ["accuracy"]
    assert not any("accuracy" in v.name for v in model.variables)  # not the model's weights


def test_names_pick_keras_objects_and_a_regression_learns():
    aj.random.set_seed(0)
    x = RNG.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    model = aj.keras.Sequential([aj.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    assert isinstance(model.optimizer, aj.optimizers.Adam)
    model.optimizer = aj.keras.optimizers.Adam(0.05)  # settable, as Keras's
    history = model.fit(x, y, epochs=40, batch_size=20, verbose=0)
    assert history.history["loss"][-1] < 0.01 * history.history["loss"][0]
    mse, mae = model.evaluate(x, y, verbose=0)
    err = model.predict(x) - y
    np.testing.assert_allclose([mse, mae], [np.mean(err ** 2), np.mean(np.abs(err))],
                               rtol=1e-4)


def test_validation_split_holds_out_the_last_examples():
    model, _ = model_and_copy()
    model.compile("sgd", aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy"])
    history = model.fit(X, Y, epochs=2, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    val_loss, val_accuracy = model.evaluate(X[80:], Y[80:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][-1], val_loss, rtol=1e-6)
    np.testing.assert_allclose(history.history["val_accuracy"][-1], val_accuracy, rtol=1e-6)


def test_a_dataset_of_batches_trains_as_the_arrays_do():
    model, other = model_and_copy()
    loss = aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(aj.keras.optimizers.SGD(0.1), loss)
    other.compile(aj.keras.optimizers.SGD(0.1), loss)
    model.fit(aj.data.Dataset.from_tensor_slices((X, Y)).batch(25), epochs=2, verbose=0)
    other.fit(X, Y, batch_size=25, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.variables, other.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_shuffling_is_repeatable_under_a_seed_and_prints_one_line_per_epoch(capsys):
    runs = []
    for _ in range(2):
        model, _ = model_and_copy()
        model.compile("sgd", aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        aj.random.set_seed(9)
        runs.append(model.fit(X, Y, epochs=2, batch_size=16).history["loss"])
    assert runs[0] == runs[1]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 4 and lines[0].startswith("Epoch 1/2 - loss: ")


def test_callbacks_see_every_epoch_and_early_stopping_restores_the_best_weights():
    seen = []

    class Record(aj.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

    model, _ = model_and_copy()
    model.compile("sgd", aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, Y, epochs=10, callbacks=[Record()], verbose=0)
    assert seen == [(0, ["loss"]), (1, ["loss"])]

    # a learning rate so large the loss grows: the best epoch is the first
    model, _ = model_and_copy()
    model.compile(aj.keras.optimizers.SGD(50.0),
                  aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    stop = aj.keras.callbacks.EarlyStopping(monitor="loss", patience=1,
                                            restore_best_weights=True)
    history = model.fit(X, Y, epochs=20, callbacks=[stop], shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert len(losses) < 20 and stop.stopped_epoch == len(losses) - 1
    best = int(np.argmin(losses))
    assert losses[best + 1:] and min(losses[best + 1:]) >= losses[best]
    with pytest.raises(InvalidArgumentError, match="monitor 'val_loss' is not among the logs"):
        model.fit(X, Y, epochs=1, callbacks=[aj.keras.callbacks.EarlyStopping()], verbose=0)


def test_a_subclassed_model_compiles_and_fits():
    class Net(aj.keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = aj.layers.Dense(8, activation="relu")
            self.out = aj.layers.Dense(1, activation="sigmoid")

        def call(self, x):
            return self.out(self.hidden(x))

    aj.random.set_seed(1)
    net = Net()
    net.compile(aj.keras.optimizers.Adam(0.05), "binary_crossentropy",
                metrics=["accuracy", "auc"])
    history = net.fit(X, Y.astype(np.float32)[:, None], epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9 and history.history["auc"][-1] > 0.95
    assert isinstance(net._compiled.metrics[0], aj.metrics.BinaryAccuracy)


def test_training_errors():
    model, _ = model_and_copy()
    with pytest.raises(InvalidArgumentError, match=r"call model.compile\(optimizer, loss, "
                                                   r"metrics\) before fit"):
        model.fit(X, Y)
    with pytest.raises(InvalidArgumentError, match="unknown optimizer 'adamax'"):
        model.compile("adamax", "mse")
    with pytest.raises(InvalidArgumentError, match="unknown loss 'hinge'"):
        model.compile("sgd", "hinge")
    with pytest.raises(InvalidArgumentError, match="a loss is required"):
        model.compile("sgd")
    with pytest.raises(InvalidArgumentError, match="unknown metric 'f1'"):
        model.compile("sgd", "mse", metrics=["f1"])
    with pytest.raises(InvalidArgumentError, match="expected loss as a name, a Loss or a "
                                                   "function, got 3"):
        model.compile("sgd", 3)
    with pytest.raises(InvalidArgumentError, match="expected metrics as names or "
                                                   "aj.keras.metrics objects, got 7"):
        model.compile("sgd", "mse", metrics=[7])
    model.compile("sgd", "mse")
    with pytest.raises(InvalidArgumentError, match=r"validation_data must be \(x, y\) or a "
                                                   r"Dataset of \(x, y\)"):
        model.fit(X, np.zeros((100, 2), np.float32), validation_data=X, verbose=0)
    with pytest.raises(InvalidArgumentError, match="validation_split needs arrays x and y, not "
                                                   "a Dataset"):
        model.fit(aj.data.Dataset.from_tensor_slices((X, Y)).batch(10), validation_split=0.5,
                  verbose=0)
    with pytest.raises(InvalidArgumentError, match="same number of examples, got 100 and 99"):
        model.fit(X, Y[:99], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"validation_split must be in \[0, 1\)"):
        model.fit(X, Y, validation_split=1.5, verbose=0)
    with pytest.raises(InvalidArgumentError, match="y must be None when x is a Dataset"):
        model.fit(aj.data.Dataset.from_tensor_slices((X, Y)).batch(10), Y, verbose=0)


def test_a_fitted_model_saves_and_loads_without_its_class(tmp_path):
    model, _ = model_and_copy()
    model.compile("adam", aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(InvalidArgumentError, match="save needs the input shape: call fit"):
        model.save(tmp_path / "early")
    model.fit(X, Y, epochs=2, verbose=0)
    model.save(tmp_path / "model")
    loaded = aj.keras.models.load_model(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(X, batch_size=33), model.predict(X), rtol=1e-6)
    np.testing.assert_allclose(loaded(aj.constant(X[:5])).numpy(), model(X[:5]).numpy(),
                               rtol=1e-6)  # callable: its serving_default signature
    assert [v.name for v in loaded.trainable_variables] == \
        [v.name for v in model.trainable_variables]
    evaluated, _ = model_and_copy()  # evaluate alone shows save the input shape too
    evaluated.compile("sgd", "mse")
    evaluated.evaluate(X, np.zeros((100, 2), np.float32), verbose=0)
    assert evaluated.save(tmp_path / "evaluated").endswith("saved_model.npz")
