"""Devices: ``Device``, the ``device()`` scope, the array module per device, transfers.

Only this module imports CuPy, and only when a GPU is first asked for.
"""

from __future__ import annotations

import threading
from types import ModuleType

import numpy as np

from autojit.errors import DeviceError


class Device:
    """A place where arrays live: ``CPU:0`` (NumPy) or ``GPU:n`` (CuPy).

    Usage: ``aj.Device.parse("CPU:0").xp`` (``numpy``); ``with aj.get_device("CPU:0"): ...``
    Devices are singletons per name, so ``is`` compares them.
    """

    __slots__ = ("kind", "index", "name", "xp")

    def __init__(self, kind: str, index: int, xp: ModuleType):
        self.kind = kind
        self.index = index
        self.name = f"{kind}:{index}"
        self.xp = xp

    @staticmethod
    def parse(spec: "str | Device") -> "Device":
        """The ``Device`` named by ``spec`` (same as ``aj.get_device``)."""
        return get_device(spec)

    def __repr__(self) -> str:
        return f"Device({self.name!r})"

    def __str__(self) -> str:
        return self.name

    def __reduce__(self):
        return (get_device, (self.name,))

    def __enter__(self) -> "Device":  # same as `with aj.device(dev):`
        _scope.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _scope.stack.pop()


CPU = Device("CPU", 0, np)
_GPUS: dict[int, Device] = {}
_cupy: ModuleType | None = None
_cupy_problem: str | None = None


def _load_cupy() -> ModuleType:
    """Import CuPy once; raise a DeviceError that says why when it cannot be used."""
    global _cupy, _cupy_problem
    if _cupy is not None:
        return _cupy
    if _cupy_problem is None:
        try:
            import cupy  # noqa: PLC0415  (lazy by design: CPU users never import it)

            count = cupy.cuda.runtime.getDeviceCount()
            if count < 1:
                _cupy_problem = "CuPy is installed but sees no CUDA device"
            else:
                _cupy = cupy
                return cupy
        except ImportError:
            _cupy_problem = "CuPy is not installed (pip install 'autojit[gpu]')"
        except Exception as exc:  # CUDA driver errors come in many classes
            _cupy_problem = f"CuPy could not reach a CUDA device ({exc})"
    raise DeviceError(f"no GPU is available: {_cupy_problem}")


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device. Usage: ``aj.gpu_available()``"""
    try:
        _load_cupy()
    except DeviceError:
        return False
    return True


def get_device(spec: "str | Device") -> Device:
    """The ``Device`` named by ``spec`` ("CPU:0", "GPU:1", "/device:GPU:0", "gpu").

    Usage: ``aj.get_device("GPU:0")``
    """
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise DeviceError(f"expected a device name such as 'CPU:0' or 'GPU:0', got {spec!r}")
    text = spec.strip().upper()
    if "/DEVICE:" in text:  # TF's long form: /job:localhost/replica:0/task:0/device:GPU:0
        text = text[text.rindex("/DEVICE:") + len("/DEVICE:"):]
    kind, _, index_text = text.partition(":")
    if kind not in ("CPU", "GPU") or (index_text and not index_text.isdigit()):
        raise DeviceError(f"expected a device name such as 'CPU:0' or 'GPU:0', got {spec!r}")
    index = int(index_text or 0)
    if kind == "CPU":
        if index != 0:
            raise DeviceError(f"there is one CPU device, CPU:0; got {spec!r}")
        return CPU
    if index in _GPUS:
        return _GPUS[index]
    try:
        cupy = _load_cupy()
    except DeviceError as exc:
        raise DeviceError(f"GPU:{index} requested, but {exc}. aj.list_devices() shows the "
                          "devices here (CPU:0 only); use aj.device('CPU:0'), or check "
                          "aj.gpu_available() before asking for a GPU") from None
    count = cupy.cuda.runtime.getDeviceCount()
    if index >= count:
        raise DeviceError(f"GPU:{index} requested but this machine has {count} GPU(s): "
                          f"GPU:0 to GPU:{count - 1}")
    _GPUS[index] = Device("GPU", index, cupy)
    return _GPUS[index]


def list_devices() -> list[Device]:
    """The devices that exist here: CPU:0, then each GPU CuPy sees. Usage: ``aj.list_devices()``"""
    devices = [CPU]
    if gpu_available():
        for index in range(_cupy.cuda.runtime.getDeviceCount()):
            devices.append(get_device(f"GPU:{index}"))
    return devices


class _Scope(threading.local):
    def __init__(self):
        self.stack: list[Device] = []


_scope = _Scope()


def scope_device() -> Device | None:
    """The device of the innermost ``aj.device`` scope, or None outside any scope."""
    stack = _scope.stack
    return stack[-1] if stack else None


class device:  # noqa: N801  (lower case, as tf.device)
    """Place new tensors and ops on a device inside a ``with`` block (nestable; the
    innermost wins).

    Inside, ops run on the scope's device and inputs living elsewhere are copied there
    (recorded by tapes, so gradients flow back to the inputs' own devices). Outside any
    scope, ops run where their inputs are; inputs on different devices are an error, except
    that a 0-d CPU tensor joins the other device (Note [Host scalars] in tensor.py). Asking
    for a GPU that is not there raises ``DeviceError`` here, before the block runs.

    Usage: ``with aj.device("GPU:0"): x = aj.ones((2, 2))``
    """

    def __init__(self, name: "str | Device"):
        self.device = get_device(name)

    def __enter__(self) -> Device:
        _scope.stack.append(self.device)
        return self.device

    def __exit__(self, *exc) -> None:
        _scope.stack.pop()


def device_of_array(array: object) -> Device:
    """The device an array lives on (NumPy arrays on CPU:0, CuPy arrays on their GPU)."""
    if isinstance(array, (np.ndarray, np.generic)):
        return CPU
    index = getattr(getattr(array, "device", None), "id", None)
    if index is not None and _cupy is not None and isinstance(array, _cupy.ndarray):
        return get_device(f"GPU:{index}")
    return CPU


def transfer(array: object, target: Device) -> object:
    """Copy ``array`` to ``target`` (returned as is when it already lives there).

    Usage: ``gpu_array = transfer(numpy_array, aj.get_device("GPU:0"))``
    """
    if target is CPU:
        if isinstance(array, (np.ndarray, np.generic)):
            return array
        return array.get()
    cupy = target.xp
    with cupy.cuda.Device(target.index):
        if isinstance(array, cupy.ndarray) and array.device.id != target.index:
            return cupy.array(array, copy=True)  # asarray would keep it on its own GPU
        return cupy.asarray(array)
