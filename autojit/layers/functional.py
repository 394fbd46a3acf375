"""Keras's functional API: ``Input``, the ``KerasTensor`` values layers return when called on
one, ``Lambda``, and the ``Functional`` model ``aj.keras.Model(inputs, outputs)`` builds.

Usage::

    inputs = aj.keras.Input(shape=(784,))
    x = aj.keras.layers.Dense(256, activation="relu")(inputs)
    outputs = aj.keras.layers.Dense(10)(x) + 0.0          # operators record too
    model = aj.keras.Model(inputs, outputs)
    model.summary(); model.compile("adam", "mse"); model.fit(x_train, y_train)

Note [Functional models]: a ``KerasTensor`` is a type (shape with ``None`` for the batch dim,
dtype) and the ``_Node`` that made it: a layer, or an operator, and the arguments it was
called with, KerasTensors among them. Every layer class accepts KerasTensors through
``accepts_keras_tensors`` (a test checks each exported layer). The output types come from
tracing the call once for the input types (``get_concrete_function`` with ``TensorSpec``s,
so unknown dims stay unknown and no example data is run); that first trace also builds the
layer, so a functional model's weights exist as soon as it is made, as in Keras. The model
keeps its nodes in the order they were recorded (a topological order) and its ``call``
replays them on real tensors, passing ``training`` on to each layer whose call takes it.
A layer called twice is one layer (shared weights).
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any, Callable

import numpy as np

from autojit import dtypes, nest
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.module import Module, parameters_of
from autojit.ops import core
from autojit.tensor import Tensor


class _Node:
    """One recorded call: ``fn(*args, **kwargs)``; ``outputs`` is its result's structure with
    KerasTensors for the tensors."""

    __slots__ = ("fn", "args", "kwargs", "outputs")

    def __init__(self, fn: Callable, args: tuple, kwargs: dict):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.outputs: Any = None

    def inputs(self) -> list:
        return [leaf for leaf in nest.flatten((self.args, self.kwargs))
                if isinstance(leaf, KerasTensor)]


class KerasTensor:
    """A symbolic tensor of a functional model: the output of ``aj.keras.Input`` or of a layer
    called on one. It has a ``shape`` (``None`` for unknown dims) and a ``dtype``, no value.

    Usage: ``x = aj.keras.layers.Dense(64)(aj.keras.Input((784,))); x.shape  # (None, 64)``
    """

    __slots__ = ("shape", "dtype", "name", "_node")

    def __init__(self, shape: Any, dtype: Any, node: _Node | None = None,
                 name: str | None = None):
        from autojit.tensor_shape import TensorShape

        self.shape = TensorShape(shape)
        self.dtype = dtypes.as_dtype(dtype)
        self.name = name
        self._node = node  # None for an Input

    @property
    def ndim(self) -> int:
        """The rank. Usage: ``x.ndim``"""
        return len(self.shape)

    def spec(self) -> Any:
        """This tensor's ``TensorSpec``. Usage: ``aj.function(f, input_signature=[x.spec()])``"""
        return core.TensorSpec(tuple(self.shape), self.dtype, name=self.name)

    def __repr__(self) -> str:
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        named = f", name={self.name!r}" if self.name else ""
        return f"<KerasTensor shape=({dims}) dtype={self.dtype.name}{named}>"

    def __bool__(self) -> bool:
        raise TypeError("a KerasTensor has no value: it stands for the inputs a functional "
                        "model will be called with; use aj.keras.layers.Lambda for "
                        "Python logic on it")

    def __iter__(self):  # without it, Python would iterate through __getitem__ forever
        raise TypeError(f"{self!r} cannot be iterated: it has no value; slice it (x[:, 0]) "
                        "or use aj.keras.layers.Lambda")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"{self!r} has no value, so aj and NumPy functions cannot take it: "
                        "call layers on it, use operators (x + y, x[:, 0]), or wrap the "
                        "function in aj.keras.layers.Lambda(fn)")

    # Operators record a node, as Keras's KerasTensor operators do.
    def __getitem__(self, key): return record(operator.getitem, (self, key), {})
    def __neg__(self): return record(operator.neg, (self,), {})
    def __abs__(self): return record(operator.abs, (self,), {})


def _binary(op: Callable, reflected: bool = False) -> Callable:
    if reflected:
        return lambda self, other: record(op, (other, self), {})
    return lambda self, other: record(op, (self, other), {})


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("matmul", operator.matmul)]:
    setattr(KerasTensor, f"__{_name}__", _binary(_op))
    setattr(KerasTensor, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge)]:
    setattr(KerasTensor, f"__{_name}__", _binary(_op))


