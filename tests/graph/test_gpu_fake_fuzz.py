"""The whole GPU executor pipeline (cheap conds as selects, fusion, deferred checks, the
capture planner) on autograph's random programs (tests/autograph/fuzz.py), run on the
counting fake CuPy of test_device_loops.py: each replay must equal the CPU replay, and a
graph the capture planner calls capturable must read nothing back to the host (a planner
that says yes wrongly would make a capture fail on the device). Fused nodes run op by op on
the fake's arrays, so the reads of what fusion builds are counted too.

Also every op-table entry with its derivatives through the same pipeline (op by op where an
op is its own CuPy kernel, which the fake cannot run).

``AUTOJIT_GPU_FUZZ_N`` sets the number of programs (default 150)."""

from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest

import autojit as aj
from autojit.backend import Device
from autojit.errors import AutographError, DTypeError, TracingError
from autojit.graph.executors import cupy as gpu_executor
from autojit.graph.executors.capture import plan_capture
from autojit.graph.executors.cupy import compile_gpu
from autojit.graph.passes.dce import eliminate_dead_code
from autojit.graph.passes.select import select_cheap_conds

from tests.autograph.fuzz import generate
from tests.autograph.test_fuzz import INPUTS, compile_program, same
from .test_device_checks import fake_checks
from .test_device_loops import DeviceArray, FakeConditions, _device, fake_cupy

N = int(os.environ.get("AUTOJIT_GPU_FUZZ_N", "150"))


def test_random_programs_on_the_fake_gpu_equal_the_cpu_and_the_planner_is_right(monkeypatch):
    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    checked = capturable = 0
    for seed in range(N):
        program = generate(seed)
        fn = compile_program(program.source, seed)
        traced = aj.function(fn)
        tensors = [aj.constant(INPUTS[0][0], aj.float32), aj.constant(INPUTS[0][1], aj.float32),
                   aj.constant(INPUTS[0][2], aj.int32), aj.constant(INPUTS[0][3], aj.float32)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                concrete = traced.get_concrete_function(*tensors)
        except (AutographError, DTypeError, TracingError, UnboundLocalError):
            continue
        graph = concrete.graph
        xp = fake_cupy()
        replay, source = compile_gpu(graph, Device("GPU", 0, xp), "step", [], fusion=True,
                                     cuda_graphs=False, checks=fake_checks(xp))
        planned = plan_capture(eliminate_dead_code(select_cheap_conds(graph.clone())), True)
        for x, y, n, v in INPUTS:
            arrays = [np.float32(x), np.float32(y), np.int32(n), np.array(v, np.float32)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:  # the CPU replay: the graph's outputs, as the GPU replay gives them
                    want = concrete._fn(*[np.asarray(a) for a in arrays])
                except Exception:  # noqa: BLE001 (an input this program rejects on the CPU)
                    continue
                before = DeviceArray.reads
                got = replay(*[_device(np.asarray(a)) for a in arrays])
            reads = DeviceArray.reads - before
            got = [np.asarray(g.view(np.ndarray)) if isinstance(g, np.ndarray) else g
                   for g in got]
            assert same(got, want), f"seed {seed} {arrays}: {got} != {want}\n{program.source}"
            if planned.capturable:
                assert reads == 0, (f"seed {seed}: planned capturable, read {reads} values "
                                    f"back\n{program.source}\n{source}")
            checked += 1
        capturable += planned.capturable
    print(f"{checked} replays of {N} programs; {capturable} programs capturable")
    assert checked > 2 * N and capturable > N // 10, (checked, capturable)


def test_captured_random_programs_equal_the_cpu_across_calls(monkeypatch):
    """Every program the planner allows is captured on the fake device (its captured graph
    replays the recorded array steps; a host read during the capture is an error), tensor
    loops as conditional nodes where they can be, and replayed on changing inputs."""
    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: FakeConditions())
    captured = conditional = 0
    for seed in range(N):
        program = generate(seed)
        fn = compile_program(program.source, seed)
        tensors = [aj.constant(INPUTS[0][0], aj.float32), aj.constant(INPUTS[0][1], aj.float32),
                   aj.constant(INPUTS[0][2], aj.int32), aj.constant(INPUTS[0][3], aj.float32)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                concrete = aj.function(fn).get_concrete_function(*tensors)
        except (AutographError, DTypeError, TracingError, UnboundLocalError):
            continue
        xp = fake_cupy()
        replay, source = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [],
                                     fusion=True, checks=fake_checks(xp),
                                     conditions=lambda: FakeConditions())
        if replay.captured is None:
            continue
        for call in range(2 * len(INPUTS)):  # warm-up, capture, then launches
            x, y, n, v = INPUTS[call % len(INPUTS)]
            arrays = [np.float32(x), np.float32(y), np.int32(n), np.array(v, np.float32)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    want = concrete._fn(*[np.asarray(a) for a in arrays])
                except Exception:  # noqa: BLE001 (an input this program rejects on the CPU)
                    continue
                got = replay(*[_device(np.asarray(a)) for a in arrays])
            got = [np.asarray(g.view(np.ndarray)) if isinstance(g, np.ndarray) else g
                   for g in got]
            assert same(got, want), (f"seed {seed} call {call}: captured {got} != {want}\n"
                                     f"{program.source}\n{source}")
        assert replay.captured is not None and replay.captured.captures == 1, replay.report()
        captured += 1
        conditional += bool(replay.plan.conditional)
    print(f"{captured} of {N} programs captured, {conditional} with conditional nodes")
    assert captured > N // 10 and conditional > 0, (captured, conditional)


def captured_matches_cpu(concrete, calls: list, what: str) -> bool:
    """Compile ``concrete``'s graph for the fake GPU (capture and conditional nodes through
    ``FakeConditions``), replay it on each call's arrays and compare with the CPU replay;
    True when it was captured (once)."""
    xp = fake_cupy()
    replay, source = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [],
                                 fusion=True, checks=fake_checks(xp),
                                 conditions=lambda: FakeConditions())
    for k, arrays in enumerate(calls):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = concrete._fn(*[np.asarray(a) for a in arrays])
            got = replay(*[_device(np.asarray(a)) for a in arrays])
        for g, w in zip(got, want):
            g = np.asarray(g.view(np.ndarray)) if isinstance(g, np.ndarray) else g
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10,
                                       err_msg=f"{what} call {k}\n{source}")
    assert "capture failed" not in replay.report(), f"{what}: {replay.report()}"
    return replay.captured is not None and replay.captured.captures == 1


