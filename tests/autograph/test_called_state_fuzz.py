"""Differential test for state that called functions change (Note [State changed by called
functions] in autograph/untracked.py): random programs in which a function called inside a
tensor ``if``/``for``/``while`` changes a ``nonlocal``, an attribute (of a plain, a
``__slots__`` or a local class), a list item or a dict item (also of a ``defaultdict``, and a
mutable default argument), in containers of 1 to 300 items, nested up to 7 levels deep in
lists, tuples, dicts and objects, reached through an alias or not (`al = root[0]` before the
block, an unused `view = ...` in it), its new value returned and assigned by the block
(`out = change(t)`) or not, run as plain Python on NumPy values and through
``@aj.function`` on tensors: every program must run, traced once, and agree with Python.

``AUTOJIT_FUZZ_N`` sets the number of programs (default 300), ``AUTOJIT_FUZZ_SEED`` the
first seed. With ``-s`` the sweep prints how many programs used each feature.
"""

from __future__ import annotations

import collections
import linecache
import os
import random
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutographError

N = int(os.environ.get("AUTOJIT_FUZZ_N", "300"))
SEED = int(os.environ.get("AUTOJIT_FUZZ_SEED", "0"))
INPUTS = [(0.5, 0, (0.5, -1.0, 2.0)), (1.5, 3, (-0.25, 0.75, 1.5)),
          (-2.0, 2, (1.0, 1.0, -0.5)), (2.75, 1, (0.0, -2.0, 0.25))]
PRELUDE = '''
import collections


class Box:
    def __init__(self, s):
        self.s = s

    def put(self, w):
        self.s = self.s + w
        return self.s


class Slotted:
    __slots__ = ("s",)

    def __init__(self, s):
        self.s = s

    def put(self, w):
        self.s = self.s + w
        return self.s


class Node:
    def __init__(self, c):
        self.c = c


def change_item(c, k, w):
    c[k] = c[k] + w
    return c[k]
'''
SIZES = (1, 3, 10, 64, 65, 100, 300)


class Program:
    """The source of one generated function ``f(x, n, v)``, the features it uses, and the
    start of the AutographError it must raise (None: it must agree with Python)."""

    def __init__(self, source: str, features: frozenset, error: str | None = None):
        self.source, self.features, self.error = source, features, error


def generate(seed: int) -> Program:
    """A random program for ``seed`` (the same seed gives the same program)."""
    return _Generator(random.Random(seed)).program()


