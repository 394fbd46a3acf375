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

``Model(inputs, outputs)`` (Keras's functional form) makes a ``Functional`` model instead:
the layers called from ``aj.keras.Input`` to ``outputs``, replayed in order (Note
[Functional models] in layers/functional.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes, initializers, nest
from autojit.errors import InvalidArgumentError
from autojit.layers import functional
from autojit.layers.training import Training
from autojit.module import Module, parameters_of
from autojit.ops import core
from autojit.tensor import Tensor, convert_to_tensor
from autojit.tensor_shape import TensorShape
from autojit.variables import Variable


@functional.accepts_keras_tensors
class Layer(Module):
    """The base of a Keras-style layer: override ``build(input_shape)`` and ``call(inputs)``.

    Usage: ``class Scale(aj.keras.layers.Layer): ...``; ``y = Scale()(x)`` (see the module
    docstring). ``dtype`` is the dtype ``add_weight`` gives by default (float32);
    ``trainable=False`` freezes the layer (``Module.trainable``, Note [Freezing] in module.py).
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
        self.trainable = trainable  # Module.trainable (Note [Freezing] in module.py)
        self.built = False
        self._layer_dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.float32
        self._call_takes_training = "training" in parameters_of(type(self).call)

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
            # The Variable says how it was made; a frozen layer lists it as non-trainable
            # (Note [Freezing] in module.py), so unfreezing makes it trainable again.
            var = Variable(make(shape, dt), trainable=trainable, name=name, dtype=dt)
        self._layer_weights.append(var)
        self._add_regularizer(regularizer, len(self._layer_weights) - 1)
        return var

    def count_params(self) -> int:
        """The number of weights, trainable or not. Usage: ``layer.count_params()``"""
        return functional.count(self.variables)


class Model(Layer, Training):
    """A Keras-style model: a ``Layer`` holding layers, subclassed with ``__init__`` and
    ``call``; ``compile``/``fit``/``evaluate``/``predict`` as Keras (Note [Keras training]).
    Usage: ``class Net(aj.keras.Model): ...`` (see the module docstring), or
    ``aj.keras.Model(inputs, outputs)`` for a ``Functional`` model.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Functional)  # Keras's functional form
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise InvalidArgumentError(
                f"{type(self).__name__}: a subclass of aj.keras.Model takes no inputs/outputs; "
                "define call(), or build a functional model with "
                "aj.keras.Model(inputs, outputs)")
        super().__init__(**kwargs)

    def summary(self, print_fn: Any = None, **unused: Any) -> None:
        """Print each layer with its output shape and number of weights, as Keras's; the
        shapes are traced for the input type the model last saw.
        Usage: ``model.summary()``"""
        outputs = self(functional.summary_inputs(
            self, "call the model (or fit/evaluate/predict) first, or build it from "
                  "aj.keras.Input"))
        layers = [m for m in vars(self).values() if isinstance(m, Module)]
        rows = [(f"{m.name} ({type(m).__name__})", "?", f"{functional.count(m.variables):,}")
                for m in layers]
        rows.append(("(outputs)", functional.shape_text(outputs), ""))
        functional.summary_table(rows, functional.count(self.variables),
                                 functional.count(self.trainable_variables), self.name,
                                 print_fn)


class Functional(Model):
    """The model ``aj.keras.Model(inputs, outputs)`` makes: it replays the layer calls that
    led from ``inputs`` (``aj.keras.Input``s) to ``outputs`` (Note [Functional models]).

    Usage::

        inputs = aj.keras.Input(shape=(784,))
        outputs = aj.keras.layers.Dense(10)(aj.keras.layers.Dense(64, activation="relu")(inputs))
        model = aj.keras.Model(inputs=inputs, outputs=outputs)
        logits = model(x_batch)
    """

    _typed_inputs = True  # save and summary use the Inputs' types

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True, **unused: Any):
        Layer.__init__(self, trainable=trainable, name=name)
        flat_in = functional.symbolic_leaves(inputs, "inputs")
        flat_out = functional.symbolic_leaves(outputs, "outputs")
        if len({id(t) for t in flat_in}) != len(flat_in):
            raise InvalidArgumentError("Model: an Input appears twice in inputs")
        self._graph_inputs = inputs
        self._graph_outputs = outputs
        self._nodes = functional.nodes_between(flat_in, flat_out)
        entry = [functional.InputLayer(t, name=t.name or f"input_{i}")
                 for i, t in enumerate(flat_in)]
        layers: list = []
        for node in self._nodes:
            if isinstance(node.fn, Module) and all(node.fn is not m for m in layers):
                layers.append(node.fn)
        self.layers = entry + layers  # Module discovery finds the weights here, in order
        self.built = True
        object.__setattr__(self, "_input_spec",
                           nest.map_structure(lambda t: t.spec(), inputs))

    @property
    def inputs(self) -> list:
        """The model's Inputs (KerasTensors), flat. Usage: ``model.inputs[0].shape``"""
        return nest.flatten(self._graph_inputs)

    @property
    def outputs(self) -> list:
        """The model's outputs (KerasTensors), flat. Usage: ``model.outputs[0].shape``"""
        return nest.flatten(self._graph_outputs)

    @property
    def input_shape(self) -> Any:
        """The Input's shape (a list of them for several). Usage: ``model.input_shape``"""
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        """The output's shape (a list of them for several). Usage: ``model.output_shape``"""
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """The layer called ``name`` (or at ``index`` of ``layers``).
        Usage: ``model.get_layer("dense_1")``"""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InvalidArgumentError(f"Model {self.name!r}: no layer named {name!r}; its layers "
                                   f"are {[layer.name for layer in self.layers]}")

    def call(self, inputs: Any, training: Any = None) -> Any:
        """Replay the recorded layer calls on ``inputs`` (structured as the model's inputs).
        Usage: ``y = model(x)``, ``y = model([a, b], training=True)``"""
        flat_in = self.inputs
        given = nest.flatten(inputs) if isinstance(self._graph_inputs, (list, tuple, dict)) \
            else [inputs]
        if isinstance(self._graph_inputs, dict) and not isinstance(inputs, dict):
            raise InvalidArgumentError(f"Model {self.name!r}: expected a dict of inputs with "
                                       f"keys {sorted(self._graph_inputs)}, got "
                                       f"{type(inputs).__name__}")
        if len(given) != len(flat_in):
            raise InvalidArgumentError(f"Model {self.name!r}: expected {len(flat_in)} inputs, "
                                       f"got {len(given)}")
        values: dict = {}
        for tensor, spec in zip(given, flat_in):
            tensor = _as_tensor(tensor, spec.dtype)
            functional.check_input(tensor, spec, self.name)
            values[id(spec)] = tensor

        def value(leaf: Any) -> Any:
            return values[id(leaf)] if isinstance(leaf, functional.KerasTensor) else leaf

        for node in self._nodes:
            args, kwargs = nest.map_structure(value, (node.args, node.kwargs))
            if (training is not None and "training" not in kwargs
                    and functional.takes_training(node.fn)):
                kwargs["training"] = training
            result = core.user_function(node.fn)(*args, **kwargs)
            for keras, real in zip(nest.flatten(node.outputs), nest.flatten(result)):
                if isinstance(keras, functional.KerasTensor):
                    values[id(keras)] = real
        return nest.map_structure(value, self._graph_outputs)

    def summary(self, print_fn: Any = None, **unused: Any) -> None:
        """Print each layer call with its output shape and number of weights, as Keras's.
        Usage: ``model.summary()``"""
        rows = [(f"{layer.name} (InputLayer)", functional.shape_text(layer.output), "0")
                for layer in self.layers if isinstance(layer, functional.InputLayer)]
        for node in self._nodes:
            fn = node.fn
            if isinstance(fn, Module):
                label = f"{fn.name} ({type(fn).__name__})"
                params = f"{functional.count(fn.variables):,}"
            else:
                label, params = f"{getattr(fn, '__name__', 'op')} (operator)", "0"
            rows.append((label, functional.shape_text(node.outputs), params))
        functional.summary_table(rows, functional.count(self.variables),
                                 functional.count(self.trainable_variables), self.name,
                                 print_fn)

    def __repr__(self) -> str:
        return f"<aj.keras.Model (functional) {self.name!r} layers={len(self.layers)}>"


def _as_tensor(value: Any, dtype: Any = None) -> Any:
    """NumPy arrays and Python numbers as tensors (as Keras converts a layer's inputs), of
    ``dtype`` when given (a functional model's Input dtype)."""
    if isinstance(value, Tensor) or not isinstance(value, (np.ndarray, np.generic, int, float)):
        return value
    return convert_to_tensor(value, dtype=dtype) if dtype is not None \
        else convert_to_tensor(value)


__all__ = ["Functional", "Layer", "Model"]