def test_captured_gradient_programs_equal_the_cpu(monkeypatch):
    """The gradient fuzz's programs (tests/function/gradient_fuzz.py) with first and second
    derivatives taken inside the function: reverse loops, saved states, tape-made graphs."""
    from tests.function.gradient_fuzz import DIFFERENTIATED, SHAPES
    from tests.function.gradient_fuzz import generate as generate_gradient
    from tests.function.test_gradient_fuzz import AJ, make_inputs, tensors, with_tapes
    from tests.function.test_gradient_fuzz import compile_program as compile_gradient

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: FakeConditions())
    captured = 0
    for seed in range(N // 3):
        program = generate_gradient(seed)
        fn = compile_gradient(program.source, seed)
        rng = np.random.default_rng(seed)
        r = [aj.constant(rng.standard_normal(SHAPES[k]), aj.float64) for k in DIFFERENTIATED]

        def inside(x, w, b, c, n, _fn=fn, _r=r):
            return with_tapes(lambda *a: _fn(AJ, *a), [x, w, b, c, n], _r)

        inputs = make_inputs(seed)
        concrete = aj.function(inside).get_concrete_function(*tensors(inputs[0]))
        calls = [[t.numpy() for t in tensors(values)] for values in inputs * 2]
        captured += captured_matches_cpu(concrete, calls, f"seed {seed}\n{program.source}")
    print(f"{captured} of {N // 3} gradient programs captured")
    assert captured > 0


def test_captured_programs_update_their_variables_in_place(monkeypatch):
    """Random programs that read and assign Variables (tests/graph/programs.py), captured on
    the fake device: after each launch the Variables hold what the CPU replay's hold."""
    from .programs import random_program

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    captured = 0
    for seed in range(N // 3):
        program = random_program(seed, effects=True, control=seed % 2 == 0)
        cpu_vars = [aj.Variable(v) for v in program.var_init]
        gpu_vars = [aj.Variable(v) for v in program.var_init]
        for var in gpu_vars:  # their buffers stand for device memory
            var._array = _device(var._array)
        monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: FakeConditions(gpu_vars))
        xs = [aj.constant(x) for x in program.inputs]
        cpu = aj.function(lambda *a: program.run(*a, variables=cpu_vars)) \
            .get_concrete_function(*xs)
        traced = aj.function(lambda *a: program.run(*a, variables=gpu_vars)) \
            .get_concrete_function(*xs)
        xp = fake_cupy()
        replay, source = compile_gpu(traced.graph, Device("GPU", 0, xp), "step", gpu_vars,
                                     fusion=True, checks=fake_checks(xp),
                                     conditions=lambda: FakeConditions(gpu_vars))
        for k in range(4):
            arrays = [x * (1.0 + 0.1 * k) for x in program.inputs]
            want = cpu._fn(*arrays)
            got = replay(*[_device(a) for a in arrays])
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g.view(np.ndarray)), w, rtol=1e-10,
                                           atol=1e-10, err_msg=f"seed {seed} call {k}")
            for gv, cv in zip(gpu_vars, cpu_vars):
                np.testing.assert_allclose(np.asarray(gv._array.view(np.ndarray)), cv.numpy(),
                                           rtol=1e-10, atol=1e-10,
                                           err_msg=f"seed {seed} call {k}: a Variable\n{source}")
        assert "capture failed" not in replay.report(), replay.report()
        captured += replay.captured is not None and replay.captured.captures == 1
    print(f"{captured} of {N // 3} programs with Variables captured")
    assert captured > N // 10


