"""Random ops (``aj.random.*``): ``normal``, ``uniform``, ``truncated_normal``, ``shuffle``,
``categorical`` and ``set_seed``.

Note [Random generators]: each device has its own generator (a NumPy ``Generator`` on the
CPU, CuPy's on a GPU), created lazily through the device's array module the first time a
random op runs there. ``set_seed(s)`` forgets all generators, so the draws after it repeat
on each device. An op-level ``seed`` gets a generator of its own, seeded from
``(global seed, op seed)``, so a seeded call's sequence does not depend on other random ops.
Random ops are effects: graph passes never merge, fold or drop them, and each replay draws
new numbers. Every op that draws is named in ``DRAWS`` (``defrandom`` adds it), which the GPU
capture planner reads: a CUDA graph would replay one draw forever.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, InvalidArgumentError
from autojit.ops.core import bind, defop
from autojit.ops.creation import python_number, static_shape

_global_seed: int | None = None
DRAWS: set[str] = set()  # the ops that draw from a generator (the capture planner reads it)
_generators: dict = {}  # (device key, op seed) -> generator (Note [Random generators])


def set_seed(seed: int | None) -> None:
    """Make the random ops that follow repeatable (``None``: unpredictable again).

    Usage: ``aj.random.set_seed(1234)``
    """
    global _global_seed
    _global_seed = None if seed is None else int(seed)
    _generators.clear()


def get_seed() -> int | None:
    """The seed last given to ``set_seed`` (``None`` if unset). Usage: ``aj.random.get_seed()``"""
    return _global_seed


def _generator(xp: Any, seed: int | None) -> Any:
    device = "CPU" if xp is np else ("GPU", xp.cuda.runtime.getDevice())
    key = (device, seed)
    generator = _generators.get(key)
    if generator is None:
        material = None  # no seed anywhere: unpredictable, as TF
        if _global_seed is not None or seed is not None:
            parts = [(_global_seed or 0) % 2**64] + ([] if seed is None else [1, seed % 2**64])
            material = int(np.random.SeedSequence(parts).generate_state(1, np.uint64)[0] >> 1)
        generator = xp.random.default_rng(material)
        _generators[key] = generator
    return generator


def defrandom(name: str, inputs: list, kernel: str, rule: Any, vjp: Any = None,
              **options: Any) -> Any:
    """``defop`` for an op drawing random numbers: an effect, named in ``DRAWS``.

    Usage: ``MASK = defrandom("dropout_mask", ["x"], "_mask(xp, x, ...)", rule, ...)``
    """
    op = defop(name, inputs, kernel, rule, vjp, effect=True, **options)
    DRAWS.add(name)
    return op


def _floating(name: str, dtype: np.dtype) -> None:
    if not dtypes.is_floating(dtype):
        raise DTypeError(f"{name}: expected a floating-point dtype (float16/32/64), got "
                         f"{dtype.name}")


def _draw_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in (dtypes.float32, dtypes.float64) else dtypes.float32


# ----------------------------------------------------------------------------- normal


def _normal_rule(name, *, shape, mean, stddev, dtype, seed):
    _floating("random.normal", dtype)
    return shape, dtype


def _normal(xp, shape, mean, stddev, dtype, seed):
    return _normal_from(_generator(xp, seed), shape, mean, stddev, dtype)


def _normal_from(generator, shape, mean, stddev, dtype):
    out = generator.standard_normal(shape, dtype=_draw_dtype(dtype))
    if stddev != 1:
        out *= stddev
    if mean != 0:
        out += mean
    return out.astype(dtype, copy=False)


NORMAL = defrandom("random_normal", [], "_normal(xp, shape, mean, stddev, dtype, seed)",
                   _normal_rule, attrs=("shape", "mean", "stddev", "dtype", "seed"),
                   namespace={"_normal": _normal})


def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = dtypes.float32,
           seed: int | None = None, name: str | None = None) -> Any:
    """Samples of a normal distribution (on the current device; Note [Random generators]).

    Usage: ``w = aj.Variable(aj.random.normal((784, 256), stddev=0.05))``
    """
    return bind(NORMAL, shape=static_shape("random.normal", shape),
                mean=float(python_number("random.normal", mean, "mean")),
                stddev=float(python_number("random.normal", stddev, "stddev")),
                dtype=dtypes.as_dtype(dtype), seed=None if seed is None else int(seed))


# ----------------------------------------------------------------------------- uniform


def _uniform_rule(name, *, shape, minval, maxval, dtype, seed):
    if dtypes.is_integer(dtype):
        if maxval is None:
            raise InvalidArgumentError(f"random.uniform: maxval must be given for the integer "
                                       f"dtype {dtype.name}")
    elif not dtypes.is_floating(dtype):
        raise DTypeError(f"random.uniform: expected a float or int dtype, got {dtype.name}")
    high = 1 if maxval is None else maxval
    if not minval < high:
        raise InvalidArgumentError(f"random.uniform: expected minval < maxval, got minval="
                                   f"{minval} and maxval={high}")
    return shape, dtype


def _uniform(xp, shape, minval, maxval, dtype, seed):
    return _uniform_from(_generator(xp, seed), shape, minval, maxval, dtype)


def _uniform_from(generator, shape, minval, maxval, dtype):
    if dtypes.is_integer(dtype):
        return generator.integers(minval, maxval, size=shape, dtype=dtype)
    out = generator.random(shape, dtype=_draw_dtype(dtype))
    high = 1.0 if maxval is None else maxval
    if (minval, high) != (0, 1):
        out *= high - minval
        out += minval
    return out.astype(dtype, copy=False)


UNIFORM = defrandom("random_uniform", [], "_uniform(xp, shape, minval, maxval, dtype, seed)",
                    _uniform_rule, attrs=("shape", "minval", "maxval", "dtype", "seed"),
                    namespace={"_uniform": _uniform})


def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = dtypes.float32,
            seed: int | None = None, name: str | None = None) -> Any:
    """Samples uniform in ``[minval, maxval)`` (``maxval`` defaults to 1 for floats and must
    be given for ints).

    Usage: ``aj.random.uniform((2, 3))``, ``aj.random.uniform((5,), 0, 10, dtype=aj.int32)``
    """
    dt = dtypes.as_dtype(dtype)
    low = python_number("random.uniform", minval, "minval")
    high = None if maxval is None else python_number("random.uniform", maxval, "maxval")
    if dtypes.is_integer(dt):
        low, high = int(low), None if high is None else int(high)
    else:
        low, high = float(low), None if high is None else float(high)
    return bind(UNIFORM, shape=static_shape("random.uniform", shape), minval=low,
                maxval=high, dtype=dt, seed=None if seed is None else int(seed))


# ----------------------------------------------------------------------------- truncated normal


def _truncated(xp, shape, mean, stddev, dtype, seed):
    """Normal samples with those beyond two standard deviations drawn again, as TF."""
    generator = _generator(xp, seed)
    out = generator.standard_normal(shape, dtype=_draw_dtype(dtype))
    outside = xp.abs(out) > 2
    while bool(outside.any()):
        out = xp.where(outside, generator.standard_normal(shape, dtype=out.dtype), out)
        outside = xp.abs(out) > 2
    return (out * stddev + mean).astype(dtype, copy=False)


TRUNCATED_NORMAL = defrandom(
    "random_truncated_normal", [], "_truncated(xp, shape, mean, stddev, dtype, seed)",
    _normal_rule, attrs=("shape", "mean", "stddev", "dtype", "seed"),
    namespace={"_truncated": _truncated})


def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0,
                     dtype: Any = dtypes.float32, seed: int | None = None,
                     name: str | None = None) -> Any:
    """Normal samples within two standard deviations of ``mean`` (those outside are drawn
    again, as TF): the usual weight initialization.

    Usage: ``w = aj.Variable(aj.random.truncated_normal((784, 256), stddev=0.05))``
    """
    return bind(TRUNCATED_NORMAL, shape=static_shape("random.truncated_normal", shape),
                mean=float(python_number("random.truncated_normal", mean, "mean")),
                stddev=float(python_number("random.truncated_normal", stddev, "stddev")),
                dtype=dtypes.as_dtype(dtype), seed=None if seed is None else int(seed))


# ----------------------------------------------------------------------------- shuffle


def _shuffle_rule(name, value, *, seed):
    if len(value.shape) == 0:
        raise InvalidArgumentError("random.shuffle: expected a tensor with a first axis to "
                                   f"shuffle, got a scalar {value.dtype.name} tensor")
    return tuple(value.shape), value.dtype


SHUFFLE = defrandom("random_shuffle", ["value"],
                    "value[_generator(xp, seed).permutation(value.shape[0])]", _shuffle_rule,
                    attrs=("seed",), namespace={"_generator": _generator})


def shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Any:
    """``value`` with its rows (first axis) in a random order; no gradient (as TF).

    Usage: ``aj.random.shuffle(aj.range(10))``
    """
    from autojit.ops.core import as_operand

    return bind(SHUFFLE, as_operand(value), seed=None if seed is None else int(seed))


# ----------------------------------------------------------------------------- categorical


def _categorical_rule(name, logits, *, num_samples, dtype, seed):
    if len(logits.shape) != 2:
        raise InvalidArgumentError(f"random.categorical: expected logits of shape [batch, "
                                   f"classes], got {logits.dtype.name}{list(logits.shape)}")
    _floating("random.categorical", logits.dtype)
    if dtype not in (dtypes.int32, dtypes.int64):
        raise DTypeError(f"random.categorical: dtype must be int32 or int64, got {dtype.name}")
    return (logits.shape[0], num_samples), dtype


def _categorical(xp, logits, num_samples, dtype, seed):
    """Gumbel-max: the argmax of ``logits + Gumbel noise`` is a draw from ``softmax(logits)``."""
    batch, classes = logits.shape
    u = _generator(xp, seed).random((batch, num_samples, classes), dtype=_draw_dtype(
        logits.dtype))
    tiny = np.finfo(u.dtype).tiny
    gumbel = -xp.log(-xp.log(xp.maximum(u, tiny)))
    return xp.argmax(logits[:, None, :] + gumbel, axis=-1).astype(dtype)


CATEGORICAL = defrandom("random_categorical", ["logits"],
                        "_categorical(xp, logits, num_samples, dtype, seed)", _categorical_rule,
                        attrs=("num_samples", "dtype", "seed"),
                        namespace={"_categorical": _categorical})


def categorical(logits: Any, num_samples: int, dtype: Any = None, seed: int | None = None,
                name: str | None = None) -> Any:
    """``num_samples`` class indices per row of ``logits`` ([batch, classes], unnormalized
    log-probabilities), drawn from ``softmax(logits)``: an int64 [batch, num_samples] tensor.

    Usage: ``actions = aj.random.categorical(policy_logits, 1)[:, 0]``
    """
    from autojit.ops.core import as_operand

    count = int(python_number("random.categorical", num_samples, "num_samples"))
    if count < 0:
        raise InvalidArgumentError(f"random.categorical: num_samples must be >= 0, got {count}")
    return bind(CATEGORICAL, as_operand(logits), num_samples=count,
                dtype=dtypes.int64 if dtype is None else dtypes.as_dtype(dtype),
                seed=None if seed is None else int(seed))


# ----------------------------------------------------------------------------- stateless

# Note [Stateless random numbers]: ``stateless_normal``/``stateless_uniform`` are functions of
# their ``seed`` tensor (two ints) and their arguments: the same seed gives the same numbers
# at every call, eagerly and in graphs (they are no effects, so passes may merge two equal
# calls). ``Generator`` builds a stream on them: its state is a Variable ``[seed, counter]``;
# each draw uses the state as the seed, then adds one to the counter (an assign, which a
# graph runs at every call in program order), so a traced step draws new numbers each call
# and the sequence repeats from the same starting seed. The seed is read on the host (CuPy
# seeds its generator from Python ints), so a graph that draws is not captured on a GPU;
# NumPy's and CuPy's streams differ for one seed.


def _seeded(xp: Any, seed: Any) -> Any:
    values = [int(v) for v in np.asarray(seed.get() if hasattr(seed, "get") else seed)]
    material = np.random.SeedSequence([v % 2**64 for v in values]).generate_state(1, np.uint64)
    return xp.random.default_rng(int(material[0] >> 1))


def _seed_rule(name: str, seed: Any) -> None:
    if not dtypes.is_integer(seed.dtype) or tuple(seed.shape) != (2,):
        raise InvalidArgumentError(f"{name}: seed must be a shape [2] integer tensor, got "
                                   f"{seed.dtype.name}{list(seed.shape)}")


def _stateless_normal(xp, seed, shape, mean, stddev, dtype):
    return _normal_from(_seeded(xp, seed), shape, mean, stddev, dtype)


def _stateless_uniform(xp, seed, shape, minval, maxval, dtype):
    return _uniform_from(_seeded(xp, seed), shape, minval, maxval, dtype)


STATELESS_NORMAL = defop(
    "stateless_random_normal", ["seed"],
    "_stateless_normal(xp, seed, shape, mean, stddev, dtype)",
    lambda name, seed, *, shape, mean, stddev, dtype: (
        _seed_rule("random.stateless_normal", seed),
        _normal_rule(name, shape=shape, mean=mean, stddev=stddev, dtype=dtype, seed=None))[1],
    attrs=("shape", "mean", "stddev", "dtype"), namespace={"_stateless_normal": _stateless_normal})
STATELESS_UNIFORM = defop(
    "stateless_random_uniform", ["seed"],
    "_stateless_uniform(xp, seed, shape, minval, maxval, dtype)",
    lambda name, seed, *, shape, minval, maxval, dtype: (
        _seed_rule("random.stateless_uniform", seed),
        _uniform_rule(name, shape=shape, minval=minval, maxval=maxval, dtype=dtype,
                      seed=None))[1],
    attrs=("shape", "minval", "maxval", "dtype"),
    namespace={"_stateless_uniform": _stateless_uniform})


def _seed_operand(seed: Any) -> Any:
    from autojit.ops.core import as_operand

    if isinstance(seed, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in seed):
        seed = np.asarray(seed, np.int64)
    return as_operand(seed)


def stateless_normal(shape: Any, seed: Any, mean: Any = 0.0, stddev: Any = 1.0,
                     dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """Normal samples that depend only on ``seed`` (two ints; Note [Stateless random
    numbers]). Usage: ``aj.random.stateless_normal((3,), seed=[1, 2])``
    """
    return bind(STATELESS_NORMAL, _seed_operand(seed),
                shape=static_shape("random.stateless_normal", shape),
                mean=float(python_number("random.stateless_normal", mean, "mean")),
                stddev=float(python_number("random.stateless_normal", stddev, "stddev")),
                dtype=dtypes.as_dtype(dtype))


def stateless_uniform(shape: Any, seed: Any, minval: Any = 0, maxval: Any = None,
                      dtype: Any = dtypes.float32, name: str | None = None) -> Any:
    """Uniform samples in ``[minval, maxval)`` that depend only on ``seed`` (two ints).

    Usage: ``aj.random.stateless_uniform((3,), seed=[1, 2], maxval=10, dtype=aj.int32)``
    """
    dt = dtypes.as_dtype(dtype)
    low = python_number("random.stateless_uniform", minval, "minval")
    high = None if maxval is None else python_number("random.stateless_uniform", maxval,
                                                     "maxval")
    if dtypes.is_integer(dt):
        low, high = int(low), None if high is None else int(high)
    else:
        low, high = float(low), None if high is None else float(high)
    return bind(STATELESS_UNIFORM, _seed_operand(seed),
                shape=static_shape("random.stateless_uniform", shape), minval=low, maxval=high,
                dtype=dt)
