"""``progress``: a tqdm progress bar when tqdm is installed and the bar's stream is a
terminal, else the iterable itself, so piped output and test runs see no bar.

Usage::

    for batch in aj.train.progress(batches, total=steps, desc="epoch 3"):
        ...
"""

from __future__ import annotations

import sys
from typing import IO, Any, Iterable


def progress(iterable: Iterable[Any], total: int | None = None, desc: str | None = None,
             file: IO[str] | None = None, disable: bool = False) -> Iterable[Any]:
    """Wrap ``iterable`` in a transient tqdm bar on ``file`` (default ``sys.stderr``) when
    tqdm is importable and ``file`` is a terminal; otherwise return ``iterable`` unchanged.

    Usage: ``for step in aj.train.progress(range(steps), desc="epoch 1"): ...``

    The bar is cleared when the loop ends (``leave=False``), so a one-line-per-epoch summary
    printed after it reads the same with and without a bar.
    """
    stream = sys.stderr if file is None else file
    if disable or not _is_terminal(stream):
        return iterable
    try:
        from tqdm import tqdm  # optional: the examples extra installs it
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, file=stream, leave=False,
                dynamic_ncols=True)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