# ------------------------------------------------------ programs the sweep found (fixed)


def test_a_loop_whose_body_always_leaves_still_reads_its_first_test():
    # The body's test is the constant False (the body returns), so the planner took the loop
    # for a host-counted one; but the first test, ``i < n`` on a tensor ``n``, is read on the
    # host before the first iteration: the step is not capturable.
    def early(x, n):
        i = 0
        while i < n:
            i += 1
            return x * 2.0
        return x - 1.0

    x, n = aj.constant(np.ones(2, np.float32)), aj.constant(np.int32(3))
    graph = aj.function(early).get_concrete_function(x, n).graph
    plan = plan_capture(graph, True)
    assert not plan.capturable and "loop test" in str(plan), plan


def test_a_flag_a_nested_device_loop_sets_is_not_read_back_during_the_capture(monkeypatch):
    # In a tensor if's branch (an IF/ELSE node, compiled on its own), a tensor loop became a
    # WHILE node, so its flag `done` (a Python bool in the plan) lived on the device, and the
    # `if not done` after it read it back during the capture: the capture failed. A nested
    # loop whose host-scalar results are read later now stays with its enclosing node on
    # the host.
    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: FakeConditions())

    def nested(x, n):
        if x < -1.0:
            done = False
            i = 0
            while i < n:
                i += 1
                x = x * 0.5
                done = True
            if not done:  # not a cheap cond (it loops): it stays a cond
                for _ in aj.range(3):
                    x = aj.sin(x) * 2.0
        return x

    args = [aj.constant(np.float32(-4.0)), aj.constant(np.int32(2))]
    concrete = aj.function(nested).get_concrete_function(*args)
    xp = fake_cupy()
    replay, _ = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [], fusion=True,
                            checks=fake_checks(xp), conditions=lambda: FakeConditions())
    for x, n in [(-4.0, 2), (-4.0, 0), (3.0, 1), (-8.0, 3)]:
        arrays = [np.float32(x), np.int32(n)]
        (want,) = concrete._fn(*arrays)
        (got,) = replay(*[_device(np.asarray(a)) for a in arrays])
        np.testing.assert_allclose(np.asarray(got.view(np.ndarray)), want)
    assert "capture failed" not in replay.report(), replay.report()
    assert re.search(r"while_loop \(test_gpu_fake_fuzz.py:\d+\) .*no conditional node: its result "
                     r"%\d+ is a Python value the code after it reads \(a host scalar\); a "
                     r"conditional node would leave it on the device", replay.report()), \
        replay.report()


