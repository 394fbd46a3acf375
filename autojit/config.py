"""Run-time switches (``aj.config``); no environment variables are read in hot paths.

Logging: traces and retraces are logged through the standard ``logging`` module, logger
``"autojit"`` (INFO: each trace and why it happened; DEBUG: each graph pass too). The
``AUTOJIT_LOG`` environment variable (``debug``, ``info``, ``warning``, ... or a number) is
read once, at import, and sets the level and adds a stderr handler; ``set_log_level`` does
the same at run time.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("autojit")


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


def set_log_level(level: int | str | None) -> None:
    """Set the level of the ``"autojit"`` logger (``"info"`` logs every trace and retrace with
    its reason, ``"debug"`` also each graph pass); ``None`` hands the choice back to the
    logging configuration. Messages go to a stderr handler unless the logger or the root
    logger already has handlers (as under pytest or after ``logging.basicConfig``).

    Usage: ``aj.config.set_log_level("info")``
    """
    if level is None:
        logger.setLevel(logging.NOTSET)
        return
    logger.setLevel(_parse_level(level))
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        logger.addHandler(handler)


def get_log_level() -> int:
    """The effective level of the ``"autojit"`` logger. Usage: ``aj.config.get_log_level()``"""
    return logger.getEffectiveLevel()


def _parse_level(level: int | str) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    text = str(level).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    value = logging.getLevelName(text.upper())
    if not isinstance(value, int):
        raise ValueError(f"set_log_level: expected a logging level such as 'debug', 'info', "
                         f"'warning' or a number, got {level!r}")
    return value


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


def _level_from_environment() -> None:
    """Apply ``AUTOJIT_LOG`` once, at import (a bad value warns instead of breaking import)."""
    text = os.environ.get("AUTOJIT_LOG")
    if not text:
        return
    try:
        set_log_level(text)
    except ValueError as exc:
        import warnings

        warnings.warn(f"AUTOJIT_LOG ignored: {exc}", stacklevel=2)


_level_from_environment()
