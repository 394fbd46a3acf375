"""``Sequential``: a stack of layers called one after the other (Keras's model).

Usage::

    model = aj.layers.Sequential([aj.layers.Dense(64, activation="relu"),
                                  aj.layers.Dropout(0.2), aj.layers.Dense(10)])
    logits = model(x, training=True)

The layers build lazily on the first call (inside ``@aj.function``: the first trace), or at
once when the first element is an ``aj.keras.Input`` (then ``summary()`` works before
any data, as in Keras). ``training`` is passed on to the layers whose ``__call__`` takes it
(``Dropout``, ``BatchNormalization``, nested ``Sequential``), as Keras does. Masks travel
as Keras's (Note [Masks] in layers/masking.py): a layer's ``compute_mask`` makes one (e.g.
``Embedding(mask_zero=True)``), the layers whose ``__call__`` takes ``mask`` receive it,
``supports_masking`` ones pass it on, and any other layer ends it.
"""

from __future__ import annotations

from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.layers import functional
from autojit.layers.functional import accepts_keras_tensors
from autojit.layers.masking import output_mask, takes_mask
from autojit.layers.training import Training
from autojit.module import Module
from autojit.ops import core


@accepts_keras_tensors
class Sequential(Module, Training):
    """Calls its layers in order; ``add`` appends one; ``compile``/``fit``/``evaluate``/
    ``predict`` as Keras (Note [Keras training]). Usage: ``model = Sequential([...])``"""

    def __init__(self, layers: list | None = None, name: str | None = None):
        super().__init__(name=name)
        self.layers: list = []
        self._output: Any = None  # the last layer's KerasTensor, when built from an Input
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Any) -> None:
        """Append ``layer`` (a Module or any callable), or start from an ``aj.keras.Input``.
        Usage: ``model.add(aj.layers.Dense(10))``"""
        if isinstance(layer, functional.KerasTensor):
            if self.layers or self._output is not None:
                raise InvalidArgumentError(f"Sequential {self.name!r}: an aj.keras.Input may "
                                           "only come first")
            object.__setattr__(self, "_input_spec", layer.spec())
            self._output = layer
            return
        if not callable(layer):
            raise InvalidArgumentError(f"Sequential {self.name!r}: expected a layer (a callable "
                                       f"such as aj.layers.Dense(10)), got {layer!r}")
        if self._output is not None:  # builds the layer now (Note [Functional models])
            self._output = self._call_one(layer, self._output, None)
        self.layers.append(layer)

    @staticmethod
    def _call_one(layer: Any, x: Any, training: bool | None, mask: Any = None) -> Any:
        call = core.user_function(layer)  # user layers converted (Note [Library code ...])
        kwargs = {"training": training} if functional.takes_training(layer) else {}
        if mask is not None and takes_mask(layer):
            kwargs["mask"] = mask
        return call(x, **kwargs)

    def __call__(self, x: Any, training: bool | None = None, mask: Any = None) -> Any:
        """Apply every layer in order, passing masks on as Keras (Note [Masks]); ``mask``
        [batch, time] is the input's. Usage: ``y = model(x, training=True)``"""
        if not self.layers:
            raise InvalidArgumentError(f"Sequential {self.name!r}: has no layers; add some "
                                       "with model.add(layer)")
        for layer in self.layers:
            inputs = x
            x = self._call_one(layer, x, training, mask)
            mask = output_mask(layer, inputs, mask)
        return x

    def count_params(self) -> int:
        """Number of weights, trainable or not. Usage: ``model.count_params()``"""
        return functional.count(self.variables)

    def summary(self, print_fn: Any = None, **unused: Any) -> None:
        """Print each layer with its output shape and number of weights, as Keras's (for the
        Input it started from, or the input type it last saw).
        Usage: ``model.summary()``"""
        x = functional.summary_inputs(
            self, "start the layers with aj.keras.Input(shape), or call the model (or "
                  "fit/predict) first")
        rows = []
        for layer in self.layers:
            x = self._call_one(layer, x, None)
            params = functional.count(layer.variables) if isinstance(layer, Module) else 0
            name = getattr(layer, "name", getattr(layer, "__name__", "layer"))
            rows.append((f"{name} ({type(layer).__name__})", functional.shape_text(x),
                         f"{params:,}"))
        functional.summary_table(rows, functional.count(self.variables),
                                 functional.count(self.trainable_variables), self.name,
                                 print_fn)

    def __repr__(self) -> str:
        return f"<aj.layers.Sequential {self.name!r} layers={len(self.layers)}>"


__all__ = ["Sequential"]
