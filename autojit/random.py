"""``aj.random``: random tensors with per-device generators, as ``tf.random``.

Usage: ``aj.random.set_seed(0); w = aj.random.normal((784, 256), stddev=0.05)``
"""

from autojit.ops.random import (categorical, get_seed, normal, set_seed, shuffle,
                                truncated_normal, uniform)

__all__ = ["categorical", "get_seed", "normal", "set_seed", "shuffle", "truncated_normal",
           "uniform"]
