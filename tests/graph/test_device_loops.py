"""Tensor loops and conds on the GPU, tested on the CPU with a fake CuPy over NumPy whose arrays
stand for device memory: the uncaptured GPU replay reads one value back per loop test or branch,
and conditional graph nodes are planned, then built against a fake device API whose captured
graphs are interpreters of the recorded steps (every array operation made during the capture is
recorded and rerun at each launch onto the same buffers; a host read during a capture is an
error, as it is under CUDA stream capture)."""

from __future__ import annotations

import contextlib
import inspect
import re
import types

import numpy as np
import pytest

import autojit as aj
from autojit.backend import Device
from autojit.graph.executors import device_loops
from autojit.graph.executors.capture import plan_capture
from autojit.graph.executors.cupy import compile_gpu
from autojit.graph.executors.device_loops import (
    ConditionalAPI,
    conditional_capture,
    plan_device_loops,
)

from .test_cuda_source import nvrtc_compile


@pytest.fixture(autouse=True)
def fused_nodes_op_by_op(monkeypatch):
    """The fake CuPy compiles no kernels: fused nodes (the deferred checks' range tests too)
    run op by op on its arrays, so what they read is counted."""
    from autojit.graph.executors import cupy as gpu_executor

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))


# The graph being captured: a stack of step lists (the step's graph, then the bodies of the
# conditional nodes being built in it); None when no capture runs.
RECORDING: list[list] | None = None


class CaptureReadError(RuntimeError):
    """A device value was read on the host during a capture (CUDA refuses that)."""


def _plain(value):
    if isinstance(value, DeviceArray):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _record(step):
    if RECORDING is not None:
        RECORDING[-1].append(step)


def _recomputed(fn, result):
    """``result`` (fresh buffers) from ``fn()``; under a capture, a step that refills them."""
    result = _device(result)
    if RECORDING is not None:
        many = (tuple, list)  # np.split and the like give lists
        targets = result if isinstance(result, many) else (result,)

        def step():
            values = fn()
            for target, value in zip(targets, values if isinstance(values, many) else (values,)):
                np.copyto(_plain(target), value)

        _record(step)
    return result


def _aliases(result, arrays):
    return isinstance(result, np.ndarray) and any(
        isinstance(a, np.ndarray) and np.may_share_memory(result, a) for a in arrays)


class DeviceArray(np.ndarray):
    """A NumPy array standing for device memory: every read of its contents on the host
    (``bool``, ``int``, ``float``, ``item``, ``get``, ``np.asarray``) is counted, and is an
    error during a capture; operations on it are recorded during a capture."""

    reads = 0

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = _plain(inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _plain(out)
        call = getattr(ufunc, method)
        result = call(*args, **kwargs)
        if method == "at":  # in place on its first argument, like a call with out=
            _record(lambda: call(*args, **kwargs))
            return None
        if out is not None:
            _record(lambda: call(*args, **kwargs))
            return out[0] if len(out) == 1 else out
        return _recomputed(lambda: call(*args, **kwargs), result)

    def __array_function__(self, func, types_, args, kwargs):
        args, kwargs = _plain(args), {k: _plain(v) for k, v in kwargs.items()}
        result = func(*args, **kwargs)
        if result is None:  # an in-place function (``copyto``): rerun it at each launch
            _record(lambda: func(*args, **kwargs))
            return None
        flat = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
        flat += [b for a in args if isinstance(a, (list, tuple)) for b in a]
        if _aliases(result, flat):  # a view reads the live buffer at every launch
            return _device(result)
        return _recomputed(lambda: func(*args, **kwargs), result)

    def __getitem__(self, key):
        plain, key = self.view(np.ndarray), _plain(key)
        result = plain[key]
        if _aliases(result, [plain]):
            return _device(result)
        return _recomputed(lambda: plain[key], result)

    def __setitem__(self, key, value):
        plain, key, value = self.view(np.ndarray), _plain(key), _plain(value)
        plain[key] = value

        def step():
            plain[key] = value

        _record(step)

    def copy(self, order="C"):
        plain = self.view(np.ndarray)
        return _recomputed(lambda: plain.copy(order), plain.copy(order))

    def reshape(self, *shape, **kwargs):  # a copy for a strided view: a kernel on a device
        plain = self.view(np.ndarray)
        result = plain.reshape(*shape, **kwargs)
        if _aliases(result, [plain]):
            return _device(result)
        return _recomputed(lambda: plain.reshape(*shape, **kwargs), result)

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    def flatten(self, order="C"):
        return self.copy(order).reshape(-1)

    def astype(self, dtype, *args, **kwargs):
        plain = self.view(np.ndarray)
        result = plain.astype(dtype, *args, **kwargs)
        if _aliases(result, [plain]):
            return _device(result)
        return _recomputed(lambda: plain.astype(dtype, *args, **kwargs), result)

    def _read(self):
        if RECORDING is not None:
            raise CaptureReadError("a device value was read on the host during a capture")
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

    def get(self, stream=None, out=None, blocking=True):
        if out is not None and not blocking:  # an asynchronous copy: no wait, no read now
            np.copyto(out, self.view(np.ndarray))
            return out
        return self._read().copy()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._read(), dtype=dtype)