def Input(shape: Any = None, batch_size: int | None = None, name: str | None = None,
          dtype: Any = None, **unused: Any) -> KerasTensor:
    """The input of a functional model: a ``KerasTensor`` of shape ``(batch_size, *shape)``
    (batch dim unknown by default) and ``dtype`` (float32 by default).

    Usage: ``inputs = aj.keras.Input(shape=(28, 28, 1), name="image")``
    """
    if shape is None:
        raise InvalidArgumentError("Input: expected shape=, the shape of one example without "
                                   "the batch dim, e.g. aj.keras.Input(shape=(784,))")
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"Input: expected shape as a tuple of ints (None for an "
                                   f"unknown dim), got {shape!r}") from None
    if any(d is not None and d < 0 for d in dims):
        raise InvalidArgumentError(f"Input: dims must be non-negative, got shape {shape!r}")
    return KerasTensor((batch_size, *dims), dtype or dtypes.float32, name=name)


# --- recording layer calls ----------------------------------------------------------------
def has_keras_tensors(args: tuple, kwargs: dict) -> bool:
    """True when a call's arguments hold a KerasTensor (checked on every eager layer call, so
    top-level arguments and flat lists only; deeper ones are found by the trace)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, KerasTensor):
            return True
        if isinstance(value, (list, tuple)) and any(isinstance(v, KerasTensor) for v in value):
            return True
        if isinstance(value, dict) and any(isinstance(v, KerasTensor)
                                           for v in value.values()):
            return True
    return False


def record(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """Record ``fn(*args, **kwargs)`` on KerasTensors: its outputs' types come from one trace
    of the call (Note [Functional models]). Usage: ``y = record(layer, (x,), {})``"""
    from autojit.function import function

    node = _Node(fn, args, kwargs)
    symbolic = node.inputs()

    def call(*tensors: Any) -> Any:
        it = iter(tensors)
        a, k = nest.map_structure(lambda leaf: next(it) if isinstance(leaf, KerasTensor)
                                  else leaf, (args, kwargs))
        return fn(*a, **k)

    name = getattr(fn, "name", None) or getattr(fn, "__name__", "op")
    traced = function(call, name=f"{name}_output_types")
    try:
        concrete = traced.get_concrete_function(*[t.spec() for t in symbolic])
    except (InvalidArgumentError, ShapeError, TypeError, ValueError) as exc:
        kinds = ", ".join(repr(t) for t in symbolic)
        raise type(exc)(f"{exc}\n  (while calling {_describe(fn)} on {kinds})") from None

    def to_keras(leaf: Any) -> Any:
        return KerasTensor(tuple(leaf.shape), leaf.dtype, node) if isinstance(leaf, Tensor) \
            else leaf

    node.outputs = nest.map_structure(to_keras, concrete.structured_outputs)
    return node.outputs


def accepts_keras_tensors(cls: type) -> type:
    """Class decorator: ``cls.__call__`` on KerasTensors records a node of a functional model
    instead of computing (Note [Functional models]). Usage: ``@accepts_keras_tensors``"""
    plain = cls.__dict__["__call__"]

    @functools.wraps(plain)
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if has_keras_tensors(args, kwargs):
            return record(self, args, kwargs)
        return plain(self, *args, **kwargs)

    cls.__call__ = __call__
    return cls


def takes_training(layer: Any) -> bool:
    """True when ``layer(x, training=...)`` is accepted. Usage: ``takes_training(dropout)``"""
    # the signature of the layer's own __call__ (functools.wraps sets __wrapped__)
    if "training" in parameters_of(type(layer).__call__):
        return True
    return getattr(layer, "_call_takes_training", False)  # a Layer's call(inputs, training)


def _describe(fn: Callable) -> str:
    if isinstance(fn, Module):
        return f"{type(fn).__name__} {fn.name!r}"
    return getattr(fn, "__name__", repr(fn))


@accepts_keras_tensors
class Lambda(Module):
    """A layer that calls ``function(inputs, **arguments)``: any aj code inside a model.

    Usage: ``y = aj.keras.layers.Lambda(lambda t: aj.nn.relu(t) * 2.0)(x)``
    """

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, name: str | None = None, **unused: Any):
        if not callable(function):
            raise InvalidArgumentError(f"Lambda: expected a function, got {function!r}")
        super().__init__(name=name)
        self.function = function
        self.arguments = dict(arguments or {})

    def __call__(self, inputs: Any, training: Any = None) -> Any:
        """``function(inputs, **arguments)`` (``training`` too, if it takes it).
        Usage: ``y = layer(x)``"""
        kwargs = dict(self.arguments)
        if "training" in parameters_of(self.function):
            kwargs["training"] = training
        with self.name_scope:
            return core.user_function(self.function)(inputs, **kwargs)


class InputLayer(Module):
    """The layer a functional model lists for each of its inputs (no weights, as Keras).
    Usage: ``model.layers[0].output  # the Input's KerasTensor``"""

    def __init__(self, tensor: KerasTensor, name: str | None = None):
        super().__init__(name=name or tensor.name)
        self.output = tensor

    def __call__(self, x: Any) -> Any:
        """Returns ``x``. Usage: ``layer(x)``"""
        return x


