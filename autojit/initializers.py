"""Weight initializers (``aj.initializers``), as ``tf.keras.initializers``: ``GlorotUniform``,
``GlorotNormal``, ``HeNormal``, ``HeUniform``, ``Orthogonal``, ``RandomNormal``,
``RandomUniform``, ``Zeros``, ``Ones``, ``Constant`` and ``get`` by name.

Usage: ``w = aj.Variable(aj.initializers.GlorotUniform(seed=0)((784, 256)))``

Note [Initializer seeds]: an initializer draws its values on the host with a NumPy
``Generator`` and returns a tensor on the current device (initial values are made once, so
the copy costs nothing that matters, and the numbers are the same on every device). With
``seed``, the generator is seeded from it afresh at every call, so a seeded initializer
returns the same values each time (as Keras 2's seeded initializers). Without one, each call
takes a seed from ``aj.random`` on the CPU, so ``aj.random.set_seed`` makes whole models
repeatable and two unseeded calls differ. Initializers always run eagerly (TF's
``init_scope``), also when called while a function is traced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from autojit import backend, dtypes
from autojit.errors import InvalidArgumentError
from autojit.ops import core
from autojit.ops.creation import constant

# Keras's truncated normals are cut at two standard deviations; this is the standard
# deviation of a unit normal truncated to [-2, 2], which the variance-scaling initializers
# divide by so the truncated samples keep the variance they ask for.
_TRUNCATED_STD = 0.87962566103423978


class Initializer:
    """Base class: ``init(shape, dtype=aj.float32)`` returns a new tensor of that shape.

    Usage::

        class Halves(aj.initializers.Initializer):
            def sample(self, rng, shape):
                return np.full(shape, 0.5)

    Subclasses implement ``sample(rng, shape)`` returning a float64 NumPy array drawn from
    ``rng`` (a ``np.random.Generator``; Note [Initializer seeds]) and ``get_config()``.
    """

    seed: int | None = None

    def __call__(self, shape: Any, dtype: Any = dtypes.float32) -> Any:
        shape = _shape(type(self).__name__, shape)
        dtype = dtypes.as_dtype(dtype)
        self._check_dtype(dtype)
        with core.eager_scope():
            values = self.sample(self._rng(), shape)
            return constant(np.asarray(values).astype(dtype, copy=False))

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor arguments. Usage: ``type(init)(**init.get_config())``"""
        return {}

    def _check_dtype(self, dtype: np.dtype) -> None:
        if not dtypes.is_floating(dtype):
            raise InvalidArgumentError(f"{type(self).__name__}: expected a floating-point "
                                       f"dtype, got {dtype.name}")

    def _rng(self) -> np.random.Generator:
        seed = self.seed
        if seed is None:
            from autojit.ops.random import uniform  # drawn from aj.random (the global seed)

            with backend.device("CPU:0"):
                seed = int(uniform((), 0, 2**62, dtype=dtypes.int64).numpy())
            return np.random.default_rng(seed)
        # any int seeds (TF takes negative seeds too); SeedSequence wants non-negative words
        return np.random.default_rng(np.random.SeedSequence([0x1A17, seed % 2**64]))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"aj.initializers.{type(self).__name__}({args})"


def _shape(owner: str, shape: Any) -> tuple:
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        raise InvalidArgumentError(f"{owner}: expected a shape such as (784, 256), got "
                                   f"{shape!r}") from None
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"{owner}: expected non-negative dims, got {dims}")
    return dims