def _device(value):
    if isinstance(value, DeviceArray):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).view(DeviceArray)
    if hasattr(value, "_fields"):  # a namedtuple result (np.linalg.slogdet's)
        return type(value)(*(_device(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_device(v) for v in value)
    return value


def _wrapped(fn):
    def call(*args, **kwargs):
        if any(isinstance(a, DeviceArray) for a in (*args, *kwargs.values())):
            return _device(fn(*args, **kwargs))  # recorded by the array protocols
        # made from host values only (``zeros``, ``arange``): a fill kernel when captured
        return _recomputed(lambda: fn(*args, **kwargs), fn(*args, **kwargs))

    return call


class _Ufunc:
    """A NumPy ufunc on the fake device: called as ``_wrapped``; ``.at``/``.reduce`` reach the
    ufunc itself (device arguments record themselves through ``__array_ufunc__``)."""

    def __init__(self, ufunc):
        self.ufunc = ufunc
        self.call = _wrapped(ufunc)

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.ufunc, name)


class _Context:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_cupy() -> types.ModuleType:
    """A CuPy stand-in over NumPy whose arrays are ``DeviceArray`` (no kernels, no streams)."""
    module = types.ModuleType("fake_cupy")

    def asarray(value, dtype=None):
        if isinstance(value, DeviceArray):
            return value if dtype is None else value.astype(dtype, copy=False)
        if RECORDING is not None:  # CuPy stages host data in pinned memory it recycles
            raise CaptureReadError("a host-to-device copy during a capture (its staging "
                                   "buffer is reused after the capture)")
        return _recomputed(lambda: np.array(value, dtype=dtype), np.array(value, dtype=dtype))

    def getattr_(name):
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            return _Ufunc(attr)
        return _wrapped(attr) if callable(attr) and not isinstance(attr, type) else attr

    module.__getattr__ = getattr_
    module.ndarray = DeviceArray
    module.asarray = asarray
    module.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(  # a device view
        as_strided=lambda x, *a, **k: _device(np.lib.stride_tricks.as_strided(
            _plain(x), *a, **k))))
    module.array = asarray
    module.cuda = types.SimpleNamespace(
        Device=_Context, Stream=_Context, alloc_pinned_memory=bytearray,
        get_current_stream=lambda: types.SimpleNamespace(synchronize=lambda: None))
    return module


class Condition:
    """A conditional node's condition on the fake device."""

    def __init__(self):
        self.value = 0


def _run(steps):
    for step in steps:
        step()


class FakeConditions(ConditionalAPI):
    """Conditional nodes on the fake device: ``capture`` records ``fn``'s array operations into
    a list of steps (running them once to know the shapes; Variables are restored, as a
    capture runs nothing) and each launch interprets them; a WHILE node reruns its body's
    steps while its condition holds, an IF/ELSE node runs one branch's."""

    def __init__(self, variables=()):
        self.variables = list(variables)
        self.launches = 0
        self.nodes: list[str] = []

    @property
    def capturing(self):
        return RECORDING is not None

    def empty_like(self, array):
        return np.empty_like(_plain(array)).view(DeviceArray)

    def empty(self, shape, dtype):
        return np.empty(shape, dtype).view(DeviceArray)

    def copy_into(self, target, source):
        target[...] = source

    def copy(self, array):
        return array.copy()

    def capture(self, fn):
        global RECORDING
        saved = [v._array.copy() for v in self.variables]
        RECORDING = [[]]
        try:
            outputs = fn()
        finally:  # a capture runs nothing, failed or not
            steps = RECORDING[0]
            RECORDING = None
            for v, array in zip(self.variables, saved):
                np.copyto(_plain(v._array), _plain(array))

        self.steps = steps  # what the last capture recorded

        def launch():
            self.launches += 1
            _run(steps)

        return outputs, launch

    def condition(self):
        assert self.capturing, "a condition outside a capture"
        return Condition()

    def set_condition(self, condition, predicate):
        assert predicate.dtype == np.bool_ and predicate.size == 1, predicate
        plain = _plain(predicate)

        def step():
            condition.value = int(bool(plain.reshape(())))

        _record(step)

    @contextlib.contextmanager
    def _body(self, steps):
        RECORDING.append(steps)
        try:
            yield
        finally:
            RECORDING.pop()

    def while_body(self, condition):
        body: list = []
        self.nodes.append("while")

        def step():
            for _ in range(100_000):
                if not condition.value:
                    return
                _run(body)
            raise AssertionError("the WHILE node never stopped")

        _record(step)
        return self._body(body)

    def if_else_bodies(self, condition):
        then: list = []
        other: list = []
        self.nodes.append("if/else")
        _record(lambda: _run(then if condition.value else other))
        return self._body(then), self._body(other)


