"""Keras's training loop for ``aj.keras.Model`` and ``Sequential``: ``compile``, ``fit``,
``evaluate``, ``predict``.

Note [Keras training]: ``compile(optimizer, loss, metrics)`` takes Keras's names ("adam",
"sparse_categorical_crossentropy", "accuracy", ...) or objects. ``fit`` runs one
``@aj.function`` train step per batch (forward under a ``GradientTape``, the compiled loss,
``optimizer.apply_gradients``, every metric's ``update_state``), traced once for the batch
shape and once more for a smaller last batch (``reduce_retracing``); ``run_eagerly=True``
runs it as plain Python. Batches are slices of ``x``/``y`` (NumPy arrays or tensors),
shuffled each epoch unless ``shuffle=False`` (repeatable under ``aj.random.set_seed``), or
the batches of an ``aj.data.Dataset`` of ``(x, y)``. ``validation_split`` holds out the last
fraction of the data before shuffling, as Keras; ``validation_data`` is evaluated after each
epoch into ``val_`` logs. ``fit`` returns a ``History`` (``history.history["loss"]``), prints
one line per epoch unless ``verbose=0``, and calls the callbacks' ``on_train_begin``,
``on_epoch_begin``, ``on_epoch_end(epoch, logs)`` and ``on_train_end``; a callback setting
``model.stop_training = True`` ends training after that epoch. The compiled state lives in
one plain attribute, so metrics' Variables are not the model's (as Keras's ``model.weights``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from autojit.errors import InvalidArgumentError


class Callback:
    """Base class of ``fit``'s callbacks; ``self.model`` is set before training.

    Usage::

        class Print(aj.keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                print(epoch, logs["loss"])
    """

    model: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once before the first epoch. Usage: override it in a subclass"""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once after the last epoch. Usage: override it in a subclass"""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called before each epoch. Usage: override it in a subclass"""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called after each epoch with its logs (``loss``, metrics, ``val_`` ones).

        Usage: ``def on_epoch_end(self, epoch, logs=None): print(logs["loss"])``
        """


class History(Callback):
    """What ``fit`` returns: ``history`` maps each log name to its value per epoch.

    Usage: ``history = model.fit(x, y, epochs=3); history.history["loss"]``
    """

    def __init__(self) -> None:
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record ``logs``. Usage: called by ``fit``"""
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience``
    epochs; ``restore_best_weights`` puts back the weights of the best epoch.

    Usage: ``model.fit(x, y, epochs=100, callbacks=[aj.keras.callbacks.EarlyStopping(patience=3)])``
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False):
        if mode not in ("auto", "min", "max"):
            raise InvalidArgumentError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', "
                                       f"got {mode!r}")
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), patience
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = -1.0 if maximize else 1.0
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Reset the best value and the wait. Usage: called by ``fit``"""
        self.best, self.wait, self.best_weights = math.inf, 0, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Compare ``logs[monitor]`` with the best so far; stop after ``patience`` misses.

        Usage: called by ``fit``
        """
        if self.monitor not in (logs or {}):
            raise InvalidArgumentError(f"EarlyStopping: monitor {self.monitor!r} is not among "
                                       f"the logs {sorted(logs or {})}")
        value = self.sign * float(logs[self.monitor])
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = [v.numpy().copy() for v in self.model.variables]
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        """Restore the best weights when asked. Usage: called by ``fit``"""
        if self.restore_best_weights and self.best_weights is not None:
            for var, value in zip(self.model.variables, self.best_weights):
                var.assign(value)


class _Compiled:
    """What ``compile`` chose (kept out of the Module walk: a plain object)."""

    def __init__(self, optimizer: Any, loss: Callable, loss_name: str, metrics: list,
                 run_eagerly: bool):
        self.optimizer, self.loss, self.loss_name = optimizer, loss, loss_name
        self.metrics, self.run_eagerly = metrics, run_eagerly
        self.train_step: Any = None
        self.test_step: Any = None


