"""Run-time switches (``aj.config``); no environment variables are read in hot paths."""

from __future__ import annotations


class _Config:
    run_eagerly = False
    optimize = True  # run graph passes before code generation
    retrace_warning_threshold = 5
    fusion: bool | None = None  # fuse elementwise chains; None: on the GPU only
    cuda_graphs: bool | None = None  # capture whole steps as CUDA graphs; None: on the GPU


_config = _Config()


def run_functions_eagerly(run_eagerly: bool) -> None:
    """Run ``@aj.function``s as plain Python (for debugging).

    Usage: ``aj.config.run_functions_eagerly(True)``
    """
    _config.run_eagerly = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether ``@aj.function``s currently run as plain Python.

    Usage: ``aj.config.functions_run_eagerly()``
    """
    return _config.run_eagerly


def set_graph_optimization(enabled: bool) -> None:
    """Turn the graph passes on or off (on by default).

    Usage: ``aj.config.set_graph_optimization(False)``
    """
    _config.optimize = bool(enabled)


def set_fusion(enabled: bool | None) -> None:
    """Fuse chains of elementwise ops into one kernel per chain (``None``, the default: on the
    GPU, where each launch costs; the CPU replay expands fused nodes back either way).

    Usage: ``aj.config.set_fusion(False)`` (then trace again: existing graphs keep theirs)
    """
    _config.fusion = None if enabled is None else bool(enabled)


def set_cuda_graphs(enabled: bool | None) -> None:
    """Capture GPU replays as one CUDA graph when they have no host synchronisation
    (``None``, the default: on; only GPU graphs are ever captured).

    Usage: ``aj.config.set_cuda_graphs(False)``
    """
    _config.cuda_graphs = None if enabled is None else bool(enabled)
