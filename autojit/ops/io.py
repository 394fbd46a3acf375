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

    def filled(item):  # None: the next tensor; a tuple: a structure's text pieces
        if item is None:
            return _format(next(it))
        if isinstance(item, tuple):
            return "".join(filled(piece) for piece in item)
        return item

    sys.stdout.write(sep.join(filled(item) for item in template) + end)
    sys.stdout.flush()
    return ()


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "dtype") and hasattr(x, "shape")


def _pieces(x: Any, tensors: list) -> tuple:
    """The text of a list/tuple/dict holding tensors, as Python prints it (reprs inside),
    with None where each tensor's value goes (its tensors appended to ``tensors``)."""
    if _is_tensor(x):
        tensors.append(x)
        return (None,)
    if isinstance(x, dict):
        items = [((repr(k) + ": ",) + _pieces(v, tensors)) for k, v in x.items()]
        return ("{",) + _joined(items) + ("}",)
    if isinstance(x, (list, tuple)):
        items = [_pieces(v, tensors) for v in x]
        if isinstance(x, list):
            return ("[",) + _joined(items) + ("]",)
        return ("(",) + _joined(items) + ((",)",) if len(x) == 1 else (")",))
    return (repr(x),)


def _joined(items: list) -> tuple:
    out: tuple = ()
    for k, item in enumerate(items):
        out += ((", ",) if k else ()) + item
    return out


def _holds_tensors(x: Any) -> bool:
    if isinstance(x, dict):
        return any(_holds_tensors(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_holds_tensors(v) for v in x)
    return _is_tensor(x)


PRINT = defop("print", ["*values"], "_print(xp, *values, template=template, sep=sep, end=end)",
              lambda name, *avals, template, sep, end: [], attrs=("template", "sep", "end"),
              effect=True, no_outputs=True, namespace={"_print": _print})


def print(*inputs: Any, sep: str = " ", end: str = "\n") -> None:  # noqa: A001
    """Print tensors and Python values; inside ``@aj.function`` it prints on every call
    (Python's ``print`` runs only while tracing).

    Lists, tuples and dicts of tensors print with their values, as Python prints them.

    Usage: ``aj.print("step", step, "loss", loss)``
    """
    tensors: list = []
    template = []
    for x in inputs:
        if _is_tensor(x):
            tensors.append(x)
            template.append(None)
        elif isinstance(x, (list, tuple, dict)) and _holds_tensors(x):
            template.append(_pieces(x, tensors))
        else:
            template.append(str(x))
    bind(PRINT, *tensors, template=tuple(template), sep=sep, end=end)


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
