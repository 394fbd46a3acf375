"""``Tensor`` (an eager value: a NumPy/CuPy array plus its device), its operators, and the
eager trace that runs ops at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import backend, dtypes
from autojit.errors import DeviceError, TracingError
from autojit.tensor_shape import TensorShape, shape_of
from autojit.ops import array as array_ops
from autojit.ops import core
from autojit.ops import linalg
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
    def shape(self) -> TensorShape:
        """The shape: a tuple of ints with TF's methods. Usage: ``n, d = x.shape``;
        ``x.shape.as_list()``"""
        return shape_of(self._array.shape)

    def get_shape(self) -> TensorShape:
        """The shape (TF's older name for ``x.shape``). Usage: ``x.get_shape().as_list()``"""
        return self.shape

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
        """The value as a NumPy array (copied from the GPU if needed; on the CPU it may share
        memory with the tensor, as in TF). Usage: ``x.numpy()``
        """
        if self._device is not backend.CPU:
            return np.asarray(backend.transfer(self._array, backend.CPU))
        return np.asarray(self._array)

    def item(self) -> Any:
        """The value of a one-element tensor as a Python scalar. Usage: ``loss.item()``"""
        return self._one_value("item()")

    def to(self, device: "str | backend.Device") -> "Tensor":
        """This tensor on ``device`` (itself when it is already there). Tapes record the copy,
        so gradients flow back to the original device. Usage: ``x.to("GPU:0")``
        """
        return to_device(self, device)

    def __repr__(self) -> str:
        value = np.array2string(self.numpy(), separator=", ", threshold=20)
        text = f"<aj.Tensor: shape={self.shape}, dtype={self.dtype.name}, numpy={value}"
        if self._device is not backend.CPU:
            text += f", device={self._device.name}"
        return text + ">"

    def __str__(self) -> str:
        # As TF's str(): NumPy's own text, on its own line when it spans several.
        value = str(self.numpy())
        if self.ndim > 1:
            value = "\n" + value
        return f"aj.Tensor({value}, shape={self.shape}, dtype={self.dtype.name})"

    def __format__(self, spec: str) -> str:
        # f"{loss:.3f}" formats the value, as for NumPy scalars; an empty spec is str().
        if not spec:
            return str(self)
        return format(self.numpy(), spec)

    # --- Python conversions ------------------------------------------------------------
    def _one_value(self, what: str, error: type = ValueError) -> Any:
        array = self._array
        if array.size != 1:
            raise error(f"{what} needs a tensor with exactly one element, got shape "
                        f"{self.shape} ({array.size} elements)")
        return array.item()

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise ValueError(
                f"the truth value of a tensor with shape {self.shape} ({self._array.size} "
                "elements) is ambiguous; use aj.reduce_any(x) or aj.reduce_all(x)")
        return bool(self._array)

    def __float__(self) -> float:
        return float(self._one_value("float()", TypeError))

    def __int__(self) -> int:
        return int(self._one_value("int()", TypeError))

    def __index__(self) -> int:
        if not dtypes.is_integer(self.dtype):
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype.name}")
        return int(self._one_value("Using a tensor as an index", TypeError))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(array_ops.unstack(self, axis=0))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # NumPy's protocol: copy=None copies only if needed, True always, False never.
        on_host = self._device is backend.CPU
        if copy is False and not on_host:
            raise ValueError(f"np.asarray(x, copy=False): x lives on {self._device.name}; "
                             "reading it on the host needs a copy (x.numpy())")
        array = Tensor.numpy(self)  # not a subclass's copying numpy()
        if dtype is not None and array.dtype != np.dtype(dtype):
            if copy is False:
                raise ValueError(f"np.asarray(x, dtype={np.dtype(dtype).name}, copy=False): "
                                 f"x is {self.dtype.name}; converting needs a copy")
            return array.astype(dtype)
        if copy and on_host:
            return array.copy()
        return array

    def __dlpack__(self, *args, **kwargs):
        return _as_ndarray(self._array).__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return _as_ndarray(self._array).__dlpack_device__()

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
    def __divmod__(self, other): return m.floordiv(self, other), m.mod(self, other)
    def __rdivmod__(self, other): return m.floordiv(other, self), m.mod(other, self)
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
    def __eq__(self, other):  # elementwise, as TF 2; `t == None` is False, as TF
        return False if other is None else m.equal(self, other)

    def __ne__(self, other):
        return True if other is None else m.not_equal(self, other)

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


def _as_ndarray(array: Any) -> Any:
    # Results of NumPy ops on 0-d arrays are NumPy scalars, which have no __dlpack__.
    if isinstance(array, np.generic):
        return np.asarray(array)
    return array


