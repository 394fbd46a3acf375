"""The GPU executor's kernel launcher, end to end on the CPU: ``launch_fused`` runs on a fake
CuPy (``HostCupy``) whose ``ElementwiseKernel`` and ``ReductionKernel`` compile the generated
source as host C++ (tests/graph/host_cuda.py) and NumPy does the rest, so what the launcher
hands the kernels (inputs broadcast to the prologue's shape, the reduced axes, keepdims,
fresh outputs of the node's shapes) is checked against ``evaluate_fused`` without a GPU.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import autojit as aj
from autojit.graph.executors import cupy as gpu_executor
from autojit.graph.executors.cuda_source import KernelSource, ReductionSource
from autojit.graph.passes import fuse_elementwise
from autojit.graph.passes.fuse import FUSED, evaluate_fused

from .host_cuda import compile_kernels

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class HostCupy:
    """CuPy's kernel constructors on host-compiled kernels; every other name is NumPy's.
    ``compiled`` lists the kernels made, as ``("elementwise" | "reduction", name)``.

    Usage: ``xp = HostCupy()``; ``launch_fused(xp, x, b, expr=expr)``
    """

    def __init__(self):
        self.compiled = []

    def __getattr__(self, name):
        return getattr(np, name)

    def ElementwiseKernel(self, in_params, out_params, operation, name):
        (kernel,) = compile_kernels([KernelSource(in_params, out_params, operation, name)])
        self.compiled.append(("elementwise", name))

        def call(*args):  # as CuPy's: inputs, then the outputs it writes into
            ins, outs = args[:len(kernel.in_dtypes)], args[len(kernel.in_dtypes):]
            assert len(outs) == len(kernel.out_dtypes), (name, len(args))
            shape = np.broadcast_shapes(*(o.shape for o in outs))
            for out, result in zip(outs, kernel(*ins, shape=shape)):
                assert out.dtype == result.dtype, (name, out.dtype, result.dtype)
                out[...] = result
            return outs[0] if len(outs) == 1 else tuple(outs)

        return call

    def ReductionKernel(self, in_params, out_params, map_expr, reduce_expr,
                        post_map_expr, identity, name, reduce_type=None, preamble=""):
        raw = tuple(k for k, p in enumerate(in_params.split(", ")) if p.startswith("raw "))
        source = ReductionSource(in_params, out_params, map_expr, reduce_expr, post_map_expr,
                                 identity, name, reduce_type, preamble, None, False, None, raw)
        (kernel,) = compile_kernels([source])
        self.compiled.append(("reduction", name))

        def call(*args, axis=None, keepdims=False, out=None):  # CuPy broadcasts the inputs
            args, outs = args[:len(kernel.in_dtypes)], list(args[len(kernel.in_dtypes):])
            shape = np.broadcast_shapes(*(np.shape(a) for k, a in enumerate(args)
                                          if k not in raw))
            axes = range(len(shape)) if axis is None else sorted(
                a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis))
            if raw and list(axes) != list(range(len(axes))):
                # CuPy's _set_permuted_args: it cannot move the reduced axes first
                raise NotImplementedError("Illegal conditions")
            if outs:  # outputs given positionally: all of them (CuPy's nargs)
                assert out is None and len(outs) == len(kernel.out_dtypes), name
                # a lone non-contiguous input makes CuPy sort the axes by stride: the side
                # outputs (raw, indexed by _in_ind) would be stored in another order
                assert len(outs) == 1 or len(args) > 1 or args[0].flags.c_contiguous, name
            results = kernel(*args, axis=axis, keepdims=keepdims, shape=shape)
            if out is not None:
                outs = [out]
            if not outs:
                return results[0]
            for target, result in zip(outs, results):
                assert target.shape == result.shape and target.dtype == result.dtype, name
                target[...] = result
            return outs[0]

        return call


@pytest.fixture
def host_cupy():
    """A fresh ``HostCupy``, with the launcher's kernel caches emptied for the test and put
    back after it: no earlier test's (fake) kernel serves this one, and no host kernel stays
    behind to be handed to a real CuPy call later in the process."""
    by_source = dict(gpu_executor._BY_SOURCE)
    by_expr = set(gpu_executor._BY_EXPR.keys())
    gpu_executor._BY_SOURCE.clear()
    try:
        yield HostCupy()
    finally:
        gpu_executor._BY_SOURCE.clear()
        gpu_executor._BY_SOURCE.update(by_source)
        for expr in [e for e in gpu_executor._BY_EXPR if e not in by_expr]:
            del gpu_executor._BY_EXPR[expr]


def _fused_nodes(fn, *specs):
    args = [aj.constant(np.ones(shape, dtype)) for shape, dtype in specs]
    graph = aj.function(fn, autograph=False).get_concrete_function(*args).graph
    return [n for n in fuse_elementwise(graph.clone()).walk() if n.op is FUSED]


def _inputs(node, rng):
    out = []
    for value in node.inputs:
        spec = value.spec
        if spec.dtype.kind == "f":
            x = rng.normal(0, 1, spec.shape)
            x = np.where(rng.random(spec.shape) < 0.1, np.nan, x)
        else:
            x = rng.integers(-6, 7, spec.shape)
        out.append(np.asarray(x).astype(spec.dtype))
    return out


F32, F64, I32 = np.float32, np.float64, np.int32
# (label, function, input (shape, dtype)s, the kernel kind launched or None (op by op))
CASES = [
    ("elementwise, two outputs, b broadcast",
     lambda x, b: (aj.tanh(x * b) + b, x * b > 0.5), [((4, 3), F32), ((3,), F32)],
     "elementwise"),
    ("elementwise, neither input full",
     lambda u, v: aj.exp(u - v) * 2.0, [((4, 1), F64), ((3,), F64)], "elementwise"),
    ("sum of x * b over axis 0",
     lambda x, b: aj.reduce_sum(x * b, axis=0), [((4, 3), F32), ((3,), F32)], "reduction"),
    ("sum over axis 1 of (4, 1) * (3,)",
     lambda u, v: aj.reduce_sum(u * v, axis=1), [((4, 1), F64), ((3,), F64)], "reduction"),
    ("mean, keepdims",
     lambda x, b: aj.reduce_mean(aj.square(x - b), axis=1, keepdims=True),
     [((4, 3), F64), ((4, 1), F64)], "reduction"),
    ("max with an epilogue, two axes",
     lambda x, b: aj.sqrt(aj.reduce_max(aj.abs(x) * b, axis=(0, 2)) + 1.0),
     [((2, 3, 4), F32), ((3, 1), F32)], "reduction"),
    ("int32 min with an epilogue, keepdims",
     lambda x, b: aj.reduce_min(x * 3 - b, axis=-1, keepdims=True) + 7,
     [((2, 3, 4), I32), ((4,), I32)], "reduction"),
    ("prod of everything",
     lambda x, b: aj.reduce_prod(x * 0.5 + b) * 2.0, [((2, 3), F64), ((3,), F64)],
     "reduction"),
    ("a 0-d running total in the epilogue (a raw parameter)",
     lambda x, acc: acc + aj.reduce_sum(x * 2.0), [((4, 3), F32), ((), F32)], "reduction"),
    ("a 0-d input in the prologue and the epilogue, over axis 1",
     lambda x, s: aj.reduce_max(x * s, axis=1) - s, [((4, 3), F64), ((), F64)], "reduction"),
    ("a 0-d total in the epilogue of a sum over axes 1 and 2, keepdims",
     lambda x, acc: acc * aj.reduce_sum(x * 2.0, axis=(1, 2), keepdims=True),
     [((2, 3, 4), F32), ((), F32)], "reduction"),
    ("a 0-d total in the epilogue of a sum over the middle axis",
     lambda x, b, acc: aj.reduce_sum(x * b, axis=1) - acc,
     [((2, 3, 4), F64), ((3, 1), F64), ((), F64)], "reduction"),
    ("the loop's reverse step: acc + sum(g * (y + x))",
     lambda g, y, x, acc: acc + aj.reduce_sum(g * (y + x)),
     [((64,), F32), ((64,), F32), ((64,), F32), ((), F32)], "reduction"),
    ("a sum over axis 0 that stores its prologue value too (a side output)",
     lambda x, b: (aj.reduce_sum(x * b, axis=0), x * b),
     [((4, 3), F32), ((3,), F32)], "reduction"),
    ("the loop's reverse step with its sibling g * w as a side output",
     lambda g, w, y, x, acc: (g * w, acc + aj.reduce_sum(g * (y + x))),
     [((64,), F32), ((), F32), ((64,), F32), ((64,), F32), ((), F32)], "reduction"),
    ("a max over axes 0 and 1, keepdims, two side outputs; a lone broadcast input",
     lambda b: (aj.reduce_max(aj.exp(aj.broadcast_to(b, (2, 3, 4)) * 0.5), axis=(0, 1),
                              keepdims=True),
                aj.exp(aj.broadcast_to(b, (2, 3, 4)) * 0.5), aj.broadcast_to(b, (2, 3, 4)) * 0.5),
     [((4,), F64)], "reduction"),
    ("int pow: no template, op by op",
     lambda x, b: aj.pow(x + b, 2) * 3, [((4, 3), I32), ((3,), I32)], None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_launch_fused_on_host_kernels_computes_what_numpy_computes(case, host_cupy):
    label, fn, specs, kind = case
    (node,) = _fused_nodes(fn, *specs)
    expr = node.attrs["expr"]
    assert (expr.reduction is not None) == (kind == "reduction"), f"{label}: {expr}"
    assert ("side output" in label) == (kind == "reduction" and len(expr.outputs) > 1), label
    rng = np.random.default_rng(3)
    for trial in range(3):
        inputs = _inputs(node, rng)
        got = gpu_executor.launch_fused(host_cupy, *inputs, expr=expr)
        with np.errstate(all="ignore"):
            want = evaluate_fused(np, *inputs, expr=expr)
        assert len(got) == len(want), label
        for g, w in zip(got, want):
            g, w = np.asarray(g), np.asarray(w)
            assert (g.dtype, g.shape) == (w.dtype, w.shape), (label, g, w)
            if g.dtype.kind == "f":
                rtol = 1e-5 if g.dtype == np.float32 else 1e-12
                np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, err_msg=label)
            else:
                np.testing.assert_array_equal(g, w, err_msg=label)
    kinds = [k for k, _ in host_cupy.compiled]
    assert kinds == ([kind] if kind else []), f"{label}: compiled {host_cupy.compiled}"


def test_a_kernel_is_compiled_once_and_the_caches_are_put_back(host_cupy):
    (node,) = _fused_nodes(lambda x, b: aj.reduce_sum(x * b, axis=0), ((4, 3), F32),
                           ((3,), F32))
    (again,) = _fused_nodes(lambda x, b: aj.reduce_sum(x * b, axis=0), ((4, 3), F32),
                            ((3,), F32))
    x, b = np.ones((4, 3), np.float32), np.arange(3, dtype=np.float32)
    for expr in (node.attrs["expr"], again.attrs["expr"], node.attrs["expr"]):
        (out,) = gpu_executor.launch_fused(host_cupy, x, b, expr=expr)
        np.testing.assert_array_equal(out, 4 * b)
    assert len(host_cupy.compiled) == 1  # one source, one compilation
    assert len(gpu_executor._BY_SOURCE) == 1


@pytest.mark.parametrize("how", ["assign", "assign_add", "assign_sub"])
def test_a_fused_assignment_writes_the_variable_with_one_kernel(how, host_cupy):
    from autojit.graph.passes.fuse import FUSED_ASSIGN, fuse_assignments

    v = aj.Variable(np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32))

    def step(g, b):
        getattr(v, how)(aj.tanh(g * b) * 0.5 + v * 0.25)  # it reads v too: its own read
        return g

    args = [aj.constant(np.ones((4, 3), np.float32)), aj.constant(np.ones(3, np.float32))]
    graph = aj.function(step, autograph=False).get_concrete_function(*args).graph
    merged = fuse_assignments(fuse_elementwise(graph.clone()))
    (node,) = [n for n in merged.walk() if n.op is FUSED_ASSIGN]
    rng = np.random.default_rng(5)
    for _ in range(3):
        inputs = [v._array if u.node is not None and u.node.op.name == "read_variable"
                  else rng.normal(size=u.spec.shape).astype(np.float32) for u in node.inputs]
        old = v.numpy().copy()
        (value,) = evaluate_fused(np, *inputs, expr=node.attrs["expr"])
        want = {"assign": value, "assign_add": old + value, "assign_sub": old - value}[how]
        assert gpu_executor.launch_fused_assign(host_cupy, *inputs, expr=node.attrs["expr"],
                                                how=how, var=v) == ()
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-6, atol=1e-6)
    assert [k for k, _ in host_cupy.compiled] == ["elementwise"]  # one kernel, compiled once


@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_the_deferred_checks_range_test_is_one_kernel_that_finds_bad_indices(shape, dtype,
                                                                             host_cupy):
    from autojit.graph.executors.device_checks import range_test

    for low, size in ((0, 4), (-4, 4)):
        expr = range_test(shape, np.dtype(dtype), low, size)
        flag = np.zeros((), np.int32)
        for values in (np.zeros(shape), np.full(shape, size - 1), np.full(shape, low)):
            (out,) = gpu_executor.launch_fused(host_cupy, values.astype(dtype), flag,
                                               expr=expr, out=flag)
            assert out is flag and int(flag) == 0, (low, size, values)
        for bad in (size, low - 1):
            values = np.zeros(shape, dtype)
            values.reshape(-1)[-1] = bad
            flag[...] = 0
            gpu_executor.launch_fused(host_cupy, values, flag, expr=expr, out=flag)
            assert int(flag) == 1, (low, size, bad)
            # a flag set earlier stays set (the kernel writes max(flag, found))
            gpu_executor.launch_fused(host_cupy, np.zeros(shape, dtype), flag, expr=expr,
                                      out=flag)
            assert int(flag) == 1, (low, size, bad)
    kind = "reduction" if shape else "elementwise"
    assert {k for k, _ in host_cupy.compiled} == {kind}


@pytest.mark.parametrize("keepdims", [False, True])
def test_a_raw_reduction_over_inner_axes_writes_into_out_where_one_is_given(keepdims,
                                                                         host_cupy):
    # CuPy refuses raw parameters when it would move the reduced axes first; the launcher
    # moves them itself, and writes into the caller's ``out`` through a view of it.
    (node,) = _fused_nodes(
        lambda x, acc: aj.reduce_max(x * acc, axis=(0, 2), keepdims=keepdims) + acc,
        ((2, 3, 4), F32), ((), F32))
    expr = node.attrs["expr"]
    rng = np.random.default_rng(8)
    x, acc = rng.normal(size=(2, 3, 4)).astype(F32), np.asarray(1.5, F32)
    (want,) = evaluate_fused(np, x, acc, expr=expr)
    out = np.full(want.shape, np.nan, F32)
    (got,) = gpu_executor.launch_fused(host_cupy, x, acc, expr=expr, out=out)
    assert got is out and out.shape == ((1, 3, 1) if keepdims else (3,))
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_merged_updates_write_every_variable_with_one_kernel(host_cupy):
    # Note [Merged updates]: Adam's m, v and parameter updates, merged, are one generated
    # kernel writing the three buffers; the values are the merged node's own kernel's (each
    # member op on NumPy), run on copies of the same starting values.
    from autojit.graph.passes.fuse import fuse_assignments
    from autojit.graph.passes.merge_updates import FUSED_ASSIGNS, merge_updates

    rng = np.random.default_rng(6)
    p = aj.Variable(rng.normal(size=(4, 3)).astype(np.float32))
    opt = aj.optimizers.Adam(0.05)

    def step(x):  # the gradient a matmul, so each slot's update is a fused assignment
        with aj.GradientTape() as tape:
            loss = aj.reduce_sum(aj.square(x @ p))
        opt.apply_gradients([(tape.gradient(loss, p), p)])
        return loss

    x = aj.constant(rng.normal(size=(5, 4)).astype(np.float32))
    graph = aj.function(step, autograph=False).get_concrete_function(x).graph
    merged = merge_updates(fuse_assignments(fuse_elementwise(graph.clone())))
    (node,) = [n for n in merged.nodes if n.op is FUSED_ASSIGNS]
    assert len(node.attrs["vars"]) == 3, merged
    for _ in range(3):
        inputs = [v.node.attrs["var"]._array
                  if v.node is not None and v.node.op.name == "read_variable"
                  else rng.normal(size=v.spec.shape).astype(v.spec.dtype) for v in node.inputs]
        copies = [types.SimpleNamespace(_array=var._array.copy()) for var in node.attrs["vars"]]
        reads = {id(var._array): c._array for var, c in zip(node.attrs["vars"], copies)}
        want_inputs = [reads.get(id(a), a) for a in inputs]  # the copies' own reads
        FUSED_ASSIGNS.kernel(np, *want_inputs, expr=node.attrs["expr"], vars=copies)
        assert gpu_executor.launch_fused_assigns(host_cupy, *inputs, expr=node.attrs["expr"],
                                                 vars=node.attrs["vars"]) == ()
        for var, want in zip(node.attrs["vars"], copies):
            np.testing.assert_allclose(var.numpy(), want._array, rtol=1e-6, atol=1e-7)
    assert [k for k, _ in host_cupy.compiled] == ["elementwise"]  # one kernel, compiled once