def _seed(owner: str, seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidArgumentError(f"{owner}: expected seed to be an int or None, got {seed!r}")
    return int(seed)


def compute_fans(shape: tuple) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a kernel shape, as Keras: ``[in, out]`` for a matrix;
    ``[*window, in, out]`` counts every window position (a conv kernel).

    Usage: ``compute_fans((3, 3, 16, 32)) == (144, 288)``
    """
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


# ----------------------------------------------------------------------------- constants


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer). Usage: ``aj.initializers.Zeros()((3,))``"""

    def __call__(self, shape: Any, dtype: Any = dtypes.float32) -> Any:
        return Constant(0)(shape, dtype)


class Ones(Initializer):
    """All ones. Usage: ``aj.initializers.Ones()((3,))``"""

    def __call__(self, shape: Any, dtype: Any = dtypes.float32) -> Any:
        return Constant(1)(shape, dtype)


class Constant(Initializer):
    """Every element ``value`` (a number). Usage: ``aj.initializers.Constant(0.1)((3,))``"""

    def __init__(self, value: float = 0.0):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidArgumentError(f"Constant: expected a number, got {value!r}")
        self.value = float(value)

    def __call__(self, shape: Any, dtype: Any = dtypes.float32) -> Any:
        shape = _shape("Constant", shape)
        dtype = dtypes.as_dtype(dtype)
        with core.eager_scope():
            return constant(np.full(shape, self.value, dtype=dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


# ----------------------------------------------------------------------------- random


class RandomNormal(Initializer):
    """Samples of ``N(mean, stddev**2)``.

    Usage: ``aj.initializers.RandomNormal(stddev=0.01, seed=1)((10, 10))``
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean = _number("RandomNormal", "mean", mean)
        self.stddev = _number("RandomNormal", "stddev", stddev, low=0.0)
        self.seed = _seed("RandomNormal", seed)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Samples uniform in ``[minval, maxval)``.

    Usage: ``aj.initializers.RandomUniform(-0.1, 0.1, seed=1)((10, 10))``
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval = _number("RandomUniform", "minval", minval)
        self.maxval = _number("RandomUniform", "maxval", maxval)
        if not self.minval < self.maxval:
            raise InvalidArgumentError(f"RandomUniform: expected minval < maxval, got "
                                       f"minval={minval} and maxval={maxval}")
        self.seed = _seed("RandomUniform", seed)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self) -> dict:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Samples of ``N(mean, stddev**2)`` redrawn until within two ``stddev`` of the mean.

    Usage: ``aj.initializers.TruncatedNormal(stddev=0.02)((768, 768))``
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean = _number("TruncatedNormal", "mean", mean)
        self.stddev = _number("TruncatedNormal", "stddev", stddev, low=0.0)
        self.seed = _seed("TruncatedNormal", seed)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        return self.mean + self.stddev * _truncated_unit_normal(rng, shape)

    def get_config(self) -> dict:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def _truncated_unit_normal(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():  # ~4.6% redrawn per round: a handful of rounds
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n``, ``n`` the kernel's fan in, fan out or their mean
    (``mode``), from a ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``
    distribution, as Keras. The Glorot and He initializers are its special cases.

    Usage: ``aj.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal")((784, 256))``
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None):
        owner = type(self).__name__
        self.scale = _number(owner, "scale", scale, low=0.0, open_low=True)
        if mode not in _MODES:
            raise InvalidArgumentError(f"{owner}: expected mode to be one of {list(_MODES)}, "
                                       f"got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"  # Keras's older spelling
        if distribution not in _DISTRIBUTIONS:
            raise InvalidArgumentError(f"{owner}: expected distribution to be one of "
                                       f"{list(_DISTRIBUTIONS)}, got {distribution!r}")
        self.mode = mode
        self.distribution = distribution
        self.seed = _seed(owner, seed)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * rng.standard_normal(shape)
        return math.sqrt(variance) / _TRUNCATED_STD * _truncated_unit_normal(rng, shape)

    def get_config(self) -> dict:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class GlorotUniform(VarianceScaling):
    """Uniform in ``[-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))`` (Keras's
    default kernel initializer). Usage: ``aj.initializers.GlorotUniform(seed=0)((784, 256))``
    """

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    """Truncated normal with standard deviation ``sqrt(2 / (fan_in + fan_out))``.

    Usage: ``aj.initializers.GlorotNormal(seed=0)((784, 256))``
    """

    def __init__(self, seed: int | None = None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    """Truncated normal with standard deviation ``sqrt(2 / fan_in)`` (for ReLU layers).

    Usage: ``aj.initializers.HeNormal(seed=0)((3, 3, 16, 32))``
    """

    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    """Uniform in ``[-limit, limit)`` with ``limit = sqrt(6 / fan_in)``.

    Usage: ``aj.initializers.HeUniform(seed=0)((784, 256))``
    """

    def __init__(self, seed: int | None = None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain``, from the QR decomposition of a normal
    sample, as Keras (the default recurrent-kernel initializer). Shapes of rank > 2 are
    flattened to ``[prod(shape[:-1]), shape[-1]]``.

    Usage: ``aj.initializers.Orthogonal(seed=0)((64, 256))``
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain = _number("Orthogonal", "gain", gain)
        self.seed = _seed("Orthogonal", seed)

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        if len(shape) < 2:
            raise InvalidArgumentError(f"Orthogonal: expected a shape of rank >= 2, got "
                                       f"{list(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))  # makes the result uniformly distributed (Mezzadri 2007)
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self) -> dict:
        return {"gain": self.gain, "seed": self.seed}


def _number(owner: str, name: str, value: Any, low: float | None = None,
            open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InvalidArgumentError(f"{owner}: expected {name} to be a number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (open_low and value == low)):
        relation = ">" if open_low else ">="
        raise InvalidArgumentError(f"{owner}: expected {name} {relation} {low}, got {value}")
    return value


# ----------------------------------------------------------------------------- by name

_BY_NAME: dict[str, type] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform, "orthogonal": Orthogonal,
    "uniform": RandomUniform, "normal": RandomNormal,  # Keras's short aliases
}


def get(identifier: str | Initializer | Callable | None) -> Initializer | Callable | None:
    """The initializer ``identifier`` names: a Keras name (``"glorot_uniform"``, also the
    class name ``"GlorotUniform"``), an initializer or callable (returned as is), or None.

    Usage: ``aj.initializers.get("he_normal")((784, 256))``
    """
    if identifier is None or isinstance(identifier, Initializer) or (
            callable(identifier) and not isinstance(identifier, type)):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        key = identifier if identifier in _BY_NAME else _snake(identifier)
        if key in _BY_NAME:
            return _BY_NAME[key]()
    names = sorted(k for k in _BY_NAME if k not in ("uniform", "normal"))
    raise InvalidArgumentError(f"unknown initializer {identifier!r}; expected an "
                               f"aj.initializers.Initializer, a callable(shape, dtype) or one "
                               f"of {names}")


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
           "Initializer", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "get"]
