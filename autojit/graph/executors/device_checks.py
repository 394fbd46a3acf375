"""Value checks that stay on the device, so a GPU step that indexes can still be captured.

Note [Deferred checks]: an op's value check (Note [Value checks] in ops/core.py) reads its
indices back to the host (``int(indices.max())``) at every replay: on the GPU that is a
synchronisation per checked op, and no CUDA graph can hold it. The sparse cross-entropy of
a classifier's loss has one, so without this no classifier's training step could be
captured. For the ops in ``DEFERRED_CHECKS`` (their checks test index ranges only, through
``ops.indexing.check_index_range``, and their kernels read no index back) the GPU replay runs
the check as device work instead:

* ``DeviceChecks.wrap(node)`` gives the replay a check that calls the op's own one inside
  ``deferred_index_checks``, where a range test becomes ``flags[k] |= any(indices out of
  range)`` on the device, ``k`` the node's slot: one small kernel (a fused reduction,
  ``range_test``, writing the flag), no read, capturable;
* after each replay the flags are copied to pinned host memory asynchronously
  (``publish``); before each replay the host copy is looked at (``raise_found``), without
  waiting: a set flag raises the op's ``InvalidArgumentError``, naming the user's line, and
  clears the flags. So a bad index is reported by a later call, usually the next, instead of
  the one that used it (PyTorch's device-side asserts are asynchronous too; TensorFlow's GPU
  kernels fill zeros or NaN without an error). ``check_values()`` waits for the device and
  reports at once.

What the kernels compute for an out-of-range index before the error arrives is the backend's
(CuPy wraps indices around); the error says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from autojit.errors import InvalidArgumentError
from autojit.graph.ir import Node
from autojit.graph.passes.fuse import FusedExpr, Step
from autojit.ops.core import TensorSpec
from autojit.ops.indexing import deferred_index_checks

# Ops whose value check tests index ranges only (check_index_range) and whose GPU kernel reads
# no index back (index_at's own, ``x[int(i)]``, would: the GPU replay runs cupy.py's
# ``device_index_at`` instead): their checks can run on the device.
DEFERRED_CHECKS = frozenset({
    "gather", "gather_nd", "index_at", "label_check", "scatter_nd",
    "sparse_softmax_cross_entropy_with_logits",
    "take_along_axis", "tensor_scatter_nd_add", "tensor_scatter_nd_update",
})


def _async_copy(flags: Any, host: np.ndarray) -> None:
    flags.get(out=host, blocking=False)  # pinned memory: ordered on the current stream


def _pinned(xp: Any, n: int) -> np.ndarray:
    # page-locked, so the copy can be asynchronous; the array keeps the memory alive (.base)
    return np.frombuffer(xp.cuda.alloc_pinned_memory(4 * n), np.int32, n)


class DeviceChecks:
    """The deferred value checks of one GPU replay (Note [Deferred checks]): one device flag
    per checked node, its host copy, and the message of each flag.

    ``capacity``: the number of slots (the graph is compiled more than once when its loops
    become conditional nodes, and each compiled copy of a node takes a slot).

    Usage: ``checks = DeviceChecks(cupy, 8)``; ``generate(..., checks=checks.wrap)``;
    around each replay ``checks.raise_found()`` / ``checks.publish()``
    """

    def __init__(self, xp: Any, capacity: int,
                 copy_to_host: Callable[[Any, np.ndarray], None] | None = None,
                 host: np.ndarray | None = None):
        self.xp = xp
        self.nodes: list[Node] = []  # slot -> the node checked there
        self.flags = xp.zeros(max(capacity, 1), dtype=np.int32)
        self.views = [self.flags[k:k + 1].reshape(()) for k in range(capacity)]  # 0-d views
        self.host = host if host is not None else _pinned(xp, len(self.flags))
        self.host[...] = 0
        self.copy_to_host = copy_to_host or _async_copy
        self.messages: dict[int, Callable[[], str]] = {}
        # the GPU executor's launcher, imported here: cupy.py imports this module
        from autojit.graph.executors.cupy import launch_fused

        self.launch = launch_fused

    def wrap(self, node: Node) -> Callable | None:
        """The check the replay calls for ``node``: its op's own, run with range tests kept on
        the device (a slot of its own); None (the op's check as it is) for a node whose op is
        not in ``DEFERRED_CHECKS``, or when every slot is taken."""
        if node.op.name not in DEFERRED_CHECKS or len(self.nodes) == len(self.views):
            return None
        slot = len(self.nodes)
        self.nodes.append(node)
        check, xp, flag = node.op.check, self.xp, self.views[slot]
        tests: dict = {}  # (shape, dtype, low, size) -> the fused range test

        def sink(indices: Any, low: int, size: int, message: Callable[[], str]) -> None:
            self.messages.setdefault(slot, message)
            if not indices.size:
                return
            key = (tuple(indices.shape), indices.dtype, low, size)
            if key not in tests:
                tests[key] = range_test(*key)
            expr = tests[key]
            self.launch(xp, indices, flag, expr=expr, out=flag)

        def deferred(name: str, *inputs: Any, **attrs: Any) -> None:
            with deferred_index_checks(sink):
                check(name, *inputs, **attrs)

        deferred.__name__ = f"deferred_{node.op.name}"
        return deferred

    def publish(self) -> None:
        """After a replay: start copying the flags to the host (no wait)."""
        if self.nodes:
            self.copy_to_host(self.flags, self.host)

    def raise_found(self) -> None:
        """Before a replay: raise the error of a flag an earlier replay set (no wait)."""
        if not self.nodes or not self.host.any():
            return
        slot = int(np.flatnonzero(self.host)[0])
        self.host[...] = 0
        self.flags.fill(0)
        node = self.nodes[slot]
        message = self.messages.get(slot, lambda: f"{node.op.name}: an index out of range")()
        where = f" at {os.path.basename(node.where[0])}:{node.where[1]}" if node.where else ""
        raise InvalidArgumentError(
            f"{message} (found on the device by an earlier call{where}: GPU replays check "
            "index values without waiting for them, so the error arrives a call late and "
            "that call's results used wrapped indices)")

    def check_values(self) -> None:
        """Wait for the device, then raise any error found. Usage: ``replay.check_values()``"""
        if self.nodes:
            self.xp.cuda.get_current_stream().synchronize()
            self.copy_to_host(self.flags, self.host)
            self.xp.cuda.get_current_stream().synchronize()
        self.raise_found()


def range_test(shape: tuple, dtype: Any, low: int, size: int) -> FusedExpr:
    """The fused expression ``maximum(flag, max(int32(indices < low or indices >= size)))``
    of ``(indices, flag)`` (no reduction for a 0-d index), launched with ``out=flag``: one
    kernel where the plain array expression is five. Its reduction reads the 0-d flag in its
    epilogue (a raw parameter) and writes it after the reduction, in the same thread.
    Usage: ``range_test((128,), np.dtype("int32"), 0, 10)``"""
    dtype = np.dtype(dtype)
    flags = [TensorSpec(shape, np.bool_), TensorSpec(shape, np.int32)]
    flag = TensorSpec((), np.int32)
    steps = [Step("less", (("in", 0), ("const", dtype.type(low))), (), flags[0]),
             Step("greater_equal", (("in", 0), ("const", dtype.type(size))), (), flags[0]),
             Step("logical_or", (("t", 0), ("t", 1)), (), flags[0]),
             Step("cast", (("t", 2),), (("dtype", np.dtype(np.int32)),), flags[1])]
    if shape:
        axes = tuple(range(len(shape)))
        steps.append(Step("reduce_max", (("t", 3),), (("axis", axes), ("keepdims", False)),
                          flag))
    steps.append(Step("maximum", (("in", 1), ("t", len(steps) - 1)), (), flag))
    return FusedExpr(tuple(steps), (len(steps) - 1,), (), (TensorSpec(shape, dtype), flag))


def deferred_count(graph: Any) -> int:
    """How many nodes of ``graph`` (subgraphs included) have checks that run on the device.
    Usage: ``DeviceChecks(cupy, 8 * deferred_count(graph))``"""
    return sum(1 for node in graph.walk()
               if node.op.check is not None and node.op.name in DEFERRED_CHECKS)


__all__ = ["DEFERRED_CHECKS", "DeviceChecks", "deferred_count", "range_test"]
