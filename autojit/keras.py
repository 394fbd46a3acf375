"""A ``tf.keras``-shaped namespace, so lecture code such as
``aj.keras.losses.sparse_categorical_crossentropy`` or ``aj.keras.Sequential([...])`` runs
unchanged.

Usage: ``aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)``

``aj.keras.Model`` and ``aj.keras.layers.Layer`` are Keras's subclassing API (``build``,
``call``, ``add_weight``; autojit/layers/base.py); there is no ``compile``/``fit``: the
training step is a ``GradientTape`` under ``@aj.function``.
"""

from autojit import initializers, layers, losses, metrics, optimizers
from autojit.layers import Sequential
from autojit.layers.base import Model

__all__ = ["initializers", "layers", "losses", "metrics", "optimizers", "Model", "Sequential"]
