"""``Tensor`` (an eager value: a NumPy/CuPy array plus its device), its operators, and the
eager trace that runs ops at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import backend, dtypes
from autojit.errors import DeviceError, TracingError
from autojit.ops import array as array_ops
from autojit.ops import core
from autojit.ops import linalg, reduce
from autojit.ops import math as m

_PY_SCALARS = core.PY_SCALARS


class Tensor:
    """An immutable multi-dimensional array on a device.

    Usage: ``t = aj.constant([[1.0, 2.0]]); t.shape, t.dtype, t.numpy()``

    Inside ``@aj.function`` tracing, tensors are symbolic (a subclass with no value yet);
    they support the same operators but refuse ``bool()``, ``float()`` and ``.numpy()``.
    """

    __slots__ = ("_array", "_device", "__weakref__")
    _is_variable = False
    _trainable = False
    __array_priority__ = 100  # so ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, array: Any, device: backend.Device = backend.CPU):
        self._array = array
        self._device = device

    # --- facts -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape as a tuple of ints. Usage: ``n, d = x.shape``"""
        return self._array.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype, e.g. ``aj.float32``. Usage: ``x.dtype == aj.float32``"""
        return self._array.dtype

    @property
    def device(self) -> str:
        """The device name, e.g. ``"CPU:0"``. Usage: ``x.device``"""
        return self._device.name

    @property
    def ndim(self) -> int:
        """The number of dimensions. Usage: ``x.ndim``"""
        return len(self.shape)

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (copied from the GPU if needed). Usage: ``x.numpy()``"""
        array = self._array
        if self._device is not backend.CPU:
            return array.get()
        return np.asarray(array)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python scalar. Usage: ``loss.item()``"""
        return self.numpy().item()

    def to(self, device: "str | backend.Device") -> "Tensor":
        """A copy of this tensor on ``device``. Usage: ``x.to("GPU:0")``"""
        target = backend.get_device(device)
        if target is self._device:
            return self
        return Tensor(backend.transfer(self._array, target), target)

    def __repr__(self) -> str:
        value = np.array2string(self.numpy(), separator=", ", threshold=20)
        text = f"<aj.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={value}"
        if self._device is not backend.CPU:
            text += f", device={self._device.name}"
        return text + ">"

    def __str__(self) -> str:
        return f"aj.Tensor({np.array2string(self.numpy(), separator=', ')}, " \
               f"shape={self.shape}, dtype={self.dtype.name})"

    # --- Python conversions ------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self._array)

    def __float__(self) -> float:
        return float(self._array)

    def __int__(self) -> int:
        return int(self._array)

    def __index__(self) -> int:
        if not dtypes.is_integer(self.dtype):
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype.name}")
        return int(self._array)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(array_ops.unstack(self, axis=0))

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        return _as_ndarray(self._array, self._device).__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return _as_ndarray(self._array, self._device).__dlpack_device__()

    __hash__ = object.__hash__  # identity, so tensors and Variables can key dicts

    # --- operators -------------------------------------------------------------------
    def __add__(self, other): return m.add(self, other)
    def __radd__(self, other): return m.add(other, self)
    def __sub__(self, other): return m.subtract(self, other)
    def __rsub__(self, other): return m.subtract(other, self)
    def __mul__(self, other): return m.multiply(self, other)
    def __rmul__(self, other): return m.multiply(other, self)
    def __truediv__(self, other): return m.divide(self, other)
    def __rtruediv__(self, other): return m.divide(other, self)
    def __floordiv__(self, other): return m.floordiv(self, other)
    def __rfloordiv__(self, other): return m.floordiv(other, self)
    def __mod__(self, other): return m.mod(self, other)
    def __rmod__(self, other): return m.mod(other, self)
    def __pow__(self, other): return m.pow(self, other)
    def __rpow__(self, other): return m.pow(other, self)
    def __matmul__(self, other): return linalg.matmul(self, other)
    def __rmatmul__(self, other): return linalg.matmul(other, self)
    def __neg__(self): return m.negative(self)
    def __pos__(self): return self
    def __abs__(self): return m.abs(self)
    def __lt__(self, other): return m.less(self, other)
    def __le__(self, other): return m.less_equal(self, other)
    def __gt__(self, other): return m.greater(self, other)
    def __ge__(self, other): return m.greater_equal(self, other)
    def __eq__(self, other): return m.equal(self, other)  # elementwise, as TF 2
    def __ne__(self, other): return m.not_equal(self, other)
    def __and__(self, other): return m.logical_and(self, other)
    def __rand__(self, other): return m.logical_and(other, self)
    def __or__(self, other): return m.logical_or(self, other)
    def __ror__(self, other): return m.logical_or(other, self)
    def __xor__(self, other): return m.logical_xor(self, other)
    def __rxor__(self, other): return m.logical_xor(other, self)
    def __invert__(self): return m.logical_not(self)
    def __getitem__(self, key): return array_ops.getitem(self, key)

    # --- TF-style conveniences ---------------------------------------------------------
    def __round__(self, ndigits=None):
        return round(float(self), ndigits)


def is_symbolic(value: Any) -> bool:
    """True for a symbolic tensor (one being traced into a graph, with no value yet).

    Usage: ``if is_symbolic(pred): ...emit a graph op... else: ...plain Python...``
    """
    return isinstance(value, Tensor) and value._array is None


def _as_ndarray(array: Any, device: backend.Device) -> Any:
    if isinstance(array, np.generic):
        return np.asarray(array)
    return array


def from_dlpack(capsule_owner: Any) -> Tensor:
    """A tensor sharing memory with a DLPack producer (NumPy, CuPy, PyTorch, ...).

    Usage: ``t = aj.from_dlpack(torch_tensor)``
    """
    device_type, index = capsule_owner.__dlpack_device__()
    if int(device_type) == 1:  # kDLCPU
        return Tensor(np.from_dlpack(capsule_owner), backend.CPU)
    target = backend.get_device(f"GPU:{index}")
    return Tensor(target.xp.from_dlpack(capsule_owner), target)


# ---------------------------------------------------------------------------------------
# The eager trace: run the kernel now.


class EagerTrace:
    """Runs each op at once on concrete arrays (the bottom of every thread's trace stack)."""

    level = 0

    def process(self, op: core.Op, inputs: tuple, attrs: dict) -> Any:
        scope = backend._scope.stack
        target = scope[-1] if scope else None
        arrays = []
        partner = None
        for value in inputs:
            if isinstance(value, Tensor):
                array = value._array
                if array is None:
                    raise _escaped(value, op)
                device = value._device
                if target is None:
                    target = device
                elif device is not target:
                    if not scope:
                        raise DeviceError(
                            f"{op.name}: inputs live on different devices ({target.name} and "
                            f"{device.name}); move one with t.to({target.name!r}) or run "
                            f"inside `with aj.device(...)`")
                    array = backend.transfer(array, target)
                arrays.append(array)
            elif isinstance(value, _PY_SCALARS):
                if partner is None:
                    partner = core.weak_dtype(op, inputs) or False
                arrays.append(core.scalar_to_array(op, value, partner or None))
            else:
                arrays.append(core.to_numpy_constant(value))
        if target is None:
            target = backend.CPU
        if target is not backend.CPU:
            arrays = [backend.transfer(a, target) if isinstance(a, (np.ndarray, np.generic))
                      and a.ndim else a for a in arrays]
        op.rule(op.name, *arrays, **attrs)
        result = op.kernel(target.xp, *arrays, **attrs)
        if op.multiple:
            outputs = tuple(Tensor(r, target) for r in result)
        else:
            outputs = Tensor(result, target)
        if core._state.tapes:
            core.record(op, inputs, inputs, outputs, attrs)
        return outputs


def _escaped(value: Any, op: core.Op) -> TracingError:
    return TracingError(
        f"{op.name}: got a symbolic tensor from a finished @aj.function trace ({value!r}); "
        "symbolic tensors exist only while their function is being traced. Return the value "
        "from the function instead of storing it outside")


core.install_eager_trace(EagerTrace())


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None) -> Any:
    """``value`` as a tensor: tensors pass through (checked against ``dtype``), Python and
    NumPy values become constants on the current device.

    Usage: ``t = aj.convert_to_tensor([1, 2, 3])`` (an int32 tensor)
    """
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtypes.as_dtype(dtype):
            raise dtypes.DTypeError(f"convert_to_tensor: expected {dtypes.as_dtype(dtype).name}, "
                                    f"got a {value.dtype.name} tensor")
        return value
    return array_ops.constant(value, dtype=dtype)


__all__ = ["Tensor", "EagerTrace", "convert_to_tensor", "from_dlpack", "reduce"]
