"""Learning-rate schedules (``aj.optimizers.schedules``, as ``keras.optimizers.schedules``):
callables from the step number to a float32 learning rate, written with autojit ops.

Note [Schedules inside a traced step]: an optimizer given a schedule calls it with its
``iterations`` Variable at every ``apply_gradients`` (0 on the first step, as Keras 3).
The schedule's arithmetic becomes graph nodes that read the Variable, so a traced train
step is traced once and replays the right learning rate at every call; no Python number
depends on the step. Branches (warmup, piecewise boundaries) are ``aj.where`` selections,
not Python ``if``, for the same reason.

Usage::

    lr = aj.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    opt = aj.optimizers.SGD(learning_rate=lr)
    float(lr(250))   # 0.1 * 0.5 ** 2.5
"""

from __future__ import annotations

import math
from typing import Any

from autojit import dtypes
from autojit.errors import InvalidArgumentError
from autojit.ops.array import constant
from autojit.ops.math import (cast, cos, floordiv, greater, less, less_equal, minimum,
                              negative, pow, where)
from autojit.tensor import Tensor, convert_to_tensor


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate at ``step`` (float32).

    Usage (subclasses)::

        class Halving(aj.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                return 0.1 * aj.pow(0.5, aj.cast(step, aj.float32))
    """

    def __call__(self, step: Any) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor's arguments, so ``type(s)(**s.get_config())`` rebuilds ``s``.

        Usage: ``cfg = schedule.get_config()``
        """
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        """Rebuild a schedule from ``get_config()``. Usage: ``S.from_config(s.get_config())``"""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self._config.items())
        return f"{type(self).__name__}({args})"


def _step(step: Any, dtype: Any = dtypes.float32) -> Tensor:
    if not isinstance(step, Tensor):
        step = convert_to_tensor(step)
    return cast(step, dtype)


def _floor(x: Tensor) -> Tensor:
    return floordiv(x, 1.0)


