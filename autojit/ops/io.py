"""``aj.print``: printing that happens every time a traced function runs."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autojit.errors import DTypeError, InvalidArgumentError
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


_ERRORS = {"AssertionError": AssertionError, "InvalidArgumentError": InvalidArgumentError}


def _summary(value: Any, summarize: int) -> str:
    array = np.asarray(value.get() if hasattr(value, "get") else value)
    flat = array.reshape(-1)
    shown = np.array2string(flat[:summarize], separator=", ") if array.ndim else str(array)
    more = f" ... ({flat.size} values)" if flat.size > summarize else ""
    return f"{array.dtype.name}{list(array.shape)} {shown}{more}"


def _assert(xp, condition, *data, message, error, labels, summarize):
    if not bool(condition):
        if data:
            message += "; " + ", ".join(f"{label} = {_summary(value, summarize)}"
                                        for label, value in zip(labels, data))
        raise _ERRORS[error](message)
    return ()


def _assert_rule(name, condition, *data, message, error, labels, summarize):
    if condition.dtype != np.dtype(bool) or any(d not in (1, None) for d in condition.shape):
        raise DTypeError(f"assert: expected a bool scalar condition, got "
                         f"{condition.dtype.name}{list(condition.shape)}")
    return []


# ``assert(condition, *data)``: raises ``error`` with ``message`` (and a summary of each
# ``data`` tensor, named by ``labels``, its first ``summarize`` values) when the condition
# is false, eagerly at once and inside a traced function at every call. Autograph emits it
# for ``assert tensor_condition, message`` (an AssertionError with the user's line in
# ``message``); ``aj.debugging`` for its checks (an InvalidArgumentError, as TF).
ASSERT = defop("assert", ["*values"],
               "_assert(xp, *values, message=message, error=error, labels=labels, "
               "summarize=summarize)",
               _assert_rule, attrs=("message", "error", "labels", "summarize"), effect=True,
               no_outputs=True, namespace={"_assert": _assert})


def assert_that(condition: Any, message: str, data: Any = (), labels: Any = (),
                error: str = "AssertionError", summarize: int = 3) -> None:
    """Raise ``error`` (``"AssertionError"`` or ``"InvalidArgumentError"``) with ``message``
    where the bool scalar ``condition`` is false: now eagerly, at every call in a graph.

    Usage: ``assert_that(aj.reduce_all(x > 0), "x must be positive", [x], ["x"])``
    """
    bind(ASSERT, condition, *data, message=message, error=error, labels=tuple(labels),
         summarize=int(summarize))
