"""``aj.keras.regularizers``: weight penalties, as Keras's: ``L1``, ``L2``, ``L1L2``.

A layer given ``kernel_regularizer=aj.keras.regularizers.L2(1e-4)`` (``Dense``, ``Conv1D``/
``Conv2D``, ``Embedding``'s ``embeddings_regularizer``, ``add_weight(regularizer=...)``) lists
the penalty of its current weight in ``layer.losses``; ``model.losses`` gathers those of every
sub-module (computed when read, so inside ``@aj.function`` they are part of the graph), and
``fit`` adds their sum to the compiled loss, as Keras.
"""

from __future__ import annotations

from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.ops.math import abs as absolute
from autojit.ops.math import multiply, square
from autojit.ops.reduce import reduce_sum


class Regularizer:
    """Base class: ``regularizer(weight)`` is a scalar penalty.

    Usage: ``class Max(aj.keras.regularizers.Regularizer): def __call__(self, w): ...``
    """

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Regularizer must define "
                                  "__call__(weight), returning a scalar penalty")


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``.

    Usage: ``aj.keras.regularizers.L1L2(l1=1e-5, l2=1e-4)``
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        if l1 < 0 or l2 < 0:
            raise InvalidArgumentError(f"{type(self).__name__}: l1 and l2 must be >= 0, got "
                                       f"l1={l1!r} and l2={l2!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: Any) -> Any:
        penalty = 0.0
        if self.l1:
            penalty = multiply(reduce_sum(absolute(x)), self.l1)
        if self.l2:
            term = multiply(reduce_sum(square(x)), self.l2)
            penalty = term if isinstance(penalty, float) else penalty + term
        return penalty if not isinstance(penalty, float) else multiply(reduce_sum(x), 0.0)

    def __repr__(self) -> str:
        return f"<aj.keras.regularizers.{type(self).__name__} l1={self.l1} l2={self.l2}>"


class L1(L1L2):
    """``l1 * sum(|w|)`` (Keras's default ``l1=0.01``). Usage: ``aj.keras.regularizers.L1(1e-5)``"""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    """``l2 * sum(w ** 2)`` (Keras's default ``l2=0.01``).

    Usage: ``aj.keras.regularizers.L2(1e-4)``
    """

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's function-style names


def get(identifier: Any) -> Regularizer | None:
    """A regularizer from ``None``, a name (``"l1"``, ``"l2"``, ``"l1_l2"``) or an object.

    Usage: ``aj.keras.regularizers.get("l2")``
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    names = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
    if isinstance(identifier, str) and identifier.lower() in names:
        return names[identifier.lower()]()
    if callable(identifier):
        return identifier
    raise InvalidArgumentError(f"regularizers.get: expected None, 'l1', 'l2', 'l1_l2' or a "
                               f"regularizer, got {identifier!r}")


__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2"]
