"""``Variable``: a mutable tensor whose buffer is updated in place, and the name scopes
that prefix variable names.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from autojit import dtypes
from autojit.errors import DTypeError, ShapeError
from autojit.ops import core
from autojit.ops import shapes
from autojit.ops.array import constant
from autojit.tensor import Tensor

# ----------------------------------------------------------------------------- state ops


def _assign_rule(name, value, *, var):
    if value.dtype != var.dtype:
        raise DTypeError(f"{name}: variable {var.name!r} is {var.dtype.name}, got a "
                         f"{value.dtype.name} value; use aj.cast")
    try:
        shapes.broadcast(name, var.shape, value.shape)
        ok = shapes.broadcast(name, var.shape, value.shape) == var.shape
    except ShapeError:
        ok = False
    if not ok:
        raise ShapeError(f"{name}: variable {var.name!r} has shape {shapes.fmt(var.shape)}, "
                         f"got a value of shape {shapes.fmt(value.shape)}")
    return []


ASSIGN = core.defop("assign", ["value"], "xp.copyto(var._array, value)", _assign_rule,
                    attrs=("var",), effect=True, no_outputs=True)
ASSIGN_ADD = core.defop("assign_add", ["value"], "xp.add(var._array, value, out=var._array)",
                        _assign_rule, attrs=("var",), effect=True, no_outputs=True)
ASSIGN_SUB = core.defop("assign_sub", ["value"],
                        "xp.subtract(var._array, value, out=var._array)", _assign_rule,
                        attrs=("var",), effect=True, no_outputs=True)
READ = core.defop("read_value", ["x"], "x.copy()", lambda name, x: (x.shape, x.dtype),
                  lambda g, out, x: (g,))


# ----------------------------------------------------------------------------- name scopes


class _Names(threading.local):
    def __init__(self):
        self.scopes: list[str] = []


_names = _Names()


class name_scope:  # noqa: N801  (as tf.name_scope)
    """Prefix the names of Variables created inside with ``name/``.

    Usage: ``with aj.name_scope("encoder"): w = aj.Variable(0.0, name="w")`` (``encoder/w:0``)
    """

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> str:
        _names.scopes.append(self.name)
        return "/".join(_names.scopes) + "/"

    def __exit__(self, *exc) -> None:
        _names.scopes.pop()


def _scoped(name: str) -> str:
    return "/".join([*_names.scopes, name])


# ----------------------------------------------------------------------------- Variable

_creation_hooks: list[Callable[["Variable"], None]] = []


class Variable(Tensor):
    """A tensor you can update in place: model weights, optimizer slots, counters.

    Usage::

        w = aj.Variable(aj.random.normal((3, 4)), name="w")
        w.assign_sub(0.1 * grad)

    Trainable variables are watched by ``GradientTape`` automatically. Inside
    ``@aj.function``, variables are captured by reference: each call reads their current
    value and assignments happen in place, in program order.
    """

    __slots__ = ("_trainable", "_name", "_initial_shape")
    _is_variable = True

    def __init__(self, initial_value: Any = None, trainable: bool = True,
                 name: str | None = None, dtype: Any = None):
        if initial_value is None:
            raise ValueError("Variable: an initial_value is required, e.g. aj.Variable(0.0)")
        with core.eager_scope():
            if callable(initial_value):
                initial_value = initial_value()
            value = core.lift_value(initial_value)
            if isinstance(value, Tensor):
                if dtype is not None and dtypes.as_dtype(dtype) != value.dtype:
                    from autojit.ops.math import cast

                    value = cast(value, dtype)
                array, device = value._array, value._device
                array = device.xp.array(array, copy=True)
            else:
                tensor = constant(value, dtype=dtype)
                array, device = tensor._array, tensor._device
        super().__init__(array, device)
        self._trainable = bool(trainable)
        self._name = _scoped(name or "Variable") + ":0"
        for hook in list(_creation_hooks):
            hook(self)

    @property
    def name(self) -> str:
        """The scoped name, e.g. ``"mlp/dense/w:0"``. Usage: ``w.name``"""
        return self._name

    @property
    def trainable(self) -> bool:
        """Whether tapes watch it automatically and Modules list it as trainable."""
        return self._trainable

    def assign(self, value: Any, read_value: bool = True) -> "Variable":
        """Overwrite the value in place (same shape and dtype). Usage: ``v.assign(v * 0.5)``"""
        core.bind(ASSIGN, value, var=self)
        return self

    def assign_add(self, delta: Any, read_value: bool = True) -> "Variable":
        """Add ``delta`` in place. Usage: ``step.assign_add(1)``"""
        core.bind(ASSIGN_ADD, delta, var=self)
        return self

    def assign_sub(self, delta: Any, read_value: bool = True) -> "Variable":
        """Subtract ``delta`` in place. Usage: ``w.assign_sub(lr * g)``"""
        core.bind(ASSIGN_SUB, delta, var=self)
        return self

    def read_value(self) -> Tensor:
        """A tensor holding a copy of the current value. Usage: ``snapshot = v.read_value()``"""
        return core.bind(READ, self)

    def value(self) -> Tensor:
        """Same as ``read_value()``. Usage: ``v.value()``"""
        return self.read_value()

    def __repr__(self) -> str:
        text = super().__repr__()[len("<aj.Tensor: "):]
        return f"<aj.Variable '{self._name}' {text}"

    __hash__ = Tensor.__hash__
