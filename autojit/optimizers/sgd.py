"""``SGD``: stochastic gradient descent with optional (Nesterov) momentum and weight decay."""

from __future__ import annotations

from typing import Any

from autojit.optimizers.base import Optimizer, _check_hyper
from autojit.tensor import Tensor
from autojit.variables import Variable


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as Keras 3.

    Usage: ``opt = aj.optimizers.SGD(learning_rate=0.1, momentum=0.9, weight_decay=1e-4)``

    Without momentum: ``w -= lr * g``. With momentum (slot ``"momentum"``, starts at 0)::

        m = momentum * m - lr * g
        w += m                       # or, with nesterov=True: w += momentum * m - lr * g

    ``weight_decay`` first shrinks ``w -= lr * weight_decay * w`` (decoupled, not added to
    the gradient); clipping options are those of ``Optimizer``.
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "SGD"):
        _check_hyper(name, "momentum", momentum, low=0.0, high=1.0)
        super().__init__(learning_rate, name, weight_decay, clipnorm, clipvalue,
                         global_clipnorm)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.slot_names = ("momentum",) if self.momentum > 0.0 else ()

    def _update(self, var: Variable, grad: Tensor, slots: dict, lr: Any, step: Any) -> None:
        if not self.slot_names:
            var.assign_sub(grad * lr)
            return
        m = slots["momentum"]
        m.assign(m * self.momentum - grad * lr)
        if self.nesterov:
            var.assign_add(m * self.momentum - grad * lr)
        else:
            var.assign_add(m)