class _Generator:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.features: set = set()
        self.lines: list[str] = []

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def program(self) -> Program:
        rng = self.rng
        integer = rng.random() < 0.3  # a counter stepped by 1, as a histogram's
        zero = "0" if integer else "0.0"
        self.emit(0, "def f(x, n, v):")
        self.emit(1, "y = 0.0")
        self.emit(1, f"out = {zero}")
        slot, call = self.state(zero)
        kind = rng.choice(["if", "if_else", "for_v", "for_range", "while", "for_if"])
        self.features.add(f"block: {kind}")
        if kind == "while":
            self.emit(1, "i = 0")
        head = {"if": "if x > 0.0:", "if_else": "if n > 1:", "for_v": "for t in v:",
                "for_range": "for i in range(n):", "while": "while i < n:",
                "for_if": "for t in v:"}[kind]
        self.emit(1, head)
        indent = 2
        if kind == "while":
            self.emit(2, "i += 1")
        if kind == "for_if":
            self.emit(2, "if t > 0.5:")
            indent = 3
        w = "1" if integer else ("t" if kind in ("for_v", "for_if") else
                                 rng.choice(["x * 0.5", "0.25"]))
        self.body(indent, slot, call, w)
        if kind == "if_else":
            self.emit(1, "else:")
            self.body(2, slot, call, "1" if integer else "-0.5")
        self.emit(1, f"return {slot}, out, y")
        source = PRELUDE + "\n\n" + "\n".join(self.lines) + "\n"
        error = None
        if self.assigned and self.reach == "al" and self.leaf in ("list", "dict") and \
                kind not in ("if", "if_else"):
            # the loop's copy of `root` and the function's `al` are two lists: an error
            self.features.add("an alias of a loop's own container changed: an error")
            error = f"`{slot}` changes inside the tensor "
        return Program(source, frozenset(self.features), error)

    def body(self, indent: int, slot: str, call: str, w: str) -> None:
        rng = self.rng
        if self.own is not None and rng.random() < 0.3:
            self.assigned = True
            self.features.add("the block assigns the slot too")
            self.emit(indent, f"{self.own} = {self.own} * 2")
        for _ in range(rng.choice([1, 1, 2])):
            if self.returns and rng.random() < 0.6:
                self.features.add("the block assigns what the call returns")
                self.emit(indent, f"out = {call.format(w=w)}")
            else:
                self.emit(indent, call.format(w=w))
        if self.view is not None and rng.random() < 0.4:
            self.features.add("an alias bound in the block")
            self.emit(indent, f"view = {self.view}")
            if self.view_item is not None and rng.random() < 0.5:
                self.emit(indent, f"y = y + view{self.view_item}")
        self.emit(indent, "y = y + 0.5")

    def state(self, zero: str) -> tuple[str, str]:
        """Emit the state and the function that changes it; return the expression of the
        slot and the call (a format with ``{w}``, the amount)."""
        rng = self.rng
        self.own = self.view = self.view_item = None
        self.returns, self.assigned, self.reach = True, False, None
        leaf = self.leaf = rng.choice(["nonlocal", "nonlocal_in_method", "attr", "list",
                                       "dict", "default"])
        self.features.add(f"slot: {leaf}")
        if leaf == "nonlocal":
            self.emit(1, f"s = {zero}")
            self.emit(1, "def change(w):")
            self.emit(2, "nonlocal s")
            self.emit(2, "s = s + w")
            self.emit(2, "return s")
            self.own = "s"
            return "s", "change({w})"
        if leaf == "nonlocal_in_method":  # a method of a local class rebinds the nonlocal
            self.emit(1, f"s = {zero}")
            self.emit(1, "class Counter:")
            self.emit(2, "def put(self, w):")
            self.emit(3, "nonlocal s")
            self.emit(3, "s = s + w")
            self.emit(3, "return s")
            self.emit(1, "counter = Counter()")
            return "s", "counter.put({w})"
        if leaf == "default":  # a mutable default argument
            self.emit(1, f"def change(w, acc=[{zero}]):")
            self.emit(2, "acc[0] = acc[0] + w")
            self.emit(2, "return acc[0]")
            return "change.__defaults__[0][0]", "change({w})"
        size = rng.choice(SIZES)
        if leaf == "attr":
            cls = rng.choice(["Box", "Slotted", "K"])
            self.features.add(f"attribute of {cls}")
            if cls == "K":
                self.emit(1, "class K:")
                self.emit(2, "def __init__(self, s):")
                self.emit(3, "self.s = s")
                self.emit(1, "K.put = Box.put")
            inner, key = f"{cls}({zero})", ".s"
        elif leaf == "list":
            self.features.add("list of more than 64 items" if size > 64 else "short list")
            inner, key = f"[{zero}] * {size}", f"[{rng.randrange(size)}]"
        else:
            kind = rng.choice(["int keys", "str keys", "defaultdict"])
            self.features.add(f"dict with {kind}")
            k = rng.randrange(size)
            if kind == "defaultdict":
                default = "int" if zero == "0" else "float"
                self.emit(1, f"dd = collections.defaultdict({default})")
                self.emit(1, f"dd[{k}] = {zero}")
                inner, key = "dd", f"[{k}]"
            elif kind == "int keys":
                inner, key = f"{{i: {zero} for i in range({size})}}", f"[{k}]"
            else:
                inner, key = f"{{f'k{{i}}': {zero} for i in range({size})}}", f"['k{k}']"
        path = self.nest(inner)
        container = "root" + path
        self.emit(1, f"root = {self.built}")
        if rng.random() < 0.3:
            self.features.add("an alias bound before the block")
            self.emit(1, f"al = {container}")
            reach = "al"
        else:
            reach = container
        self.view, self.view_item, self.reach = container, key, reach
        if rng.random() < 0.5 and not path and inner != "dd":
            # (not a defaultdict: a tensor `if` assigning items of one is wrong without any
            # called function, outside the watch's reach)
            self.own = container + key
        way = rng.choice(["closure", "argument", "method"] if leaf == "attr" else
                         ["closure", "argument"])
        self.features.add(f"changed by: {way}")
        if way == "method":
            return container + key, f"{reach}.put({{w}})"
        if way == "argument":
            if leaf == "attr":
                self.emit(1, "def change(o, w):")
                self.emit(2, "o.s = o.s + w")
                self.emit(2, "return o.s")
                return container + key, f"change({reach}, {{w}})"
            return container + key, f"change_item({reach}, {key[1:-1]}, {{w}})"
        self.emit(1, "def change(w):")
        self.emit(2, f"{reach}{key} = {reach}{key} + w")
        if rng.random() < 0.5:
            self.emit(2, f"return {reach}{key}")
        else:
            self.returns = False
        return container + key, "change({w})"

    def nest(self, inner: str) -> str:
        """Set ``self.built`` to ``inner`` wrapped in 0 to 7 containers; return the path
        from the outermost to ``inner`` (``[0]['k'].c``)."""
        rng = self.rng
        depth = rng.choice([0, 0, 1, 2, 3, 4, 5, 7])
        self.features.add(f"nested {depth} deep" if depth < 5 else "nested 5 or more deep")
        built, path = inner, []
        for _ in range(depth):
            kind = rng.choice(["list", "big list", "tuple", "dict", "object"])
            if kind in ("list", "big list"):
                size = 2 if kind == "list" else rng.choice([65, 150])
                k = rng.randrange(size)
                built = f"[0.5] * {k} + [{built}] + [0.5] * {size - k - 1}"
                path.append(f"[{k}]")
            elif kind == "tuple":
                built = f"(0.5, {built})"
                path.append("[1]")
            elif kind == "dict":
                built = f"{{'k': {built}, 'z': 1.0}}"
                path.append("['k']")
            else:
                built = f"Node({built})"
                path.append(".c")
        self.built = built
        return "".join(reversed(path))