class Training:
    """``compile``, ``fit``, ``evaluate`` and ``predict`` (Note [Keras training]) for a Module
    whose ``__call__(x, training=...)`` is the model.

    Usage: ``model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"]);
    model.fit(x, y, epochs=5, batch_size=32)``
    """

    stop_training = False
    _typed_inputs = False  # True where the Inputs give save its types (functional models)

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                run_eagerly: bool = False, **unused: Any) -> None:
        """Choose the optimizer, loss and metrics ``fit`` and ``evaluate`` use.

        Usage: ``model.compile(optimizer="adam", loss="mse", metrics=["mae"])``
        """
        from autojit import losses as losses_module
        from autojit import optimizers

        if isinstance(optimizer, str):
            table = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
                     "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad}
            if optimizer.lower() not in table:
                raise InvalidArgumentError(f"compile: unknown optimizer {optimizer!r}; expected "
                                           f"one of {sorted(table)} or an optimizer object")
            optimizer = table[optimizer.lower()]()
        if loss is None:
            raise InvalidArgumentError("compile: a loss is required, e.g. loss='mse' or "
                                       "loss=aj.keras.losses.SparseCategoricalCrossentropy()")
        loss_fn, loss_name = _loss(losses_module, loss)
        metric_list = [_metric(m, loss_name) for m in (metrics or [])]
        object.__setattr__(self, "_compiled", _Compiled(optimizer, loss_fn, loss_name,
                                                        metric_list, bool(run_eagerly)))

    @property
    def optimizer(self) -> Any:
        """The compiled optimizer (settable, as Keras's). Usage: ``model.optimizer.learning_rate``
        """
        return self._require("optimizer").optimizer

    @optimizer.setter
    def optimizer(self, value: Any) -> None:
        compiled = self._require("setting the optimizer")
        compiled.optimizer = value
        compiled.train_step = compiled.test_step = None  # traced for the old one: trace again

    @property
    def metrics(self) -> list:
        """The compiled metrics (not the model's Variables). Usage: ``model.metrics``"""
        return list(self._require("metrics").metrics)

    def _require(self, what: str) -> _Compiled:
        compiled = vars(self).get("_compiled")
        if compiled is None:
            raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: call "
                                       f"model.compile(optimizer, loss, metrics) before {what}")
        return compiled

    # --- steps ---------------------------------------------------------------------------
    def _steps(self) -> _Compiled:
        from autojit.autodiff import GradientTape
        from autojit.function import function
        from autojit.ops.array import add_n

        compiled = self._require("fit/evaluate")
        if compiled.train_step is not None:
            return compiled

        def train_step(x: Any, y: Any) -> Any:
            with GradientTape() as tape:
                pred = self(x, training=True)
                loss = compiled.loss(y, pred)
                penalties = self.losses  # the regularizers' (aj.keras.regularizers)
                if penalties:
                    loss = loss + add_n(penalties)
            variables = self.trainable_variables
            compiled.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            for metric in compiled.metrics:
                metric.update_state(y, pred)
            return loss

        def test_step(x: Any, y: Any) -> Any:
            pred = self(x, training=False)
            for metric in compiled.metrics:
                metric.update_state(y, pred)
            return compiled.loss(y, pred)

        if compiled.run_eagerly:
            compiled.train_step, compiled.test_step = train_step, test_step
        else:
            compiled.train_step = function(train_step, reduce_retracing=True)
            compiled.test_step = function(test_step, reduce_retracing=True)
        return compiled

    # --- fit, evaluate, predict ----------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: list | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            initial_epoch: int = 0, **unused: Any) -> History:
        """Train for ``epochs`` passes over the data (Note [Keras training]).

        Usage: ``history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)``
        """
        compiled = self._steps()
        if not 0 <= validation_split < 1:
            raise InvalidArgumentError(f"fit: validation_split must be in [0, 1), got "
                                       f"{validation_split!r}")
        if validation_split and validation_data is None:
            x, y, validation_data = _split(x, y, validation_split)
        history = History()
        hooks = [history, *(callbacks or [])]
        for hook in hooks:
            hook.model = self
        object.__setattr__(self, "stop_training", False)
        for hook in hooks:
            hook.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for hook in hooks:
                hook.on_epoch_begin(epoch)
            for metric in compiled.metrics:
                metric.reset_state()
            logs = {"loss": self._mean_loss(compiled.train_step,
                                            _batches(x, y, batch_size, shuffle, epoch))}
            logs.update({m.name: float(m.result()) for m in compiled.metrics})
            if validation_data is not None:
                values = self.evaluate(*_pair(validation_data), batch_size=batch_size,
                                       verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in values.items()})
            if verbose not in (0, False):
                print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(
                    f"{k}: {v:.4f}" for k, v in logs.items()))
            for hook in hooks:
                hook.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for hook in hooks:
            hook.on_train_end()
        return history

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", return_dict: bool = False, **unused: Any) -> Any:
        """The compiled loss (and metrics) over the data: a float, or ``[loss, *metrics]``
        when there are metrics, or a dict with ``return_dict=True``.

        Usage: ``loss, accuracy = model.evaluate(x_test, y_test)``
        """
        compiled = self._steps()
        for metric in compiled.metrics:
            metric.reset_state()
        values = {"loss": self._mean_loss(compiled.test_step,
                                          _batches(x, y, batch_size, False, 0))}
        values.update({m.name: float(m.result()) for m in compiled.metrics})
        if verbose not in (0, False, "auto"):
            print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    def save(self, filepath: Any, overwrite: bool = True, **unused: Any) -> str:
        """Save as an ``aj.saved_model`` whose ``serving_default`` (also the loaded object's
        call) is ``self(x, training=False)`` traced for the input shape ``fit``, ``evaluate``
        or ``predict`` last saw, with the batch dim unknown.

        Usage: ``model.save("exported"); aj.keras.models.load_model("exported").predict(x)``
        """
        from autojit import saved_model
        from autojit.function import function

        spec = vars(self).get("_input_spec")
        if spec is None:
            raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: save needs the "
                                       "input shape: call fit, evaluate or predict first")
        serve = function(lambda x: self(x, training=False), input_signature=[spec])
        return saved_model.save(self, filepath, signatures={"serving_default": serve})

    def _seen(self, x: Any) -> Any:
        """``x`` as tensors, its type remembered for ``save`` (a functional model keeps its
        Inputs' types)."""
        from autojit import nest
        from autojit.ops.core import TensorSpec

        x = nest.map_structure(_tensor, x)
        if not self._typed_inputs:
            object.__setattr__(self, "_input_spec", nest.map_structure(
                lambda t: TensorSpec([None, *t.shape[1:]], t.dtype), x))
        return x

    def _mean_loss(self, step: Callable, batches: Any) -> float:
        """The mean of ``step(x, y)`` over the batches, weighted by their sizes; each batch's
        loss stays on the device and the mean is read once (not a host read per batch)."""
        from autojit.ops.array import add_n

        weighted, count = [], 0
        for xb, yb in batches:
            n = _count(xb)
            weighted.append(step(self._seen(xb), _tensor(yb)) * float(n))
            count += n
        return float(add_n(weighted)) / count if weighted else 0.0

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                **unused: Any) -> np.ndarray:
        """``self(x, training=False)`` batch by batch, as one NumPy array (as Keras).

        Usage: ``probabilities = model.predict(x_test)``
        """
        return predict_in_batches(lambda xb: self(self._seen(xb), training=False), x,
                                  batch_size)