def _check_positive(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidArgumentError(f"{owner}: expected {name} > 0, got {value!r}")


def _check_float(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{owner}: expected {name} to be a float, got "
                                   f"{type(value).__name__} {value!r}")


class _RateDecay(LearningRateSchedule):
    """What ``ExponentialDecay`` and ``InverseTimeDecay`` share: their arguments and the
    progress ``step / decay_steps``, floored with ``staircase``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None):
        name = type(self).__name__ if name is None else name
        _check_float(name, "initial_learning_rate", initial_learning_rate)
        _check_positive(name, "decay_steps", decay_steps)
        _check_float(name, "decay_rate", decay_rate)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name
        self._config = {"initial_learning_rate": self.initial_learning_rate,
                        "decay_steps": decay_steps, "decay_rate": self.decay_rate,
                        "staircase": self.staircase, "name": name}

    def _progress(self, step: Any) -> Tensor:
        p = _step(step) / float(self.decay_steps)
        return _floor(p) if self.staircase else p


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with
    ``staircase=True`` the exponent is floored, so the rate drops every ``decay_steps``.

    Usage: ``ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96, staircase=True)``
    """

    def __call__(self, step: Any) -> Tensor:
        p = self._progress(step)
        return pow(constant(self.decay_rate, dtype=dtypes.float32), p) * \
            self.initial_learning_rate


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with
    ``staircase=True`` the quotient ``step / decay_steps`` is floored.

    Usage: ``InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)``
    """

    def __call__(self, step: Any) -> Tensor:
        return self.initial_learning_rate / (self._progress(step) * self.decay_rate + 1.0)


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps``:
    ``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``. With
    ``cycle=True`` the horizon grows to the next multiple of ``decay_steps`` instead.

    Usage: ``PolynomialDecay(0.1, decay_steps=10000, end_learning_rate=0.01, power=0.5)``
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        _check_float(name, "initial_learning_rate", initial_learning_rate)
        _check_positive(name, "decay_steps", decay_steps)
        _check_float(name, "end_learning_rate", end_learning_rate)
        _check_float(name, "power", power)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        self.cycle = bool(cycle)
        self.name = name
        self._config = {"initial_learning_rate": self.initial_learning_rate,
                        "decay_steps": decay_steps,
                        "end_learning_rate": self.end_learning_rate, "power": self.power,
                        "cycle": self.cycle, "name": name}

    def __call__(self, step: Any) -> Tensor:
        step = _step(step)
        horizon = float(self.decay_steps)
        if self.cycle:
            # Keras 3: ceil(step / decay_steps) periods, and one period at step 0
            periods = negative(_floor(negative(step) / horizon))
            horizon = where(less_equal(step, 0.0), 1.0, periods) * horizon
        else:
            step = minimum(step, horizon)
        remaining = 1.0 - step / horizon
        scale = self.initial_learning_rate - self.end_learning_rate
        return pow(remaining, self.power) * scale + self.end_learning_rate


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter), with an optional linear warmup, as Keras 3.

    Usage: ``CosineDecay(0.1, decay_steps=1000, alpha=0.01, warmup_target=0.5,
    warmup_steps=100)``

    Without warmup: ``lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha)`` with ``s = min(step, decay_steps)``. With ``warmup_target``: the rate rises
    linearly from ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``,
    then decays from ``warmup_target`` as above (``s = step - warmup_steps``).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0):
        _check_float(name, "initial_learning_rate", initial_learning_rate)
        _check_positive(name, "decay_steps", decay_steps)
        _check_float(name, "alpha", alpha)
        if warmup_target is not None:
            _check_float(name, "warmup_target", warmup_target)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) \
                or warmup_steps < 0:
            raise InvalidArgumentError(f"{name}: expected warmup_steps to be an int >= 0, "
                                       f"got {warmup_steps!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.alpha = float(alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = warmup_steps
        self._config = {"initial_learning_rate": self.initial_learning_rate,
                        "decay_steps": decay_steps, "alpha": self.alpha, "name": name,
                        "warmup_target": self.warmup_target, "warmup_steps": warmup_steps}

    def _decay(self, step: Tensor, start: float) -> Tensor:
        fraction = step / float(self.decay_steps)
        cosine = (cos(fraction * math.pi) + 1.0) * 0.5
        return (cosine * (1.0 - self.alpha) + self.alpha) * start

    def __call__(self, step: Any) -> Tensor:
        step = _step(step)
        if self.warmup_target is None:
            return self._decay(minimum(step, float(self.decay_steps)),
                               self.initial_learning_rate)
        warmup = float(self.warmup_steps)
        step = minimum(step, float(self.decay_steps) + warmup)
        # max(warmup, 1) keeps the unused warmup branch finite when warmup_steps is 0
        rise = (self.warmup_target - self.initial_learning_rate) / max(warmup, 1.0)
        warming = step * rise + self.initial_learning_rate
        decaying = self._decay(step - warmup, self.warmup_target)
        return where(less(step, warmup), warming, decaying)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Usage: ``PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])``
    """

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise InvalidArgumentError(
                f"{name}: expected one more value than boundaries, got {len(boundaries)} "
                f"boundaries {boundaries} and {len(values)} values {values}")
        for value in boundaries:
            _check_float(name, "each boundary", value)
        for value in values:
            _check_float(name, "each value", value)
        if any(high <= low for low, high in zip(boundaries, boundaries[1:])):
            raise InvalidArgumentError(f"{name}: expected increasing boundaries, got "
                                       f"{boundaries}")
        self.boundaries = boundaries
        self.values = [float(v) for v in values]
        self.name = name
        self._config = {"boundaries": boundaries, "values": self.values, "name": name}

    def __call__(self, step: Any) -> Tensor:
        # Integer boundaries compare with the int64 step exactly; others in float32.
        exact = all(isinstance(b, int) for b in self.boundaries)
        step = _step(step, dtypes.int64 if exact else dtypes.float32)
        result = constant(self.values[-1], dtype=dtypes.float32)
        for boundary, value in reversed(list(zip(self.boundaries, self.values))):
            result = where(greater(step, boundary), result, value)
        return result


__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PolynomialDecay",
           "CosineDecay", "PiecewiseConstantDecay"]