def test_a_functional_while_loop_reads_the_test_its_cond_computes():
    # aj.while_loop computes its test in the cond graph (``i < n`` on a tensor ``n``); the
    # planner looked at the body's first result (``i + 1``, a host int) and took the loop
    # for a host-counted one, so the capture read the test back.
    def loop(x, n):
        _, y = aj.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, aj.tanh(a)), (0, x))
        return y

    graph = aj.function(loop).get_concrete_function(
        aj.constant(np.ones(2)), aj.constant(np.int32(3))).graph
    plan = plan_capture(graph, True)
    assert not plan.capturable and "loop test" in str(plan), plan
    bounded = aj.function(lambda x: aj.while_loop(lambda i, a: i < 3,
                                                  lambda i, a: (i + 1, a * 2.0), (0, x))[1])
    graph = bounded.get_concrete_function(aj.constant(np.ones(2))).graph
    assert plan_capture(graph, True).capturable  # a Python bound: counted on the host


def test_a_training_step_counting_its_iterations_is_captured_and_counts(monkeypatch):
    # The optimizer's ``iterations.assign_add(1)`` turned the host constant 1 into a device
    # array with ``xp.asarray``: a host-to-device copy through a staging buffer that a
    # capture cannot keep, so no training step would have been captured on a GPU. The GPU
    # replay now fills such a value on the device (``xp.full``).
    from bench.gpu import mlp_step

    def blas_matmul(xp, a, b, transpose_a=False, transpose_b=False):  # capturable, as nvmath's
        return xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    monkeypatch.setattr(gpu_executor.BlasMatmul, "create",
                        classmethod(lambda cls, xp, index=0: blas_matmul))
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s) * 0.3 for s in ((6, 5), (5, 3))]
    batches = [(rng.normal(size=(4, 6)), rng.integers(0, 3, 4).astype(np.int32))
               for _ in range(5)]
    cpu_ws, gpu_ws = [aj.Variable(w) for w in init], [aj.Variable(w) for w in init]
    cpu_opt, gpu_opt = aj.optimizers.SGD(0.1), aj.optimizers.SGD(0.1)
    cpu = aj.function(mlp_step(cpu_ws, cpu_opt))
    traced = aj.function(mlp_step(gpu_ws, gpu_opt)).get_concrete_function(
        *map(aj.constant, batches[0]))
    for var in [*gpu_ws, gpu_opt.iterations]:
        var._array = _device(var._array)
    monkeypatch.setattr(gpu_executor, "CupyCapture",
                        lambda xp: FakeConditions([*gpu_ws, gpu_opt.iterations]))
    xp = fake_cupy()
    replay, _ = compile_gpu(traced.graph, Device("GPU", 0, xp), "step",
                            [*gpu_ws, gpu_opt.iterations], fusion=True)
    for x, y in batches:
        want = cpu(aj.constant(x), aj.constant(y)).numpy()
        (got,) = replay(_device(x), _device(y))
        np.testing.assert_allclose(np.asarray(got.view(np.ndarray)), want, rtol=1e-12)
    assert replay.captured is not None and replay.captured.captures == 1, replay.report()
    assert int(gpu_opt.iterations._array.view(np.ndarray)) == cpu_opt.iterations.numpy() == 5
    for g, c in zip(gpu_ws, cpu_ws):
        np.testing.assert_allclose(np.asarray(g._array.view(np.ndarray)), c.numpy(), rtol=1e-12)


