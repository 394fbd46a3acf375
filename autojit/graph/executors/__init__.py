"""Executors: what turns an optimized graph into a replay function for one device (DESIGN.md's
"one executor per backend" seam). The CPU's is the code generator (``autojit.graph.codegen``,
which expands fused nodes back); the GPU's is ``cupy.py`` (fused kernels, CUDA graphs).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from autojit.graph.codegen import generate
from autojit.graph.ir import Graph
from autojit.graph.passes.fuse import fuse_elementwise


def compile_graph(graph: Graph, device: Any, name: str, variables: Sequence[Any] = (),
                  fusion: bool | None = None, cuda_graphs: bool | None = None
                  ) -> tuple[Callable, str]:
    """The replay function for ``graph`` on ``device`` and its source. ``fusion`` and
    ``cuda_graphs``: ``None`` picks the device's default (on for the GPU, off for the CPU).

    Usage: ``fn, source = compile_graph(graph, aj.get_device("CPU:0"), "step")``
    """
    gpu = device.kind == "GPU"
    if gpu:
        from autojit.graph.executors.cupy import compile_gpu

        return compile_gpu(graph, device, name, variables, fusion=fusion is not False,
                           cuda_graphs=cuda_graphs is not False)
    if fusion:  # only to exercise the pass: the CPU replay expands fused nodes back
        graph = fuse_elementwise(graph.clone())
    return generate(graph, device, name)


__all__ = ["compile_graph"]