def gpu_replay(fn, *args, cuda_graphs=True, conditions=None, fusion=False, **options):
    """``fn``'s graph compiled by the GPU executor on the fake CuPy. The fake has no
    ``ElementwiseKernel``: with ``fusion``, fused nodes run op by op (``evaluate_fused``) on
    its arrays, so their reads are counted too (a fused kernel itself reads nothing back)."""
    graph = aj.function(fn, **options).get_concrete_function(*args).graph
    device = Device("GPU", 0, fake_cupy())
    replay, source = compile_gpu(graph, device, "step", [], fusion=fusion,
                                 cuda_graphs=cuda_graphs, conditions=conditions)
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


def test_a_loop_over_a_known_range_indexes_with_a_host_counter_and_can_be_captured():
    """``for t in aj.range(100)``: the counter is a Python int, so ``x[t]`` and the reverse
    loop's saved states read nothing back and the step (unrolled) is capturable (issue 11's
    loop workload; the range used to be materialised and gathered from, a device index)."""
    def loop(x, w):
        with aj.GradientTape() as tape:
            tape.watch(w)
            y = aj.zeros((4,), dtype=aj.float64)
            for t in aj.range(6):
                y = (y + x[t]) * w
            loss = aj.reduce_sum(y)
        return loss, tape.gradient(loss, w)

    x, w = np.linspace(-1, 1, 24).reshape(6, 4), np.float64(0.9)
    graph = graph_of(loop, aj.constant(x), aj.constant(w))
    assert "gather" not in str(graph)
    assert plan_capture(graph, capturable_blas=True).capturable
    replay, source = gpu_replay(loop, aj.constant(x), aj.constant(w), cuda_graphs=False)
    reads, (loss, grad) = count_reads(replay, x, w)
    ys, y = [], np.zeros(4)
    for t in range(6):
        ys.append(y)
        y = (y + x[t]) * w
    dw, g = 0.0, np.ones(4)
    for t in reversed(range(6)):
        dw += (g * (ys[t] + x[t])).sum()
        g = g * w
    assert reads == 0, source
    np.testing.assert_allclose([loss, grad], [y.sum(), dw], rtol=1e-12)


def test_fusion_keeps_loop_counters_on_the_host(monkeypatch):
    """Fused nodes must not swallow host scalars: a fused ``i + 1, i < n`` made the counter of
    every ``for t in aj.range(100)`` a device value read back at each test."""
    from autojit.graph.executors import cupy as gpu_executor

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))

    def ranged(x):
        for t in aj.range(5):
            x = aj.sin(x) * 0.5 + aj.cast(t, aj.float64)
        return x

    def known_rows(x, w):
        y = aj.zeros((2,), dtype=aj.float64)
        for t in aj.range(3):
            y = (y + x[t]) * w
        return y

    x = np.array([0.1, 0.2])
    replay, source = gpu_replay(ranged, aj.constant(x), fusion=True)
    assert "fused" in source
    reads, (out,) = count_reads(replay, x)
    expected = x
    for t in range(5):
        expected = np.sin(expected) * 0.5 + t
    np.testing.assert_allclose(out, expected)
    assert reads == 0, source
    rows = np.arange(6.0).reshape(3, 2)
    replay, source = gpu_replay(known_rows, aj.constant(rows), aj.constant(np.float64(0.5)),
                                fusion=True)
    reads, (out,) = count_reads(replay, rows, np.float64(0.5))
    assert reads == 0, source
    np.testing.assert_allclose(out, ((((rows[0] * 0.5) + rows[1]) * 0.5) + rows[2]) * 0.5)
    reads, _ = count_reads(gpu_replay(doubling, aj.constant(x), fusion=True)[0], x)
    assert reads == 10  # one per loop test, fused or not: 0.3 doubles 9 times to pass 100


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


# --------------------------------------------------------------------------------------------
# Planning: which tensor loops and conds become conditional nodes, and why not


def graph_of(fn, *args, **options):
    return aj.function(fn, **options).get_concrete_function(*args).graph


def plan_of(fn, *args, unsupported=None, **options):
    graph = graph_of(fn, *args, **options)
    return graph, plan_device_loops(graph, capturable_blas=True, unsupported=unsupported or {})


