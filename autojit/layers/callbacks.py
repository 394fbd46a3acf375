"""``fit``'s callbacks (``aj.keras.callbacks``): ``Callback``, the ``History`` ``fit``
returns, and ``EarlyStopping`` (Keras 3's patience count).
"""

from __future__ import annotations

import math
from typing import Any

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
    epochs; ``restore_best_weights`` puts back the weights of the best epoch. As Keras 3:
    with a ``baseline`` the wait only restarts on epochs that also beat it, and epochs before
    ``start_from_epoch`` are not looked at (a warm-up). ``verbose`` is accepted.

    Usage: ``model.fit(x, y, epochs=100, callbacks=[aj.keras.callbacks.EarlyStopping(patience=3)])``
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        if mode not in ("auto", "min", "max"):
            raise InvalidArgumentError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', "
                                       f"got {mode!r}")
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), patience
        maximize = mode == "max" or (mode == "auto" and ("acc" in monitor or "auc" in monitor))
        self.sign = -1.0 if maximize else 1.0
        self.baseline = None if baseline is None else self.sign * float(baseline)
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.stopped_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Reset the best value and the wait. Usage: called by ``fit``"""
        self.best, self.wait, self.best_weights = math.inf, 0, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Compare ``logs[monitor]`` with the best so far; stop after ``patience`` epochs
        without improvement (Keras 3's count: the improving epoch starts it at 0).

        Usage: called by ``fit``
        """
        if self.monitor not in (logs or {}):
            raise InvalidArgumentError(f"EarlyStopping: monitor {self.monitor!r} is not among "
                                       f"the logs {sorted(logs or {})}")
        if epoch < self.start_from_epoch:
            return
        value = self.sign * float(logs[self.monitor])
        self.wait += 1
        if value < self.best - self.min_delta:
            self.best = value
            if self.restore_best_weights:
                self.best_weights = [v.numpy().copy() for v in self.model.variables]
            if self.baseline is None or value < self.baseline - self.min_delta:
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        """Restore the best weights when asked. Usage: called by ``fit``"""
        if self.restore_best_weights and self.best_weights is not None:
            for var, value in zip(self.model.variables, self.best_weights):
                var.assign(value)
