"""Differential test of where a function's paths end: random nests of ``if`` (tensor
conditions), ``match`` (a Python subject), ``with``, ``while True:``, ``return``, ``raise``
and ``assert False``. Plain Python, run for every sign of the four conditions (each
tested once on any path, so no path is infeasible), is the
reference: where every run returns or raises, the traced function (one trace per ``mode``)
must give each run's value, or raise where it raised; where some runs return and others fall
off the end, autograph must reject the function with its documented error; where no run
returns, both give ``None`` (or raise).

``AUTOJIT_PATHFUZZ_N`` sets the number of programs (default 150), ``AUTOJIT_PATHFUZZ_SEED``
the first seed.
"""

from __future__ import annotations

import contextlib
import itertools
import linecache
import os
import random

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

N = int(os.environ.get("AUTOJIT_PATHFUZZ_N", "150"))
SEED = int(os.environ.get("AUTOJIT_PATHFUZZ_SEED", "0"))
MODES = ("a", "b", "z")
CONDITIONS = 4
RAISED = (AssertionError, ValueError, aj.errors.InvalidArgumentError)


class _Generator:
    def __init__(self, rng: random.Random):
        self.rng, self.lines, self.tag, self.conds = rng, [], 0, 0

    def program(self) -> str:
        self.lines = ["def f(x, c0, c1, c2, c3, mode):", "    y = x"]
        self.block(1, depth=0)
        return "\n".join(self.lines) + "\n"

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def block(self, indent: int, depth: int) -> None:
        for _ in range(self.rng.randint(1, 3)):
            self.statement(indent, depth)

    def statement(self, indent: int, depth: int) -> None:
        kinds = ["return", "return", "assign", "raise"]
        if depth < 3:
            kinds += ["match", "with"]
            if self.conds < CONDITIONS:  # each condition once: no path is infeasible
                kinds += ["if", "if", "ifelse", "whiletrue"]
        kind = self.rng.choice(kinds)
        self.tag += 1
        if kind == "return":
            self.emit(indent, f"return y * {self.tag}.0")
        elif kind == "assign":
            self.emit(indent, f"y = y + {self.tag}.0")
        elif kind == "raise":
            self.emit(indent, self.rng.choice((f"raise ValueError('r{self.tag}')",
                                               f"assert False, 'r{self.tag}'")))
        elif kind in ("if", "ifelse"):
            self.emit(indent, f"if {self.condition()}:")
            self.block(indent + 1, depth + 1)
            if kind == "ifelse":
                self.emit(indent, "else:")
                self.block(indent + 1, depth + 1)
        elif kind == "match":
            self.emit(indent, "match mode:")
            cases = self.rng.sample(["'a'", "'b'"], self.rng.randint(0, 2))
            cases += self.rng.choice(([], ["_"], ["other"]))  # a catch-all comes last
            for case in cases or ["_"]:
                self.emit(indent + 1, f"case {case}:")
                self.block(indent + 2, depth + 1)
        elif kind == "with":
            self.emit(indent, "with contextlib.nullcontext():")
            self.block(indent + 1, depth + 1)
        else:  # left by a return: the counter ends it within 3 steps
            t = f"t{self.tag}"
            self.emit(indent, f"{t} = 0")
            self.emit(indent, "while True:")
            self.emit(indent + 1, f"{t} += 1")
            self.emit(indent + 1, f"if {t} > 2 or {self.condition()}:")
            self.emit(indent + 2, f"return y * {self.tag}.0 + {t}")
            self.block(indent + 1, depth + 1)


    def condition(self) -> str:
        self.conds += 1
        return f"c{self.conds - 1} > 0"


def generate(seed: int) -> str:
    """The source of program ``seed``. Usage: ``print(generate(3))``"""
    return _Generator(random.Random(seed)).program()


def compile_program(source: str, seed: int):
    filename = f"<return-paths-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"aj": aj, "contextlib": contextlib}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


SIGNS = list(itertools.product((1.0, -1.0), repeat=CONDITIONS))


def outcome(fn, *args):
    try:
        return fn(*args)
    except (ValueError, AssertionError) as exc:
        return exc


def run_one(seed: int) -> str:
    source = generate(seed)
    fn = compile_program(source, seed)
    traced = aj.function(fn)
    kinds = set()
    for mode in MODES:
        want = [outcome(fn, np.float32(1.5), *signs, mode) for signs in SIGNS]
        returns = [w is not None and not isinstance(w, Exception) for w in want]
        falls = [w is None for w in want]
        args = [[aj.constant(1.5), *map(aj.constant, signs)] for signs in SIGNS]
        if any(falls) and any(returns):
            kinds.add("rejected")
            with pytest.raises(AutographError, match="reaches its end without `return`"):
                traced(*args[0], mode)
            continue
        for signs, arg, expected in zip(SIGNS, args, want):
            if isinstance(expected, Exception):
                with pytest.raises(RAISED):
                    traced(*arg, mode)
                continue
            got = traced(*arg, mode)
            assert (got is None) == (expected is None), (seed, mode, signs, got, expected)
            if expected is not None:
                np.testing.assert_allclose(got.numpy(), expected, err_msg=(
                    f"seed {seed} mode {mode} signs {signs}\n{source}"))
        kinds.add("ran" if any(returns) else "no value")
    return "/".join(sorted(kinds))


def test_generated_return_paths_agree_with_python():
    seen: dict = {}
    for seed in range(SEED, SEED + N):
        try:
            kind = run_one(seed)
        except BaseException as exc:
            raise AssertionError(f"seed {seed}: {type(exc).__name__}: {exc}\n"
                                 f"{generate(seed)}") from exc
        seen[kind] = seen.get(kind, 0) + 1
    ran = sum(count for kind, count in seen.items() if "ran" in kind)
    assert ran > N // 2, seen