def predict_in_batches(call: Callable, x: Any, batch_size: int | None) -> np.ndarray:
    """``call`` on each batch of ``x`` (arrays or a Dataset), joined as one NumPy array.

    Usage: ``predict_in_batches(model, x_test, 128)``
    """
    parts = [np.asarray(call(xb)) for xb, _ in _batches(x, None, batch_size, False, 0)]
    return np.concatenate(parts) if parts else np.zeros((0,))


def _loss(losses_module: Any, loss: Any) -> tuple[Callable, str]:
    if isinstance(loss, str):
        table = {"sparse_categorical_crossentropy": losses_module.SparseCategoricalCrossentropy,
                 "categorical_crossentropy": losses_module.CategoricalCrossentropy,
                 "binary_crossentropy": losses_module.BinaryCrossentropy,
                 "mse": losses_module.MeanSquaredError,
                 "mean_squared_error": losses_module.MeanSquaredError,
                 "mae": losses_module.MeanAbsoluteError,
                 "mean_absolute_error": losses_module.MeanAbsoluteError,
                 "huber": losses_module.Huber}
        if loss not in table:
            raise InvalidArgumentError(f"compile: unknown loss {loss!r}; expected one of "
                                       f"{sorted(table)}, a Loss object or a function")
        return table[loss](), loss
    if isinstance(loss, losses_module.Loss):
        return loss, getattr(loss, "name", type(loss).__name__)
    if callable(loss):
        from autojit.ops.reduce import reduce_mean

        name = getattr(loss, "__name__", "loss")
        return (lambda y_true, y_pred: reduce_mean(loss(y_true, y_pred))), name
    raise InvalidArgumentError(f"compile: expected loss as a name, a Loss or a function, got "
                               f"{loss!r}")