def _one_step_per_kernel(monkeypatch):
    """Patch the GPU executor so that each generated kernel (a fused node, a fused assignment)
    and each cuBLAS matmul is one recorded operation on the fake device, as on a GPU."""
    from autojit.graph.passes.fuse import FUSED_ASSIGN, evaluate_fused
    from autojit.graph.passes.merge_updates import FUSED_ASSIGNS

    from .test_device_loops import _plain, _recomputed, _record

    def one_kernel(xp, *inputs, expr, out=None):
        args = _plain(inputs)
        if out is None:
            return _recomputed(lambda: evaluate_fused(np, *args, expr=expr),
                               evaluate_fused(np, *args, expr=expr))
        target = _plain(out)

        def run():  # into ``out``, as the kernel writes it
            np.copyto(target, evaluate_fused(np, *args, expr=expr)[0])

        run()
        _record(run)
        return (out,)

    def one_assign(xp, *inputs, expr, how, var):
        args, target = _plain(inputs), type("Buffer", (), {"_array": _plain(var._array)})

        def run():
            FUSED_ASSIGN.kernel(np, *args, expr=expr, how=how, var=target)

        run()
        _record(run)
        return ()

    def blas_matmul(xp, a, b, transpose_a=False, transpose_b=False):
        return xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)

    def blas_update(xp, a, b, *, alpha, transpose_a=False, transpose_b=False, var):
        (x, y), target = _plain((a, b)), _plain(var._array)

        def run():  # one gemm with beta = 1, into the variable's buffer
            product = (x.T if transpose_a else x) @ (y.T if transpose_b else y)
            np.add(target, alpha * product, out=target)

        run()
        _record(run)
        return ()

    def several_assigns(xp, *inputs, expr, vars):
        args = _plain(inputs)
        targets = [type("Buffer", (), {"_array": _plain(v._array)}) for v in vars]

        def run():
            FUSED_ASSIGNS.kernel(np, *args, expr=expr, vars=targets)

        run()
        _record(run)
        return ()

    blas_matmul.update = blas_update
    monkeypatch.setattr(gpu_executor, "launch_fused_assigns", several_assigns)
    monkeypatch.setattr(gpu_executor, "launch_fused", one_kernel)
    monkeypatch.setattr(gpu_executor, "launch_fused_assign", one_assign)
    monkeypatch.setattr(gpu_executor.BlasMatmul, "create",
                        classmethod(lambda cls, xp, index=0: blas_matmul))


def test_a_captured_output_that_is_an_input_is_the_callers_array_and_costs_no_copy(
        monkeypatch):
    """The issue's toy (the gradients of ``sum(x * y + z)``: ``y``, ``x``, ones) captured on
    the fake device: the gradients that are inputs come back as the caller's own arrays, as
    the uncaptured replay returns them, not as copies of the static input buffers (each copy
    a launch); the ones, a constant, come back fresh at every call. No node reads the inputs,
    so none is copied into its static buffer either."""
    copies, copied_in = [], []

    class Counting(FakeConditions):
        def copy(self, array):
            copies.append(array.shape)
            return super().copy(array)

        def copy_into(self, target, source):
            copied_in.append(source.shape)
            super().copy_into(target, source)

    api = Counting()
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: api)

    def toy(x, y, z):
        with aj.GradientTape() as tape:
            tape.watch([x, y, z])
            loss = aj.reduce_sum(x * y + z)
        return tape.gradient(loss, [x, y, z])

    rng = np.random.default_rng(0)
    args = [rng.normal(size=5) for _ in range(3)]
    concrete = aj.function(toy).get_concrete_function(*map(aj.constant, args))
    xp = fake_cupy()
    replay, source = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [], fusion=True)
    seen = []
    for call in range(4):
        arrays = [_device(rng.normal(size=5)) for _ in range(3)]
        gx, gy, gz = replay(*arrays)
        assert gx is arrays[1] and gy is arrays[0], source
        np.testing.assert_array_equal(np.asarray(gz.view(np.ndarray)), np.ones(5))
        assert all(gz is not earlier for earlier in seen)
        seen.append(gz)
    assert replay.captured is not None and replay.captured.captures == 1, replay.report()
    assert copies == [(5,)] * 3, copies  # the ones at each captured call, nothing else
    assert copied_in == [], copied_in  # no node reads an input: none is copied in


def test_the_bench_loop_steps_captured_graph_records_two_operations_an_iteration(monkeypatch):
    """A structural guard, not a timing: the issue's loop (``y = (y + x[t]) * w``, T steps,
    d/dw) captured unrolled on the fake device records one fused kernel per forward step and
    one per reverse step (``acc + sum(g * (y + x[t]))`` as one reduction whose epilogue adds
    the running total and which stores its sibling ``g * w`` as a side output, Note [Side
    outputs]; nothing for ``x[t]``, a view at a host index): 2T, 3T before the side output,
    4T before the epilogue took 0-d arrays. Gradients equal the CPU's."""
    from bench.gpu import loop_step

    _one_step_per_kernel(monkeypatch)
    api = FakeConditions()
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: api)
    rng = np.random.default_rng(0)
    for steps in (1, 7, 100):
        x, w = rng.normal(size=(steps, 64)).astype(np.float32) * 0.1, np.float32(0.9)
        concrete = aj.function(loop_step(steps)).get_concrete_function(aj.constant(x),
                                                                       aj.constant(w))
        xp = fake_cupy()
        replay, source = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [],
                                     fusion=True, checks=fake_checks(xp))
        for call in range(4):
            x = rng.normal(size=(steps, 64)).astype(np.float32) * 0.1
            (got,) = replay(_device(x), _device(w))
            (want,) = concrete._fn(x, w)
            np.testing.assert_allclose(np.asarray(got.view(np.ndarray)), want, rtol=1e-5)
        assert replay.captured is not None and replay.captured.captures == 1, replay.report()
        assert len(api.steps) <= 2 * steps, f"{len(api.steps)} operations\n{source}"


