"""The data ``fit``, ``evaluate`` and ``predict`` step through (Note [Keras training] in
training.py): ``x``/``y``/``sample_weight`` as arrays (sliced, shuffled per epoch) or a
Dataset of batches, the ``validation_split`` hold-out, ``class_weight`` folded into the
weights, and ``predict``'s batch-by-batch calls.

Usage (training.py): ``for xb, yb, wb in batching.batches(x, y, 32, True, epoch, None, "fit")``
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from autojit import nest
from autojit.errors import InvalidArgumentError


def predict_in_batches(call: Callable, x: Any, batch_size: int | None) -> np.ndarray:
    """``call`` on each batch of ``x`` (arrays or a Dataset), joined as one NumPy array.

    Usage: ``predict_in_batches(model, x_test, 128)``
    """
    parts = [call(xb) for xb, _, _ in batches(x, None, batch_size, False, 0, None, "predict")]
    if not parts:
        return np.zeros((0,))
    if not isinstance(parts[0], (list, tuple, dict)):
        return np.concatenate([np.asarray(part) for part in parts])
    # several outputs: a list (or dict) of arrays, as Keras's predict
    columns = zip(*(nest.flatten(part) for part in parts))
    return nest.pack_as(parts[0], [np.concatenate([np.asarray(c) for c in column])
                                   for column in columns])


def check_class_weight(class_weight: Any) -> dict | None:
    """``class_weight`` with int keys (as Keras 3), or None."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise InvalidArgumentError(f"fit: expected class_weight as a dict {{class index: "
                                   f"weight}}, got {class_weight!r}")
    cleaned = {}
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise InvalidArgumentError(f"fit: expected class_weight's keys to be class "
                                       f"indices (ints), got {key!r}")
        cleaned[int(key)] = float(value)
    return cleaned


def class_weighted(batches: Any, class_weight: dict | None):
    """The batches with ``class_weight`` of each example's label multiplied into its weight
    (tf.keras's combination; a class missing from the dict weighs 1, as Keras 3)."""
    for xb, yb, wb in batches:
        if class_weight is not None:
            labels = np.asarray(yb)
            if labels.ndim > 1:
                labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 \
                    else np.squeeze(labels, axis=-1)
            if labels.ndim != 1:
                raise InvalidArgumentError(f"fit: class_weight needs one label per example "
                                           f"(y of shape [n], [n, 1] or one-hot [n, classes]), "
                                           f"got y of shape {tuple(np.shape(yb))}")
            classes = np.round(labels).astype(np.int64)
            weight = np.array([class_weight.get(int(c), 1.0) for c in classes], np.float32)
            if wb is not None:
                wb = np.asarray(wb)
                weight = wb * weight.reshape((-1,) + (1,) * (wb.ndim - 1))
            wb = weight
        yield xb, yb, wb


def as_tensor(value: Any) -> Any:
    from autojit.tensor import Tensor, convert_to_tensor

    return value if isinstance(value, Tensor) else convert_to_tensor(value)


def unpack(data: Any) -> tuple:
    """``validation_data`` as ``(x, y, sample_weight)``: a Dataset is ``(data, None, None)``."""
    if isinstance(data, (list, tuple)) and len(data) in (2, 3):
        return data[0], data[1], data[2] if len(data) == 3 else None
    if not isinstance(data, (list, tuple, np.ndarray)) and (
            hasattr(data, "batch") or hasattr(data, "__iter__")):
        return data, None, None
    got = f"a {type(data).__name__} of {len(data)}" if isinstance(data, (list, tuple)) \
        else type(data).__name__
    raise InvalidArgumentError(f"fit: validation_data must be (x, y) or a Dataset of (x, y) "
                               f"batches, or (x, y, sample_weight); got {got}")


def is_arrays(x: Any) -> bool:
    """True for an array (or tensor), or a list/tuple/dict of them (a model's several inputs),
    False for a Dataset or another iterable of batches."""
    if isinstance(x, (list, tuple, dict)):
        leaves = nest.flatten(x)
        return bool(leaves) and all(is_arrays(leaf) for leaf in leaves)
    return isinstance(x, np.ndarray) or hasattr(x, "shape")


def count(x: Any) -> int:
    return int(nest.flatten(x)[0].shape[0])


def take(x: Any, index: Any) -> Any:
    """The examples ``index`` (a slice or index array) of each array in ``x`` (None, an
    output's missing targets or weights, stays None)."""
    return nest.map_structure(lambda a: None if a is None else np.asarray(a)[index], x)


def split(x: Any, y: Any, sample_weight: Any, fraction: float) -> tuple:
    """Keras's ``train_validation_split``: the first ``floor(n * (1 - fraction))`` examples
    train, the rest validate; ``(x, y, sample_weight, validation_data)``."""
    if y is None or not is_arrays(x):
        raise InvalidArgumentError("fit: validation_split needs arrays x and y, not a Dataset")
    n = count(x)
    split_at = int(math.floor(n * (1.0 - fraction)))
    if split_at in (0, n):
        raise InvalidArgumentError(f"fit: the data has {n} examples, not enough to split by "
                                   f"validation_split={fraction} into training and validation "
                                   f"examples ({split_at} and {n - split_at}); pass more data "
                                   f"or another validation_split")
    train, rest = slice(0, split_at), slice(split_at, n)
    w = sample_weight  # an array, or one per output
    validation = (take(x, rest), take(y, rest), None if w is None else take(w, rest))
    return take(x, train), take(y, train), None if w is None else take(w, train), validation


def batches(x: Any, y: Any, batch_size: int | None, shuffle: bool, epoch: int,
             sample_weight: Any = None, caller: str = "fit"):
    """(x, y, sample_weight) batches: slices of arrays (or of each of several; shuffled per
    epoch, the weights with their examples), or a Dataset's elements."""
    if not is_arrays(x):
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise InvalidArgumentError(f"{caller}: {name} must be None when x is a Dataset "
                                           f"(its elements are the (x, y) or (x, y, "
                                           f"sample_weight) batches)")
        yield from _dataset_batches(x, caller)
        return
    n = count(x)
    for leaf in nest.flatten(x) + ([] if y is None else nest.flatten(y)):
        if leaf is not None and int(leaf.shape[0]) != n:
            raise InvalidArgumentError(f"{caller}: every input and target must have the same "
                                       f"number of examples, got {n} and {int(leaf.shape[0])}")
    ws = None if sample_weight is None else nest.map_structure(
        lambda w: None if w is None else _weights(w, n, caller), sample_weight)
    size = 32 if batch_size is None else int(batch_size)
    order = np.arange(n)
    if shuffle:
        from autojit.ops.random import get_seed

        seed = get_seed()
        order = np.random.default_rng(None if seed is None else (seed, epoch)).permutation(n)
    xs = nest.map_structure(np.asarray, x)
    ys = None if y is None else nest.map_structure(
        lambda a: None if a is None else np.asarray(a), y)
    for start in range(0, n, size):
        index = order[start:start + size]
        yield (take(xs, index), None if ys is None else take(ys, index),
               None if ws is None else take(ws, index))


def _dataset_batches(data: Any, caller: str):
    """A Dataset's (or iterable's) elements as (x, y, sample_weight), as Keras's
    ``unpack_x_y_sample_weight``."""
    for element in data:
        if not isinstance(element, (list, tuple)):
            yield element, None, None
        elif 1 <= len(element) <= 3:
            yield (*element, *(None,) * (3 - len(element)))
        else:
            raise InvalidArgumentError(f"{caller}: expected a Dataset of x, (x, y) or (x, y, "
                                       f"sample_weight) batches, got an element of "
                                       f"{len(element)} parts")


def _weights(sample_weight: Any, n: int, caller: str) -> np.ndarray:
    """``sample_weight`` as a floating NumPy array with one weight (or row) per example."""
    weights = np.asarray(sample_weight)
    if weights.ndim == 0 or weights.shape[0] != n:
        raise InvalidArgumentError(f"{caller}: expected sample_weight with one weight per "
                                   f"example ({n}), got shape {weights.shape}")
    return weights if weights.dtype.kind == "f" else weights.astype(np.float32)
