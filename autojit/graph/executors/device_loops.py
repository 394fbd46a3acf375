"""Tensor loops and conds inside a captured CUDA graph: CUDA 12.4+ conditional graph nodes.

A ``while_loop`` whose test is a tensor (or a ``cond`` whose predicate is one) reads a value back
to the host every iteration, so the whole step cannot be captured (``plan_capture``). With
conditional nodes the loop stays on the device: its body is captured once into the body graph
of a WHILE node, its loop variables live in fixed buffers, and a one-thread kernel
(``SET_CONDITION_SOURCE``) copies the device predicate into the node's condition::

    state <- init;  condition <- test(state)          (upstream of the node)
    WHILE condition:  new <- body(state);  state <- new;  condition <- test(state)

A tensor ``cond`` becomes an IF/ELSE node whose branches write into fixed output buffers.

* ``plan_device_loops`` decides, on the graph alone, which loop and cond nodes can become
  conditional nodes: their subgraphs capturable by ``plan_capture``'s rules (nested loops may be
  conditional nodes themselves), every value of known shape, no saved iterations for a
  gradient, and the device able to run them (``conditional_support``); it says why not.
* ``lower_device_loops`` replaces those nodes by ``device_while``/``device_cond`` nodes calling
  a ``DeviceWhile``/``DeviceCond`` runner, whose subgraphs are compiled into their own replay
  functions. Outside a capture (the warm-up call, a fallback) a runner loops on the host with
  one read per test; under a capture it builds the conditional node through a
  ``ConditionalAPI``: ``CudaCoreConditions`` (cuda.core's ``GraphBuilder``) on a GPU, a fake
  whose graphs are interpreters of the recorded steps in the tests.

Status: written against cuda.core 1.2.2's signatures (``create_condition``, ``while_loop``,
``if_else``, ``launch``) and tested on the CPU against the fake; it has not yet run on a device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from typing import Any

import numpy as np

from autojit.graph.executors.capture import (CaptureAPI, CapturePlan, graph_owned_memory,
                                             host_reads, plan_capture)
from autojit.graph.executors.capture import _where as where_text
from autojit.graph.ir import Graph, Node
from autojit.graph.scalars import host_scalars
from autojit.ops.core import Op

# The one-thread kernel that sets a conditional node's condition from a device predicate.
# ``cudaGraphSetConditional`` is a device-runtime builtin: NVRTC knows its handle type and needs
# only this declaration (the CUDA headers' ``cuda_device_runtime_api.h`` is not shipped with it).
SET_CONDITION_SOURCE = r"""
extern "C" __device__ __cudart_builtin__ void CUDARTAPI cudaGraphSetConditional(
    cudaGraphConditionalHandle handle, unsigned int value);

