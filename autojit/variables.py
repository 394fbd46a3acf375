"""``Variable``: a mutable tensor whose buffer is updated in place, and the name scopes
that prefix variable names.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from autojit import backend, dtypes
from autojit.errors import DTypeError, ShapeError
from autojit.ops import core
from autojit.ops import shapes
from autojit.ops.array import constant
from autojit.tensor import Tensor

# ----------------------------------------------------------------------------- state ops
#
# Note [Assignment]: the assign ops write the variable's own buffer (``var._array``) in
# place, so its identity never changes and graphs that captured the variable see the new
# value. They have no outputs. The rule runs first: a value of the wrong shape or dtype
# raises before anything is written, so a failed assign leaves the variable as it was.


def _assign_rule(name, value, *, var):
    if value.dtype != var.dtype:
        raise DTypeError(f"{name}: variable {var.name!r} is {var.dtype.name}, got a value of "
                         f"dtype {value.dtype.name}; use aj.cast(value, aj.{var.dtype.name})")
    try:
        ok = shapes.broadcast(name, var.shape, value.shape) == tuple(var.shape)
    except ShapeError:
        ok = False
    if not ok:
        raise ShapeError(f"{name}: variable {var.name!r} has shape {shapes.fmt(var.shape)}, "
                         f"got a value of shape {shapes.fmt(value.shape)}; a Variable's shape "
                         "never changes (create a new Variable instead)")
    return []


def _copy_into(xp, buffer, value):
    xp.copyto(buffer, value)
    return ()


def _add_into(xp, buffer, value):
    xp.add(buffer, value, out=buffer)
    return ()


def _subtract_into(xp, buffer, value):
    xp.subtract(buffer, value, out=buffer)
    return ()


ASSIGN = core.defop("assign", ["value"], "_copy_into(xp, var._array, value)", _assign_rule,
                    attrs=("var",), effect=True, multiple=True,
                    namespace={"_copy_into": _copy_into})
ASSIGN_ADD = core.defop("assign_add", ["value"], "_add_into(xp, var._array, value)",
                        _assign_rule, attrs=("var",), effect=True, multiple=True,
                        namespace={"_add_into": _add_into})
ASSIGN_SUB = core.defop("assign_sub", ["value"], "_subtract_into(xp, var._array, value)",
                        _assign_rule, attrs=("var",), effect=True, multiple=True,
                        namespace={"_subtract_into": _subtract_into})
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

    ``initial_value`` is a tensor, a NumPy or Python value, or a callable returning one;
    ``dtype`` converts it. The variable lives on the device of the innermost ``aj.device``
    scope, else on its initial value's device. ``assign``/``assign_add``/``assign_sub``
    write its buffer in place (Note [Assignment]); values are converted to the variable's
    dtype and device first (Python numbers and NumPy arrays must convert without loss).

    Trainable floating-point variables are watched by ``GradientTape`` automatically.
    Inside ``@aj.function``, variables are captured by reference: each call reads their
    current value and assignments happen in place, in program order.
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
                device = backend.scope_device() or value._device
                array = backend.transfer(value._array, device)
            else:
                tensor = constant(value, dtype=dtype)
                array, device = tensor._array, tensor._device
            # A buffer of its own: in-place updates must not reach the initial value.
            array = device.xp.array(array, copy=True)
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
        self._update(ASSIGN, value)
        return self

    def assign_add(self, delta: Any, read_value: bool = True) -> "Variable":
        """Add ``delta`` in place. Usage: ``step.assign_add(1)``"""
        self._update(ASSIGN_ADD, delta)
        return self

    def assign_sub(self, delta: Any, read_value: bool = True) -> "Variable":
        """Subtract ``delta`` in place. Usage: ``w.assign_sub(lr * g)``"""
        self._update(ASSIGN_SUB, delta)
        return self

    def _update(self, op: core.Op, value: Any) -> None:
        device = self._device
        if (isinstance(value, Tensor) and getattr(value, "_device", None) is device
                and backend.scope_device() in (None, device)):
            core.bind(op, value, var=self)  # the common case: a tensor where the variable is
            return
        # Convert to the variable's dtype, on its device (copying a value from elsewhere).
        with backend.device(device):
            if not isinstance(value, Tensor):
                try:
                    value = constant(value, dtype=self.dtype)
                except DTypeError as exc:
                    raise DTypeError(f"{op.name}: cannot assign {value!r:.60} to variable "
                                     f"{self._name!r} ({self.dtype.name}): {exc}") from None
            core.bind(op, value, var=self)

    def read_value(self) -> Tensor:
        """A tensor holding a copy of the current value; later assigns do not change it.

        Usage: ``snapshot = v.read_value()``
        """
        return core.bind(READ, self)

    def value(self) -> Tensor:
        """Same as ``read_value()``. Usage: ``v.value()``"""
        return self.read_value()

    def numpy(self):
        """A copy of the current value as a NumPy array (later assigns do not change it).

        Usage: ``w.numpy()``
        """
        return np.array(super().numpy(), copy=True)

    def __array__(self, dtype: Any = None, copy: bool | None = None):
        # np.asarray(v) is a snapshot, as in TF; copy=False asks for the live buffer.
        return super().__array__(dtype, True if copy is None else copy)

    def __repr__(self) -> str:
        text = super().__repr__()[len("<aj.Tensor: "):]
        return f"<aj.Variable '{self._name}' {text}"

    __str__ = __repr__  # as tf.Variable: print(v) shows the name too
    __hash__ = Tensor.__hash__
