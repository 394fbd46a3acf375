"""Graph passes, each a ``Graph -> Graph`` function, and the pipeline ``optimize``.

Passes rewrite the graph in place and return it. Each keeps program order and never
touches effectful nodes' order, so optimized graphs compute what unoptimized ones do
(tests/graph/test_passes.py checks that on many random programs).

``fuse_elementwise`` is not in the pipeline: it prepares a graph for an executor that fuses
(the GPU's), after gradients exist; ``expand_fused`` undoes it (tests/graph/test_fuse.py).
"""

from __future__ import annotations

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


def optimize(graph: Graph, max_rounds: int = 4) -> Graph:
    """Run the pipeline until the graph stops shrinking. Usage: ``g = optimize(g)``"""
    before = _count(graph)
    for _ in range(max_rounds):
        for run in PIPELINE:
            graph = run(graph)
        after = _count(graph)
        if after == before:
            break
        before = after
    return graph


__all__ = ["optimize", "fuse_elementwise", "expand_fused", "simplify_algebra", "fold_constants", "eliminate_common_subexpressions",
           "eliminate_dead_code"]