def test_the_bench_mlp_steps_captured_graph_records_at_most_19_operations(monkeypatch):
    """A structural guard, not a timing: the issue's MLP training step (3 weights, sparse
    cross-entropy, SGD) captured on the fake device, each generated kernel one recorded
    operation. 46 before lowering the composite ops and fusing the updates, 28 before common
    subexpressions were merged after the lowering (the softmax gradient's max of the logits
    is the loss's), 27 before the label check's range test wrote its flag itself, 26 before
    the iteration count's ``assign_add(1)`` took its 1 as a kernel argument instead of a
    fill, 25 before the softmax's ``sum(e, keepdims=True)`` became a reshape of the loss's
    ``sum(e)``, 24 before the one-hot was recomputed in its two readers (Note [Inlined
    producers]), 23 before the shifted logits and their exp were recomputed in their three
    readers (the sum of the exp, the picked sum, the gradient), 22 before each weight's
    update ``w -= lr * (x^T @ g)`` became one gemm accumulating into ``w`` (Note [Matmul
    updates]); 19 now (8 matmuls, 3 of them updating their weights, the lowered loss's 4
    kernels and its gradient, the label check, relus and their gradients, the counter)."""
    from bench.gpu import mlp_step

    _one_step_per_kernel(monkeypatch)
    rng = np.random.default_rng(0)
    ws = [aj.Variable(rng.normal(size=s) * 0.3) for s in ((6, 5), (5, 5), (5, 3))]
    opt = aj.optimizers.SGD(0.1)
    x, y = rng.normal(size=(4, 6)), rng.integers(0, 3, 4).astype(np.int32)
    fn = aj.function(mlp_step(ws, opt))
    replay, source, api = _fake_training_replay(monkeypatch, fn, [*ws, opt.iterations], x, y)
    for _ in range(3):
        replay(_device(x), _device(y))
    assert replay.captured is not None and replay.captured.captures == 1, replay.report()
    assert len(api.steps) <= 19, f"{len(api.steps)} operations\n{source}"


def _fake_training_replay(monkeypatch, fn, state, x, y):
    """``fn``'s graph for ``(x, y)`` compiled for the fake GPU with its Variables moved there:
    (replay, source, the fake capture API recording each launch). ``state``: the Variables,
    or a function giving them once traced (an optimizer makes its slots then)."""
    graph = fn.get_concrete_function(aj.constant(x), aj.constant(y)).graph
    state = state() if callable(state) else state
    for var in state:
        var._array = _device(var._array)
    api = FakeConditions(state)
    monkeypatch.setattr(gpu_executor, "CupyCapture", lambda xp: api)
    replay, source = compile_gpu(graph, Device("GPU", 0, fake_cupy()), "step", state,
                                 fusion=True)
    return replay, source, api


