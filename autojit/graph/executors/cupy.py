"""The GPU executor: the optimized graph, with cheap ``cond``s turned into device-side selects
(``select_cheap_conds``) and elementwise chains fused (``fuse_elementwise``), compiled by the same
code generator with CuPy as ``xp``, its fused nodes launched as generated
``cupy.ElementwiseKernel``s (``ReductionKernel``s for those ending in a reduction), matmuls
through nvmath-python's cuBLAS bindings when installed, and the whole step captured as one
CUDA graph when ``plan_capture`` allows it, its tensor loops and conds kept on the device as
conditional graph nodes (``device_loops.py``) where they can be, its index checks too
(``device_checks.py``).

CuPy is imported through ``autojit.backend`` only when a GPU graph is compiled. Status: the
kernel text, capture planning and the capture replay's buffer handling are tested on the
CPU; this module's CuPy calls have not yet run on a device (``bench/gpu_check.sh`` does that).
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from autojit.graph.codegen import generate
from autojit.graph.executors.capture import (CaptureAPI, CapturedReplay, CapturePlan,
                                             graph_owned_memory)
from autojit.graph.executors.cuda_source import KernelSource, ReductionSource, kernel_source
from autojit.graph.executors.device_checks import DeviceChecks, deferred_count
from autojit.graph.executors.device_loops import (CudaCoreConditions, conditional_capture,
                                                  conditional_support)
from autojit.graph.ir import Graph
from autojit.graph.passes.cse import eliminate_common_subexpressions
from autojit.graph.passes.dce import eliminate_dead_code
from autojit.graph.passes.fuse import (FUSED_ASSIGN, FusedExpr, _assigned_value, evaluate_fused,
                                       fuse_assignments, fuse_elementwise)
from autojit.graph.passes.lower import lower_composites
from autojit.graph.passes.matmul_update import fuse_matmul_updates
from autojit.graph.passes.merge_updates import FUSED_ASSIGNS, merge_updates
from autojit.graph.passes.select import select_cheap_conds
from autojit.ops.core import TensorSpec

# A fused node's kernel and its source, found from its expression at each launch (dies with
# the graph), and the compiled kernels by array module and source, so graphs with the same
# expression share one compilation.
_BY_EXPR: "weakref.WeakKeyDictionary[FusedExpr, Any]" = weakref.WeakKeyDictionary()
_BY_SOURCE: dict = {}


def _compiled(xp: Any, expr: FusedExpr, inputs: Sequence[Any]) -> tuple:
    """(kernel, source) of a fused node, or (None, None) where no kernel covers it."""
    found = _BY_EXPR.get(expr)
    if found is not None:
        return found
    source = kernel_source(expr, [a.dtype for a in inputs])
    kernel = None
    if source is not None:
        kernel = _BY_SOURCE.get((xp, source))  # by module too: a test's fake never leaks
        if kernel is None:
            kernel = _BY_SOURCE[xp, source] = _compile(xp, source)
    found = _BY_EXPR[expr] = (kernel, source if kernel is not None else None)
    return found


def _compile(xp: Any, source: KernelSource | ReductionSource) -> Any:
    if isinstance(source, KernelSource):
        return xp.ElementwiseKernel(source.in_params, source.out_params, source.operation,
                                    source.name)
    return xp.ReductionKernel(source.in_params, source.out_params, source.map_expr,
                              source.reduce_expr, source.post_map_expr, source.identity,
                              source.name, reduce_type=source.reduce_type,
                              preamble=source.preamble)


def launch_fused(xp: Any, *inputs: Any, expr: FusedExpr, out: Any = None) -> tuple:
    """Run a fused node as one generated kernel into fresh outputs of the node's shapes (so
    broadcasting inputs reach the full shape), or into ``out`` for a one-output node; a node
    without a kernel runs op by op. A reducing node's inputs are broadcast (as views) to the
    shape its prologue computes, but for the 0-d ones its epilogue reads (raw parameters).

    Usage (the GPU replay's kernel for ``fused``): ``launch_fused(cupy, a, b, expr=e)``
    """
    kernel, source = _compiled(xp, expr, inputs)
    if kernel is None:
        results = evaluate_fused(xp, *inputs, expr=expr)
        if out is None:
            return results
        xp.copyto(out, results[0])
        return (out,)
    if isinstance(source, ReductionSource):
        shape = source.shape
        args = [a if a.shape == shape or k in source.raw else xp.broadcast_to(a, shape)
                for k, a in enumerate(inputs)]
        if source.sides:
            return _reduce_with_sides(xp, kernel, args, source, expr)
        if source.raw and source.axis != tuple(range(len(source.axis))):
            return (_reduce_leading(kernel, args, source, out),)
        return (kernel(*args, axis=source.axis, keepdims=source.keepdims, out=out),)
    outs = [out] if out is not None else [
        xp.empty(expr.steps[j].spec.shape, dtype=expr.steps[j].spec.dtype) for j in expr.outputs]
    kernel(*inputs, *outs)
    return tuple(outs)


def _reduce_with_sides(xp: Any, kernel: Any, args: list, source: ReductionSource,
                       expr: FusedExpr) -> tuple:
    """A reduction that also stores prologue values (``source.sides``): every output is
    allocated here and passed to the kernel in order, the reduced one first. Its axes lead,
    so CuPy keeps the C order its indexer walks, unless a lone input is not C-contiguous
    (it would sort the axes by stride): that input is made contiguous first."""
    if len(args) == 1 and not args[0].flags.c_contiguous:
        args = [xp.ascontiguousarray(args[0])]
    made = {j: xp.empty(expr.steps[j].spec.shape, dtype=expr.steps[j].spec.dtype)
            for j in expr.outputs}
    final = expr.outputs[-1]
    kernel(*args, made[final], *(made[j] for j in source.sides), axis=source.axis,
           keepdims=source.keepdims)
    return tuple(made[j] for j in expr.outputs)


def _reduce_leading(kernel: Any, args: list, source: ReductionSource, out: Any) -> Any:
    """A reduction kernel with raw parameters over axes that are not the leading ones.

    CuPy's ``ReductionKernel`` moves the reduced axes first itself, but refuses to when a
    parameter is raw ("Illegal conditions"). Here the broadcast inputs are transposed instead
    (views), so that the kernel reduces the leading axes. The result then gets the node's
    shape: the kept axes stay in their order, and keepdims only inserts ones.
    """
    ndim = len(source.shape)
    axes = tuple(sorted(a % ndim for a in source.axis))
    order = axes + tuple(d for d in range(ndim) if d not in axes)
    moved = [a if k in source.raw else a.transpose(order) for k, a in enumerate(args)]
    kept = tuple(source.shape[d] for d in order[len(axes):])
    result = kernel(*moved, axis=tuple(range(len(axes))), keepdims=False,
                    out=None if out is None else out.reshape(kept))
    if out is not None:
        return out
    if source.keepdims:
        return result.reshape(tuple(1 if d in axes else n for d, n in enumerate(source.shape)))
    return result


# The expression of a fused assignment extended to the variable's new value (assign_add and
# assign_sub read the variable too), by expression.
_WRITING: "weakref.WeakKeyDictionary[FusedExpr, FusedExpr]" = weakref.WeakKeyDictionary()


def _writing(expr: FusedExpr, how: str, var: Any) -> FusedExpr:
    if how == "assign":
        return expr
    found = _WRITING.get(expr)
    if found is None:
        found = _WRITING[expr] = _assigned_value(
            expr, how, len(expr.input_specs),
            expr.input_specs + (TensorSpec(tuple(var.shape), var.dtype),))
    return found


def launch_fused_assign(xp: Any, *inputs: Any, expr: FusedExpr, how: str, var: Any) -> tuple:
    """Run a fused assignment (Note [Fused assignments] in fuse.py) as one generated kernel
    whose output is the variable's own buffer; without a kernel, op by op.

    Usage (the GPU replay's kernel for ``fused_assign``):
    ``launch_fused_assign(cupy, g, m, expr=e, how="assign_add", var=m_var)``
    """
    buffer = var._array
    full = _writing(expr, how, var)
    args = [*inputs, buffer] if how != "assign" else list(inputs)
    kernel, source = _compiled(xp, full, args)
    if kernel is None or not isinstance(source, KernelSource):
        return FUSED_ASSIGN.kernel(xp, *inputs, expr=expr, how=how, var=var)
    kernel(*args, buffer)
    return ()


def launch_fused_assigns(xp: Any, *inputs: Any, expr: FusedExpr, vars: tuple) -> tuple:
    """Run merged updates (Note [Merged updates] in passes/merge_updates.py) as one
    generated kernel whose outputs are the variables' own buffers; without a kernel, op by
    op. Usage (the GPU replay's kernel for ``fused_assigns``):
    ``launch_fused_assigns(cupy, g, m, v, p, expr=e, vars=(m_var, v_var, p_var))``"""
    kernel, source = _compiled(xp, expr, inputs)
    if kernel is None or not isinstance(source, KernelSource):
        return FUSED_ASSIGNS.kernel(xp, *inputs, expr=expr, vars=vars)
    kernel(*inputs, *(var._array for var in vars))
    return ()


def device_index_at(xp: Any, x: Any, i: Any, *, axis: int) -> Any:
    """``x[i]`` along ``axis`` in the GPU replay: a Python int (a host loop counter) indexes a
    view; a device scalar goes to ``take``, which reads nothing back (the op's own kernel,
    ``x[int(i)]``, would). Usage (the GPU replay's kernel for ``index_at``)."""
    if type(i) is int:
        return x[(slice(None),) * axis + (i,)]
    return xp.take(x, i, axis=axis)


_BLAS: dict[tuple[int, int], "BlasMatmul | None"] = {}  # by (array module, device)


class BlasMatmul:
    """2-D float matmuls through nvmath-python's cuBLAS bindings, which (unlike CuPy's)
    may run during stream capture: one handle and one workspace, made once; other matmuls
    (batched, integer) fall back to ``xp.matmul``.

    Usage: ``mm = BlasMatmul.create(cupy)``; ``mm(cupy, a, b, transpose_a=False, ...)``
    """

    _GEMM = {"float32": "sgemm", "float64": "dgemm"}

    def __init__(self, cublas: Any, xp: Any):
        self.cublas = cublas
        self.handle = cublas.create()
        self.workspace = xp.empty(32 << 20, dtype=xp.uint8)  # capture may not allocate
        cublas.set_workspace(self.handle, self.workspace.data.ptr, self.workspace.nbytes)
        self.scalars = {name: (np.ones(1, name), np.zeros(1, name)) for name in self._GEMM}
        self.alphas: dict[tuple[str, float], np.ndarray] = {}
        self.__name__ = "blas_matmul"

    @classmethod
    def create(cls, xp: Any, index: int = 0) -> "BlasMatmul | None":
        """The matmul kernel of GPU ``index``, made once per device and shared by every graph
        compiled for it (a handle and a 32 MiB workspace each would add up); None when
        nvmath-python is not installed, or, with a warning, when its cuBLAS does not load."""
        key = (id(xp), index)
        if key not in _BLAS:
            _BLAS[key] = None
            try:
                from nvmath.bindings import cublas
            except ImportError:
                return None
            try:
                with xp.cuda.Device(index):
                    _BLAS[key] = cls(cublas, xp)
            except Exception as error:  # the bindings import, but cuBLAS does not load
                warnings.warn(f"nvmath-python's cuBLAS did not load ({type(error).__name__}: "
                              f"{error}): matmuls run through CuPy, and graphs with matmuls "
                              "are not captured", RuntimeWarning, stacklevel=2)
        return _BLAS[key]

    def __call__(self, xp: Any, a: Any, b: Any, *, transpose_a: bool = False,
                 transpose_b: bool = False) -> Any:
        stored_a, ta = _row_major(a, transpose_a)
        stored_b, tb = _row_major(b, transpose_b)
        if stored_a is None or stored_b is None or a.dtype != b.dtype or (
                a.dtype.name not in self._GEMM):
            return xp.matmul(xp.swapaxes(a, -1, -2) if transpose_a else a,
                             xp.swapaxes(b, -1, -2) if transpose_b else b)
        m, k = (stored_a.shape[1], stored_a.shape[0]) if ta else stored_a.shape
        n = stored_b.shape[0] if tb else stored_b.shape[1]
        c = xp.empty((m, n), dtype=a.dtype)
        if not (m and n and k):  # cuBLAS refuses leading dimensions of 0
            c[...] = 0  # (k == 0: sums of nothing)
            return c
        one, zero = self.scalars[a.dtype.name]
        self._gemm(xp, stored_a, ta, stored_b, tb, k, one, zero, c)
        return c

    def _gemm(self, xp: Any, a: Any, ta: bool, b: Any, tb: bool, k: int, alpha: np.ndarray,
              beta: np.ndarray, c: Any) -> None:
        """``c = alpha * op(a) op(b) + beta * c`` for C-contiguous ``a``, ``b``, ``c``, on the
        current stream; ``alpha``/``beta`` host scalars."""
        m, n = c.shape
        self.cublas.set_stream(self.handle, xp.cuda.get_current_stream().ptr)
        # Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
        getattr(self.cublas, self._GEMM[c.dtype.name])(
            self.handle, int(tb), int(ta), n, m, k, alpha.ctypes.data, b.data.ptr, b.shape[1],
            a.data.ptr, a.shape[1], beta.ctypes.data, c.data.ptr, n)

    def update(self, xp: Any, a: Any, b: Any, *, alpha: float, transpose_a: bool = False,
               transpose_b: bool = False, var: Any) -> tuple:
        """``var += alpha * op(a) op(b)`` as one gemm writing the variable's buffer (beta 1:
        Note [Matmul updates] in passes/matmul_update.py); other operands: the product
        then an in-place add. Usage (the GPU replay's kernel for ``matmul_assign``):
        ``mm.update(cupy, x, g, alpha=-0.01, transpose_a=True, var=w)``"""
        c = var._array
        stored_a, ta = _row_major(a, transpose_a)
        stored_b, tb = _row_major(b, transpose_b)
        name = c.dtype.name
        if (stored_a is None or stored_b is None or c.ndim != 2 or not c.flags.c_contiguous
                or not a.dtype == b.dtype == c.dtype or name not in self._GEMM):
            product = self(xp, a, b, transpose_a=transpose_a, transpose_b=transpose_b)
            xp.add(c, xp.multiply(product, c.dtype.type(alpha)), out=c)
            return ()
        k = stored_a.shape[0] if ta else stored_a.shape[1]
        if not (c.size and k):
            return ()  # an empty product adds nothing
        key = (name, float(alpha))
        if key not in self.alphas:  # host scalars, read by the call (a capture keeps them)
            self.alphas[key] = np.full(1, alpha, name)
        self._gemm(xp, stored_a, ta, stored_b, tb, k, self.alphas[key], self.scalars[name][0],
                   c)
        return ()


def _row_major(x: Any, transposed: bool) -> tuple[Any, bool]:
    """``x`` as a C-contiguous 2-D array and a transpose flag giving the same operand: an
    F-contiguous ``x`` (a transpose's view) is ``x.T`` with the flag flipped. ``(None, _)``
    for batched arrays, which go to ``xp.matmul``; a strided 2-D view is copied (a kernel a
    capture records) so that it still takes the gemm."""
    if x.ndim != 2:
        return None, transposed
    if x.flags.c_contiguous:
        return x, transposed
    if x.flags.f_contiguous:
        return x.T, not transposed
    return x.copy(), transposed  # strided (a slice's view): a copy kernel, then the gemm


class CupyCapture(CaptureAPI):
    """``CaptureAPI`` on CuPy: capture on a side stream, launch on the current stream.

    Usage: ``CapturedReplay(fn, variables, CupyCapture(cupy))``
    """

    def __init__(self, xp: Any):
        self.xp = xp
        self.stream = xp.cuda.Stream(non_blocking=True)

    def empty_like(self, array: Any) -> Any:
        return self.xp.empty_like(array)

    def copy_into(self, target: Any, source: Any) -> None:
        if _same_layout(target, source):  # one cudaMemcpyAsync, no kernel's argument setup
            if source.nbytes:
                target.data.copy_from_device_async(source.data, source.nbytes)
        else:
            target[...] = source

    def copy(self, array: Any) -> Any:
        if not array.flags.c_contiguous:
            return array.copy()
        out = self.xp.empty_like(array)
        if array.nbytes:
            out.data.copy_from_device_async(array.data, array.nbytes)
        return out

    def capture(self, fn: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        xp = self.xp
        xp.cuda.get_current_stream().synchronize()  # inputs are ready before capture
        with self.stream, graph_owned_memory(xp) as blocks:
            self.stream.begin_capture()
            try:
                outputs = fn()
            finally:
                graph = self.stream.end_capture()

        def launch() -> None:
            graph.launch(xp.cuda.get_current_stream())

        launch.blocks = blocks  # the graph's memory lives as long as its launcher
        launch.graph = graph
        return outputs, launch


def _same_layout(target: Any, source: Any) -> bool:
    """True when ``source`` (a device array) can be copied into ``target`` byte for byte."""
    return (isinstance(source, type(target)) and source.shape == target.shape
            and source.dtype == target.dtype and source.flags.c_contiguous
            and target.flags.c_contiguous)


def kernel_nodes(launch: Any) -> int | None:
    """How many kernel nodes the CUDA graph behind a capture's ``launch`` holds, read from
    CUDA's DOT dump of it (a kernel node's label shows its launch configuration,
    ``<<<grid, block>>>``); None when there is no such graph or dump. A diagnostic for the
    GPU benchmark. Usage: ``kernel_nodes(replay.captured._launch)``"""
    graph = getattr(launch, "graph", None)
    try:
        dot = graph.debug_dot_str() if graph is not None else None
    except Exception:  # noqa: BLE001  (a CuPy or driver without the dump)
        return None
    if not dot:
        return None
    text = dot.decode() if isinstance(dot, bytes) else str(dot)
    return text.replace("\\<", "<").count("<<<")


class GpuReplay:
    """The GPU replay of one graph: uncaptured, or captured after a warm-up when its plan
    allows; a capture that fails at run time falls back for good and records why.

    Usage: ``fn = GpuReplay(...)``; ``fn(*arrays)``; ``fn.report()``
    """

    def __init__(self, fn: Callable, plan: CapturePlan, captured: CapturedReplay | None,
                 checks: DeviceChecks | None = None):
        self.fn = fn
        self.plan = plan
        self.captured = captured
        self.checks = checks
        self.line_nodes = getattr(fn, "line_nodes", {})
        self.__code__ = fn.__code__

    def __call__(self, *arrays: Any) -> tuple:
        if self.checks is None:
            return self._replay(arrays)
        self.checks.raise_found()  # what an earlier call's device checks found
        out = self._replay(arrays)
        self.checks.publish()
        return out

    def _replay(self, arrays: tuple) -> tuple:
        if self.captured is None:
            return self.fn(*arrays)
        try:
            return self.captured(*arrays)
        except Exception as exc:  # e.g. an op the planner did not know syncs with the host
            if self.captured.captures or self.captured.calls <= self.captured.warmup:
                raise
            self.plan = CapturePlan(False, [f"capture failed: {type(exc).__name__}: {exc}"])
            self.captured = None
            return self.fn(*arrays)

    def check_values(self) -> None:
        """Wait for the device and raise what its deferred value checks found (Note
        [Deferred checks]). Usage: ``replay.check_values()``"""
        if self.checks is not None:
            self.checks.check_values()

    def report(self) -> str:
        """One line: whether replays launch one CUDA graph, and why not; once captured, how
        many kernels the graph launches (where CUDA's graph dump says)."""
        launch = self.captured._launch if self.captured is not None else None
        count = kernel_nodes(launch) if launch is not None else None
        return str(self.plan) + (f" ({count} kernel nodes)" if count is not None else "")


def compile_gpu(graph: Graph, device: Any, name: str, variables: Sequence[Any],
                fusion: bool = True, cuda_graphs: bool = True,
                conditions: Callable[[], Any] | None = None,
                checks: Callable[[int], DeviceChecks] | None = None
                ) -> tuple[Callable, str]:
    """The GPU replay function for ``graph`` and its source. Tensor loops and conds become
    conditional graph nodes where they can (``device_loops.py``), built through
    ``conditions()`` (default: cuda.core's, when ``conditional_support`` finds it usable;
    tests pass a fake). Index checks run on the device (Note [Deferred checks]), through
    ``checks(capacity)`` (default: ``DeviceChecks`` on pinned memory; tests pass a fake).

    Usage: ``fn, source = compile_gpu(graph, aj.get_device("GPU:0"), "step", [])``
    """
    xp = device.xp
    # A cheap cond chooses on the device (where), not by reading its predicate back.
    work = eliminate_dead_code(select_cheap_conds(graph.clone()))
    if fusion:  # composites as their arithmetic, its repeats merged, then fused; an
        # optimizer's updates of one parameter (its slots, itself) become one kernel
        work = merge_updates(fuse_assignments(fuse_elementwise(
            eliminate_common_subexpressions(lower_composites(work)))))
    kernels: dict[str, Callable] = {"fused": launch_fused, "fused_assign": launch_fused_assign,
                                    "fused_assigns": launch_fused_assigns,
                                    "index_at": device_index_at}
    blas = BlasMatmul.create(xp, device.index)
    if blas is not None:
        kernels["matmul"] = blas
        update = getattr(blas, "update", None)
        if fusion and update is not None:  # w -= lr * (x^T @ g) as one gemm
            work = fuse_matmul_updates(work)
            kernels["matmul_assign"] = update
    count = deferred_count(work)  # each compiled copy of a checked node takes a slot
    found = (checks or (lambda n: DeviceChecks(xp, n)))(8 * count) if count else None
    wrap = found.wrap if found is not None else None
    fn, source = generate(work, device, name, kernels=kernels, checks=wrap)
    if not cuda_graphs:
        plan = CapturePlan(False, ["CUDA graphs are off (aj.config.set_cuda_graphs)"])
        return GpuReplay(fn, plan, None, found), source
    unsupported = {} if conditions is not None else conditional_support(xp)
    lowered, plan, api = conditional_capture(
        work, blas is not None, unsupported,
        lambda sub, sub_name: generate(sub, device, f"{name}_{sub_name}", kernels=kernels,
                                       checks=wrap)[0],
        conditions or (lambda: CudaCoreConditions(xp, device.index)))
    read = {v.id for node in work.walk() for v in node.inputs}
    unread = [k for k, v in enumerate(work.inputs) if v.id not in read]  # copied in for nothing
    if lowered is not None:  # loops stay on the device: capture through the conditions API
        fn, source = generate(lowered, device, name, kernels=kernels, checks=wrap)
        captured = CapturedReplay(fn, variables, api, unread=unread)
        return GpuReplay(fn, plan, captured, found), source
    captured = (CapturedReplay(fn, variables, CupyCapture(xp), unread=unread)
                if plan.capturable else None)
    return GpuReplay(fn, plan, captured, found), source


__all__ = ["BlasMatmul", "CupyCapture", "GpuReplay", "compile_gpu", "device_index_at",
           "kernel_nodes", "launch_fused", "launch_fused_assign", "launch_fused_assigns"]
