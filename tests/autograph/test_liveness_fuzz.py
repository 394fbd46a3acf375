"""Differential test of liveness (autograph/analysis/liveness.py, closure_reads in
activity.py): random tensor loops and branches whose bodies use temporaries assigned on
every path before their use, sometimes deleted after it (``del``) — in both the body and
the handler of a ``try``, by a ``match`` capture pattern, in both branches of a Python
``if`` — next to lambdas stored for later (``getters.append(lambda: q)``, called after the
block that rebinds ``q``) and lambdas run during a call (``aj.cond``, ``sorted``). Every
program is valid Python whose temporaries need no value before the block; each must trace
once and give plain Python's answer for every input. A name wrongly taken as live is a
spurious "first assigned inside the loop" error; one wrongly taken as dead, a stale value.

``AUTOJIT_LIVEFUZZ_N`` sets the number of programs (default 120), ``AUTOJIT_LIVEFUZZ_SEED``
the first seed.
"""

from __future__ import annotations

import linecache
import os
import random

import numpy as np

import autojit as aj

N = int(os.environ.get("AUTOJIT_LIVEFUZZ_N", "120"))
SEED = int(os.environ.get("AUTOJIT_LIVEFUZZ_SEED", "0"))
INPUTS = [((0.5, -1.0, 2.0), 1.5, {"scale": 0.5}), ((-0.25, 0.75, 1.5), -2.0, {"shift": 1.0}),
          ((1.0, 1.0, -0.5), 0.25, {"scale": -2.0})]


class _Generator:
    def __init__(self, rng: random.Random):
        self.rng, self.lines, self.count = rng, [], 0

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}{self.count}"

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def program(self) -> str:
        self.lines = ["def f(xs, y, cfg):", "    s = y * 0.5", "    q = y", "    getters = []"]
        for _ in range(self.rng.randint(1, 3)):
            self.block_statement(1)
        self.emit(1, "late = sum(g() for g in getters)")
        self.emit(1, "return s + late, q")
        return "\n".join(self.lines) + "\n"

    def block_statement(self, indent: int) -> None:
        kind = self.rng.choice(["loop", "loop", "if", "store"])
        if kind == "store":  # a lambda kept for later: reads q when called, at the end
            self.emit(indent, "getters.append(lambda: q * 0.25)")
        elif kind == "loop":
            self.emit(indent, "for v in xs:")
            for _ in range(self.rng.randint(1, 3)):
                self.body_statement(indent + 1, "v")
        else:
            self.emit(indent, "if y > 0.0:")
            for _ in range(self.rng.randint(1, 2)):
                self.body_statement(indent + 1, "y")
            self.emit(indent, "else:")
            for _ in range(self.rng.randint(1, 2)):
                self.body_statement(indent + 1, "s")

    def body_statement(self, indent: int, v: str) -> None:
        t = self.fresh("t")
        kind = self.rng.choice(["try", "match", "pyif", "cond", "sorted", "rebind"])
        if kind == "try":
            self.emit(indent, "try:")
            self.emit(indent + 1, f"{t} = {v} * 2.0")
            self.emit(indent, "except ZeroDivisionError:")
            self.emit(indent + 1, f"{t} = 0.0")
            self.emit(indent, f"s = s + {t}")
            if self.rng.random() < 0.5:  # a temporary deleted after its use
                self.emit(indent, f"del {t}")
        elif kind == "match":
            self.emit(indent, "match cfg:")
            self.emit(indent + 1, "case {'scale': k}:")
            self.emit(indent + 2, f"{t} = {v} * k")
            self.emit(indent + 1, "case {'shift': k}:")
            self.emit(indent + 2, f"{t} = {v} + k")
            self.emit(indent + 1, "case _:")
            self.emit(indent + 2, f"{t} = {v}")
            self.emit(indent, f"s = s + {t}")
        elif kind == "pyif":
            self.emit(indent, "if 'scale' in cfg:")
            self.emit(indent + 1, f"{t} = {v} * 0.5")
            self.emit(indent, "else:")
            self.emit(indent + 1, f"{t} = {v} - 0.5")
            self.emit(indent, f"s = s + {t}")
            if self.rng.random() < 0.5:
                self.emit(indent, f"del {t}")
        elif kind == "cond":  # run during the call: t is local to this statement
            self.emit(indent, f"{t} = {v} + 1.0")
            self.emit(indent, f"s = aj.cond(s > 1.0, lambda: s - {t}, lambda: s + {t} * 0.5)")
        elif kind == "sorted":
            self.emit(indent, f"{t} = {v} * 0.25")
            self.emit(indent, f"s = s + sorted([{t}, s], key=lambda w: float(0.0))[0]")
        else:  # read later only through the stored lambdas
            self.emit(indent, f"q = q * 0.5 + {v}")


def generate(seed: int) -> str:
    """The source of program ``seed``. Usage: ``print(generate(3))``"""
    return _Generator(random.Random(seed)).program()


def compile_program(source: str, seed: int):
    filename = f"<liveness-fuzz-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"aj": aj}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def test_generated_temporaries_and_lambdas_agree_with_python():
    for seed in range(SEED, SEED + N):
        source = generate(seed)
        fn = compile_program(source, seed)
        traced = aj.function(fn)
        for xs, y, cfg in INPUTS:
            want = fn(aj.constant(xs), aj.constant(y), cfg)
            try:
                got = traced(aj.constant(xs), aj.constant(y), cfg)
            except Exception as exc:
                raise AssertionError(f"seed {seed}: {type(exc).__name__}: {exc}\n{source}") \
                    from exc
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6,
                                           err_msg=f"seed {seed}, cfg {cfg}\n{source}")
        assert traced.tracing_count == len(INPUTS), seed  # one trace per cfg (Python values)