def line_of(fn, text):
    """The line number of the first line of ``fn``'s source containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


X3 = aj.constant(np.array([1.0, 2.0, 0.5]))


def test_a_tensor_loop_with_a_capturable_body_becomes_a_while_node():
    graph, plan = plan_of(doubling, X3)
    assert [n.op.name for n in plan.device] == ["while_loop"]
    line = line_of(doubling, "while")
    assert str(plan) == f"while_loop (test_device_loops.py:{line}): a conditional WHILE node"
    capture = plan_capture(graph, capturable_blas=True, device_loops=plan.reasons)
    assert capture.capturable, capture
    assert not plan_capture(graph, capturable_blas=True).capturable  # without: a host read


def test_a_body_that_reads_back_keeps_the_loop_on_the_host_and_says_why():
    def shouting(v):
        while aj.reduce_sum(v) < 100.0:
            aj.print(v)
            v = v * 2.0
        return v

    def segmented(x, ids, n):  # segment ids are checked on the host (sorted, in range)
        y = aj.zeros((2,), dtype=aj.float64)
        for _ in aj.range(n):
            y = (y + aj.math.segment_sum(x, ids)[0]) * 0.5
        return y

    graph, plan = plan_of(shouting, X3)
    line = line_of(shouting, "aj.print")
    assert plan.device == []
    assert plan.describe() == [
        (f"while_loop (test_device_loops.py:{line - 1}) stays on the host: its body: print "
        f"(test_device_loops.py:{line}) prints on the host")]
    reasons = plan_capture(graph, capturable_blas=True, device_loops=plan.reasons).reasons
    assert any(r.startswith("while_loop (") and "(no conditional node: its body: print" in r
               for r in reasons), reasons
    _, plan = plan_of(segmented, aj.constant(np.ones((4, 2))),
                      aj.constant(np.array([0, 0, 1, 1], np.int32)), aj.constant(3))
    assert plan.device == []
    assert re.search(r"its body: segment_sum \(test_device_loops.py:\d+\) checks index "
                     "values on the host", str(plan)), str(plan)


def test_a_tensor_counted_loop_indexing_x_t_becomes_a_while_node():
    # ``t`` counts on the device (``n`` is a tensor): ``x[t]`` is a ``take`` (``x[int(t)]``
    # would read it back) and its range check a device flag (Note [Deferred checks]).
    def indexed(x, n):
        y = aj.zeros((2,), dtype=aj.float64)
        for t in aj.range(n):
            y = (y + x[t]) * 0.5
        return y

    x = np.arange(8.0).reshape(4, 2)
    check_against_cpu(indexed, [(x, np.int32(n)) for n in (3, 4, 1, 0, 2)], ["while"])


def nested(v):
    """A tensor loop holding another."""
    while aj.reduce_sum(v) < 1000.0:
        u = v
        while aj.reduce_max(u) < 4.0:
            u = u + 1.0
        v = v + u
    return v


def test_nested_loops_become_nested_while_nodes_unless_the_inner_one_reads_back():
    def nested_print(v):
        while aj.reduce_sum(v) < 1000.0:
            u = v
            while aj.reduce_max(u) < 4.0:
                aj.print(u)
                u = u + 1.0
            v = v + u
        return v

    _, plan = plan_of(nested, X3)
    assert [n.op.name for n in plan.device] == ["while_loop", "while_loop"]
    _, plan = plan_of(nested_print, X3)
    assert plan.device == []
    outer, inner = plan.describe()
    assert "stays on the host: its body: while_loop (test_device_loops.py:" in outer
    assert "reads its loop test back on the host every iteration (no conditional node: its " \
           "body: print" in outer
    assert "stays on the host: its body: print" in inner  # planned again as inline code


def test_a_loop_whose_state_changes_shape_stays_on_the_host():
    def growing(v):
        while aj.reduce_sum(v) < 100.0:
            v = aj.concat([v, v], axis=0)
        return v

    _, plan = plan_of(growing, X3)
    assert plan.describe() == [
        (f"while_loop (test_device_loops.py:{line_of(growing, 'while')}) stays on the host: "
        "its loop state has a shape known only at run time")]


def test_a_loop_saving_its_iterations_for_a_gradient_stays_on_the_host():
    def grad(v):
        with aj.GradientTape() as tape:
            tape.watch(v)
            loss = aj.reduce_sum(doubling(v))
        return tape.gradient(loss, v)

    _, plan = plan_of(grad, X3)
    assert any("saves every iteration's state for a gradient" in line
               for line in plan.describe()), str(plan)
    assert plan.device == []


def test_tensor_conds_become_if_else_nodes_unless_a_branch_reads_back():
    def printing_branch(v):
        if aj.reduce_sum(v) > 0:
            aj.print(v)
            v = v * 2.0
        else:
            v = v - 1.0
        return v

    _, plan = plan_of(big_branch, X3)
    assert [n.op.name for n in plan.device] == ["cond"]
    assert str(plan).startswith("cond (test_device_loops.py:")
    assert str(plan).endswith(": a conditional IF/ELSE node")
    _, plan = plan_of(printing_branch, X3)
    assert plan.device == []
    assert "stays on the host: its true branch: print (test_device_loops.py:" in str(plan)


def test_a_device_without_conditional_nodes_keeps_loops_on_the_host_and_the_plan_says_why():
    why = {"while_loop": "conditional nodes need a CUDA 12.4+ driver (found 12.2)"}
    graph, plan = plan_of(doubling, X3, unsupported=why)
    assert plan.device == []
    reasons = plan_capture(graph, capturable_blas=True, device_loops=plan.reasons).reasons
    assert reasons == [
        (f"while_loop (test_device_loops.py:{line_of(doubling, 'while')}) reads its loop test back "
        "on the host every iteration (no conditional node: conditional nodes need a CUDA 12.4+ "
        "driver (found 12.2))")]


# --------------------------------------------------------------------------------------------
# Building: captured replays with conditional nodes give the CPU replay's results


def captured_replay(fn, *args):
    """``fn`` compiled for the fake GPU with conditional nodes built by ``FakeConditions``."""
    api = FakeConditions()
    replay, source = gpu_replay(fn, *args, conditions=lambda: api)
    return replay, api, source


def check_against_cpu(fn, calls, nodes):
    """Replay ``fn`` on the fake GPU for each argument tuple in ``calls`` (the first warms up,
    the second captures, the others launch the captured graph) and compare with the CPU."""
    cpu = aj.function(fn)
    replay, api, source = captured_replay(fn, *[aj.constant(a) for a in calls[0]])
    assert "with conditional nodes for" in replay.report(), replay.report()
    for k, args in enumerate(calls):
        reads, outs = count_reads(replay, *args)
        expected = cpu(*[aj.constant(a) for a in args])
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        for out, e in zip(outs, expected):
            np.testing.assert_allclose(out, e.numpy(), rtol=1e-12, err_msg=source)
        if k >= 1:
            assert reads == 0, f"call {k} read {reads} values back"
    assert replay.captured.captures == 1 and api.launches == len(calls) - 1
    assert sorted(api.nodes) == sorted(nodes)
    return replay


def recurrence(x, w, n):
    """``y = (y + x[t]) * w`` for ``t < n``, ``x[t]`` as a masked sum (indexing checks its
    index on the host)."""
    steps = aj.constant(np.arange(6, dtype=np.int32))
    y = aj.zeros_like(w)
    t = aj.constant(0)
    while t < n:
        row = aj.reduce_sum(x * aj.cast(aj.equal(steps, t), x.dtype)[:, None], axis=0)
        y = (y + row) * w
        t = t + 1
    return y


def test_a_recurrence_with_a_tensor_trip_count_is_one_while_node():
    rng = np.random.default_rng(0)
    calls = [(rng.normal(size=(6, 4)), rng.normal(size=4), np.int32(n)) for n in (3, 6, 0, 2, 5)]
    check_against_cpu(recurrence, calls, ["while"])


def test_a_loop_with_a_data_dependent_trip_count_replays_each_count():
    calls = [(np.array([1.0, 2.0, 0.5]) * s,) for s in (1.0, 20.0, 0.01, 3.0, 200.0)]
    check_against_cpu(doubling, calls, ["while"])


def test_a_tensor_cond_is_one_if_else_node_taking_either_branch():
    x = np.array([0.5, -0.25])
    check_against_cpu(big_branch, [(x,), (-x,), (x,), (-2 * x,)], ["if/else"])  # a host count


def test_maximum_iterations_and_swapped_loop_variables_on_the_device():
    def fibonacci(a, b, n):
        return aj.while_loop(lambda a, b: aj.reduce_sum(b) < 1e6, lambda a, b: (b, a + b),
                             (a, b), maximum_iterations=n)

    def swap(p, q, s):  # state buffers exchanged through a staged copy
        return aj.while_loop(lambda p, q, s: aj.reduce_sum(s) < 10.0,
                             lambda p, q, s: (q, p, s + 1.0), (p, q, s))

    calls = [(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.int32(n)) for n in (5, 100, 0, 7)]
    check_against_cpu(fibonacci, calls, ["while"])
    calls = [(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([s])) for s in (7.0, 6.0, 9.5)]
    check_against_cpu(swap, calls, ["while"])


def test_nested_tensor_loops_are_nested_while_nodes():
    calls = [(np.array([1.0, 2.0, 0.5]) * s,) for s in (1.0, 0.1, 30.0, 2.0)]
    check_against_cpu(nested, calls, ["while", "while"])


def test_a_variable_updated_in_a_device_loop_is_updated_at_each_launch():
    w = aj.Variable(np.zeros(3))
    w._array = _device(w._array)  # the fake device's memory

    def accumulate(v):
        while aj.reduce_sum(v) < 100.0:
            w.assign_add(v)
            v = v * 2.0
        return v

    graph = graph_of(accumulate, X3)
    api = FakeConditions([w])
    replay, _ = compile_gpu(graph, Device("GPU", 0, fake_cupy()), "step", [w], fusion=False,
                            conditions=lambda: api)
    expected = np.zeros(3)
    for k, scale in enumerate((1.0, 10.0, 0.5, 3.0)):
        x = np.array([1.0, 2.0, 0.5]) * scale
        reads, (out,) = count_reads(replay, x)
        while x.sum() < 100.0:
            expected, x = expected + x, x * 2.0
        np.testing.assert_allclose(out, x)
        np.testing.assert_allclose(w.numpy(), expected)  # visible eagerly after each step
        assert k == 0 or reads == 0
    assert replay.captured.captures == 1 and api.nodes == ["while"]


def test_a_counter_that_lowering_moves_to_the_device_makes_its_cond_a_node_too():
    def counted_then_branch(v):
        i = aj.constant(0)
        while aj.reduce_sum(v) < 100.0:  # i is a host int until this loop is a WHILE node
            v = v * 2.0
            i = i + 1
        if i > 3:
            v = big_branch(v * 0.001)  # a tensor if of its own: a nested IF/ELSE node
        else:
            v = -v
        return v, i

    calls = [(np.array([1.0, 2.0, 0.5]) * s,) for s in (1.0, 30.0, 0.1, 1.0)]
    replay = check_against_cpu(counted_then_branch, calls, ["while", "if/else", "if/else"])
    assert re.fullmatch(r"capturable as one CUDA graph, with conditional nodes for while_loop "
                        r"\(test_device_loops.py:\d+\)(, cond \(test_device_loops.py:\d+\)){2}",
                        replay.report()), replay.report()


# --------------------------------------------------------------------------------------------
# Fallbacks: each reason conditional nodes are not used, as the replay's report gives it


def test_without_usable_conditional_nodes_the_report_says_why(monkeypatch):
    replay, _ = gpu_replay(doubling, X3)  # the fake CuPy has no ExternalStream
    assert replay.captured is None
    assert replay.report().endswith("(no conditional node: this CuPy has no cuda.ExternalStream "
                                    "to launch into cuda.core's graph builder)")
    cupy = types.SimpleNamespace(cuda=types.SimpleNamespace(ExternalStream=object))
    system = pytest.importorskip("cuda.core.system", reason="cuda.core is not installed")
    monkeypatch.setattr(device_loops, "_SUPPORT", {})
    monkeypatch.setattr(system, "get_user_mode_driver_version", lambda: (12, 2))
    assert device_loops.conditional_support(cupy) == {
        "while_loop": "conditional nodes need a CUDA 12.4+ driver (found 12.2)",
        "cond": "if/else conditional nodes need a CUDA 12.8+ driver (found 12.2)"}
    monkeypatch.setattr(device_loops, "_SUPPORT", {})
    monkeypatch.setattr(system, "get_user_mode_driver_version", lambda: (12, 6))
    assert device_loops.conditional_support(cupy) == {
        "cond": "if/else conditional nodes need a CUDA 12.8+ driver (found 12.6)"}
    monkeypatch.setattr(device_loops, "_SUPPORT", {})
    monkeypatch.setattr(system, "get_user_mode_driver_version", lambda: (13, 0))
    assert device_loops.conditional_support(cupy) == {}

    def no_driver():
        raise RuntimeError("no libcuda")

    monkeypatch.setattr(device_loops, "_SUPPORT", {})
    monkeypatch.setattr(system, "get_user_mode_driver_version", no_driver)
    assert device_loops.conditional_support(cupy)["while_loop"] == (
        "the CUDA driver version is unknown (RuntimeError: no libcuda)")
    monkeypatch.setattr(device_loops, "_SUPPORT", {})
    monkeypatch.setitem(__import__("sys").modules, "cuda.core", None)  # import fails
    assert device_loops.conditional_support(cupy)["cond"] == (
        "cuda.core is not installed (pip install cuda-core)")


def test_a_conditions_api_that_cannot_be_set_up_keeps_loops_on_the_host():
    def broken():
        raise RuntimeError("NVRTC failed")

    replay, _ = gpu_replay(doubling, X3, conditions=broken)
    assert replay.captured is None
    assert replay.report().endswith("(no conditional node: cuda.core could not be set up "
                                    "(RuntimeError: NVRTC failed))")
    reads, (out,) = count_reads(replay, np.array([1.0, 2.0, 0.5]))
    np.testing.assert_allclose(out, np.array([1.0, 2.0, 0.5]) * 32.0)
    assert reads == 6


def test_a_capture_that_fails_falls_back_to_host_loops_for_good():
    class Failing(FakeConditions):
        def while_body(self, condition):
            raise RuntimeError("cudaErrorNotSupported")

    api = Failing()
    replay, _ = gpu_replay(doubling, X3, conditions=lambda: api)
    x = np.array([1.0, 2.0, 0.5])
    for k in range(3):
        reads, (out,) = count_reads(replay, x)
        np.testing.assert_allclose(out, x * 32.0)
        assert reads == 6  # the warm-up, then the runner's host loop after the failure
    assert replay.report() == "not captured: capture failed: RuntimeError: cudaErrorNotSupported"
    assert api.launches == 0


def test_lowering_keeps_a_graph_that_is_not_capturable_for_another_reason_as_it_was():
    def noisy(v):
        v = v + aj.random.normal((3,), dtype=aj.float64)
        return doubling(v)

    graph = graph_of(noisy, X3)
    lowered, plan, api = conditional_capture(graph, True, {}, lambda sub, name: None,
                                             lambda: FakeConditions())
    assert lowered is None and api is None
    assert any("random numbers" in r for r in plan.reasons) and len(plan.reasons) == 1, plan


# --------------------------------------------------------------------------------------------
# The set-condition kernel and cuda.core's API


def test_the_set_condition_kernel_compiles_with_nvrtc():
    nvrtc = pytest.importorskip(
        "cuda.bindings.nvrtc",
        reason="NVRTC is not installed (pip install -e '.[nvrtc]' to compile generated kernels)")
    program = nvrtc_compile(nvrtc, device_loops.SET_CONDITION_SOURCE, "set_condition.cu",
                            [b"--gpu-architecture=sm_80", b"-std=c++17"])
    _, size = nvrtc.nvrtcGetCUBINSize(program)
    assert size > 0
    nvrtc.nvrtcDestroyProgram(program)


def _signature(fn) -> inspect.Signature:
    """``fn``'s signature; for a Cython class, from the first line of its docstring."""
    try:
        return inspect.signature(fn)
    except ValueError:
        line = fn.__doc__.splitlines()[0]
        text, params, depth, part = line[line.index("(") + 1:line.rindex(")")], [], 0, ""
        for char in text + ",":
            if char in "[(":
                depth += 1
            elif char in "])":
                depth -= 1
            if char == "," and depth == 0:
                name = re.split(r"[:=]", part)[0].strip().split()[-1]
                params.append(name + ("=None" if "=" in part else ""))
                part = ""
            else:
                part += char
        namespace: dict = {}
        exec(f"def f({', '.join(params)}): pass", namespace)  # noqa: S102
        return inspect.signature(namespace["f"])