extern "C" __global__ void autojit_set_condition(cudaGraphConditionalHandle handle,
                                                 const bool* predicate) {
    cudaGraphSetConditional(handle, *predicate ? 1u : 0u);
}
"""
SET_CONDITION_KERNEL = "autojit_set_condition"
_WHILE_DRIVER, _IF_ELSE_DRIVER = (12, 4), (12, 8)  # conditional WHILE/IF nodes; IF/ELSE


def conditional_support(xp: Any = None) -> dict[str, str]:
    """Why conditional nodes cannot be built here, by op (``"while_loop"``, ``"cond"``); empty
    when cuda.core imports and the driver has them (WHILE: CUDA 12.4, IF/ELSE: 12.8).

    Usage: ``conditional_support(cupy).get("while_loop")`` (None when loops can be built)
    """
    if xp is not None and not hasattr(getattr(xp, "cuda", None), "ExternalStream"):
        why = "this CuPy has no cuda.ExternalStream to launch into cuda.core's graph builder"
        return {"while_loop": why, "cond": why}
    key = id(sys.modules.get("cuda.core"))
    if key not in _SUPPORT:  # once per process (per cuda.core module: tests swap it)
        _SUPPORT.clear()
        _SUPPORT[key] = _driver_support()
    return dict(_SUPPORT[key])


_SUPPORT: dict[int, dict[str, str]] = {}


def _driver_support() -> dict[str, str]:
    try:
        import cuda.core  # noqa: F401  (optional: the ``gpu`` extra)
        from cuda.core import system
    except ImportError:
        why = "cuda.core is not installed (pip install cuda-core)"
        return {"while_loop": why, "cond": why}
    try:
        version = tuple(system.get_user_mode_driver_version())[:2]
    except Exception as exc:  # noqa: BLE001  (no driver library, no device: many classes)
        why = f"the CUDA driver version is unknown ({type(exc).__name__}: {exc})"
        return {"while_loop": why, "cond": why}
    found = ".".join(str(v) for v in version)
    problems = {}
    if version < _WHILE_DRIVER:
        problems["while_loop"] = f"conditional nodes need a CUDA 12.4+ driver (found {found})"
    if version < _IF_ELSE_DRIVER:
        problems["cond"] = f"if/else conditional nodes need a CUDA 12.8+ driver (found {found})"
    return problems


# ---------------------------------------------------------------------------------------
# Planning


@dataclasses.dataclass
class DeviceLoopPlan:
    """For each tensor ``while_loop``/``cond`` node: None when it becomes a conditional node,
    else why it stays on the host (``reasons``, keyed by ``id(node)``), and the nodes
    themselves in program order.

    Usage: ``plan = plan_device_loops(g, capturable_blas=True, unsupported={}); print(plan)``
    """

    reasons: dict[int, str | None]
    nodes: list[Node]

    @property
    def device(self) -> list[Node]:
        """The nodes that become conditional nodes."""
        return [node for node in self.nodes if self.reasons[id(node)] is None]

    def describe(self) -> list[str]:
        """One line per node: what it becomes, or why it stays on the host."""
        lines = []
        for node in self.nodes:
            label = f"{node.op.name}{where_text(node)}"
            reason = self.reasons[id(node)]
            kind = "WHILE" if node.op.name == "while_loop" else "IF/ELSE"
            lines.append(f"{label}: a conditional {kind} node" if reason is None
                         else f"{label} stays on the host: {reason}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.describe()) or "no tensor loops or conds"


_LABELS = {"while_loop": ("loop test", "body"), "cond": ("true branch", "false branch")}


def _known(values: Sequence[Any]) -> bool:
    return all(v.spec.shape is not None and None not in v.spec.shape for v in values)


def plan_device_loops(graph: Graph, capturable_blas: bool,
                      unsupported: dict[str, str]) -> DeviceLoopPlan:
    """Decide which tensor ``while_loop``/``cond`` nodes of ``graph`` (and of the subgraphs
    that stay inline) can become conditional graph nodes. ``unsupported``: why the device
    cannot build them, by op name (``conditional_support()``).

    Usage: ``plan_device_loops(g, capturable_blas=True, unsupported={}).device``
    """
    reasons: dict[int, str | None] = {}
    nodes: list[Node] = []
    _plan_graph(graph, capturable_blas, unsupported, reasons, nodes)
    return DeviceLoopPlan(reasons, nodes)


def _plan_graph(graph: Graph, capturable_blas: bool, unsupported: dict[str, str],
                reasons: dict, nodes: list, nested: bool = False) -> None:
    # Which tests read back depends on the host scalars of the graph being emitted: a
    # conditional node's subgraphs are compiled on their own (their inputs are arrays).
    reads = {id(node): what for node, what, _ in host_reads(graph)
             if what in ("predicate", "loop test")}
    # In a conditional node's subgraph, host scalars the code after a node reads as Python
    # values: a conditional node would leave them in device buffers, and that code, planned
    # once (the top level re-plans after lowering: conditional_capture's rounds), would read
    # them back during the capture.
    python_values: set[int] = set()
    if nested:
        used = {v.id for n in graph.walk() for v in n.inputs} | {v.id for v in graph.outputs}
        used |= {v.id for n in graph.walk() for sub in n.subgraphs() for v in sub.outputs}
        python_values = host_scalars(graph) & used

    def visit(g: Graph) -> None:
        for node in g.nodes:
            if node.op in _LOWERED:
                continue  # built already; its subgraphs were planned when it was lowered
            if id(node) not in reads:
                for sub in node.subgraphs():
                    visit(sub)
                continue
            inner_reasons: dict = {}
            inner_nodes: list = []
            kept = [v for v in node.outputs if v.id in python_values]
            reason = (f"its result %{kept[0].id} is a Python value the code after it reads "
                      "(a host scalar); a conditional node would leave it on the device"
                      ) if kept else _refusal(node, capturable_blas, unsupported,
                                              inner_reasons, inner_nodes)
            nodes.append(node)
            reasons[id(node)] = reason
            if reason is None:
                reasons.update(inner_reasons)
                nodes.extend(inner_nodes)
            else:  # emitted inline: its subgraphs are part of this graph's code
                for sub in node.subgraphs():
                    visit(sub)

    visit(graph)


def _refusal(node: Node, capturable_blas: bool, unsupported: dict[str, str],
             reasons: dict, nodes: list) -> str | None:
    """Why ``node`` cannot become a conditional node (None when it can); plans the loops and
    conds nested in its subgraphs into ``reasons``/``nodes`` on the way."""
    name = node.op.name
    if name in unsupported:
        return unsupported[name]
    if name == "while_loop" and node.attrs["save"]:
        return "it saves every iteration's state for a gradient (a list on the host)"
    subs = node.subgraphs()
    values = [*node.outputs, *(v for sub in subs for v in (*sub.inputs, *sub.outputs))]
    if not _known(values):
        what = "loop state" if name == "while_loop" else "branch inputs and results"
        return f"its {what} has a shape known only at run time"
    for label, sub in zip(_LABELS[name], subs):
        _plan_graph(sub, capturable_blas, unsupported, reasons, nodes, nested=True)
        found = plan_capture(sub, capturable_blas, device_loops=reasons).reasons
        if found:
            return f"its {label}: {found[0]}"
    return None


# ---------------------------------------------------------------------------------------
# The device API and the runners


class ConditionalAPI(CaptureAPI):
    """What the runners need to build conditional nodes under a capture, on top of
    ``CaptureAPI`` (the whole step's capture): ``CudaCoreConditions`` on a GPU, a fake in tests.

    Usage: ``class FakeConditions(ConditionalAPI): ...`` (tests/graph/test_device_loops.py)
    """

    @property
    def capturing(self) -> bool:
        """True while ``capture`` runs: runners build conditional nodes instead of looping."""
        raise NotImplementedError

    def empty(self, shape: tuple, dtype: Any) -> Any:
        raise NotImplementedError

    def condition(self) -> Any:
        """A new condition for a conditional node of the graph being built."""
        raise NotImplementedError

    def set_condition(self, condition: Any, predicate: Any) -> None:
        """Record a kernel that sets ``condition`` from a device bool ``predicate``."""
        raise NotImplementedError

    def while_body(self, condition: Any) -> ContextManager[None]:
        """Work recorded inside the block becomes the body of a WHILE node on ``condition``."""
        raise NotImplementedError

    def if_else_bodies(self, condition: Any) -> tuple[ContextManager[None], ContextManager[None]]:
        """Blocks whose work becomes the two branches of an IF/ELSE node on ``condition``."""
        raise NotImplementedError


def _root(array: Any) -> Any:
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


class DeviceWhile:
    """A ``while_loop`` node's replay: ``test`` and ``body`` are its subgraphs' compiled replay
    functions. Called as a kernel, ``runner(xp, *loop_vars, *captures[, limit])``.

    Usage: ``DeviceWhile(test_fn, body_fn, n_vars=2, has_max=False, api=api)(xp, *args)``
    """

    def __init__(self, test: Callable, body: Callable, n_vars: int, has_max: bool,
                 api: ConditionalAPI):
        self.test, self.body = test, body
        self.n_vars, self.has_max = n_vars, has_max
        self.api = api
        self.held: list = []  # buffers a built graph writes: alive as long as the graph

    def __repr__(self) -> str:
        return f"<DeviceWhile n_vars={self.n_vars}>"

    def __call__(self, xp: Any, *args: Any) -> tuple:
        end = len(args) - (1 if self.has_max else 0)
        state, captured = list(args[:self.n_vars]), list(args[self.n_vars:end])
        limit = args[-1] if self.has_max else None
        if not self.api.capturing:  # warm-up or fallback: one read per test, as inline code
            count, most = 0, None if limit is None else int(limit)
            while (most is None or count < most) and self.test(*state, *captured)[0]:
                state = list(self.body(*state, *captured))
                count += 1
            return tuple(state)
        return self._build(xp, state, captured, limit)

    def _build(self, xp: Any, init: list, captured: list, limit: Any) -> tuple:
        api = self.api
        state = [api.empty_like(a) for a in init]
        for buffer, value in zip(state, init):
            api.copy_into(buffer, value)
        count = xp.zeros((), dtype=np.int64) if limit is not None else None
        self.held = [*state, count]
        condition = api.condition()
        api.set_condition(condition, self._go(xp, state, captured, count, limit))
        with api.while_body(condition):
            new = self.body(*state, *captured)
            # A result that shares another variable's buffer (``a, b = b, a``) is staged
            # first: the copies into the state buffers would otherwise overwrite it.
            roots = [_root(b) for b in state]
            staged = [api.copy(value) if value is not state[k]
                      and any(_root(value) is root for root in roots) else value
                      for k, value in enumerate(new)]
            for buffer, value in zip(state, staged):
                if value is not buffer:
                    api.copy_into(buffer, value)
            if count is not None:
                xp.add(count, 1, out=count)
            api.set_condition(condition, self._go(xp, state, captured, count, limit))
        return tuple(state)

    def _go(self, xp: Any, state: list, captured: list, count: Any, limit: Any) -> Any:
        predicate = self.test(*state, *captured)[0]
        if count is None:
            return predicate
        return xp.logical_and(predicate, xp.less(count, limit))


class DeviceCond:
    """A ``cond`` node's replay: ``branches`` are its branches' compiled replay functions and
    ``specs`` its results' (shape, dtype). Called as ``runner(xp, predicate, *captures)``.

    Usage: ``DeviceCond((true_fn, false_fn), [((3,), np.float32)], api)(xp, pred, x)``
    """

    def __init__(self, branches: tuple[Callable, Callable], specs: list[tuple],
                 api: ConditionalAPI):
        self.branches = branches
        self.specs = specs
        self.api = api
        self.held: list = []

    def __repr__(self) -> str:
        return f"<DeviceCond outputs={len(self.specs)}>"

    def __call__(self, xp: Any, predicate: Any, *captured: Any) -> tuple:
        if not self.api.capturing:
            return tuple(self.branches[0 if predicate else 1](*captured))
        api = self.api
        outputs = [api.empty(shape, dtype) for shape, dtype in self.specs]
        self.held = outputs
        condition = api.condition()
        api.set_condition(condition, predicate)
        for block, branch in zip(api.if_else_bodies(condition), self.branches):
            with block:
                for buffer, value in zip(outputs, branch(*captured)):
                    api.copy_into(buffer, value)
        return tuple(outputs)


def _run_device_while(xp, *args, loop, graphs):
    return loop(xp, *args)


def _run_device_cond(xp, *args, loop, graphs):
    return loop(xp, *args)


def _no_rule(name, *avals, loop, graphs):  # the node keeps the outputs of the node it replaces
    raise NotImplementedError(f"{name} nodes are built by lower_device_loops, never traced")


# Unregistered ops (they exist only in the GPU executor's lowered graph). ``graphs`` keeps
# the subgraphs visible to analyses (variables written, effects) without emitting them.
DEVICE_WHILE = Op("device_while", ["*args"], _run_device_while, _no_rule,
                  attrs=("loop", "graphs"), multiple=True)
DEVICE_COND = Op("device_cond", ["*args"], _run_device_cond, _no_rule,
                 attrs=("loop", "graphs"), multiple=True)
_LOWERED = (DEVICE_WHILE, DEVICE_COND)


def lower_device_loops(graph: Graph, plan: DeviceLoopPlan,
                       compile: Callable[[Graph, str], Callable], api: ConditionalAPI) -> int:
    """Replace, in place, each node ``plan`` makes a conditional node by a ``device_while`` or
    ``device_cond`` node over its runner; ``compile(subgraph, name)`` gives a subgraph's replay
    function. Returns how many nodes were replaced.

    Usage: ``lower_device_loops(g, plan, lambda sub, name: generate(sub, dev, name)[0], api)``
    """
    count = 0
    for index, node in enumerate(graph.nodes):
        if node.op in _LOWERED:
            continue
        if plan.reasons.get(id(node), "") is not None:
            for sub in node.subgraphs():
                count += lower_device_loops(sub, plan, compile, api)
            continue
        subs = node.subgraphs()
        for sub in subs:  # nested conditional nodes first: the compiled bodies call them
            count += lower_device_loops(sub, plan, compile, api)
        if node.op.name == "while_loop":
            test, body = compile(subs[0], "loop_test"), compile(subs[1], "loop_body")
            runner: Any = DeviceWhile(test, body, node.attrs["n_vars"], node.attrs["has_max"], api)
            op = DEVICE_WHILE
        else:
            branches = (compile(subs[0], "true_branch"), compile(subs[1], "false_branch"))
            specs = [(v.spec.shape, v.spec.dtype) for v in node.outputs]
            runner, op = DeviceCond(branches, specs, api), DEVICE_COND
        lowered = Node(op, node.inputs, {"loop": runner, "graphs": tuple(subs)}, node.where)
        lowered.outputs = node.outputs
        for value in lowered.outputs:
            value.node = lowered
        graph.nodes[index] = lowered
        count += 1
    graph._effects = None
    return count


# ---------------------------------------------------------------------------------------
# cuda.core


_SET_CONDITION: dict[tuple, Any] = {}  # compute capability -> compiled kernel


class _StreamRef:
    """A raw stream pointer under the ``__cuda_stream__`` protocol (for cuda.core)."""

    def __init__(self, ptr: int):
        self.ptr = ptr

    def __cuda_stream__(self) -> tuple[int, int]:
        return (0, self.ptr)


class CudaCoreConditions(ConditionalAPI):
    """``ConditionalAPI`` on cuda.core's ``GraphBuilder``: the step is captured by a builder on
    a stream of its own, CuPy's kernels launched into it (``cupy.cuda.ExternalStream``), each
    conditional node's body by the builder ``while_loop``/``if_else`` return, and the graph
    launched on CuPy's current stream. Not yet run on a device.

    Usage: ``CapturedReplay(fn, variables, CudaCoreConditions(cupy, device_index=0))``
    """

    def __init__(self, xp: Any, device_index: int = 0):
        from cuda.core import Device, LaunchConfig, launch

        self.xp = xp
        self.device = Device(device_index)
        self.device.set_current()
        self._launch = launch
        self._config = LaunchConfig(grid=1, block=1)
        self._kernel = _set_condition_kernel(self.device)
        self._builders: list = []  # the step's builder, then the bodies being built in it
        self._streams: dict[int, Any] = {}

    @property
    def capturing(self) -> bool:
        return bool(self._builders)

    def empty_like(self, array: Any) -> Any:
        return self.xp.empty_like(array)

    def empty(self, shape: tuple, dtype: Any) -> Any:
        return self.xp.empty(shape, dtype=dtype)

    def copy_into(self, target: Any, source: Any) -> None:
        target[...] = source  # an elementwise copy kernel on the current (capturing) stream

    def copy(self, array: Any) -> Any:
        return array.copy()

    def capture(self, fn: Callable[[], Any]) -> tuple[Any, Callable[[], None]]:
        xp = self.xp
        xp.cuda.get_current_stream().synchronize()  # inputs are ready before the capture
        builder = self.device.create_stream().create_graph_builder()
        builder.begin_building("relaxed")  # CuPy's pool may allocate while building
        try:
            with self._building(builder), graph_owned_memory(xp) as blocks:
                outputs = fn()
        finally:
            builder.end_building()
        graph = builder.complete()

        def launch() -> None:
            graph.launch(self._current_stream())

        launch.blocks = blocks  # the graph's memory lives as long as its launcher
        return outputs, launch

    def _current_stream(self) -> Any:
        """CuPy's current stream as a cuda.core ``Stream`` (0 is the legacy default stream)."""
        ptr = self.xp.cuda.get_current_stream().ptr
        stream = self._streams.get(ptr)
        if stream is None:
            if ptr == 0:
                from cuda.core import LEGACY_DEFAULT_STREAM as stream
            else:
                stream = self.device.create_stream(_StreamRef(ptr))
            self._streams[ptr] = stream
        return stream

    @contextlib.contextmanager
    def _building(self, builder: Any) -> Iterator[None]:
        self._builders.append(builder)
        try:
            with self.xp.cuda.ExternalStream(builder.__cuda_stream__()[1]):
                yield
        finally:
            self._builders.pop()

    @contextlib.contextmanager
    def _body(self, builder: Any) -> Iterator[None]:
        builder.begin_building()
        try:
            with self._building(builder):
                yield
        finally:
            builder.end_building()

    def condition(self) -> Any:
        return self._builders[-1].create_condition(default_value=0)

    def set_condition(self, condition: Any, predicate: Any) -> None:
        self._launch(self._builders[-1], self._config, self._kernel, condition,
                     predicate.data.ptr)

    def while_body(self, condition: Any) -> ContextManager[None]:
        return self._body(self._builders[-1].while_loop(condition))

    def if_else_bodies(self, condition: Any) -> tuple[ContextManager[None], ContextManager[None]]:
        then, other = self._builders[-1].if_else(condition)
        return self._body(then), self._body(other)


def _set_condition_kernel(device: Any) -> Any:
    from cuda.core import Program, ProgramOptions

    capability = tuple(device.compute_capability)
    kernel = _SET_CONDITION.get(capability)
    if kernel is None:
        arch = "sm_" + "".join(str(v) for v in capability)
        program = Program(SET_CONDITION_SOURCE, "c++", ProgramOptions(std="c++17", arch=arch))
        kernel = program.compile("cubin").get_kernel(SET_CONDITION_KERNEL)
        _SET_CONDITION[capability] = kernel
    return kernel




def conditional_capture(graph: Graph, capturable_blas: bool, unsupported: dict[str, str],
                        compile: Callable[[Graph, str], Callable],
                        make_api: Callable[[], ConditionalAPI]
                        ) -> tuple[Graph | None, CapturePlan, ConditionalAPI | None]:
    """The capture plan of ``graph`` with its tensor loops and conds as conditional nodes
    where they can be, the lowered copy of ``graph`` to compile and capture with the API
    ``make_api()`` gives, and that API (both None when no node becomes a conditional node or
    the step cannot be captured anyway; the plan then says why).

    Lowering may expose new reads (a loop's counter, a host int before, is a device value
    after it, and a test on it reads back), so planning and lowering repeat a few rounds.

    Usage: ``lowered, plan, api = conditional_capture(g, True, {}, compile, make_api)``
    """
    loops = plan_device_loops(graph, capturable_blas, unsupported)
    plan = plan_capture(graph, capturable_blas, device_loops=loops.reasons)
    if not plan.capturable or not loops.device:
        return None, plan, None
    try:
        api = make_api()
    except Exception as exc:  # noqa: BLE001  (cuda.core imports, the device or NVRTC fails)
        why = f"cuda.core could not be set up ({type(exc).__name__}: {exc})"
        loops = plan_device_loops(graph, capturable_blas, {"while_loop": why, "cond": why})
        return None, plan_capture(graph, capturable_blas, device_loops=loops.reasons), None
    lowered = graph.clone()
    built: list[str] = []
    for _ in range(4):
        loops = plan_device_loops(lowered, capturable_blas, unsupported)
        if not loops.device:
            break
        built += [f"{node.op.name}{where_text(node)}" for node in loops.device]
        lower_device_loops(lowered, loops, compile, api)
    final = plan_capture(lowered, capturable_blas, device_loops=loops.reasons)
    if not final.capturable:
        return None, final, None
    final.conditional = built
    return lowered, final, api


__all__ = ["DEVICE_COND", "DEVICE_WHILE", "SET_CONDITION_SOURCE", "ConditionalAPI",
           "CudaCoreConditions", "DeviceCond", "DeviceLoopPlan", "DeviceWhile",
           "conditional_capture", "conditional_support", "lower_device_loops", "plan_device_loops"]
