"""``aj.data.Dataset``: an in-memory input pipeline with ``tf.data``'s names, for the training
loop around an ``@aj.function`` step.

Usage::

    ds = aj.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(60000).batch(128)
    for epoch in range(5):
        for xb, yb in ds:        # aj tensors; a new order each epoch
            loss = train_step(xb, yb)

A dataset is a recipe: iterating it runs the recipe from the start (so each epoch
reshuffles, as TF's ``reshuffle_each_iteration=True``). Elements are nested structures
(tuples, dicts) of tensors. Iterate a dataset outside ``@aj.function`` and pass its batches
in: inside a traced function a Python ``for`` over it would run while tracing only.

Note [Dataset slices]: ``from_tensor_slices(...)``, then optionally ``shuffle`` with a buffer
as large as the data, then ``batch`` is the common pipeline, and it is served by slicing the
arrays (through a permutation when shuffled), not element by element: one ``take`` per array
per batch. Every other pipeline runs element by element, with TF's semantics: ``shuffle``
draws uniformly from a buffer of ``buffer_size`` elements, refilled from the input.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from autojit import nest
from autojit.errors import InvalidArgumentError
from autojit.ops import random as _random
from autojit.ops.core import to_numpy_constant
from autojit.tensor import Tensor, convert_to_tensor

INFINITE = -1  # ``cardinality()`` of a dataset that repeats forever
UNKNOWN = -2  # ``cardinality()`` after ``filter``: Note [Cardinality] in ``take``


class Dataset:
    """A re-iterable pipeline of elements (nested tuples/dicts of tensors), as
    ``tf.data.Dataset``.

    Usage: ``for xb, yb in aj.data.Dataset.from_tensor_slices((x, y)).batch(32): ...``
    """

    def __init__(self, make: Callable[[], Iterator], cardinality: int,
                 slices: tuple | None = None):
        self._make = make  # a fresh iterator of host (NumPy) elements per iteration
        self._cardinality = cardinality
        self._slices = slices  # (structure, arrays, shuffle rng factory or None): Note above

    # --- sources -----------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> "Dataset":
        """The slices of ``tensors`` along their first dim, one element each.
        Usage: ``Dataset.from_tensor_slices((images, labels))``"""
        structure, arrays = _arrays("from_tensor_slices", tensors)
        lengths = {a.shape[0] if a.ndim else None for a in arrays}
        if None in lengths or len(lengths) != 1:
            raise InvalidArgumentError(
                "from_tensor_slices: expected arrays with the same first dimension, got "
                f"shapes {[list(a.shape) for a in arrays]}")
        (n,) = lengths

        def make() -> Iterator:
            for i in range(n):
                yield nest.pack_as(structure, [a[i] for a in arrays])

        return Dataset(make, n, slices=(structure, arrays, None))

    @staticmethod
    def from_tensors(tensors: Any) -> "Dataset":
        """One element: ``tensors`` itself. Usage: ``Dataset.from_tensors(x).repeat(3)``"""
        structure, _ = _arrays("from_tensors", tensors)
        return Dataset(lambda: iter([structure]), 1)

    @staticmethod
    def range(*args: int) -> "Dataset":
        """The int64 numbers of ``range(*args)``. Usage: ``Dataset.range(10)``"""
        numbers = range(*args)
        return Dataset(lambda: (np.int64(i) for i in numbers), len(numbers))

    @staticmethod
    def zip(datasets: Any) -> "Dataset":
        """Elements of several datasets side by side (the shortest decides).
        Usage: ``Dataset.zip((images, labels))``"""
        parts = nest.flatten(datasets)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise InvalidArgumentError(f"zip: expected a tuple of Datasets, got {datasets!r}")

        def make() -> Iterator:
            for items in zip(*(d._make() for d in parts)):
                yield nest.pack_as(datasets, list(items))

        counts = [d._cardinality for d in parts]
        known = [n for n in counts if n >= 0]
        if UNKNOWN in counts:
            return Dataset(make, UNKNOWN)
        return Dataset(make, min(known) if known else INFINITE)

    # --- transformations ---------------------------------------------------------------
    def batch(self, batch_size: int, drop_remainder: bool = False) -> "Dataset":
        """Consecutive elements stacked into batches (the last may be smaller).
        Usage: ``ds.batch(128)``"""
        size = _positive("batch", "batch_size", batch_size)
        n = self._cardinality
        count = n if n < 0 else (n // size if drop_remainder else -(-n // size))
        if self._slices is not None:
            structure, arrays, shuffled = self._slices

            def sliced() -> Iterator:
                total = arrays[0].shape[0]
                order = shuffled().permutation(total) if shuffled else None
                stop = total - total % size if drop_remainder else total
                for start in range(0, stop, size):
                    index = slice(start, min(start + size, total)) if order is None \
                        else order[start:start + size]
                    yield nest.pack_as(structure, [a[index] for a in arrays])

            return Dataset(sliced, count)

        def make() -> Iterator:
            batch: list = []
            for element in self._make():
                batch.append(element)
                if len(batch) == size:
                    yield _stack(batch)
                    batch = []
            if batch and not drop_remainder:
                yield _stack(batch)

        return Dataset(make, count)

    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: bool = True) -> "Dataset":
        """Elements in random order, drawn from a buffer of ``buffer_size`` (as TF; a buffer
        at least as large as the data shuffles it uniformly). Usage: ``ds.shuffle(10000)``"""
        size = _positive("shuffle", "buffer_size", buffer_size)
        rngs = _rngs(seed, reshuffle_each_iteration)
        if self._slices is not None and self._slices[2] is None and size >= self._cardinality:
            structure, arrays, _ = self._slices
            rng_of = rngs

            def permuted() -> Iterator:
                order = rng_of().permutation(arrays[0].shape[0])
                for i in order:
                    yield nest.pack_as(structure, [a[i] for a in arrays])

            return Dataset(permuted, self._cardinality, slices=(structure, arrays, rng_of))

        def make() -> Iterator:
            rng = rngs()
            buffer: list = []
            for element in self._make():
                if len(buffer) < size:
                    buffer.append(element)
                    continue
                k = int(rng.integers(size))
                yield buffer[k]
                buffer[k] = element
            while buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))

        return Dataset(make, self._cardinality)

    def map(self, map_func: Callable, num_parallel_calls: Any = None,
            deterministic: Any = None) -> "Dataset":
        """``map_func`` applied to each element (a tuple element is passed as separate
        arguments, as TF). Usage: ``ds.map(lambda x, y: (x / 255.0, y))``"""
        def make() -> Iterator:
            for element in self._make():
                tensors = _to_tensors(element)
                out = map_func(*tensors) if type(tensors) is tuple else map_func(tensors)
                yield _host(out)

        return Dataset(make, self._cardinality)

    def filter(self, predicate: Callable) -> "Dataset":
        """The elements for which ``predicate`` is true. Usage: ``ds.filter(lambda x: x > 0)``
        """
        def make() -> Iterator:
            for element in self._make():
                tensors = _to_tensors(element)
                keep = predicate(*tensors) if type(tensors) is tuple else predicate(tensors)
                if bool(keep):
                    yield element

        # TF: UNKNOWN even for an infinite input, which may keep nothing.
        return Dataset(make, UNKNOWN)

    def repeat(self, count: int | None = None) -> "Dataset":
        """The dataset ``count`` times (forever for None or -1; an empty dataset stays empty).
        Usage: ``ds.repeat(3)``"""
        forever = count is None or _count("repeat", count) == -1

        def make() -> Iterator:
            k = 0
            while forever or k < count:
                empty = True
                for element in self._make():
                    empty = False
                    yield element
                if empty:  # as TF: repeating nothing forever is nothing, not a hang
                    return
                k += 1

        n = self._cardinality
        if forever:
            return Dataset(make, 0 if n == 0 else INFINITE)
        return Dataset(make, 0 if count == 0 else (n if n < 0 else n * count))

    def take(self, count: int) -> "Dataset":
        """The first ``count`` elements (all for -1). Usage: ``ds.take(10)``"""
        if _count("take", count) == -1:
            return self

        def make() -> Iterator:
            for k, element in enumerate(self._make()):
                if k >= count:
                    return
                yield element

        # Note [Cardinality]: each transformation computes its count as TF's
        # CardinalityInternal does: an UNKNOWN input stays UNKNOWN (a filtered input may hold
        # fewer than ``count``), an INFINITE input stays INFINITE unless the op bounds it.
        n = self._cardinality
        if n == UNKNOWN:
            return Dataset(make, UNKNOWN)
        return Dataset(make, count if n == INFINITE else min(n, count))

    def skip(self, count: int) -> "Dataset":
        """All but the first ``count`` elements (none for -1). Usage: ``ds.skip(10)``"""
        _count("skip", count)

        def make() -> Iterator:
            for k, element in enumerate(self._make()):
                if 0 <= count <= k:  # -1 reads the whole input and keeps nothing, as TF
                    yield element

        n = self._cardinality  # Note [Cardinality]
        return Dataset(make, n if n < 0 else (0 if count == -1 else max(n - count, 0)))

    def enumerate(self, start: int = 0) -> "Dataset":
        """``(index, element)`` pairs (int64 index). Usage: ``for i, (x, y) in ds.enumerate():``
        """
        def make() -> Iterator:
            for k, element in enumerate(self._make(), start):
                yield (np.int64(k), element)

        return Dataset(make, self._cardinality)

    def prefetch(self, buffer_size: Any) -> "Dataset":
        """The same dataset (everything is in memory already). Usage: ``ds.prefetch(1)``"""
        return self

    def cache(self, filename: str = "") -> "Dataset":
        """The same dataset (everything is in memory already). Usage: ``ds.cache()``"""
        return self

    # --- reading -----------------------------------------------------------------------
    def __iter__(self) -> Iterator:
        for element in self._make():
            yield _to_tensors(element)

    def as_numpy_iterator(self) -> Iterator:
        """The elements as NumPy arrays. Usage: ``list(ds.as_numpy_iterator())``"""
        return iter(self._make())

    def cardinality(self) -> int:
        """The number of elements, ``aj.data.INFINITE`` or ``aj.data.UNKNOWN``.
        Usage: ``ds.cardinality()``"""
        return self._cardinality

    def __len__(self) -> int:
        if self._cardinality < 0:
            raise TypeError("the dataset's length is "
                            f"{'infinite' if self._cardinality == INFINITE else 'unknown'}")
        return self._cardinality

    def __repr__(self) -> str:
        return f"<aj.data.Dataset cardinality={self._cardinality}>"


def _arrays(where: str, value: Any) -> tuple:
    """``value`` as a structure of NumPy arrays, and its leaves. As in TF, tuples and dicts
    are structure and a list is one tensor (``([1, 2], [3, 4])`` is two); Python data takes
    ``aj.constant``'s dtypes (float32, int32)."""
    structure = _host(value)
    leaves = nest.flatten(structure)
    if not leaves:
        raise InvalidArgumentError(f"{where}: expected tensors or arrays, got {value!r}")
    return structure, leaves