# --- the model ------------------------------------------------------------------------------
def nodes_between(inputs: list, outputs: list) -> list:
    """The nodes that compute ``outputs`` from ``inputs``, each after the nodes it reads;
    an error names an Input the outputs need that ``inputs`` lacks."""
    given = {id(t) for t in inputs}
    order: list = []
    seen: set = set()

    def visit(tensor: KerasTensor) -> None:  # iterative would be longer; models are shallow
        if id(tensor) in given:
            return
        node = tensor._node
        if node is None:
            raise InvalidArgumentError(
                f"Model: the outputs depend on {tensor!r}, an Input that is not in the "
                f"model's inputs; pass it in inputs=[...]")
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.inputs():
            visit(parent)
        order.append(node)

    for t in outputs:
        visit(t)
    return order


def symbolic_leaves(structure: Any, what: str) -> list:
    leaves = nest.flatten(structure)
    for leaf in leaves:
        if not isinstance(leaf, KerasTensor):
            raise InvalidArgumentError(
                f"Model: {what} must be KerasTensors (from aj.keras.Input and layers called "
                f"on it), got {type(leaf).__name__} {leaf!r}")
    return leaves


def check_input(tensor: Any, expected: KerasTensor, model: str) -> None:
    """A clear error when ``tensor`` does not fit the Input ``expected``."""
    shape = tuple(tensor.shape)
    want = tuple(expected.shape)
    if len(shape) != len(want) or any(w is not None and w != d for w, d in zip(want, shape)):
        label = f"input {expected.name!r}" if expected.name else "its input"
        raise ShapeError(f"Model {model!r}: {label} has shape "
                         f"({', '.join('None' if d is None else str(d) for d in want)}), got "
                         f"a tensor of shape {shape}")


def output_names(outputs: Any) -> list:
    """Keras's names for a functional model's outputs, in ``nest.flatten`` order: a dict's
    keys, else the name of the layer (or operator) that made each output, made unique as
    tf.keras's ``_set_output_names`` does (``dense``, then ``dense_1``).

    Usage: ``output_names(model._graph_outputs)  # ['a', 'b']``"""
    if isinstance(outputs, dict):  # values in flatten's (sorted-key) order are the keys
        return [str(key) for key in nest.flatten({key: key for key in outputs})]
    names: list = []
    for tensor in nest.flatten(outputs):
        node = tensor._node
        if node is None:  # an Input given as an output
            base = tensor.name or "input"
        elif isinstance(node.fn, Module):
            base = node.fn.name
        else:
            base = getattr(node.fn, "__name__", "op")
        name, count = base, 1
        while name in names:
            name, count = f"{base}_{count}", count + 1
        names.append(name)
    return names


def summary_table(rows: list, total: int, trainable: int, title: str,
                  print_fn: Callable | None) -> None:
    """Print Keras's summary: one row (name and type, output shape, parameters) per layer."""
    head = ("Layer (type)", "Output Shape", "Param #")
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) + 2 for i in range(3)]
    line = "=" * sum(widths)
    out = print_fn or print
    out(f'Model: "{title}"')
    out(line)
    out("".join(h.ljust(w) for h, w in zip(head, widths)))
    out(line)
    for row in rows:
        out("".join(c.ljust(w) for c, w in zip(row, widths)))
    out(line)
    out(f"Total params: {total:,}")
    out(f"Trainable params: {trainable:,}")
    out(f"Non-trainable params: {total - trainable:,}")


def count(variables: list) -> int:
    """The number of numbers in ``variables``."""
    return sum(math.prod(v.shape) for v in variables)


def summary_inputs(model: Any, hint: str) -> Any:
    """KerasTensors of the input type ``model`` last saw (or was built from), for a summary;
    without one, the error saying so, ending with ``hint`` (what the user can do).

    Usage: ``outputs = model(summary_inputs(model, "call the model first"))``"""
    spec = vars(model).get("_input_spec")
    if spec is None:
        raise InvalidArgumentError(f"{type(model).__name__} {model.name!r}: summary needs the "
                                   f"input shape: {hint}")
    return nest.map_structure(lambda s: KerasTensor(s.shape, s.dtype, name=s.name), spec)


def shape_text(structure: Any) -> str:
    leaves = [leaf for leaf in nest.flatten(structure) if isinstance(leaf, KerasTensor)]
    texts = ["(" + ", ".join("None" if d is None else str(d) for d in t.shape) + ")"
             for t in leaves]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


__all__ = ["Input", "InputLayer", "KerasTensor", "Lambda", "accepts_keras_tensors"]