@pytest.mark.parametrize("optimizer, most", [("sgd", 22), ("adam", 26)])
def test_an_mlp_step_with_biases_records_few_operations_and_trains_as_the_cpu(
        monkeypatch, optimizer, most):
    """A structural guard, not a timing: the bench MLP with a bias per layer. Each bias
    gradient (a sum over the batch) is a side output of the kernel computing its input (the
    softmax gradient, a relu gradient: Note [Side outputs]) and the logits' bias add, a node
    left alone, is recomputed in the loss's kernels (Note [Inlined producers]).

    With SGD each weight's update is its gradient's gemm (Note [Matmul updates]): 22
    operations (8 matmuls, 2 bias-plus-relu kernels, the loss's 4 and its gradient's 1, 2
    relu gradients, the label check, 3 bias updates, the counter). With Adam, 26: the same
    19 but for the matmul updates, the bias correction, and one kernel per parameter
    writing its two slots and itself (Note [Merged updates]; 38 with a fused assignment
    each, 50 before the slots' own reads went uncopied, Note [Reads alias buffers]). The
    losses and parameters of four captured steps equal the CPU replay's."""
    _one_step_per_kernel(monkeypatch)
    rng = np.random.default_rng(0)
    shapes = ((6, 5), (5, 5), (5, 3))
    start = [rng.normal(size=s) * 0.3 for s in shapes] + [rng.normal(size=s[1]) * 0.1
                                                          for s in shapes]
    x, y = rng.normal(size=(4, 6)), rng.integers(0, 3, 4).astype(np.int32)

    def train(device_arrays):
        params = [aj.Variable(a.copy()) for a in start]
        opt = aj.optimizers.SGD(0.1) if optimizer == "sgd" else aj.optimizers.Adam(0.01)

        def step(x, y):
            with aj.GradientTape() as tape:
                h = x
                for i, (w, b) in enumerate(zip(params[:3], params[3:])):
                    h = h @ w + b
                    if i < 2:
                        h = aj.nn.relu(h)
                loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(y, h))
            opt.apply_gradients(zip(tape.gradient(loss, params), params))
            return loss

        fn = aj.function(step)
        if not device_arrays:
            losses = [float(fn(aj.constant(x), aj.constant(y)).numpy()) for _ in range(4)]
            return losses, [p.numpy() for p in params], None
        replay, source, api = _fake_training_replay(
            monkeypatch, fn, lambda: [*params, *opt.variables], x, y)
        losses = [float(np.asarray(replay(_device(x), _device(y))[0].view(np.ndarray)))
                  for _ in range(4)]
        assert replay.captured is not None and replay.captured.captures == 1, replay.report()
        assert len(api.steps) <= most, f"{len(api.steps)} operations\n{source}"
        return losses, [np.asarray(p._array.view(np.ndarray)) for p in params], source

    want_losses, want_params, _ = train(False)
    losses, params, source = train(True)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-12)
    for got, want in zip(params, want_params):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_every_op_table_entry_on_the_fake_gpu_equals_the_cpu(monkeypatch):
    """Each op of the op table with its first and second derivatives, traced, compiled by the
    GPU executor (lowering, fusion, deferred checks, the capture planner) for the fake
    device, equals the CPU replay of the same graph."""
    from tests.saving.test_saved_graphs import _op_cases, _op_table, op_function

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))
    table = _op_table()
    checked, ops = 0, set()
    for entry, case in _op_cases():
        dtype = entry.dtypes[0] if entry.dtypes else table.F32
        raw = table.make_inputs(case, dtype, f"fake-gpu:{entry.op}:{case.label()}")
        tensors = table.to_tensors(raw)
        fn, positions = op_function(entry, case, tensors, order=1)
        args = [tensors[i] for i in positions]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                concrete = aj.function(fn).get_concrete_function(*args)
        except (AutographError, DTypeError, TracingError, TypeError, ValueError):
            continue  # an entry whose call does not trace this way (Python outputs)
        if any(n.op.effect and n.op.name != "read_variable" for n in concrete.graph.walk()):
            continue  # random draws differ by design
        xp = fake_cupy()
        replay, source = compile_gpu(concrete.graph, Device("GPU", 0, xp), "step", [],
                                     fusion=True, cuda_graphs=False, checks=fake_checks(xp))
        arrays = [np.asarray(raw[i]) for i in positions]
        want = concrete._fn(*arrays)
        try:
            got = replay(*[_device(a) for a in arrays])
        except AttributeError as error:  # a CuPy kernel of its own (erf): no fake for it
            assert "Kernel" in str(error), error
            continue
        got = [np.asarray(g.view(np.ndarray)) if isinstance(g, np.ndarray) else g for g in got]
        assert len(got) == len(want), entry.op
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=1e-6,
                                       err_msg=f"{entry.op}[{case.label()}]\n{source}")
        checked += 1
        ops.add(entry.op)
    print(f"{checked} op-table cases of {len(ops)} ops on the fake GPU")
    assert checked >= 300 and len(ops) >= 140, (checked, len(ops))
