"""Differential test: random programs (``fuzz.py``) run as plain Python on NumPy values and
through ``@aj.function`` on tensors must agree; programs autograph cannot convert must be
rejected with one of its documented errors, never crash inside autojit.

``AUTOJIT_FUZZ_N`` sets the number of programs (default 600), ``AUTOJIT_FUZZ_SEED`` the
first seed: ``AUTOJIT_FUZZ_N=5000 pytest tests/autograph/test_fuzz.py``. With ``-s`` the sweep
prints, per construct, how many programs using it ran and how many were rejected.
"""

from __future__ import annotations

import collections
import linecache
import os
import warnings

import numpy as np

import autojit as aj
from autojit.errors import AutographError, DTypeError, TracingError

from .fuzz import Program, generate

N = int(os.environ.get("AUTOJIT_FUZZ_N", "600"))
SEED = int(os.environ.get("AUTOJIT_FUZZ_SEED", "0"))
INPUTS = [(0.5, -1.25, 0, (0.5, -1.0, 2.0)), (1.5, 0.75, 1, (-0.25, 0.75, 1.5)),
          (-2.0, 0.25, 3, (1.0, 1.0, -0.5)), (2.75, 2.75, 2, (0.0, -2.0, 0.25)),
          (-0.5, 1.0, 4, (2.5, 0.5, -1.5))]
DOCUMENTED = (AutographError, DTypeError, TracingError, UnboundLocalError)


def compile_program(source: str, seed: int):
    """The function ``f`` of ``source``, from a file name linecache knows (so autograph can
    read its source like any user function)."""
    filename = f"<autograph-fuzz-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"aj": aj}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def plain(fn, x, y, n, v):
    try:
        return fn(np.float32(x), np.float32(y), np.int32(n), np.array(v, np.float32))
    except UnboundLocalError as exc:
        return exc


def same(got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    got = [np.float32(np.asarray(v)) for v in got]
    want = [np.float32(np.asarray(v)) for v in want]
    return len(got) == len(want) and all(
        np.array_equal(g, w, equal_nan=True) or np.allclose(g, w, rtol=1e-6)
        for g, w in zip(got, want))


def run_one(seed: int, program: Program | None = None) -> tuple[str, str]:
    """("ok" | "rejected", detail) for one program; raises AssertionError on a mismatch."""
    program = program or generate(seed)
    fn = compile_program(program.source, seed)
    expected = [plain(fn, *args) for args in INPUTS]
    traced = aj.function(fn)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = [traced(aj.constant(x, aj.float32), aj.constant(y, aj.float32),
                              aj.constant(n, aj.int32), aj.constant(v, aj.float32))
                       for x, y, n, v in INPUTS]
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
    by_construct: dict = collections.defaultdict(collections.Counter)
    for seed in range(SEED, SEED + N):
        program = generate(seed)
        outcome, _ = run_one(seed, program)
        outcomes[outcome] += 1
        for construct in program.constructs:
            by_construct[construct][outcome] += 1
    print(f"\n{N} programs from seed {SEED}: {outcomes}")
    for construct, counts in sorted(by_construct.items()):
        print(f"  {construct:55s} ok {counts['ok']:5d}  rejected {counts['rejected']:4d}")
    assert outcomes["ok"] > 0.8 * N, outcomes


def test_generator_covers_the_constructs():
    seen: set = set()
    for seed in range(300):
        seen |= generate(seed).constructs
    want = {"for over a tensor", "enumerate over a tensor", "enumerate over a tensor range",
            "reversed over a tensor range", "reversed over a tensor", "zip over tensors",
            "zip over a tensor range and a tensor", "enumerate over a zip",
            "enumerate/zip/reversed over a Python range", "list append in a tensor loop",
            "list append in a Python loop", "list append under a tensor if in a loop",
            "container read", "chained comparison",
            "method of a class defined in the function", "builtin on tensors",
            "attribute assignment", "attribute read", "walrus in a while test",
            "dict update method", "while True left by return",
            "return under a tensor condition, then raise"}
    assert want <= seen, want - seen


# ------------------------------------------------------ programs the sweep found (fixed)


def test_a_tensor_loop_whose_branch_tests_a_dict_item_it_assigns_can_return():
    # The trial iteration that finds what the loop assigns ran with `D['q']` still the Python
    # 0.0, so `D['q'] >= 0.0` was Python-True there and the `return` below was never seen;
    # the real body (where `D['q']` is a tensor) then assigned the return value: an error.
    @aj.function
    def f(x, y, v):
        D = {'q': 0.0}
        for t in v:
            if D['q'] >= 0.0:
                D['q'] = D['q'] - t
            elif t < 1.5:
                D['q'] = 1.0
            else:
                return y, x
        return x, D['q']

    for values in [(0.5, -1.0, 2.0), (-1.0, 3.0, 0.25), (0.5, 2.0, 1.0)]:
        v = np.array(values, np.float32)
        got = f(aj.constant(0.5), aj.constant(-1.25), aj.constant(v))
        want = f.python_function(np.float32(0.5), np.float32(-1.25), v)
        assert same(got, want), (values, got, want)
    assert f.tracing_count == 1
