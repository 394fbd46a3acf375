"""Tensor loops and conds on the GPU, tested on the CPU: the uncaptured GPU replay reads one
value back per loop test or branch (a counting fake of CuPy), and conditional graph nodes are
planned and built against a fake device API whose graphs are interpreters of recorded steps."""

from __future__ import annotations

import types

import numpy as np

import autojit as aj
from autojit.backend import Device
from autojit.graph.executors.cupy import compile_gpu


class DeviceArray(np.ndarray):
    """A NumPy array standing for device memory: every read of its contents on the host
    (``bool``, ``int``, ``float``, ``item``, ``get``, ``np.asarray``) is counted."""

    reads = 0

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        return np.ndarray.__array_wrap__(self, obj, context, False)  # 0-d stays an array

    def __getitem__(self, key):
        return _device(np.ndarray.__getitem__(self, key))

    def _read(self):
        DeviceArray.reads += 1
        return np.ndarray.view(self, np.ndarray)

    def __bool__(self):
        return bool(self._read())

    def __int__(self):
        return int(self._read())

    def __index__(self):
        return int(self._read())

    def __float__(self):
        return float(self._read())

    def item(self, *args):
        return self._read().item(*args)

    def tolist(self):
        return self._read().tolist()

    def get(self):
        return self._read().copy()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._read(), dtype=dtype)


def _device(value):
    if isinstance(value, DeviceArray):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).view(DeviceArray)
    if isinstance(value, tuple):
        return tuple(_device(v) for v in value)
    return value


def _wrapped(fn):
    def call(*args, **kwargs):
        return _device(fn(*args, **kwargs))

    return call


class _Context:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_cupy() -> types.ModuleType:
    """A CuPy stand-in over NumPy whose arrays count host reads (no kernels, no capture)."""
    module = types.ModuleType("fake_cupy")

    def asarray(value, dtype=None):
        if isinstance(value, DeviceArray):
            return value if dtype is None else _device(value.view(np.ndarray).astype(dtype))
        return _device(np.array(value, dtype=dtype))

    def getattr_(name):
        attr = getattr(np, name)
        return _wrapped(attr) if callable(attr) and not isinstance(attr, type) else attr

    module.__getattr__ = getattr_
    module.ndarray = DeviceArray
    module.asarray = asarray
    module.array = asarray
    module.cuda = types.SimpleNamespace(Device=_Context, Stream=_Context)
    return module


def gpu_replay(fn, *args, cuda_graphs=True, **options):
    """``fn``'s graph compiled by the GPU executor on a fake CuPy (without fusion: the fake has
    no ``ElementwiseKernel``; fused kernels read nothing back either)."""
    graph = aj.function(fn, **options).get_concrete_function(*args).graph
    device = Device("GPU", 0, fake_cupy())
    replay, source = compile_gpu(graph, device, "step", [], fusion=False,
                                 cuda_graphs=cuda_graphs)
    return replay, source


def count_reads(replay, *arrays):
    before = DeviceArray.reads
    out = replay(*[_device(np.asarray(a)) for a in arrays])
    return DeviceArray.reads - before, [np.asarray(o.view(np.ndarray)) for o in out]


def doubling(v):
    while aj.reduce_sum(v) < 100.0:
        v = v * 2.0
    return v


def test_a_tensor_while_loop_reads_one_value_back_per_test():
    x = np.array([1.0, 2.0, 0.5])
    replay, source = gpu_replay(doubling, aj.constant(x))
    assert "not captured" in replay.report() and "loop test" in replay.report()
    expected, tests = x, 1
    while expected.sum() < 100.0:
        expected, tests = expected * 2.0, tests + 1
    reads, (out,) = count_reads(replay, x)
    np.testing.assert_allclose(out, expected)
    assert tests == 6 and reads == tests, source


def test_a_tensor_range_loop_reads_one_value_back_per_test():
    def counted(x, n):
        for _ in aj.range(n):
            x = aj.sin(x) + 1.0
        return x

    x = np.array([0.1, 0.2])
    replay, source = gpu_replay(counted, aj.constant(x), aj.constant(5))
    reads, (out,) = count_reads(replay, x, np.int32(5))
    expected = x
    for _ in range(5):
        expected = np.sin(expected) + 1.0
    np.testing.assert_allclose(out, expected)
    assert reads == 6, source


def big_branch(v):
    if aj.reduce_sum(v) > 0:  # a loop inside: too big to become a device-side select
        for _ in aj.range(aj.shape(v)[0]):
            v = aj.exp(v) * 0.5
    else:
        v = v - 1.0
    return v


def test_a_tensor_cond_reads_its_predicate_once_and_a_cheap_one_not_at_all():
    x = np.array([0.5, -0.25])
    replay, source = gpu_replay(big_branch, aj.constant(x))
    for sign in (1.0, -1.0):
        reads, (out,) = count_reads(replay, sign * x)
        expected = sign * x - 1.0
        if sign > 0:
            expected = sign * x
            for _ in range(2):
                expected = np.exp(expected) * 0.5
        np.testing.assert_allclose(out, expected)
        assert reads == 1, source

    def cheap(v):
        if aj.reduce_sum(v) > 0:
            v = aj.exp(v) * 2.0
        else:
            v = v - 1.0
        return v

    replay, source = gpu_replay(cheap, aj.constant(x))
    assert replay.captured is not None  # nothing else stops a capture; the first call warms up
    reads, (out,) = count_reads(replay, x)
    np.testing.assert_allclose(out, np.exp(x) * 2.0)
    assert reads == 0, source


def test_the_gradient_of_a_tensor_loop_reads_only_the_forward_tests():
    def grad(v):
        with aj.GradientTape() as tape:
            tape.watch(v)
            y = doubling(v)
            loss = aj.reduce_sum(y * y)
        return tape.gradient(loss, v)

    x = np.array([1.0, 2.0, 0.5])
    replay, source = gpu_replay(grad, aj.constant(x), cuda_graphs=False)
    reads, (out,) = count_reads(replay, x)
    np.testing.assert_allclose(out, 2 * x * 32.0 ** 2)  # five doublings
    assert reads == 6, source
