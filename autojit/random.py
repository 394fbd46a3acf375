"""``aj.random``: random tensors with per-device generators, as ``tf.random``.

Usage: ``aj.random.set_seed(0); w = aj.random.normal((784, 256), stddev=0.05)``
"""

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.module import Module
from autojit.ops.core import eager_scope
from autojit.ops.random import (categorical, get_seed, normal, set_seed, shuffle,
                                stateless_normal, stateless_uniform, truncated_normal, uniform)
from autojit.variables import Variable

class Generator(Module):
    """A stream of random numbers whose state is a Variable ``[seed, counter]``
    (Note [Stateless random numbers]), as ``tf.random.Generator``.

    Usage::

        g = aj.random.Generator.from_seed(1234)
        noise = g.normal((32, 10))          # inside @aj.function too: new numbers each call
    """

    def __init__(self, state: Any, name: str | None = None):
        super().__init__(name=name)
        self.state = state  # a Module attribute: checkpoints and saved models hold it

    @classmethod
    def from_seed(cls, seed: int) -> "Generator":
        """A generator starting from ``seed``. Usage: ``aj.random.Generator.from_seed(7)``"""
        with eager_scope():
            state = Variable(np.array([int(seed), 0], np.int64), trainable=False,
                             name="generator_state")
        return cls(state)

    @classmethod
    def from_non_deterministic_state(cls) -> "Generator":
        """A generator seeded from the operating system's entropy.

        Usage: ``g = aj.random.Generator.from_non_deterministic_state()``
        """
        return cls.from_seed(int(np.random.SeedSequence().generate_state(1, np.uint32)[0]))

    def _next_seed(self) -> Any:
        seed = self.state.read_value()
        self.state.assign_add(np.array([0, 1], np.int64))
        return seed

    def normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0,
               dtype: Any = dtypes.float32, name: str | None = None) -> Any:
        """Normal samples; the state advances. Usage: ``g.normal((2, 3))``"""
        return stateless_normal(shape, self._next_seed(), mean, stddev, dtype)

    def uniform(self, shape: Any, minval: Any = 0, maxval: Any = None,
                dtype: Any = dtypes.float32, name: str | None = None) -> Any:
        """Uniform samples in ``[minval, maxval)``; the state advances. Usage: ``g.uniform((4,))``
        """
        return stateless_uniform(shape, self._next_seed(), minval, maxval, dtype)

    def __repr__(self) -> str:
        return f"<aj.random.Generator state={self.state.numpy().tolist()}>"


__all__ = ["Generator", "categorical", "get_seed", "normal", "set_seed", "shuffle",
           "stateless_normal", "stateless_uniform", "truncated_normal", "uniform"]