class FakeCore:
    """A stand-in for cuda.core that logs the calls ``CudaCoreConditions`` makes, each bound
    first to the real function's signature (so a wrong name or argument fails here)."""

    def __init__(self, real):
        self.real, self.log, self.streams = real, [], 0
        core = self

        def checked(real_fn, name, *args, **kwargs):
            _signature(real_fn).bind(*args, **kwargs)
            core.log.append((name, *[a for a in args if not isinstance(a, _Fake)],
                             *kwargs.values()))

        class _Fake:
            pass

        class Builder(_Fake):
            def __init__(self, ptr):
                self.ptr = ptr

            def __cuda_stream__(self):
                return (0, self.ptr)

            def begin_building(self, *args):
                checked(real.graph.GraphBuilder.begin_building, "begin_building", self, *args)

            def end_building(self):
                checked(real.graph.GraphBuilder.end_building, "end_building", self)

            def create_condition(self, **kwargs):
                checked(real.graph.GraphBuilder.create_condition, "create_condition", self,
                        **kwargs)
                return "condition"

            def while_loop(self, condition):
                checked(real.graph.GraphBuilder.while_loop, "while_loop", self, condition)
                return Builder(self.ptr + 1)

            def if_else(self, condition):
                checked(real.graph.GraphBuilder.if_else, "if_else", self, condition)
                return Builder(self.ptr + 1), Builder(self.ptr + 2)

            def complete(self):
                checked(real.graph.GraphBuilder.complete, "complete", self)
                graph = _Fake()
                graph.launch = lambda stream: checked(real.graph.Graph.launch, "graph.launch",
                                                      graph, stream)
                return graph

        class Stream(_Fake):
            def create_graph_builder(self):
                checked(real.Stream.create_graph_builder, "create_graph_builder", self)
                return Builder(100)

        class Device(_Fake):
            compute_capability = (9, 0)

            def __init__(self, index):
                checked(real.Device, "Device", index)

            def set_current(self):
                checked(real.Device.set_current, "set_current", self)

            def create_stream(self, *args):
                checked(real.Device.create_stream, "create_stream", self, *args)
                return Stream()

        class Program(_Fake):
            def __init__(self, *args, **kwargs):
                checked(real.Program, "Program", *args[1:], **kwargs)

            def compile(self, *args):
                checked(real.Program.compile, "compile", self, *args)
                code = _Fake()
                code.get_kernel = lambda name: name
                return code

        self.Device, self.Program = Device, Program
        self.ProgramOptions = real.ProgramOptions
        self.LEGACY_DEFAULT_STREAM = "legacy stream"
        self.LaunchConfig = real.LaunchConfig
        self.launch = lambda *args: checked(real.launch, "launch", *args)