_DLPACK_CPU, _DLPACK_CUDA = 1, 2


def from_dlpack(producer: Any) -> Tensor:
    """A tensor sharing memory with a DLPack producer (NumPy, CuPy, PyTorch, ...), on the
    producer's device. Usage: ``t = aj.from_dlpack(np.arange(3.0))``
    """
    if not hasattr(producer, "__dlpack__") or not hasattr(producer, "__dlpack_device__"):
        raise TypeError(f"from_dlpack: expected an array with __dlpack__ and "
                        f"__dlpack_device__ (NumPy, CuPy, PyTorch, ...), got "
                        f"{type(producer).__name__}")
    device_type, index = producer.__dlpack_device__()
    if int(device_type) == _DLPACK_CPU:
        device = backend.CPU
        array = np.from_dlpack(producer)
    elif int(device_type) == _DLPACK_CUDA:
        device = backend.get_device(f"GPU:{index}")
        array = device.xp.from_dlpack(producer)
    else:
        raise DeviceError(f"from_dlpack: the array lives on DLPack device type "
                          f"{int(device_type)}; only CPU (1) and CUDA (2) arrays are supported")
    if array.dtype not in dtypes._ALL:
        raise dtypes.DTypeError(f"from_dlpack: dtype {array.dtype} is not supported; convert "
                                "it to one of float16/32/64, int8/16/32/64, uint8 or bool")
    return Tensor(array, device)


# ---------------------------------------------------------------------------------------
# The eager trace: run the kernel now.
#
# Note [Eager fast path]: ``process`` is the per-op cost of eager mode, so the common case
# (tensors on one device, no scope, maybe weak scalars) runs one loop over the inputs, the
# op's rule, its kernel and one constructor. Everything rarer -- device copies, Variable
# views, constants from lists -- branches off that loop into helpers.
#
# Note [Variable views]: a Variable's buffer is updated in place, so an op must never hand
# out a view of it (``aj.identity(v)``, ``v[0]``, ``aj.reshape(v, ...)`` would change after
# ``v.assign``). When a Variable is among the inputs and an output may share its memory,
# the output is copied. Fresh results (almost all ops) have no ``base`` and cost one check.


class EagerTrace:
    """Runs each op at once on concrete arrays (the bottom of every thread's trace stack)."""

    level = 0

    def process(self, op: core.Op, inputs: tuple, attrs: dict) -> Any:
        if op is TO_DEVICE:  # its output's device is an attribute, not its input's
            return to_device(inputs[0], attrs["device"])
        stack = _scope.stack
        target = stack[-1] if stack else None
        arrays = []
        append = arrays.append
        partner = None
        shared = None  # the buffer of a Variable input (Note [Variable views])
        snapshots = False  # a _Snapshot among the inputs (Note [Tapes and assigns])
        data = False  # Python data (a list) among the inputs
        for value in inputs:
            if isinstance(value, Tensor):
                array = value._array
                if array is None:
                    return _symbolic_input(value, op, inputs, attrs)
                device = value._device
                if device is not target:
                    if target is None:
                        target = device
                    elif stack:
                        return self.process(op, _moved(inputs, target), attrs)
                    else:
                        return self.process(op, _joined(op, inputs), attrs)
                if value._is_variable:
                    shared = array
                elif type(value) is _Snapshot:
                    snapshots = True
                append(array)
            elif isinstance(value, _PY_SCALARS):
                if partner is None:
                    partner = core.weak_dtype(op, inputs) or False
                append(core.scalar_to_array(op, value, partner or None))
            else:
                if type(value) in (list, tuple):  # a list holding tensors: stacked
                    packed = core.packed_inputs(inputs)
                    if packed is not None:
                        return self.process(op, packed, attrs)
                if partner is None:
                    partner = core.weak_dtype(op, inputs) or False
                append(core.data_to_array(op, value, partner or None))
                data = True
        if target is None:
            target = _CPU
        elif target is not _CPU:
            arrays = [backend.transfer(a, target) if isinstance(a, np.ndarray) else a
                      for a in arrays]
        if op.checks_values or op.effect:  # effect ops key on a Variable: do not keep it alive
            op.rule(op.name, *arrays, **attrs)
            var = attrs.get("var")
            if var is not None and core.holding_tapes:
                _copy_on_write(var)
        else:  # Note [Checked signatures]
            if len(arrays) == 2:
                a, b = arrays
                key = (op, a.shape, a.dtype, b.shape, b.dtype)
            else:
                key = (op, *[(a.shape, a.dtype) for a in arrays])
            if attrs:
                key = (key, *attrs.values())
            try:
                known = key in _CHECKED
            except TypeError:  # an unhashable attribute: check every time
                known, key = False, None
            if not known:
                op.rule(op.name, *arrays, **attrs)
                if key is not None:
                    if len(_CHECKED) >= _CHECKED_MAX:
                        _CHECKED.clear()
                    _CHECKED[key] = True
        if op.check is not None:
            op.check(op.name, *arrays, **attrs)
        result = op.kernel(target.xp, *arrays, **attrs)
        if op.multiple:
            if shared is not None:
                result = [_unshared(r, inputs, target) for r in result]
            outputs = tuple([Tensor(r, target) for r in result])
        else:
            if shared is not None and (getattr(result, "base", None) is not None
                                       or _is_one_of(result, arrays)):
                result = _unshared(result, inputs, target)
            outputs = Tensor(result, target)
        tapes = core._state.tapes
        if tapes:
            if data:  # VJPs read shapes: they see the list as the tensor it became
                inputs = tuple([Tensor(a, target) if type(v) in (list, tuple) else v
                                for v, a in zip(inputs, arrays)])
            keys = inputs
            if snapshots:  # a VJP running under an outer tape: key on the Variable
                keys = tuple([v._source if type(v) is _Snapshot else v for v in inputs])
            for tape in tapes:
                tape.record(op, keys, inputs, outputs, attrs)
        return outputs


