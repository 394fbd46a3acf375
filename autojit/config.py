"""Run-time switches (``aj.config``); no environment variables are read in hot paths."""

from __future__ import annotations


class _Config:
    run_eagerly = False
    optimize = True  # run graph passes before code generation
    retrace_warning_threshold = 5


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