def compile_program(source: str, seed: int):
    filename = f"<called-state-fuzz-{seed}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace["f"]


def same(got, want) -> bool:
    got = [np.float32(np.asarray(g)) for g in got]
    want = [np.float32(np.asarray(w)) for w in want]
    return len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want))


def run_one(seed: int, program: Program | None = None) -> None:
    """Raise AssertionError when the traced program disagrees with plain Python."""
    program = program or generate(seed)
    fn = compile_program(program.source, seed)
    traced = aj.function(fn)
    if program.error is not None:
        x, n, v = INPUTS[1]
        with pytest.raises(AutographError, match=re.escape(program.error)):
            traced(aj.constant(x, aj.float32), aj.constant(n, aj.int32),
                   aj.constant(v, aj.float32))
        return
    for x, n, v in INPUTS:
        want = fn(np.float32(x), np.int32(n), np.array(v, np.float32))
        try:
            got = traced(aj.constant(x, aj.float32), aj.constant(n, aj.int32),
                         aj.constant(v, aj.float32))
        except Exception as exc:  # noqa: BLE001
            raise AssertionError(f"seed {seed}: {type(exc).__name__}: {exc}\n"
                                 f"{program.source}") from exc
        assert same(got, want), (f"seed {seed}: inputs {(x, n, v)}: graph {got} != Python "
                                 f"{want}\n{program.source}")
    assert traced.tracing_count == 1, f"seed {seed}: traced {traced.tracing_count} times"


def test_random_programs_with_state_changed_by_called_functions_agree_with_python():
    counts: collections.Counter = collections.Counter()
    for seed in range(SEED, SEED + N):
        program = generate(seed)
        run_one(seed, program)
        counts.update(program.features)
    print(f"\n{N} programs from seed {SEED}")
    for feature, count in sorted(counts.items()):
        print(f"  {feature:45s} {count:5d}")


def test_generator_covers_the_features():
    seen: set = set()
    for seed in range(300):
        seen |= generate(seed).features
    want = {"slot: nonlocal", "slot: nonlocal_in_method", "slot: attr", "slot: list",
            "slot: dict", "slot: default", "attribute of Slotted", "attribute of K",
            "list of more than 64 items", "dict with defaultdict", "nested 5 or more deep",
            "an alias bound before the block", "an alias bound in the block",
            "the block assigns what the call returns", "the block assigns the slot too",
            "changed by: method", "changed by: argument",
            *(f"block: {k}" for k in ("if", "if_else", "for_v", "for_range", "while",
                                      "for_if"))}
    assert want <= seen, want - seen