def _is_one_of(result: Any, arrays: list) -> bool:
    for array in arrays:  # a loop: a generator in any() costs a frame per call
        if result is array:
            return True
    return False


def _copy_on_write(var: Tensor) -> None:
    """Before ``var`` changes in place: if a tape's record read it, move ``var`` to a copy
    and leave the old buffer to the tape (Note [Tapes and assigns] in autodiff.py)."""
    readers = [tape for tape in list(core.holding_tapes) if tape.reads(var)]
    if readers:
        snapshot = _Snapshot(var)
        var._array = var._array.copy()
        for tape in readers:
            tape.detach(var, snapshot)


class _Snapshot(Tensor):
    """The buffer a Variable had when a taped op read it (Note [Tapes and assigns] in
    autodiff.py): VJPs compute with it, and ops on it are recorded as ops on the Variable."""

    __slots__ = ("_source",)

    def __init__(self, var: Tensor):
        self._array = var._array
        self._device = var._device
        self._source = var


_CPU = backend.CPU
_scope = backend._scope

# Note [Checked signatures]: an op's rule depends only on its inputs' shapes and dtypes and
# its attributes: it must, since the graph tracer calls it with TensorSpecs. So once a rule
# has accepted a signature, running it again can only accept it again, and ``process``
# remembers accepted (op, shapes, dtypes, attribute values) and skips the rule on a repeat:
# one tuple and one dict lookup instead of a few Python calls. Errors are never cached, so
# they read the same every time. Rules that also look at values eagerly (a bool mask's
# count gives a shape: op flag ``checks_values``) run every time, and so do effect ops
# (``assign``): their attributes hold a Variable, which the cache would keep alive. Value
# checks proper (index ranges) are the op's ``check``, run at every call (Note [Value
# checks] in ops/core.py).
_CHECKED: dict = {}
_CHECKED_MAX = 4096


def _mixed(op: core.Op, first: backend.Device, second: backend.Device) -> DeviceError:
    return DeviceError(
        f"{op.name}: inputs live on different devices ({first.name} and {second.name}); "
        f"move one with x.to({first.name!r}) or x.to({second.name!r}), or run the op inside "
        f"`with aj.device(...)`, which copies inputs to that device")


def _joined(op: core.Op, inputs: tuple) -> tuple:
    """``inputs`` on one device, outside any scope: CPU scalars (0-d tensors) join the one
    other device (Note [Host scalars]); any other mix is an error naming both devices."""
    devices = []
    for value in inputs:
        if isinstance(value, Tensor) and value._device not in devices:
            devices.append(value._device)
    others = [d for d in devices if d is not _CPU]
    scalars_only = all(value._device is not _CPU or not value.shape for value in inputs
                       if isinstance(value, Tensor))
    if len(others) != 1 or not scalars_only:
        raise _mixed(op, devices[0], devices[1])
    return _moved(inputs, others[0])


# Note [Host scalars]: as in PyTorch, a 0-d tensor on the CPU may join an op whose other
# inputs live on one GPU (it is copied there, and tapes record the copy). VJPs build such
# scalars from Python numbers (``subtract(y, 1)`` in the gradient of ``x ** 2.0``), and
# ``aj.constant(2.0) * gpu_tensor`` reads naturally. Anything bigger must be moved by the
# user or by an ``aj.device`` scope: silent copies of real data are what make GPU code slow.


