"""Differential test: random programs (``fuzz.py``) run as plain Python on NumPy values and
through ``@aj.function`` on tensors must agree; programs autograph cannot convert must be
rejected with one of its documented errors, never crash inside autojit.

``AUTOJIT_FUZZ_N`` sets the number of programs (default 600), ``AUTOJIT_FUZZ_SEED`` the
first seed: ``AUTOJIT_FUZZ_N=5000 pytest tests/autograph/test_fuzz.py``.
"""

from __future__ import annotations

import linecache
import os
import warnings

import numpy as np

import autojit as aj
from autojit.errors import AutographError, DTypeError, TracingError

from .fuzz import generate

N = int(os.environ.get("AUTOJIT_FUZZ_N", "600"))
SEED = int(os.environ.get("AUTOJIT_FUZZ_SEED", "0"))
INPUTS = [(0.5, -1.25, 0), (1.5, 0.75, 1), (-2.0, 0.25, 3), (2.75, 2.75, 2), (-0.5, 1.0, 4)]
DOCUMENTED = (AutographError, DTypeError, TracingError, UnboundLocalError)


def compile_program(source: str, seed: int):
    """The function ``f`` of ``source``, from a file name linecache knows (so autograph can
    read its source like any user function)."""
    filename = f"<autograph-fuzz-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"aj": aj}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def plain(fn, x, y, n):
    try:
        return fn(np.float32(x), np.float32(y), np.int32(n))
    except UnboundLocalError as exc:
        return exc


def same(got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    got = [np.float32(np.asarray(v)) for v in got]
    want = [np.float32(np.asarray(v)) for v in want]
    return len(got) == len(want) and all(
        np.array_equal(g, w) or np.allclose(g, w, rtol=1e-6) for g, w in zip(got, want))


def run_one(seed: int) -> tuple[str, str]:
    """("ok" | "rejected", detail) for one program; raises AssertionError on a mismatch."""
    program = generate(seed)
    fn = compile_program(program.source, seed)
    expected = [plain(fn, *args) for args in INPUTS]
    traced = aj.function(fn)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = [traced(aj.constant(x, aj.float32), aj.constant(y, aj.float32),
                              aj.constant(n, aj.int32)) for x, y, n in INPUTS]
    except DOCUMENTED as exc:
        assert program.risky or all(isinstance(e, type(exc)) for e in expected), (
            f"seed {seed}: a safe program was rejected: {type(exc).__name__}: {exc}\n"
            f"{program.source}")
        return "rejected", type(exc).__name__
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"seed {seed}: crash inside autojit: {type(exc).__name__}: {exc}\n"
                             f"{program.source}") from exc
    assert traced.tracing_count == 1, f"seed {seed}: traced {traced.tracing_count} times"
    for args, got, want in zip(INPUTS, results, expected):
        assert not isinstance(want, Exception), (
            f"seed {seed}: Python raised {want!r} for {args} but the graph ran\n"
            f"{program.source}")
        assert same(got, want), (f"seed {seed}: inputs {args}: graph {got} != Python {want}\n"
                                 f"{program.source}")
    return "ok", ""


def test_random_programs_agree_with_python():
    outcomes = {"ok": 0, "rejected": 0}
    for seed in range(SEED, SEED + N):
        outcome, _ = run_one(seed)
        outcomes[outcome] += 1
    assert outcomes["ok"] > 0.8 * N, outcomes
