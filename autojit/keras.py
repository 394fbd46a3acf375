"""A ``tf.keras``-shaped namespace, so lecture code such as
``aj.keras.losses.sparse_categorical_crossentropy`` or ``aj.keras.Sequential([...])`` runs
unchanged.

Usage: ``aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)``

There is no ``aj.keras.Model``: autojit has no Keras-style model base class (``compile``,
``fit``); subclass ``aj.Module`` or use ``Sequential``.
"""

from autojit import initializers, layers, losses, metrics, optimizers
from autojit.layers import Sequential

__all__ = ["initializers", "layers", "losses", "metrics", "optimizers", "Sequential"]
