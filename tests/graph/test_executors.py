"""The executor seam, CUDA-graph capture planning and the captured replay's buffer handling,
all on the CPU: the planner reads only the graph, and ``CapturedReplay`` runs against a fake
device API that behaves like a captured graph (kernels recorded at capture, replayed onto the
same buffers at each launch)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.graph.codegen import generate
from autojit.graph.executors import compile_graph
from autojit.graph.executors.capture import CaptureAPI, CapturedReplay, plan_capture

CPU = aj.get_device("CPU:0")


def graph_of(fn, *args, **options):
    return aj.function(fn, **options).get_concrete_function(*args).graph


def mlp_step_graph():
    w = aj.Variable(np.ones((4, 3), np.float32))
    opt = aj.optimizers.SGD(0.1)

    def step(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(aj.nn.relu(x @ w)))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    return graph_of(step, aj.constant(np.ones((2, 4), np.float32)))


def test_a_training_step_is_capturable_only_with_capturable_blas():
    graph = mlp_step_graph()
    assert plan_capture(graph, capturable_blas=True).capturable
    plan = plan_capture(graph, capturable_blas=False)
    assert not plan.capturable
    assert "matmul" in plan.reasons[0] and "nvmath-python" in plan.reasons[0]
    assert str(plan).startswith("not captured: matmul (")


def test_ops_calling_cupys_own_cublas_are_not_capturable():
    # CuPy refuses cuBLAS/cuSOLVER during stream capture: convolutions (matrix products of
    # patches), einsum, inverses, and matmuls the capturable gemm does not take
    x = aj.constant(np.ones((1, 4, 4, 2), np.float32))
    k = aj.constant(np.ones((2, 2, 2, 3), np.float32))
    cases = {
        "conv2d": (lambda x, k: aj.nn.conv2d(x, k, 1, "SAME"), (x, k), "cuBLAS"),
        "einsum": (lambda a: aj.einsum("ij,jk->ik", a, a), (aj.ones((3, 3)),), "cuBLAS"),
        "matrix_inverse": (aj.linalg.inv, (aj.eye(3),), "cuSOLVER"),
    }
    for name, (fn, args, library) in cases.items():
        plan = plan_capture(graph_of(fn, *args, autograph=False), capturable_blas=True)
        assert not plan.capturable, name
        assert plan.reasons[0].startswith(f"{name} (test_executors.py:"), plan.reasons
        assert plan.reasons[0].endswith(f"calls CuPy's {library} in its kernel, which is "
                                        "refused during stream capture"), plan.reasons
    batched = plan_capture(graph_of(aj.matmul, aj.ones((2, 3, 3)), aj.ones((2, 3, 3)),
                                    autograph=False), capturable_blas=True)
    assert batched.reasons[0].endswith(
        "of float32[2, 3, 3] and float32[2, 3, 3] goes to CuPy's cuBLAS (the capturable "
        "bindings take 2-D float32/float64 operands), which is refused during stream capture")


def test_every_op_whose_kernel_calls_cupys_libraries_is_known_to_the_planner():
    import inspect

    from autojit.graph.executors import capture
    from autojit.ops import core

    calls = ("xp.matmul", "xp.einsum", "xp.linalg", "xp.tensordot", "xp.dot", "xp.fft")
    for name, op in core.registry().items():
        sources = [op.source or ""]  # a kernel made from a string: the op's text
        for fn in [op.kernel, *op.namespace.values()]:  # and the functions it calls
            try:
                sources.append(inspect.getsource(fn))
            except (OSError, TypeError):
                pass
        if any(c in s for s in sources for c in calls) and name not in ("matmul",
                                                                         "matmul_assign"):
            assert name in capture._LIBRARY_OPS, name


def test_host_synchronisations_are_named_with_the_users_line():
    def branch(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x)

    def loop(x):
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 100.0, lambda v: (v * 2.0,), (x,))[0]

    def counted(x):  # a Python-int counter: the test stays on the host, nothing is read back
        return aj.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2.0), (0, x))[1]

    def guarded(x):  # a raise under a tensor if becomes a graph assert
        if aj.reduce_sum(x) < 0:
            raise ValueError("negative")
        return x * 2.0

    def segments(x, ids):  # gather's index check runs on the device; this one cannot
        return aj.math.segment_sum(x, ids)

    def noisy(x):
        return x + aj.random.normal((3,), dtype=aj.float64)

    def shout(x):
        aj.print(x)
        return x * 1.0

    x = aj.constant(np.ones(3))
    cases = {
        "cond": (branch, (x,), "chooses its branch on the host"),
        "while_loop": (loop, (x,), "loop test back on the host"),
        "segment_sum": (segments, (x, aj.constant([0, 0, 2])), "checks index values on the host"),
        "random": (noisy, (x,), "random numbers"),
        "print": (shout, (x,), "prints on the host"),
    }
    plan = plan_capture(graph_of(guarded, x), capturable_blas=True)
    assert not plan.capturable
    assert plan.reasons[0].startswith("assert (test_executors.py:")
    assert plan.reasons[0].endswith("checks its condition on the host")
    assert plan_capture(graph_of(counted, x, autograph=False), capturable_blas=True).capturable
    for what, (fn, args, text) in cases.items():
        plan = plan_capture(graph_of(fn, *args, autograph=False), capturable_blas=True)
        assert not plan.capturable, what
        assert any(text in r and "test_executors.py:" in r for r in plan.reasons), plan.reasons

    unknown = aj.function(lambda x: x * 2.0,
                          input_signature=[aj.TensorSpec([None], aj.float64)])
    plan = plan_capture(unknown.get_concrete_function().graph, capturable_blas=True)
    assert plan.reasons == ["an input shape is unknown until run time"]


class FakeCapture(CaptureAPI):
    """Captured-graph semantics on NumPy: capture records the function without running its
    effects (Variables are restored), and each launch reruns it and writes its results into
    the buffers the capture returned, as a CUDA graph writes to fixed addresses."""

    def __init__(self, variables):
        self.variables = variables
        self.launches = 0

    def empty_like(self, array):
        return np.empty_like(array)

    def copy_into(self, target, source):
        target[...] = source

    def copy(self, array):
        return array.copy()

    def capture(self, fn):
        saved = [v._array.copy() for v in self.variables]
        outputs = tuple(np.array(o) for o in fn())
        for v, array in zip(self.variables, saved):
            v._array[...] = array

        def launch():
            self.launches += 1
            for static, result in zip(outputs, fn()):
                static[...] = result

        return outputs, launch


def test_captured_replays_equal_uncaptured_ones_and_never_alias_their_buffers():
    w = aj.Variable(np.full((3,), 2.0))

    @aj.function
    def step(x):
        w.assign(w * 0.5 + x)
        return aj.reduce_sum(w * x), w * 1.0

    x0 = aj.constant(np.ones(3))
    concrete = step.get_concrete_function(x0)
    fn, _ = generate(concrete.graph, CPU, "step")
    w_reference = np.full((3,), 2.0)
    api = FakeCapture([w])
    replay = CapturedReplay(fn, [w], api, warmup=1)
    previous = previous_w = None
    rng = np.random.default_rng(0)
    for call in range(12):
        x = rng.normal(size=3)
        caller_input = x.copy()
        total, w_out = replay(caller_input)
        caller_input[...] = 99.0  # the caller reuses its buffer: the replay copied it
        w_reference = w_reference * 0.5 + x
        np.testing.assert_allclose(w.numpy(), w_reference)  # visible eagerly after each step
        np.testing.assert_allclose(total, (w_reference * x).sum())
        np.testing.assert_allclose(w_out, w_reference)
        if previous is not None:  # earlier results are copies: the next launch left them
            np.testing.assert_allclose(previous[1], previous_w)
        previous, previous_w = (total, w_out), w_reference.copy()
    assert replay.captures == 1 and api.launches == 11


def test_a_replaced_variable_buffer_means_a_new_capture():
    w = aj.Variable(np.ones(2))

    @aj.function
    def f(x):
        return w * x

    fn, _ = generate(f.get_concrete_function(aj.constant(np.ones(2))).graph, CPU, "f")
    replay = CapturedReplay(fn, [w], FakeCapture([w]), warmup=0)
    np.testing.assert_allclose(replay(np.full(2, 3.0)), [[3.0, 3.0]])
    w._array = np.full(2, 5.0)  # as an eager assign does when a tape holds the old buffer
    np.testing.assert_allclose(replay(np.full(2, 3.0)), [[15.0, 15.0]])
    assert replay.captures == 2


def test_the_cpu_path_runs_through_the_executor_seam_with_or_without_fusion():
    def f(x, y):
        return aj.tanh(x * y + 1.0) - x, aj.reduce_sum(aj.exp(x))

    x = np.linspace(-1, 1, 6).reshape(2, 3)
    y = np.linspace(0, 2, 6).reshape(2, 3)
    graph = graph_of(f, aj.constant(x), aj.constant(y))
    plain, plain_source = compile_graph(graph, CPU, "f")
    fused, fused_source = compile_graph(graph, CPU, "f", fusion=True)
    assert "fused" not in fused_source  # the CPU executor expands fused nodes back
    for a, b in zip(plain(x, y), fused(x, y)):
        np.testing.assert_array_equal(a, b)
    expected = [np.tanh(x * y + 1) - x, np.exp(x).sum()]
    for a, e in zip(plain(x, y), expected):
        np.testing.assert_allclose(a, e)


def test_config_switches_reach_the_compiled_function():
    try:
        aj.config.set_fusion(True)
        aj.config.set_cuda_graphs(False)

        @aj.function
        def f(x):
            return aj.exp(x * 2.0) + 1.0

        x = aj.constant(np.arange(3.0))
        np.testing.assert_allclose(f(x).numpy(), np.exp(np.arange(3.0) * 2) + 1)
    finally:
        aj.config.set_fusion(None)
        aj.config.set_cuda_graphs(None)


def test_gpu_executor_matches_the_cpu():
    if not aj.gpu_available():
        pytest.skip("needs CuPy and a CUDA device (run bench/gpu_check.sh on a GPU machine)")
    w = aj.Variable(np.ones((4, 3), np.float32))

    def step(x):
        return aj.nn.relu(x @ w) * 2.0 + 1.0

    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    cpu = aj.function(step)(aj.constant(x)).numpy()
    with aj.device("GPU:0"):
        gpu_fn = aj.function(step)
        for _ in range(5):  # warm-up, capture, launches
            out = gpu_fn(aj.constant(x)).numpy()
            np.testing.assert_allclose(out, cpu, rtol=1e-5)


def test_fused_kernels_are_compiled_once_per_source_and_forgotten_with_their_graph():
    import gc

    from autojit.graph.executors import cupy as gpu_executor
    from autojit.graph.passes import fuse_elementwise

    class FakeCupy:
        compiled = 0

        class ElementwiseKernel:
            def __init__(self, *source):
                FakeCupy.compiled += 1

    def fused_expr():
        graph = graph_of(lambda x: aj.exp(x * 2.0) + 1.0, aj.constant(np.ones(3)),
                         autograph=False)
        graph = fuse_elementwise(graph.clone())
        return next(n for n in graph.nodes if n.op.name == "fused").attrs["expr"]

    first, second = fused_expr(), fused_expr()
    x = np.ones(3)
    kernel, _ = gpu_executor._compiled(FakeCupy, first, [x])
    assert gpu_executor._compiled(FakeCupy, second, [x])[0] is kernel
    assert gpu_executor._compiled(FakeCupy, first, [x])[0] is kernel
    assert FakeCupy.compiled == 1
    held = len(gpu_executor._BY_EXPR)
    del first
    gc.collect()
    assert len(gpu_executor._BY_EXPR) == held - 1


def test_blocks_allocated_during_capture_stay_with_the_captured_graph():
    """A captured graph writes its intermediates into the blocks it was captured with at every
    launch; were they returned to the pool when the capture's arrays die, eager code could be
    handed them and see them overwritten. ``CupyCapture`` keeps them with its launcher."""
    import contextlib
    import gc
    import types
    import weakref

    from autojit.graph.executors.cupy import CupyCapture

    class Block:  # stands in for cupy.cuda.MemoryPointer
        def __init__(self, size):
            self.size = size

    state = {"allocator": None, "capturing": False}
    launched = []

    @contextlib.contextmanager
    def using_allocator(allocator):
        previous, state["allocator"] = state["allocator"], allocator
        try:
            yield
        finally:
            state["allocator"] = previous

    class Stream:
        def __init__(self, non_blocking=False):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def begin_capture(self):
            state["capturing"] = True

        def end_capture(self):
            state["capturing"] = False
            return types.SimpleNamespace(launch=lambda stream: launched.append(stream))

    current = types.SimpleNamespace(synchronize=lambda: None)
    pool = types.SimpleNamespace(malloc=Block)
    xp = types.SimpleNamespace(
        get_default_memory_pool=lambda: pool,
        cuda=types.SimpleNamespace(Stream=Stream, using_allocator=using_allocator,
                                   get_current_stream=lambda: current))

    def step():  # what a replay does during capture: allocate, keep only its output
        assert state["capturing"] and state["allocator"] is not None
        scratch = [state["allocator"](64) for _ in range(3)]
        out = state["allocator"](16)
        weak[:] = [weakref.ref(b) for b in scratch]
        return out

    weak: list = []
    outputs, launch = CupyCapture(xp).capture(step)
    gc.collect()
    assert state["allocator"] is None  # the pool's own allocator is back after capture
    assert all(ref() is not None for ref in weak)  # intermediates outlive the capture
    launch()
    assert launched == [current]
    del launch
    gc.collect()
    assert all(ref() is None for ref in weak)  # and die with the graph


def _fake_nvmath(monkeypatch, create):
    """``nvmath.bindings.cublas`` as a module whose ``create`` is ``create``."""
    import sys
    import types

    cublas = types.SimpleNamespace(create=create, set_workspace=lambda *args: None)
    bindings = types.ModuleType("nvmath.bindings")
    bindings.cublas = cublas
    monkeypatch.setitem(sys.modules, "nvmath", types.ModuleType("nvmath"))
    monkeypatch.setitem(sys.modules, "nvmath.bindings", bindings)


def test_the_cublas_kernel_is_made_once_per_device_and_a_failing_load_warns(monkeypatch):
    import contextlib
    import types

    from autojit.graph.executors import cupy as gpu_executor

    def empty(n, dtype):  # a device array's data pointer
        return types.SimpleNamespace(data=types.SimpleNamespace(ptr=0), nbytes=n)

    xp = types.SimpleNamespace(empty=empty, uint8=np.uint8, cuda=types.SimpleNamespace(
        Device=lambda index: contextlib.nullcontext()))
    monkeypatch.setattr(gpu_executor, "_BLAS", {})
    handles = []
    _fake_nvmath(monkeypatch, lambda: handles.append(len(handles)) or handles[-1])
    first = gpu_executor.BlasMatmul.create(xp, 0)
    assert isinstance(first, gpu_executor.BlasMatmul) and handles == [0]
    assert gpu_executor.BlasMatmul.create(xp, 0) is first and handles == [0]  # shared
    assert gpu_executor.BlasMatmul.create(xp, 1) is not first and handles == [0, 1]

    def broken():
        raise RuntimeError("libcublas.so.12: cannot open shared object file")

    monkeypatch.setattr(gpu_executor, "_BLAS", {})
    _fake_nvmath(monkeypatch, broken)
    with pytest.warns(RuntimeWarning, match="cuBLAS did not load.*libcublas.so.12.*not "
                                            "captured"):
        assert gpu_executor.BlasMatmul.create(xp, 0) is None
    assert gpu_executor.BlasMatmul.create(xp, 0) is None  # decided once: no second warning


def test_the_kernel_count_comes_from_cudas_graph_dump_where_there_is_one():
    import types

    from autojit.graph.executors.cupy import kernel_nodes

    # the shape of cudaGraphDebugDotPrint's kernel nodes: name, then the launch configuration
    dot = ('digraph dot {\n"graph_1_node_0"[label="0\\naj_fused_1\\n\\<\\<\\<(1,1,1),'
           '(128,1,1),0\\>\\>\\>"];\n"graph_1_node_1"[label="1\\nMEMCPY\\n"];\n'
           '"graph_1_node_2"[label="2\\naj_reduce_2\\n\\<\\<\\<(1,1,1),(512,1,1),0\\>\\>\\>"];\n}')

    def launch():
        pass

    assert kernel_nodes(launch) is None  # no graph behind it (a fake capture)
    launch.graph = types.SimpleNamespace(debug_dot_str=lambda: dot.encode())
    assert kernel_nodes(launch) == 2

    def broken():
        raise RuntimeError("no dump here")

    launch.graph = types.SimpleNamespace(debug_dot_str=broken)
    assert kernel_nodes(launch) is None


def test_captured_replays_copy_contiguous_arrays_with_one_memcpy_and_others_as_cupy_does():
    """``CupyCapture.copy``/``copy_into``: a C-contiguous device array moves with one
    ``copy_from_device_async`` (cudaMemcpyAsync) of its bytes; a strided one, or a source of
    another shape or dtype, with CuPy's own copy (a kernel)."""
    import ctypes
    import types

    from autojit.graph.executors.cupy import CupyCapture

    copies = []

    class Pointer:
        def __init__(self, array):
            self.array = array

        def copy_from_device_async(self, src, size):
            copies.append(size)
            ctypes.memmove(self.array.ctypes.data, src.array.ctypes.data, size)

    class DeviceArray(np.ndarray):
        @property
        def data(self):
            return Pointer(self)

    def device(x):
        return np.ascontiguousarray(x).view(DeviceArray)

    xp = types.SimpleNamespace(
        empty_like=lambda a: np.empty_like(np.asarray(a)).view(DeviceArray),
        cuda=types.SimpleNamespace(Stream=lambda non_blocking: None))
    api = CupyCapture(xp)
    a = device(np.arange(12.0).reshape(3, 4))
    out = api.copy(a)
    assert copies == [96] and out is not a and np.array_equal(out, a)
    target = device(np.zeros((3, 4)))
    api.copy_into(target, a * 2)
    assert copies == [96, 96] and np.array_equal(target, np.arange(12.0).reshape(3, 4) * 2)
    strided = a[:, ::2]
    assert np.array_equal(api.copy(strided), np.asarray(a)[:, ::2]) and len(copies) == 2
    api.copy_into(target, device(np.ones(4)))  # broadcast: CuPy's setitem
    assert len(copies) == 2 and np.array_equal(target, np.ones((3, 4)))
    api.copy_into(device(np.zeros((0, 2))), device(np.zeros((0, 2))))  # nothing to move
    assert len(copies) == 2


def test_every_op_that_draws_random_numbers_is_known_to_the_planner():
    """A CUDA graph replays one draw forever: each op whose kernel (or a function it calls)
    draws from a generator must be named in DRAWS, which the planner reads."""
    import inspect

    from autojit.ops import core
    from autojit.ops.random import DRAWS

    drawing = set()
    for name, op in core.registry().items():
        sources = [op.source or ""]
        for fn in [op.kernel, *op.namespace.values()]:
            try:
                sources.append(inspect.getsource(fn))
            except (OSError, TypeError):
                pass
        if any("_generator(" in s for s in sources):
            drawing.add(name)
    assert {"random_normal", "random_uniform", "dropout_mask"} <= drawing
    assert drawing <= DRAWS, drawing - DRAWS
    step = graph_of(lambda x: aj.nn.dropout(x, 0.5) * 2.0, aj.ones((4,)), autograph=False)
    plan = plan_capture(step, capturable_blas=True)
    assert not plan.capturable
    assert "dropout_mask" in plan.reasons[0] and "draws random numbers" in plan.reasons[0]
