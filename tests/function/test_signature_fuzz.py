"""Differential test of signature keys (Note [Signature keys] in function.py): random calls
of one ``@aj.function`` whose result describes every argument it was given (Python values
by type and ``repr``, insertion order of dicts and keywords included; tensors by type),
each followed by twins equal to it under ``==`` (``-0.0`` for ``0.0``, ``True`` for ``1``,
another ``nan``, dicts and keywords in another order). A trace's
Python result is fixed at trace time, so two calls that share a trace but differ in what
the body can see return the wrong description; and the function must trace exactly once
per distinct description (no needless retraces: ``nan`` is ``nan``).

``AUTOJIT_SIGFUZZ_N`` sets the number of calls (default 400), ``AUTOJIT_SIGFUZZ_SEED`` the
seed.
"""

from __future__ import annotations

import collections
import os
import random

import numpy as np
import pytest

import autojit as aj

N = int(os.environ.get("AUTOJIT_SIGFUZZ_N", "400"))
SEED = int(os.environ.get("AUTOJIT_SIGFUZZ_SEED", "0"))
Pair = collections.namedtuple("Pair", "a b")
KEYS = ["a", "b", "c", 1, 2]
NAMES = ["p", "q", "r"]


def describe(value) -> str:
    """What the body sees of ``value``: Python values exactly, tensors by shape and dtype
    (a NumPy array arrives as a tensor)."""
    if isinstance(value, (aj.Tensor, np.ndarray)):
        return f"T{tuple(value.shape)}{value.dtype.name}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Pair):
        return f"Pair({describe(value.a)}, {describe(value.b)})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner},)"
    return f"{type(value).__name__}:{value!r}"


def leaf(rng: random.Random):
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice([0, 1, -1, 2])
    if kind == 1:
        return rng.choice([0.0, -0.0, 1.0, 0.5, float("nan"), float("inf"), -float("inf")])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return rng.choice(["x", "", "0"])
    if kind == 4:
        return None
    if kind == 5:
        return aj.ones(rng.choice([(), (2,), (3,), (2, 1)]),
                       dtype=rng.choice([aj.float32, aj.float64, aj.int32]))
    if kind == 6:
        return np.zeros(rng.choice([(2,), (1, 2)]), dtype=rng.choice([np.float32, np.int64]))
    return rng.choice([1, 1.0, True])  # equal under ==, different for the body


def value(rng: random.Random, depth: int = 0):
    if depth >= 2 or rng.random() < 0.5:
        return leaf(rng)
    kind = rng.randrange(4)
    items = [value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 0:
        return items
    if kind == 1:
        return tuple(items)
    if kind == 2:
        return Pair(value(rng, depth + 1), value(rng, depth + 1))
    keys = rng.sample(KEYS[:3] if rng.random() < 0.7 else KEYS[3:], rng.randrange(1, 3))
    return {k: value(rng, depth + 1) for k in keys}


def call_arguments(rng: random.Random) -> tuple[tuple, dict]:
    args = tuple(value(rng) for _ in range(rng.randrange(3)))
    names = rng.sample(NAMES, rng.randrange(3))
    return args, {name: value(rng) for name in names}


TWINS = {(float, 0.0): [-0.0, 0, False], (float, 1.0): [1, True], (int, 1): [1.0, True],
         (int, 0): [0.0, -0.0, False], (bool, True): [1, 1.0], (bool, False): [0, 0.0, -0.0]}


def twin(value, rng: random.Random):
    """``value`` with leaves swapped for ones equal under ``==`` (``-0.0`` for ``0.0``,
    ``True`` for ``1``), another ``nan`` object, and dicts in another insertion order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: twin(value[k], rng) for k in keys}
    if isinstance(value, Pair):
        return Pair(twin(value.a, rng), twin(value.b, rng))
    if isinstance(value, (list, tuple)):
        items = [twin(v, rng) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, float) and value != value:
        return float("nan")  # another object
    twins = TWINS.get((type(value), value)) if type(value) in (int, float, bool) else None
    if twins and repr(value) != "-0.0" and rng.random() < 0.5:
        return rng.choice(twins)
    return value


def body(*args, **kwargs):
    return describe(args) + " " + describe(kwargs)


@pytest.mark.filterwarnings("ignore::autojit.RetracingWarning")
def test_random_calls_get_the_trace_they_need():
    rng = random.Random(SEED)
    f = aj.function(body, autograph=False)
    distinct = set()
    for i in range(N):
        args, kwargs = call_arguments(rng)
        for k in range(3):  # a call and two twins, which share a trace only if they look alike
            if k:
                args = twin(args, rng)
                names = list(kwargs)
                rng.shuffle(names)
                kwargs = {name: twin(kwargs[name], rng) for name in names}
            want = body(*args, **kwargs)
            got = f(*args, **kwargs)
            assert got == want, (f"call {i}.{k} (seed {SEED}): the trace saw {got}, the call "
                                 f"is {want}")
            distinct.add(want)
    assert f.tracing_count == len(distinct), (
        f"{f.tracing_count} traces for {len(distinct)} distinct calls (seed {SEED})")