def test_the_cuda_core_conditions_api_calls_cuda_core_as_documented(monkeypatch):
    real = pytest.importorskip("cuda.core", reason="cuda.core is not installed")
    import cuda.core.graph  # noqa: F401

    core = FakeCore(real)
    monkeypatch.setitem(__import__("sys").modules, "cuda.core", core)
    monkeypatch.setattr(device_loops, "_SET_CONDITION", {})
    entered = []

    @contextlib.contextmanager
    def external_stream(ptr):
        entered.append(ptr)
        yield

    class Array:
        def __init__(self, ptr):
            self.data = types.SimpleNamespace(ptr=ptr)

        def __setitem__(self, key, value):
            pass

    current = types.SimpleNamespace(ptr=7, synchronize=lambda: None)
    xp = types.SimpleNamespace(
        empty_like=lambda a: Array(50), empty=lambda shape, dtype: Array(60),
        get_default_memory_pool=lambda: types.SimpleNamespace(malloc=lambda size: None),
        cuda=types.SimpleNamespace(ExternalStream=external_stream,
                                   get_current_stream=lambda: current,
                                   using_allocator=lambda allocate: contextlib.nullcontext()))
    api = device_loops.CudaCoreConditions(xp, device_index=0)
    loop = device_loops.DeviceWhile(lambda v: (Array(1),), lambda v: (Array(2),), n_vars=1,
                                    has_max=False, api=api)
    cond = device_loops.DeviceCond((lambda x: (x,), lambda x: (x,)), [((3,), np.float32)], api)
    outputs, launch = api.capture(lambda: (loop(xp, Array(40)), cond(xp, Array(3), Array(41))))
    assert [[a.data.ptr for a in out] for out in outputs] == [[50], [60]]  # fixed buffers
    launch()
    assert not api.capturing and entered == [100, 101, 101, 102]
    names = [entry[0] for entry in core.log]
    assert names == [
        "Device", "set_current", "Program", "compile", "create_stream", "create_graph_builder",
        "begin_building", "create_condition", "launch", "while_loop", "begin_building", "launch",
        "end_building", "create_condition", "launch", "if_else", "begin_building",
        "end_building", "begin_building", "end_building", "end_building", "complete",
        "create_stream", "graph.launch"]
    assert ("create_condition", 0) in core.log and ("compile", "cubin") in core.log
    launches = [entry for entry in core.log if entry[0] == "launch"]
    assert [entry[-2:] for entry in launches] == [("condition", 1), ("condition", 1),
                                                 ("condition", 3)]
    current.ptr = 0  # CuPy's legacy default stream
    launch()
    assert core.log[-1] == ("graph.launch", "legacy stream")




