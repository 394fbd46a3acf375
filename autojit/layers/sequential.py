"""``Sequential``: a stack of layers called one after the other (Keras's model).

Usage::

    model = aj.layers.Sequential([aj.layers.Dense(64, activation="relu"),
                                  aj.layers.Dropout(0.2), aj.layers.Dense(10)])
    logits = model(x, training=True)

The layers build lazily on the first call (inside ``@aj.function``: the first trace).
``training`` is passed on to the layers whose ``__call__`` takes it (``Dropout``,
``BatchNormalization``, nested ``Sequential``), as Keras does.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.layers.training import Training
from autojit.module import Module
from autojit.ops import core


def _takes_training(layer: Any) -> bool:
    try:
        return "training" in inspect.signature(layer.__call__).parameters
    except (TypeError, ValueError):
        return False


class Sequential(Module, Training):
    """Calls its layers in order; ``add`` appends one; ``compile``/``fit``/``evaluate``/
    ``predict`` as Keras (Note [Keras training]). Usage: ``model = Sequential([...])``"""

    def __init__(self, layers: list | None = None, name: str | None = None):
        super().__init__(name=name)
        self.layers: list = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Any) -> None:
        """Append ``layer`` (a Module or any callable). Usage: ``model.add(aj.layers.Dense(10))``
        """
        if not callable(layer):
            raise InvalidArgumentError(f"Sequential {self.name!r}: expected a layer (a callable "
                                       f"such as aj.layers.Dense(10)), got {layer!r}")
        self.layers.append(layer)

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """Apply every layer in order. Usage: ``y = model(x, training=True)``"""
        if not self.layers:
            raise InvalidArgumentError(f"Sequential {self.name!r}: has no layers; add some "
                                       "with model.add(layer)")
        for layer in self.layers:  # user layers converted (Note [Library code calling ...])
            call = core.user_function(layer)
            x = call(x, training=training) if _takes_training(layer) else call(x)
        return x

    def count_params(self) -> int:
        """Number of weights, trainable or not. Usage: ``model.count_params()``"""
        return sum(math.prod(v.shape) for v in self.variables)

    def __repr__(self) -> str:
        return f"<aj.layers.Sequential {self.name!r} layers={len(self.layers)}>"


__all__ = ["Sequential"]
