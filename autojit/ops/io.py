"""``aj.print``: printing that happens every time a traced function runs."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autojit.errors import DTypeError
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


# ----------------------------------------------------------------------------- assert


def _assert(xp, condition, message):
    if not bool(condition):
        raise AssertionError(message)
    return ()


def _assert_rule(name, condition, *, message):
    if condition.dtype != np.dtype(bool) or any(d not in (1, None) for d in condition.shape):
        raise DTypeError(f"assert: expected a bool scalar condition, got "
                         f"{condition.dtype.name}{list(condition.shape)}")
    return []


# What autograph emits for ``assert tensor_condition, message`` inside a traced function:
# checked at every call, raising AssertionError with the user's line in ``message``.
ASSERT = defop("assert", ["condition"], "_assert(xp, condition, message)", _assert_rule,
               attrs=("message",), effect=True, no_outputs=True, namespace={"_assert": _assert})
