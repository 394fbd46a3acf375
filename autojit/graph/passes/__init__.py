"""Graph passes, each a ``Graph -> Graph`` function, and the pipeline ``optimize``.

Passes rewrite the graph in place and return it. Each keeps program order and never
touches effectful nodes' order, so optimized graphs compute what unoptimized ones do
(tests/graph/test_passes.py checks that on many random programs).

``fuse_elementwise`` is not in the pipeline: it prepares a graph for an executor that fuses
(the GPU's), after gradients exist; ``expand_fused`` undoes it (tests/graph/test_fuse.py).
The GPU executor also runs ``lower.lower_composites`` before it, ``fuse.fuse_assignments``
and ``merge_updates.merge_updates`` after it, and ``matmul_update.fuse_matmul_updates``
where cuBLAS can accumulate.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from autojit.graph.ir import Graph
from autojit.graph.passes.cse import eliminate_common_subexpressions
from autojit.graph.passes.dce import eliminate_dead_code
from autojit.graph.passes.fold import fold_constants
from autojit.graph.passes.fuse import expand_fused, fuse_elementwise
from autojit.graph.passes.simplify import simplify_algebra

PIPELINE = (simplify_algebra, fold_constants, eliminate_common_subexpressions,
            eliminate_dead_code)


def _count(graph: Graph) -> int:
    return sum(1 for _ in graph.walk())


@dataclass(frozen=True)
class PassStat:
    """What one pass did in one round of ``optimize``: node counts (subgraphs included)
    before and after, and the op names it removed or added (``{"multiply": 2}``).

    Usage: ``stats = []; optimize(g, record=stats); print(stats[0])``
    """

    name: str
    round: int
    nodes_before: int
    nodes_after: int
    removed: dict
    added: dict
    seconds: float

    def __str__(self) -> str:
        parts = [f"{self.name} (round {self.round}): {self.nodes_before} -> {self.nodes_after}"]
        if self.removed:
            parts.append("removed " + _ops_text(self.removed))
        if self.added:
            parts.append("added " + _ops_text(self.added))
        return ", ".join(parts)


def _ops_text(counts: dict) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


def _op_counts(graph: Graph) -> Counter:
    return Counter(node.op.name for node in graph.walk())


def optimize(graph: Graph, max_rounds: int = 4, record: list | None = None) -> Graph:
    """Run the pipeline until the graph stops shrinking; with ``record`` (a list), append a
    ``PassStat`` per pass run. Usage: ``g = optimize(g)``"""
    if record is not None:
        return _optimize_recorded(graph, max_rounds, record)
    before = _count(graph)
    for _ in range(max_rounds):
        for run in PIPELINE:
            graph = run(graph)
        after = _count(graph)
        if after == before:
            break
        before = after
    return graph


def _optimize_recorded(graph: Graph, max_rounds: int, record: list) -> Graph:
    """``optimize``, counting nodes by op name around each pass (for ``explain()``)."""
    counts = _op_counts(graph)
    for round_ in range(1, max_rounds + 1):
        start = sum(counts.values())
        for run in PIPELINE:
            began = time.perf_counter()
            graph = run(graph)
            seconds = time.perf_counter() - began
            after = _op_counts(graph)
            record.append(PassStat(run.__name__, round_, sum(counts.values()),
                                   sum(after.values()), dict(counts - after),
                                   dict(after - counts), seconds))
            counts = after
        if sum(counts.values()) == start:
            break
    return graph


__all__ = ["optimize", "PassStat", "fuse_elementwise", "expand_fused", "simplify_algebra",
           "fold_constants", "eliminate_common_subexpressions", "eliminate_dead_code"]
