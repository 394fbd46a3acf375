"""Layers that merge a list of tensors (Keras names): ``Add``, ``Subtract``, ``Multiply``,
``Average``, ``Maximum``, ``Minimum`` and ``Concatenate``. They have no weights; the
elementwise ones broadcast as the ops do.

Usage: ``y = aj.layers.Add()([x, residual])``; ``aj.layers.Concatenate(axis=-1)([a, b])``
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from autojit.errors import InvalidArgumentError
from autojit.layers.functional import accepts_keras_tensors
from autojit.module import Module
from autojit.ops import math as math_ops
from autojit.ops.array import concat
from autojit.tensor import Tensor, convert_to_tensor


@accepts_keras_tensors
class _Merge(Module):
    combine: Callable[[Any, Any], Any] = staticmethod(math_ops.add)
    at_least = 2  # inputs

    def __call__(self, inputs: Any) -> Tensor:
        """Merge the tensors of the list ``inputs``. Usage: ``y = layer([a, b])``"""
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.at_least:
            raise InvalidArgumentError(
                f"{type(self).__name__} {self.name!r}: expected a list of at least "
                f"{self.at_least} tensors, got {_describe(inputs)}")
        tensors = [x if isinstance(x, Tensor) else convert_to_tensor(x) for x in inputs]
        return self._merge(tensors)

    def _merge(self, tensors: list) -> Tensor:
        return functools.reduce(type(self).combine, tensors)

    def __repr__(self) -> str:
        return f"<aj.layers.{type(self).__name__} {self.name!r}>"


def _describe(inputs: Any) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"a list of {len(inputs)}"
    return f"a {type(inputs).__name__}"


class Add(_Merge):
    """The sum of the inputs. Usage: ``y = aj.layers.Add()([x, shortcut])``"""


class Multiply(_Merge):
    """The product of the inputs. Usage: ``y = aj.layers.Multiply()([x, gate])``"""

    combine = staticmethod(math_ops.multiply)


class Maximum(_Merge):
    """The elementwise maximum of the inputs. Usage: ``aj.layers.Maximum()([a, b])``"""

    combine = staticmethod(math_ops.maximum)


class Minimum(_Merge):
    """The elementwise minimum of the inputs. Usage: ``aj.layers.Minimum()([a, b])``"""

    combine = staticmethod(math_ops.minimum)


class Average(_Merge):
    """The mean of the inputs. Usage: ``aj.layers.Average()([a, b, c])``"""

    def _merge(self, tensors: list) -> Tensor:
        return math_ops.multiply(functools.reduce(math_ops.add, tensors), 1.0 / len(tensors))


class Subtract(_Merge):
    """The first input minus the second (exactly two). Usage: ``aj.layers.Subtract()([a, b])``"""

    def _merge(self, tensors: list) -> Tensor:
        if len(tensors) != 2:
            raise InvalidArgumentError(f"Subtract {self.name!r}: expected exactly 2 tensors, "
                                       f"got {len(tensors)}")
        return math_ops.subtract(tensors[0], tensors[1])


class Concatenate(_Merge):
    """The inputs joined along ``axis``. Usage: ``aj.layers.Concatenate()([a, b])``"""

    at_least = 1

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name=name)
        self.axis = int(axis)

    def _merge(self, tensors: list) -> Tensor:
        return concat(tensors, axis=self.axis)


__all__ = ["Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Subtract"]
