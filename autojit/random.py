"""``aj.random``: random tensors with per-device generators, as ``tf.random``.

Usage: ``aj.random.set_seed(0); w = aj.random.normal((784, 256), stddev=0.05)``
"""

from autojit.ops.random import get_seed, normal, set_seed, uniform

__all__ = ["get_seed", "normal", "set_seed", "uniform"]