def _host(value: Any) -> Any:
    if isinstance(value, tuple) or isinstance(value, dict):
        if isinstance(value, dict):
            return type(value)((k, _host(v)) for k, v in value.items())
        items = [_host(v) for v in value]
        return type(value)(*items) if nest.is_namedtuple(value) else tuple(items)
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    return to_numpy_constant(value)


def _to_tensors(element: Any) -> Any:
    return nest.map_structure(convert_to_tensor, element)


def _stack(batch: list) -> Any:
    leaves = [nest.flatten(e) for e in batch]
    return nest.pack_as(batch[0], [np.stack(column) for column in zip(*leaves)])


def _count(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < -1:
        raise InvalidArgumentError(
            f"{where}: expected count as an int >= -1 (-1 for all), got {value!r}")
    return int(value)


def _positive(where: str, what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidArgumentError(f"{where}: expected {what} as a positive int, got {value!r}")
    return int(value)


def _rngs(seed: int | None, reshuffle: bool) -> Callable[[], np.random.Generator]:
    """A new generator per iteration (or the same sequence each time when not reshuffling),
    seeded from ``seed`` and ``aj.random.set_seed`` when either is given."""
    material = None
    if seed is not None or _random.get_seed() is not None:
        material = [(_random.get_seed() or 0) % 2**64, 2, (seed or 0) % 2**64]
    sequence = np.random.SeedSequence(material)
    if not reshuffle:
        state = sequence.generate_state(2)
        return lambda: np.random.default_rng(state)
    return lambda: np.random.default_rng(sequence.spawn(1)[0])


__all__ = ["Dataset", "INFINITE", "UNKNOWN"]