def _moved(inputs: tuple, target: backend.Device) -> tuple:
    """``inputs`` with every tensor on ``target``: inside an ``aj.device`` scope, inputs
    living elsewhere are copied there (tapes record the copies)."""
    return tuple(to_device(v, target) if isinstance(v, Tensor) and v._device is not target
                 else v for v in inputs)


def _unshared(result: Any, inputs: tuple, target: backend.Device) -> Any:
    """``result``, copied if it may share memory with a Variable input (Note [Variable views])."""
    may_share = target.xp.may_share_memory
    for value in inputs:
        if isinstance(value, Tensor) and value._is_variable:
            if result is value._array or may_share(result, value._array):
                return result.copy()
    return result


def _symbolic_input(value: Any, op: core.Op, inputs: tuple, attrs: dict) -> Any:
    """An op got a symbolic tensor outside any graph trace. A value whose graph takes ops
    from outside (``autojit.compat.v1``'s deferred graphs define ``_bind_outside``) gets the
    op; any other escaped a finished ``@aj.function`` trace."""
    bind_outside = getattr(value, "_bind_outside", None)
    if bind_outside is None:
        raise _escaped(value, op)
    return bind_outside(op, inputs, attrs)


def _escaped(value: Any, op: core.Op) -> TracingError:
    escaped = getattr(value, "escaped", None)
    if escaped is not None:
        return TracingError(f"{op.name}: got a symbolic tensor from a finished @aj.function "
                            f"trace: {escaped()}")
    return TracingError(
        f"{op.name}: got a symbolic tensor from a finished @aj.function trace ({value!r}); "
        "symbolic tensors exist only while their function is being traced. Return the value "
        "from the function instead of storing it outside")


_EAGER = EagerTrace()
core.install_eager_trace(_EAGER)


# ---------------------------------------------------------------------------------------
# Device copies as an op, so tapes see them and gradients go back where inputs came from.


def _to_device_rule(name, x, *, device, source):
    return x.shape, x.dtype


def _to_device_vjp(g, out, x, *, device, source):
    return (g if source is None else to_device(g, source),)


TO_DEVICE = core.defop("to_device", ["x"], "_transfer(x, device)", _to_device_rule,
                       _to_device_vjp, attrs=("device", "source"),
                       namespace={"_transfer": backend.transfer})


def to_device(x: Any, device: "str | backend.Device") -> Any:
    """``x`` on ``device`` (``x`` itself when already there); differentiable.

    Usage: ``y = to_device(x, "GPU:0")`` (users write ``x.to("GPU:0")``)
    """
    target = backend.get_device(device)
    source = getattr(x, "_device", None)
    if source is target:
        return x
    if core._state.trace is not _EAGER:
        return core.bind(TO_DEVICE, x, device=target, source=source)
    if not isinstance(x, Tensor):
        x = convert_to_tensor(x)
        if x._device is target:
            return x
    if x._array is None:
        return _symbolic_input(x, TO_DEVICE, (x,), {"device": target, "source": x._device})
    out = Tensor(backend.transfer(x._array, target), target)
    tapes = core._state.tapes
    if tapes:
        attrs = {"device": target, "source": x._device}
        for tape in tapes:
            tape.record(TO_DEVICE, (x,), (x,), out, attrs)
    return out


def is_tensor(x: Any) -> bool:
    """True for an autojit tensor or Variable (eager or symbolic), as ``tf.is_tensor``.

    Usage: ``aj.is_tensor(aj.constant(1.0))`` (True); ``aj.is_tensor(np.ones(2))`` (False)
    """
    return isinstance(x, Tensor)


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None,
                      dtype_hint: Any = None) -> Any:
    """``value`` as a tensor: tensors pass through (checked against ``dtype``), Python and
    NumPy values become constants on the current device. ``dtype_hint`` is used when it
    fits the value (``convert_to_tensor(1, dtype_hint=aj.float32)`` is float32).

    Usage: ``t = aj.convert_to_tensor([1, 2, 3])`` (an int32 tensor)
    """
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtypes.as_dtype(dtype):
            raise dtypes.DTypeError(f"convert_to_tensor: expected {dtypes.as_dtype(dtype).name}, "
                                    f"got a {value.dtype.name} tensor; use aj.cast")
        return value
    if dtype is None and dtype_hint is not None:
        try:
            return array_ops.constant(value, dtype=dtype_hint)
        except dtypes.DTypeError:
            pass
    return array_ops.constant(value, dtype=dtype)


__all__ = ["Tensor", "EagerTrace", "convert_to_tensor", "from_dlpack", "to_device"]