def test_tensor_loops_and_conds_on_a_gpu_match_the_cpu():
    if not aj.gpu_available():
        pytest.skip("needs CuPy and a CUDA device (run bench/gpu_check.sh on a GPU machine)")
    import cupy

    rng = np.random.default_rng(1)
    cases = [
        (doubling, [(np.array([1.0, 2.0, 0.5]) * s,) for s in (1.0, 20.0, 0.01, 3.0)]),
        (big_branch, [(np.array([0.5, -0.25]) * s,) for s in (1.0, -1.0, 2.0, -3.0)]),
        (recurrence, [(rng.normal(size=(6, 4)), rng.normal(size=4), np.int32(n))
                      for n in (3, 6, 0, 2)]),
    ]
    support = device_loops.conditional_support(cupy)
    for fn, calls in cases:
        cpu = aj.function(fn)
        with aj.device("GPU:0"):
            gpu = aj.function(fn)
            for args in calls:  # warm-up, capture, launches with other trip counts
                out = gpu(*[aj.constant(a) for a in args]).numpy()
                np.testing.assert_allclose(out, cpu(*[aj.constant(a) for a in args]).numpy(),
                                           rtol=1e-12)
            report = gpu.get_concrete_function(*[aj.constant(a) for a in calls[0]])._fn.report()
        if not support:
            assert "with conditional nodes for" in report, report
