"""Ready-made layers built on ``Module`` (``aj.layers``, also ``aj.keras.layers``), one module per family.

Usage: ``layer = aj.layers.Dense(784, 256, activation=aj.nn.relu); y = layer(x)``
"""

from autojit.layers.core import Dense, get_activation

__all__ = ["Dense", "get_activation"]
