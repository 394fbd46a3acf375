"""Where code runs (eagerly, or while a function traces) and TF's context managers over it:
``executing_eagerly``, ``init_scope``, ``control_dependencies``, ``no_op``.

Inside ``@aj.function`` ops with effects (assigns, prints, checks, random draws) keep their
program order and every one runs (TF2's automatic control dependencies), so
``control_dependencies`` has nothing to add: it checks its argument and returns a context
that changes nothing, as in TF2 functions.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from autojit.errors import InvalidArgumentError
from autojit.graph.tracer import GraphTrace
from autojit.ops import core


def executing_eagerly() -> bool:
    """False while an ``@aj.function`` traces its Python code, True otherwise.

    Usage: ``if aj.executing_eagerly(): print(x.numpy())``
    """
    return not isinstance(core.current_trace(), GraphTrace)


def init_scope() -> Any:
    """A context that runs ops eagerly even while a function traces (to create state once).

    Usage: ``with aj.init_scope(): table = aj.constant(values)``
    """
    return core.eager_scope()


@contextlib.contextmanager
def control_dependencies(control_inputs: Any) -> Iterator[None]:
    """A context that changes nothing: effects already run in program order (module
    docstring). ``control_inputs`` must be ``None`` or a list of tensors, ops or ``None``.

    Usage: ``with aj.control_dependencies([update]): y = aj.identity(x)``
    """
    if control_inputs is not None and not isinstance(control_inputs, (list, tuple)):
        raise InvalidArgumentError("control_dependencies: expected a list of tensors or "
                                   f"None, got {type(control_inputs).__name__}")
    yield


def no_op(name: str | None = None) -> None:
    """Nothing (TF's placeholder op for control dependencies). Usage: ``aj.no_op()``"""
    return None


__all__ = ["control_dependencies", "executing_eagerly", "init_scope", "no_op"]
