"""Optimizers with per-element step sizes: ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad``,
with the update formulas and defaults of Keras 3, spelled out in each class."""

from __future__ import annotations

from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.ops.math import maximum, pow, sqrt, square
from autojit.optimizers.base import Optimizer, _check_hyper
from autojit.tensor import Tensor
from autojit.variables import Variable


class Adam(Optimizer):
    """Adam (Kingma & Ba), with slots ``"m"`` and ``"v"`` and the bias correction folded into
    the step size, as ``keras.optimizers.Adam``.

    Usage: ``opt = aj.optimizers.Adam(learning_rate=1e-3)``

    At step ``t`` (1 on the first call)::

        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m += (g - m) * (1 - beta_1)
        v += (g*g - v) * (1 - beta_2)
        vhat = max(vhat, v)          # amsgrad=True only (slot "vhat"); then v is vhat below
        w -= alpha * m / (sqrt(v) + epsilon)
    """

    needs_step = True

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "Adam"):
        _check_hyper(name, "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        _check_hyper(name, "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        _check_hyper(name, "epsilon", epsilon, low=0.0)
        super().__init__(learning_rate, name, weight_decay, clipnorm, clipvalue,
                         global_clipnorm)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        self.slot_names = ("m", "v", "vhat") if self.amsgrad else ("m", "v")

    def _update(self, var: Variable, grad: Tensor, slots: dict, lr: Any, step: Any) -> None:
        alpha = lr * sqrt(1.0 - pow(self.beta_2, step)) / (1.0 - pow(self.beta_1, step))
        m, v = slots["m"], slots["v"]
        m.assign_add((grad - m) * (1.0 - self.beta_1))
        v.assign_add((square(grad) - v) * (1.0 - self.beta_2))
        if self.amsgrad:
            vhat = slots["vhat"]
            vhat.assign(maximum(vhat, v))
            v = vhat
        var.assign_sub(m * alpha / (sqrt(v) + self.epsilon))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``keras.optimizers.AdamW``:
    before each Adam step, ``w -= lr * weight_decay * w``.

    Usage: ``opt = aj.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.004)``
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "AdamW"):
        if weight_decay is None:
            raise InvalidArgumentError(f"{name}: expected weight_decay to be a float, got "
                                       "None; use aj.optimizers.Adam for no weight decay")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name)


class RMSprop(Optimizer):
    """RMSprop: scale each step by a running root-mean-square of the gradient, with
    optional momentum and centering, as ``keras.optimizers.RMSprop``.

    Usage: ``opt = aj.optimizers.RMSprop(learning_rate=1e-3)``

    With slot ``"velocity"`` (``"momentum"`` when momentum > 0, ``"average_gradient"`` when
    centered)::

        velocity = rho * velocity + (1 - rho) * g*g
        avg = rho * avg + (1 - rho) * g  # centered=True only; then velocity - avg*avg below
        step = lr * g / sqrt(velocity + epsilon)
        w -= step                    # or: m = momentum * m + step; w -= m
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "RMSprop"):
        _check_hyper(name, "rho", rho, low=0.0, high=1.0)
        _check_hyper(name, "momentum", momentum, low=0.0, high=1.0)
        _check_hyper(name, "epsilon", epsilon, low=0.0)
        super().__init__(learning_rate, name, weight_decay, clipnorm, clipvalue,
                         global_clipnorm)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)
        self.slot_names = (("velocity",) + (("momentum",) if self.momentum > 0.0 else ())
                           + (("average_gradient",) if self.centered else ()))

    def _update(self, var: Variable, grad: Tensor, slots: dict, lr: Any, step: Any) -> None:
        velocity = slots["velocity"]
        velocity.assign(velocity * self.rho + square(grad) * (1.0 - self.rho))
        if self.centered:
            average = slots["average_gradient"]
            average.assign(average * self.rho + grad * (1.0 - self.rho))
            increment = grad * lr / sqrt(velocity - square(average) + self.epsilon)
        else:
            increment = grad * lr / sqrt(velocity + self.epsilon)
        if self.momentum > 0.0:
            m = slots["momentum"]
            m.assign(m * self.momentum + increment)
            var.assign_sub(m)
        else:
            var.assign_sub(increment)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): divide each step by the root of the sum of all squared
    gradients so far, as ``keras.optimizers.Adagrad``.

    Usage: ``opt = aj.optimizers.Adagrad(learning_rate=0.01)``

    With slot ``"accumulator"``, which starts at ``initial_accumulator_value``::

        accumulator += g*g
        w -= lr * g / sqrt(accumulator + epsilon)
    """

    slot_names = ("accumulator",)

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "Adagrad"):
        _check_hyper(name, "initial_accumulator_value", initial_accumulator_value, low=0.0)
        _check_hyper(name, "epsilon", epsilon, low=0.0)
        super().__init__(learning_rate, name, weight_decay, clipnorm, clipvalue,
                         global_clipnorm)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def _slot_initial_value(self, slot: str) -> float:
        return self.initial_accumulator_value

    def _update(self, var: Variable, grad: Tensor, slots: dict, lr: Any, step: Any) -> None:
        accumulator = slots["accumulator"]
        accumulator.assign_add(square(grad))
        var.assign_sub(grad * lr / sqrt(accumulator + self.epsilon))
