"""A ``tf.keras``-shaped namespace, so lecture code such as
``aj.keras.losses.sparse_categorical_crossentropy`` or ``aj.keras.Sequential([...])`` runs
unchanged.

Usage: ``aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)``

``aj.keras.Model`` and ``aj.keras.layers.Layer`` are Keras's subclassing API (``build``,
``call``, ``add_weight``; autojit/layers/base.py); ``Model`` and ``Sequential`` have Keras's
``compile``/``fit``/``evaluate``/``predict``/``save`` (autojit/layers/training.py), with
``aj.keras.callbacks`` (``Callback``, ``History``, ``EarlyStopping``; autojit/layers/
callbacks.py) and
``aj.keras.models.load_model``. ``aj.keras.Input`` and ``Model(inputs, outputs)`` are the
functional API (autojit/layers/functional.py).
"""

import types

import numpy as np

from autojit import initializers, layers, losses, metrics, optimizers, regularizers
from autojit.layers import Sequential
from autojit.layers import callbacks as _callbacks
from autojit.layers.base import Model
from autojit.layers.functional import Input, KerasTensor


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for the class indices ``y`` (a NumPy array, as
    ``tf.keras.utils.to_categorical``). Usage: ``aj.keras.utils.to_categorical(labels, 10)``"""
    y = np.asarray(getattr(y, "numpy", lambda: y)(), dtype=np.int64)
    n = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and (y.min() < 0 or y.max() >= n):
        raise ValueError(f"to_categorical: class indices must be in [0, {n}), got "
                         f"[{y.min()}, {y.max()}]")
    out = np.zeros(y.shape + (n,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


utils = types.SimpleNamespace(to_categorical=to_categorical)
def load_model(filepath, custom_objects=None, compile=True):
    """The model ``model.save(filepath)`` wrote, without its Python class (Note [Loaded Keras
    models] in autojit/layers/loaded.py): callable, ``predict``, its Variables, and
    ``compile``/``fit``/``evaluate`` again (compile it first: the compiled state is not saved).

    Usage: ``model = aj.keras.models.load_model("exported"); model.predict(x)``
    """
    from autojit import saved_model
    from autojit.layers.loaded import LoadedModel

    return saved_model.load(filepath, root_type=LoadedModel)


models = types.SimpleNamespace(load_model=load_model, Sequential=Sequential, Model=Model)
callbacks = types.SimpleNamespace(Callback=_callbacks.Callback, History=_callbacks.History,
                                  EarlyStopping=_callbacks.EarlyStopping)

__all__ = ["callbacks", "models", "initializers", "layers", "losses", "metrics", "optimizers",
           "regularizers", "Input", "KerasTensor", "Model", "Sequential", "utils"]
