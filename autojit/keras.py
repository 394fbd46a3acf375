"""A ``tf.keras``-shaped namespace, so lecture code such as
``aj.keras.losses.sparse_categorical_crossentropy`` runs unchanged.

Usage: ``aj.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)``
"""

from autojit import initializers, layers, losses, metrics, optimizers

__all__ = ["initializers", "layers", "losses", "metrics", "optimizers"]
