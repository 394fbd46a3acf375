"""Shared checks for the autograph tests: run a tiny function as plain Python, converted on
Python values, and through ``@aj.function`` on tensors, and compare."""

from __future__ import annotations

import re

import numpy as np

import autojit as aj
from autojit import autograph


def to_tensor(value):
    """A tensor for a Python/NumPy test value (ints → int32, floats → float32)."""
    if isinstance(value, (aj.Tensor,)):
        return value
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return aj.constant(array.astype(np.float32))
    if array.dtype.kind == "b":
        return aj.constant(array)
    return aj.constant(array.astype(np.int32))


def assert_close(got, want, rtol=1e-5):
    """Equal results: numbers (tensors, NumPy, Python) up to ``rtol``, other values exactly,
    structures leaf by leaf."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_close(g, w, rtol)
        return
    if isinstance(want, (str, type(None))) or isinstance(got, (str, type(None))):
        assert got == want
        return
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=rtol, atol=1e-6)


def op_names(graph) -> set:
    """Names of the ops in a printed graph (``%3: f32[] = cond ...`` → ``cond``)."""
    return set(re.findall(r"= ([a-z_0-9]+)\b", str(graph)))


def check_python(fn, cases):
    """The converted function gives what the original gives, on Python values."""
    converted = autograph.convert(fn)
    for args in cases:
        assert_close(converted(*args), fn(*args))


def check_tensors(fn, cases, ops=(), absent=()):
    """One ``@aj.function`` of ``fn``, called with tensors for every case: each result equals
    plain Python's, it traced once, and its graph has the ``ops`` (and not the ``absent``)."""
    traced = aj.function(fn)
    for args in cases:
        assert_close(traced(*[to_tensor(a) for a in args]), fn(*args))
    assert traced.tracing_count == 1
    names = op_names(traced.get_concrete_function(*[to_tensor(a) for a in cases[0]]).graph)
    for op in ops:
        assert op in names, f"{op} not in the graph: {sorted(names)}"
    for op in absent:
        assert op not in names, f"{op} unexpectedly in the graph"
    return traced


def check(fn, cases, ops=(), absent=()):
    """``check_python`` and ``check_tensors``."""
    check_python(fn, cases)
    return check_tensors(fn, cases, ops, absent)


def where(fn, snippet: str) -> str:
    """``file:line`` of the first line of ``fn``'s source containing ``snippet``."""
    import inspect

    lines, first = inspect.getsourcelines(fn)
    for offset, line in enumerate(lines):
        if snippet in line:
            return f"{inspect.getsourcefile(fn)}:{first + offset}"
    raise AssertionError(f"{snippet!r} not in the source of {fn.__name__}")
