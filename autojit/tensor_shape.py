"""``TensorShape``: what ``x.shape`` returns, a tuple of dims (ints, or None where unknown
while tracing) with TF's methods, so ``n, d = x.shape`` and ``x.shape.as_list()`` both work.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

__all__ = ["TensorShape", "shape_of"]


class TensorShape(tuple):
    """A tensor's shape: a tuple of ints (None for a dim unknown while tracing) with TF's
    ``as_list``, ``rank``, ``num_elements``, ... It equals the tuple of its dims (compare a
    list with ``as_list()``: tuple equality is kept, as it is the fast path of every op).

    Usage: ``batch, features = x.shape.as_list()``; ``aj.TensorShape([None, 784])``
    """

    __slots__ = ()

    def __new__(cls, dims: Iterable[Any] | None = ()) -> "TensorShape":
        if dims is None:
            raise ValueError("TensorShape(None): a shape of unknown rank is not supported; "
                             "give the dims, None for an unknown one")
        if isinstance(dims, int):
            dims = (dims,)
        return super().__new__(cls, (None if d is None else int(d) for d in dims))

    @property
    def rank(self) -> int:
        """The number of dims. Usage: ``x.shape.rank``"""
        return len(self)

    ndims = rank

    @property
    def dims(self) -> list:
        """The dims as a list. Usage: ``x.shape.dims``"""
        return list(self)

    def as_list(self) -> list:
        """The dims as a list (None where unknown). Usage: ``x.shape.as_list()``"""
        return list(self)

    def num_elements(self) -> int | None:
        """The number of elements, or None when a dim is unknown.
        Usage: ``x.shape.num_elements()``"""
        return None if None in self else math.prod(self)

    def is_fully_defined(self) -> bool:
        """True when every dim is known. Usage: ``x.shape.is_fully_defined()``"""
        return None not in self

    def is_compatible_with(self, other: Any) -> bool:
        """True when the shapes have one rank and agree wherever both dims are known.
        Usage: ``aj.TensorShape([None, 3]).is_compatible_with([2, 3])``"""
        other = TensorShape(other)
        return len(self) == len(other) and all(
            a is None or b is None or a == b for a, b in zip(self, other))

    def concatenate(self, other: Any) -> "TensorShape":
        """This shape's dims followed by ``other``'s. Usage: ``s.concatenate([3])``"""
        return TensorShape(tuple(self) + tuple(TensorShape(other)))

    def __getitem__(self, key: Any) -> Any:
        item = tuple.__getitem__(self, key)
        return TensorShape(item) if isinstance(key, slice) else item

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        return tuple.__repr__(self)


_new = tuple.__new__


def shape_of(dims: tuple) -> TensorShape:
    """A ``TensorShape`` of a tuple already holding ints and Nones (an array's or a spec's
    shape), without checking them: ``x.shape`` is read often."""
    return _new(TensorShape, dims)
