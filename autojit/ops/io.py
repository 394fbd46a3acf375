"""``aj.print``: printing that happens every time a traced function runs."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autojit.ops.core import bind, defop


def _format(value: Any) -> str:
    array = np.asarray(value.get() if hasattr(value, "get") else value)
    return str(array) if array.ndim else str(array.item())


def _print(xp, *values, template, sep, end):
    it = iter(values)
    parts = [_format(next(it)) if item is None else item for item in template]
    sys.stdout.write(sep.join(parts) + end)
    sys.stdout.flush()
    return ()


PRINT = defop("print", ["*values"], "_print(xp, *values, template=template, sep=sep, end=end)",
              lambda name, *avals, template, sep, end: [], attrs=("template", "sep", "end"),
              effect=True, no_outputs=True, namespace={"_print": _print})


def print(*inputs: Any, sep: str = " ", end: str = "\n") -> None:  # noqa: A001
    """Print tensors and Python values; inside ``@aj.function`` it prints on every call
    (Python's ``print`` runs only while tracing).

    Usage: ``aj.print("step", step, "loss", loss)``
    """
    tensors = [x for x in inputs if hasattr(x, "dtype") and hasattr(x, "shape")]
    template = tuple(None if hasattr(x, "dtype") and hasattr(x, "shape") else str(x)
                     for x in inputs)
    bind(PRINT, *tensors, template=template, sep=sep, end=end)