def _metric(metric: Any, loss_name: str) -> Any:
    from autojit import metrics as metrics_module

    if not isinstance(metric, str):
        if not isinstance(metric, metrics_module.Metric):
            raise InvalidArgumentError(f"compile: expected metrics as names or aj.keras.metrics "
                                       f"objects, got {metric!r}")
        return metric
    if metric in ("accuracy", "acc"):  # Keras picks the accuracy that fits the loss
        kind = {"sparse_categorical_crossentropy": metrics_module.SparseCategoricalAccuracy,
                "categorical_crossentropy": metrics_module.CategoricalAccuracy,
                "binary_crossentropy": metrics_module.BinaryAccuracy}.get(
                    _snake(loss_name), metrics_module.Accuracy)
        return kind(name="accuracy")
    if metric.lower() == "auc":
        return metrics_module.AUC(name="auc")
    table = {"mae": ("mean_absolute_error", "mae"), "mse": ("mean_squared_error", "mse"),
             "mean_absolute_error": ("mean_absolute_error", "mean_absolute_error"),
             "mean_squared_error": ("mean_squared_error", "mean_squared_error")}
    if metric in table:
        from autojit import losses as losses_module

        fn, name = table[metric]
        return metrics_module.MeanMetricWrapper(getattr(losses_module, fn), name=name)
    raise InvalidArgumentError(f"compile: unknown metric {metric!r}; expected 'accuracy', "
                               f"'auc', 'mae', 'mse' or an aj.keras.metrics object")


def _snake(name: str) -> str:
    from autojit.module import camel_to_snake

    return camel_to_snake(name) if name[:1].isupper() else name


def _tensor(value: Any) -> Any:
    from autojit.tensor import Tensor, convert_to_tensor

    return value if isinstance(value, Tensor) else convert_to_tensor(value)


def _pair(data: Any) -> tuple:
    if isinstance(data, (list, tuple)) and len(data) == 2:
        return data[0], data[1]
    if hasattr(data, "batch") or hasattr(data, "__iter__") and not isinstance(data, np.ndarray):
        return data, None
    raise InvalidArgumentError("fit: validation_data must be (x, y) or a Dataset of (x, y)")


def _is_arrays(x: Any) -> bool:
    """True for an array (or tensor), or a list/tuple/dict of them (a model's several inputs),
    False for a Dataset or another iterable of batches."""
    from autojit import nest

    if isinstance(x, (list, tuple, dict)):
        leaves = nest.flatten(x)
        return bool(leaves) and all(_is_arrays(leaf) for leaf in leaves)
    return isinstance(x, np.ndarray) or hasattr(x, "shape")


def _count(x: Any) -> int:
    from autojit import nest

    return int(nest.flatten(x)[0].shape[0])


def _take(x: Any, index: Any) -> Any:
    """The examples ``index`` (a slice or index array) of each array in ``x``."""
    from autojit import nest

    return nest.map_structure(lambda a: np.asarray(a)[index], x)


def _split(x: Any, y: Any, fraction: float) -> tuple:
    if y is None or not _is_arrays(x):
        raise InvalidArgumentError("fit: validation_split needs arrays x and y, not a Dataset")
    n = _count(x)
    cut = slice(0, n - int(round(n * fraction)))
    rest = slice(cut.stop, n)
    return _take(x, cut), _take(y, cut), (_take(x, rest), _take(y, rest))


def _batches(x: Any, y: Any, batch_size: int | None, shuffle: bool, epoch: int):
    """(x, y) batches: slices of arrays (or of each of several; shuffled per epoch), or a
    Dataset's elements."""
    if not _is_arrays(x):
        if y is not None:
            raise InvalidArgumentError("fit: y must be None when x is a Dataset (its elements "
                                       "are the (x, y) batches)")
        for element in x:  # a Dataset (or iterable) of (x, y) batches, or of x alone
            yield element if isinstance(element, (list, tuple)) else (element, None)
        return
    from autojit import nest

    n = _count(x)
    for leaf in nest.flatten(x) + ([] if y is None else nest.flatten(y)):
        if int(leaf.shape[0]) != n:
            raise InvalidArgumentError(f"fit: every input and target must have the same "
                                       f"number of examples, got {n} and {int(leaf.shape[0])}")
    size = 32 if batch_size is None else int(batch_size)
    order = np.arange(n)
    if shuffle:
        from autojit.ops.random import get_seed

        seed = get_seed()
        order = np.random.default_rng(None if seed is None else (seed, epoch)).permutation(n)
    xs = nest.map_structure(np.asarray, x)
    ys = None if y is None else nest.map_structure(np.asarray, y)
    for start in range(0, n, size):
        index = order[start:start + size]
        yield _take(xs, index), None if ys is None else _take(ys, index)


__all__ = ["Callback", "EarlyStopping", "History", "Training"]
