"""Keras's subclassing API: ``Layer`` (``build``/``call``/``add_weight``) and ``Model``.

Usage::

    class Scale(aj.keras.layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight("kernel", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.kernel

    class Net(aj.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = aj.keras.layers.Dense(10)
            self.scale = Scale()

        def call(self, x, training=False):
            return self.scale(self.dense(x))

Both are ``Module``s (checkpoints, ``@aj.function``, tapes treat them as any module). As in
Keras, and unlike ``tf.Module``, their ``weights``/``trainable_variables`` are in the order the
layer made them and assigned its sub-layers (Note [Module discovery] in module.py), so
``kernel, bias = layer.trainable_weights`` reads as in Keras code.

Note [Keras build]: ``__call__`` builds the layer on its first call (``build(input_shape)``
with the inputs' ``TensorShape``, a list of them for a list of inputs), then runs ``call`` in
the layer's name scope, passing ``training`` only when ``call`` takes it. Inside
``@aj.function`` the first call happens while tracing; the weights ``add_weight`` makes
there are lifted out of the graph as any Variable created while tracing (their initial
values are computed eagerly), so later traces and replays reuse them.

``Model`` adds no ``compile``/``fit``/``evaluate``/``predict`` (autojit's training loop is a
``GradientTape`` step under ``@aj.function``); calling them is an error saying so, as is the
functional ``Model(inputs, outputs)`` form.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from autojit import dtypes, initializers, nest
from autojit.errors import InvalidArgumentError
from autojit.layers.training import Training
from autojit.module import Module
from autojit.ops import core
from autojit.tensor import Tensor, convert_to_tensor
from autojit.tensor_shape import TensorShape
from autojit.variables import Variable


class Layer(Module):
    """The base of a Keras-style layer: override ``build(input_shape)`` and ``call(inputs)``.

    Usage: ``class Scale(aj.keras.layers.Layer): ...``; ``y = Scale()(x)`` (see the module
    docstring). ``dtype`` is the dtype ``add_weight`` gives by default (float32).
    """

    _walk_sorted = False  # weights in creation order, as Keras (Note [Module discovery])

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 **kwargs: Any):
        if kwargs:  # input_shape, dynamic, ...: Keras arguments autojit does not use
            unknown = sorted(k for k in kwargs if k not in ("input_shape", "input_dim"))
            if unknown:
                raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                                f"{', '.join(unknown)}")
        super().__init__(name=name)
        self._layer_weights: list = []  # first attribute: add_weight's Variables lead
        self.trainable = bool(trainable)
        self.built = False
        self._layer_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.float32
        self._call_takes_training = "training" in _parameters(type(self).call)

    @property
    def dtype(self) -> Any:
        """The dtype of the weights ``add_weight`` makes by default. Usage: ``layer.dtype``"""
        return self._layer_dtype

    def build(self, input_shape: Any) -> None:
        """Make the layer's weights for inputs of ``input_shape`` (a ``TensorShape``, or a list
        of them); called once, by the first ``__call__``. Usage: override it."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation. Usage: override it: ``def call(self, inputs): ...``"""
        raise NotImplementedError(
            f"{type(self).__name__}: a Layer subclass must define call(self, inputs)")

    def __call__(self, inputs: Any, *args: Any, training: Any = None, **kwargs: Any) -> Any:
        """Build on the first call (Note [Keras build]), then ``call``.
        Usage: ``y = layer(x)``, ``y = model(x, training=True)``"""
        inputs = nest.map_structure(_as_tensor, inputs)
        with self.name_scope:
            if not self.built:
                self.build(nest.map_structure(lambda t: TensorShape(t.shape), inputs))
                self.built = True
            if self._call_takes_training:
                kwargs["training"] = training
            return core.user_function(self.call)(inputs, *args, **kwargs)

    def add_weight(self, name: str | None = None, shape: Any = (), dtype: Any = None,
                   initializer: Any = None, trainable: bool = True, regularizer: Any = None,
                   **kwargs: Any) -> Variable:
        """A new Variable of this layer, listed in ``weights`` in the order made.

        Usage: ``self.kernel = self.add_weight("kernel", shape=(n, units))``

        ``initializer`` is a Keras name or an initializer; by default ``"glorot_uniform"``
        for a float dtype and ``"zeros"`` for others, as Keras. ``regularizer`` adds the
        weight's penalty to ``layer.losses``.
        """
        dt = dtypes.as_dtype(dtype) if dtype is not None else self._layer_dtype
        if initializer is None:
            initializer = "glorot_uniform" if dtypes.is_floating(dt) else "zeros"
        make = initializers.get(initializer)
        if not callable(make):
            raise InvalidArgumentError(f"{type(self).__name__}.add_weight: expected an "
                                       f"initializer, got {initializer!r}")
        shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list, TensorShape))
                                       else (shape,)))
        with self.name_scope:  # "<layer>/<name>:0", in __init__ too
            var = Variable(make(shape, dt), trainable=trainable and self.trainable, name=name,
                           dtype=dt)
        self._layer_weights.append(var)
        self._add_regularizer(regularizer, len(self._layer_weights) - 1)
        return var

    @property
    def weights(self) -> list:
        """Trainable then non-trainable weights, each in the order made (Keras's ``weights``).
        Usage: ``[w.shape for w in layer.weights]``"""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self) -> list:
        """The trainable Variables (``trainable_variables``). Usage: ``layer.trainable_weights``
        """
        return list(self.trainable_variables)

    @property
    def non_trainable_weights(self) -> list:
        """The Variables made with ``trainable=False``. Usage: ``layer.non_trainable_weights``
        """
        return list(self.non_trainable_variables)

    def count_params(self) -> int:
        """The number of weights, trainable or not. Usage: ``layer.count_params()``"""
        total = 0
        for v in self.variables:
            size = 1
            for d in v.shape:
                size *= d
            total += size
        return total


class Model(Layer, Training):
    """A Keras-style model: a ``Layer`` holding layers, subclassed with ``__init__`` and
    ``call``; ``compile``/``fit``/``evaluate``/``predict`` as Keras (Note [Keras training]).
    Usage: ``class Net(aj.keras.Model): ...`` (see the module docstring).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise InvalidArgumentError(
                "aj.keras.Model: the functional form Model(inputs, outputs) is not supported; "
                "subclass aj.keras.Model (define __init__ and call) or use aj.keras.Sequential")
        super().__init__(**kwargs)


def _as_tensor(value: Any) -> Any:
    """NumPy arrays and Python numbers as tensors (as Keras converts a layer's inputs)."""
    if isinstance(value, Tensor) or not isinstance(value, (np.ndarray, np.generic, int, float)):
        return value
    return convert_to_tensor(value)


def _parameters(fn: Any) -> Any:
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


__all__ = ["Layer", "Model"]
