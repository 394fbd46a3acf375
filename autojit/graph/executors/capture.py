"""Whole-step CUDA graph capture: which graphs can be captured (``plan_capture``, decided on
the graph alone, so the CPU tests check it) and the replay that captures one once and then
launches it (``CapturedReplay``, written against a small device API so a fake one tests its
buffer handling on the CPU).

A captured graph replays the kernels recorded at capture, on the buffers recorded at capture,
with no Python in between. So a graph can be captured only when its replay never needs the
host: no value read back to decide a branch or a loop trip, no value check on indices, no
printing, no random draws (CuPy's generator advances on the host: replays would repeat the
numbers), no shapes unknown until run time, and every matmul through cuBLAS bindings that
allow capture (nvmath-python; CuPy's own cuBLAS calls are refused during stream capture).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any, Callable, Iterator, Mapping, Sequence

from autojit.graph.executors.device_checks import DEFERRED_CHECKS
from autojit.graph.ir import Graph, Node
from autojit.graph.scalars import INT_ARGUMENTS, host_scalars
from autojit.ops.random import DRAWS

# What each kind of host read (``host_reads``) means for a capture.
_READ_REASONS = {
    "predicate": "chooses its branch on the host (reads the predicate back)",
    "loop test": "reads its loop test back on the host every iteration",
    "values": "prints on the host",
    "checked values": "checks index values on the host",
}
# Other ops whose replay needs the host (not reads of a computed value's contents).
_HOST_OPS = {
    "reshape_dynamic": "reads the new shape back on the host",
    "fill_dynamic": "reads its shape back on the host",
    "stack_get": "indexes its saved loop states on the host",
    "size_along": "computes a size on the host",
    "stateless_random_normal": "reads its seed back on the host",
    "stateless_random_uniform": "reads its seed back on the host",
}
_MATMULS = frozenset({"matmul", "matmul_assign", "batch_matmul", "einsum", "tensordot"})
# Ops whose CuPy kernels call CuPy's cuBLAS or cuSOLVER themselves (convolutions as matrix
# products of patches, einsum's contractions, inverses and determinants): refused during
# stream capture whatever bindings the graph's own matmuls use. (tests/graph/test_capture
# checks every op whose kernel calls xp.matmul/einsum/linalg is here.)
_LIBRARY_OPS = {
    "conv2d": "cuBLAS", "conv2d_backprop_input": "cuBLAS", "conv2d_backprop_filter": "cuBLAS",
    "conv2d_transpose": "cuBLAS", "depthwise_conv2d": "cuBLAS",
    "depthwise_conv2d_backprop_input": "cuBLAS", "depthwise_conv2d_backprop_filter": "cuBLAS",
    "einsum": "cuBLAS", "matrix_inverse": "cuSOLVER", "matrix_determinant": "cuSOLVER",
    "matrix_solve": "cuSOLVER", "matrix_triangular_solve": "cuSOLVER", "cholesky": "cuSOLVER",
    "slogdet": "cuSOLVER", "eigh": "cuSOLVER", "qr": "cuSOLVER",
}
_GEMM_DTYPES = frozenset({"float32", "float64"})  # BlasMatmul's sgemm/dgemm
# Conditional graph nodes built by ``device_loops.lower_device_loops``: their subgraphs were
# planned when they were built (and are compiled on their own), so walks here skip them.
_CONDITIONAL_NODES = frozenset({"device_while", "device_cond"})


@dataclasses.dataclass
class CapturePlan:
    """Whether a graph can be captured as one CUDA graph, and if not, every reason.

    Usage: ``plan = plan_capture(graph); print(plan)``
    """

    capturable: bool
    reasons: list[str]
    conditional: list[str] = dataclasses.field(default_factory=list)  # loops kept on the device

    def __str__(self) -> str:
        if self.capturable:
            if self.conditional:
                return ("capturable as one CUDA graph, with conditional nodes for "
                        + ", ".join(self.conditional))
            return "capturable as one CUDA graph"
        return "not captured: " + "; ".join(self.reasons)


def _where(node: Node) -> str:
    if not node.where:
        return ""
    return f" ({os.path.basename(node.where[0])}:{node.where[1]})"


def host_reads(graph: Graph, host: set[int] | None = None) -> list[tuple[Node, str, bool]]:
    """The nodes whose replay reads device values back to Python, as ``(node, what, in_loop)``:
    ``what`` is "predicate" (a tensor ``cond``), "loop test" (a tensor ``while_loop``, every
    iteration), "values" (``print``, ``assert``) or "checked values" (an op's value check,
    Note [Value checks], unless the GPU replay runs it on the device: Note [Deferred checks]
    in device_checks.py); ``in_loop`` says it runs inside a loop body. A ``cond`` or loop
    whose test is a host scalar (a Python int counter) reads nothing back.

    ``host``: the graph's host scalars, when the caller has them already.

    Usage: ``[node.op.name for node, what, _ in host_reads(g)]``
    """
    host = host_scalars(graph) if host is None else host
    found: list[tuple[Node, str, bool]] = []

    def visit(g: Graph, loop: bool) -> None:
        for node in g.nodes:
            name = node.op.name
            subs = node.subgraphs()
            if name == "cond" and node.inputs and node.inputs[0].id not in host:
                found.append((node, "predicate", loop))
            elif name == "while_loop" and subs:
                # The replay runs the test graph before every iteration and reads its result:
                # autograph's loops return their first variable from it (the test the body
                # computed, or the first one), aj.while_loop's compute it there (``i < n``).
                test = node.attrs["cond"]
                if test.outputs and test.outputs[0].id not in host:
                    found.append((node, "loop test", loop))
            elif name in ("print", "assert"):
                found.append((node, "values", loop))
            elif ((node.op.check is not None or node.op.checks_values)
                  and name not in DEFERRED_CHECKS  # those run on the device
                  and not host_indexed(node, host)):
                found.append((node, "checked values", loop))
            if name in _CONDITIONAL_NODES:
                continue
            for sub in subs:
                visit(sub, loop or name == "while_loop")

    visit(graph, False)
    return found


def host_indexed(node: Node, host: set[int]) -> bool:
    """True when every input ``node``'s kernel and check call ``int()`` on (``INT_ARGUMENTS``)
    is a host scalar here (a Python loop counter): then neither reads device memory, as for
    ``x[t]`` or a reverse loop's ``stack_get`` in a ``for t in range(100)`` loop, and a capture
    records the loop unrolled. Usage: ``host_indexed(node, host_scalars(graph))``"""
    ints = INT_ARGUMENTS.get(node.op.name)
    return ints is not None and all(
        node.inputs[i].id in host for i in ints
        if i < len(node.inputs) and node.inputs[i].spec.dtype.kind != "O")  # not a stack


def _walk(graph: Graph) -> Iterator[Node]:
    """``graph.walk()`` without the subgraphs of conditional nodes already built."""
    for node in graph.nodes:
        yield node
        if node.op.name not in _CONDITIONAL_NODES:
            for sub in node.subgraphs():
                yield from _walk(sub)


def plan_capture(graph: Graph, capturable_blas: bool,
                 device_loops: Mapping[int, str | None] | None = None) -> CapturePlan:
    """Decide whether ``graph`` can be replayed as one captured CUDA graph.

    ``capturable_blas``: whether matmuls can go through cuBLAS bindings that allow stream
    capture (nvmath-python). ``device_loops``: for tensor loops and conds (by ``id(node)``),
    None when they become conditional graph nodes (they read nothing back), else why not
    (``device_loops.plan_device_loops``). Usage: ``plan_capture(g, capturable_blas=False).reasons``
    """
    device_loops = device_loops or {}
    reasons: list[str] = []
    unknown_inputs = any(v.spec.shape is None or None in v.spec.shape for v in graph.inputs)
    if unknown_inputs:
        reasons.append("an input shape is unknown until run time")
    seen: set[str] = set()
    host = host_scalars(graph)
    reads = {id(node): what for node, what, _ in host_reads(graph, host)}
    for node in _walk(graph):
        name = node.op.name
        reason = None
        if name == "assert":
            reason = f"assert{_where(node)} checks its condition on the host"
        elif id(node) in reads and id(node) in device_loops and device_loops[id(node)] is None:
            reason = None  # a conditional graph node: the test stays on the device
        elif id(node) in reads:
            reason = f"{name}{_where(node)} {_READ_REASONS[reads[id(node)]]}"
            if device_loops.get(id(node)):
                reason += f" (no conditional node: {device_loops[id(node)]})"
        elif name in _HOST_OPS and not (name == "stack_get" and host_indexed(node, host)):
            reason = f"{name}{_where(node)} {_HOST_OPS[name]}"
        elif name in DRAWS:
            reason = f"{name}{_where(node)} draws random numbers on the host's generator"
        elif name in _LIBRARY_OPS:
            reason = (f"{name}{_where(node)} calls CuPy's {_LIBRARY_OPS[name]} in its kernel, "
                      "which is refused during stream capture")
        elif name in _MATMULS and not capturable_blas:
            reason = (f"{name}{_where(node)} needs nvmath-python's cuBLAS bindings (CuPy's "
                      "cuBLAS calls are refused during stream capture)")
        elif name in ("matmul", "matmul_assign") and not _gemm_operands(node):
            reason = (f"{name}{_where(node)} of {_operands(node)} goes to CuPy's cuBLAS "
                      "(the capturable bindings take 2-D float32/float64 operands), which is "
                      "refused during stream capture")
        elif not unknown_inputs and any(v.spec.shape is None or None in v.spec.shape
                                        for v in node.outputs):
            reason = f"{name}{_where(node)} has a shape known only at run time"
        if reason is not None and reason not in seen:
            seen.add(reason)
            reasons.append(reason)
    return CapturePlan(not reasons, reasons)


def _gemm_operands(node: Node) -> bool:
    """True when a matmul node's operands are what ``BlasMatmul``'s gemm takes."""
    a, b = node.inputs[:2]
    return all(v.spec.shape is not None and len(v.spec.shape) == 2
               and v.spec.dtype.name in _GEMM_DTYPES for v in (a, b))


def _operands(node: Node) -> str:
    return " and ".join(f"{v.spec.dtype.name}{list(v.spec.shape or [])}"
                        for v in node.inputs[:2])


@contextlib.contextmanager
def graph_owned_memory(xp: Any) -> Iterator[list]:
    """Within the block, every allocation from CuPy's memory pool is also kept in the list it
    yields, for the captured graph to own.

    A captured graph writes its intermediates into the blocks it was captured with at every
    launch. Were they returned to the pool when the capture's arrays die, eager code could be
    handed them and see them overwritten by the next launch (PyTorch gives its graphs a
    private pool for the same reason).

    Usage: ``with graph_owned_memory(cupy) as blocks: ...capture...``; keep ``blocks``
    """
    pool = xp.get_default_memory_pool()
    blocks: list = []

    def allocate(size: int) -> Any:
        blocks.append(pool.malloc(size))
        return blocks[-1]

    with xp.cuda.using_allocator(allocate):
        yield blocks


class CaptureAPI:
    """What ``CapturedReplay`` needs from the device (CuPy's, or a fake in tests).

    Usage: ``class FakeCapture(CaptureAPI): ...`` (tests/graph/test_executors.py)
    """

    def empty_like(self, array: Any) -> Any:
        raise NotImplementedError

    def copy_into(self, target: Any, source: Any) -> None:
        raise NotImplementedError

    def copy(self, array: Any) -> Any:
        raise NotImplementedError

    def capture(self, fn: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        """Run ``fn`` under stream capture; return its result and a launcher of the graph."""
        raise NotImplementedError


class CapturedReplay:
    """A replay function that runs ``warmup`` times as it is, then captures one call into a
    CUDA graph and from then on copies its inputs into the static input buffers, launches
    the graph and returns copies of the static outputs (never the buffers the next launch
    overwrites). An output that is an input itself (a gradient of ``x * y`` is ``y``) is the
    caller's array, as the uncaptured replay returns it, with no copy; an input no node
    reads (``unread``: positions) is not copied in. A Variable whose
    buffer was replaced since the capture (an eager assign that could not write in place)
    triggers a new capture.

    Usage: ``replay = CapturedReplay(fn, variables, api); outs = replay(*arrays)``
    """

    def __init__(self, fn: Callable, variables: Sequence[Any], api: CaptureAPI,
                 warmup: int = 1, unread: Sequence[int] = ()):
        self.fn = fn
        self.unread = frozenset(unread)
        self.variables = list(variables)
        self.api = api
        self.warmup = warmup
        self.calls = 0
        self.captures = 0
        self._launch: Callable[[], None] | None = None
        self._inputs: list = []
        self._outputs: tuple = ()
        self._passed: list = []  # per output: the input it is, or None
        self._buffers: list = []

    def __call__(self, *arrays: Any) -> tuple:
        self.calls += 1
        if self._launch is not None and not self._stale(arrays):
            self._copy_in(arrays)
            self._launch()
            return self._results(arrays)
        if self.calls <= self.warmup:
            return self.fn(*arrays)  # first calls compile kernels and fill the memory pool
        self._inputs = [self.api.empty_like(a) for a in arrays]
        self._copy_in(arrays)
        # Capture records kernels without running them: launch once to run this call.
        self._outputs, self._launch = self.api.capture(lambda: self.fn(*self._inputs))
        self._passed = [next((k for k, static in enumerate(self._inputs) if out is static), None)
                        for out in self._outputs]
        self._buffers = [v._array for v in self.variables]
        self.captures += 1
        self._launch()
        return self._results(arrays)

    def _copy_in(self, arrays: Sequence[Any]) -> None:
        for k, (static, array) in enumerate(zip(self._inputs, arrays)):
            if k not in self.unread:
                self.api.copy_into(static, array)

    def _results(self, arrays: Sequence[Any]) -> tuple:
        return tuple(self.api.copy(out) if k is None else arrays[k]
                     for out, k in zip(self._outputs, self._passed))

    def _stale(self, arrays: Sequence[Any]) -> bool:
        if any(v._array is not b for v, b in zip(self.variables, self._buffers)):
            self._launch = None
            return True
        return False


__all__ = ["CaptureAPI", "CapturePlan", "CapturedReplay", "graph_owned_memory", "host_reads",
           "plan_capture"]
