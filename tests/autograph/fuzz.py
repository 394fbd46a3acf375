"""A seeded generator of small random Python functions for the differential autograph test.

Each program has the signature ``f(x, y, n, v)`` (``x``, ``y`` floats, ``n`` a small int,
``v`` a vector of 3 floats) and
mixes ``if``/``elif``/``else``, ``while`` and ``for`` loops (over ``range(n)`` — a tensor loop
once ``n`` is a tensor — and over Python ranges, unrolled while tracing), ``break``,
``continue``, early ``return``, ``and``/``or``/``not`` and ``a if c else b``, calls of a
module-level helper (one under a ``functools.wraps`` decorator whose wrapper changes the
result) and of a lambda (converted recursively), with conditions on tensors and
on Python loop counters. Also: a list ``L`` and a dict ``D`` of floats whose items are
assigned (``L[0] = ...``, ``D["q"] += ...``) in tensor branches and loops and read later,
chained comparisons (``-1.0 < a < 2.0``), ``raise`` in Python-decided branches (a ``mode``
string chosen per program; the raising branch never runs), a never-taken ``raise`` or
``assert False`` under a tensor condition (a graph assert), ``return`` and ``continue``
mixed in the branches of an ``if`` in a loop, ``return`` in a later ``elif`` and nested
conditional expressions; some programs end in ``while True:`` left only by ``return``, or
in a ``return`` under an (always true) tensor condition followed by ``raise``/``assert False``.
Loops also run over ``v`` (a float vector: a tensor in the graph, so a graph loop over its
rows) and over ``enumerate``, ``zip`` and ``reversed`` of it and of ranges (tensor ranges
too), their items used in the body; and lists appended to in a loop (a TensorArray in a
tensor loop; also by ``extend`` and ``+= [...]``) are read after it: iterated, indexed
under a ``len`` test, ``len`` compared.
A Python int counter ``m`` is stepped (``m += 1``) at the top, in branches and in loops,
read as an operand and returned, and branches return Python numbers (``return 0, ...``)
next to float returns (weak numbers, Note [Weak numbers in tensor control flow]);
``round(v)`` and ``int(v)`` give ints where floats were, and the int indices of loops
(``range``, ``enumerate``) are operands of float arithmetic in their bodies. Functions
defined in the program change state they do not return (``k.put(v)`` sets ``k.s`` and
steps ``k.n``, a nested ``bump`` rebinds ``c`` with ``nonlocal``, ``setl`` sets ``L[1]``)
where the program calls them, in tensor branches and loops too.
``Program.constructs`` names what a program uses (for counts by construct).

Values stay exact: constants are dyadic (0.5, 0.25, ...) and variables are only added,
subtracted and scaled by constants, so NumPy float32 (plain Python) and the graph agree
bit for bit and no branch flips on rounding.

Some programs are *risky*: they read a variable assigned in only one branch or first
inside a loop, or may fall off the end without ``return``. Those may be rejected with one of
autograph's documented errors; every other program must run and match plain Python.
"""

from __future__ import annotations

import random

FLOATS = ("a", "b", "c")
HELPER = """
import functools


def helper(v, w):
    if v > w:
        return v - w
    r = w
    while r > 4.0:
        r = r * 0.5
    return r


def scaled(fn):
    @functools.wraps(fn)
    def wrapper(v, w):
        return fn(v, w) * 0.5 + w
    return wrapper


@scaled
def shelper(v, w):
    if v > w:
        return v - w
    return w * 2.0
"""
# A class defined inside the generated function: its methods are converted when called.
LOCAL_CLASS = """
    class K:
        def __init__(self, s):
            self.s = s

        def m(self, v):
            if v > self.s:
                return v * 0.5
            return v + self.s

        def put(self, v):
            self.s = self.s + v * 0.5
            self.n += 1
    k = K(0.25)
    k.n = 0

    def bump(w):
        nonlocal c
        c = c - w * 0.25

    def setl(w):
        L[1] = L[1] + w
"""
CONSTANTS = ("0.5", "0.25", "1.0", "1.5", "2.0", "-1.0")


class Program:
    """The source of one generated function and whether it may be rejected."""

    def __init__(self, source: str, risky: bool, constructs: frozenset = frozenset()):
        self.source = source
        self.risky = risky
        self.constructs = constructs


def generate(seed: int) -> Program:
    """A random program for ``seed`` (the same seed gives the same program)."""
    return _Generator(random.Random(seed)).program()


class _Generator:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[str] = []
        self.counter = 0
        self.risky = False
        self.budget = 18  # statements per program, so programs stay small
        self.used: set = set()
        self.mode = "a"
        self.items: list[str] = []  # float items of the loops around: operands in their bodies
        self.ints: list[str] = []  # int indices of the loops around (range, enumerate)

    def program(self) -> Program:
        self.mode = self.rng.choice(["a", "b"])
        self.lines = HELPER.splitlines() + [
            "def f(x, y, n, v):", "    a = x", "    b = y", "    c = 0.0", "    m = 0",
            "    h = lambda v: v * 0.5 if v > 0.0 else -v",
            "    L = [x, y * 0.5]", "    D = {'p': y, 'q': 0.0}", f"    mode = {self.mode!r}",
            *LOCAL_CLASS.splitlines()]
        self.block(1, loops=[], python_ints=[], depth=0)
        end = self.rng.random()
        if end < 0.04:
            self.risky = True  # may fall off the end (returns None)
            self.emit(1, "if a > b:")
            self.emit(2, "return a + L[0] + k.n, b - D['q'] + k.s")
        elif end < 0.12:
            self.while_true()
        elif end < 0.16:
            self.used.add("return under a tensor condition, then raise")
            self.emit(1, f"if {self.rng.choice(('x', 'y'))} > -100.0:")  # always taken
            self.emit(2, "return a + L[0] + k.n, b - D['q'] + k.s")
            self.emit(1, self.rng.choice(("assert False, 'unreachable'",
                                          "raise ValueError('unreachable')")))
        else:
            self.emit(1, "return a + L[0] + k.n, b - D['q'] + k.s")
        return Program("\n".join(self.lines) + "\n", self.risky, frozenset(self.used))

    def while_true(self) -> None:
        """End with ``while True:`` left only by ``return`` (no path falls off the end, unless
        a ``break`` in the body leaves the loop: then the program is risky)."""
        self.used.add("while True left by return")
        t = self.fresh("t")
        self.emit(1, f"{t} = 0")
        self.emit(1, "while True:")
        self.emit(2, f"{t} += 1")
        self.emit(2, f"if {t} > n + 1 or {self.tensor_cond([])}:")  # ends within n + 2 steps
        self.emit(3, f"return a + L[0] + k.n, b - D['q'] + k.s + {t}")
        start = len(self.lines)
        self.block(2, loops=["while"], python_ints=[], depth=1)
        if any(line.strip() == "break" for line in self.lines[start:]):
            self.risky = True

    # --- building blocks -----------------------------------------------------------------
    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"{base}{self.counter}"

    def block(self, indent: int, loops: list, python_ints: list, depth: int) -> None:
        for _ in range(self.rng.randint(1, 3)):
            self.statement(indent, loops, python_ints, depth)

    def statement(self, indent, loops, python_ints, depth) -> None:
        self.budget -= 1
        outer, self.ints = self.ints, python_ints  # int loop indices: operands here
        self._statement(indent, loops, python_ints, depth)
        self.ints = outer

    def _statement(self, indent, loops, python_ints, depth) -> None:
        choices = ["assign", "assign", "augassign", "ifexp", "call", "item", "item",
                   "attribute", "count", "mutate"]
        if depth < 3 and self.budget > 0:
            choices += ["if", "if", "while", "for", "pyfor", "pywhile", "tuplefor", "moderaise",
                        "elifreturn", "seqfor", "seqfor", "append", "append"]
        if loops:
            choices += ["break", "continue", "returncontinue"]
        if self.rng.random() < 0.03:
            choices = ["tensorraise"]
        choices += ["return"]
        if self.rng.random() < 0.012:
            choices = ["risky_branch", "risky_loop"]
        kind = self.rng.choice(choices)
        getattr(self, "s_" + kind)(indent, loops, python_ints, depth)

    def fexpr(self) -> str:
        r = self.rng.random()
        v, w = self.operand(), self.operand()
        k = self.rng.choice(CONSTANTS)
        if r < 0.25:
            return f"{v} + {w}"
        if r < 0.45:
            return f"{v} * {k}"
        if r < 0.6:
            return f"{v} - {w} * {k}"
        if r < 0.7:
            return f"-{v}"
        if r < 0.8:
            return k
        if r < 0.86:
            self.used.add("builtin on tensors")
            return self.rng.choice([f"max({v}, {w})", f"min({v}, {k})", f"max({v}, {w}, {k})",
                                    f"float(n) * {k}", f"round({v})",
                                    f"int({v})",
                                    f"abs({v} - {w})"])
        return f"{v} * {k} + {w}"

    def operand(self) -> str:
        if self.rng.random() < 0.12:
            self.used.add("container read")
            return self.rng.choice(["L[0]", "L[1]", "D['p']", "D['q']"])
        if self.items and self.rng.random() < 0.3:
            return self.rng.choice(self.items)
        if self.rng.random() < 0.04:
            self.used.add("attribute read")
            return "k.s"
        if self.rng.random() < 0.05:
            self.used.add("Python int counter read")
            return "m"
        if self.ints and self.rng.random() < 0.08:
            self.used.add("loop index read as a number")
            return self.rng.choice(self.ints)
        return self.rng.choice(FLOATS + ("x", "y"))

    def tensor_cond(self, python_ints: list) -> str:
        r = self.rng.random()
        v, w = self.operand(), self.operand()
        simple = [f"{v} > {w}", f"{v} < {self.rng.choice(CONSTANTS)}", f"{v} >= 0.0",
                  f"n > {self.rng.randint(0, 3)}"]
        if self.rng.random() < 0.15:
            self.used.add("chained comparison")
            lo, hi = sorted(self.rng.sample([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], 2))
            u = self.operand()
            return self.rng.choice([f"{lo} < {v} < {hi}", f"{v} <= {w} < {hi}",
                                    f"{v} == {w} == {u}", f"0 <= n < {self.rng.randint(1, 4)}",
                                    f"{lo} < {v} <= {w} < {hi}"])
        if r < 0.06:
            self.used.add("builtin on tensors")
            return self.rng.choice([f"any([{v} > {w}, n > 1])", f"all([{v} < {w}, {v} > -1.0])",
                                    "bool(n)", f"max({v}, {w}) > 0.5"])
        if r < 0.6:
            return self.rng.choice(simple)
        if r < 0.75:
            return f"{self.rng.choice(simple)} and {self.cond(python_ints)}"
        if r < 0.9:
            return f"{self.rng.choice(simple)} or {self.cond(python_ints)}"
        return f"not {self.rng.choice(simple)}"

    def python_cond(self, python_ints: list) -> str:
        if python_ints and self.rng.random() < 0.8:
            j = self.rng.choice(python_ints)
            return self.rng.choice([f"{j} > 0", f"{j} % 2 == 0", f"{j} == 1", f"not {j} > 1"])
        return self.rng.choice(["True", "False"])

    def cond(self, python_ints: list) -> str:
        if self.rng.random() < 0.3:
            return self.python_cond(python_ints)
        return self.tensor_cond(python_ints)

    # --- statements ------------------------------------------------------------------------
    def s_assign(self, indent, loops, python_ints, depth):
        self.emit(indent, f"{self.rng.choice(FLOATS)} = {self.fexpr()}")

    def s_attribute(self, indent, loops, python_ints, depth):
        self.used.add("attribute assignment")
        op = self.rng.choice(["=", "+=", "-="])
        self.emit(indent, f"k.s {op} {self.fexpr()}")

    def s_mutate(self, indent, loops, python_ints, depth):
        # state that a called function changes (Note [State changed by called functions])
        self.used.add("state changed by a called function")
        call = self.rng.choice(["k.put", "bump", "setl"])
        self.emit(indent, f"{call}({self.fexpr()})")

    def s_augassign(self, indent, loops, python_ints, depth):
        op = self.rng.choice(["+=", "-="])
        self.emit(indent, f"{self.rng.choice(FLOATS)} {op} {self.fexpr()}")

    def s_call(self, indent, loops, python_ints, depth):
        target = self.rng.choice(FLOATS)
        draw = self.rng.random()
        if draw < 0.3:
            self.emit(indent, f"{target} = helper({self.fexpr()}, {self.rng.choice(FLOATS)})")
        elif draw < 0.4:
            self.used.add("function under a functools.wraps decorator")
            self.emit(indent, f"{target} = shelper({self.fexpr()}, {self.rng.choice(FLOATS)})")
        elif draw < 0.6:
            self.used.add("method of a class defined in the function")
            self.emit(indent, f"{target} = k.m({self.fexpr()})")
        else:
            self.emit(indent, f"{target} = h({self.fexpr()})")

    def s_tuplefor(self, indent, loops, python_ints, depth):
        t = self.fresh("t")
        self.emit(indent, f"for {t} in (a, b, x):")
        self.emit(indent + 1, f"c = c + {t} * 0.25")
        self.block(indent + 1, loops + ["tuplefor"], python_ints, depth + 1)

    def s_ifexp(self, indent, loops, python_ints, depth):
        orelse = self.fexpr()
        if self.rng.random() < 0.3:
            self.used.add("nested if-expression")
            orelse = f"({self.fexpr()} if {self.cond(python_ints)} else {self.fexpr()})"
        self.emit(indent, f"{self.rng.choice(FLOATS)} = {self.fexpr()} if "
                          f"{self.cond(python_ints)} else {orelse}")

    def _where(self, loops: list) -> str:
        if any(loop in ("while", "for") for loop in loops):
            return "in a tensor loop"
        return "in a Python loop" if loops else "in a branch or at the top"

    def s_item(self, indent, loops, python_ints, depth):
        self.used.add("list/dict item assignment " + self._where(loops))
        if self.rng.random() < 0.15:
            self.used.add("dict update method")
            key = self.rng.choice(["p", "q"])
            self.emit(indent, f"D.update({key}={self.fexpr()})")
            return
        target = self.rng.choice(["L[0]", "L[1]", "D['p']", "D['q']"])
        op = self.rng.choice(["=", "+=", "-="])
        self.emit(indent, f"{target} {op} {self.fexpr()}")

    def s_moderaise(self, indent, loops, python_ints, depth):
        self.used.add("raise in a Python-decided branch")
        d = self.fresh("d")
        other = "b" if self.mode == "a" else "a"
        first, second = self.rng.sample([self.mode, other], 2)
        self.emit(indent, f"if mode == {first!r}:")
        self.emit(indent + 1, f"{d} = {self.fexpr()}")
        self.emit(indent, f"elif mode == {second!r}:")
        self.emit(indent + 1, f"{d} = {self.fexpr()}")
        self.emit(indent, "else:")
        self.emit(indent + 1, "raise ValueError('unknown mode')")
        self.emit(indent, f"if {self.tensor_cond(python_ints)}:")
        self.emit(indent + 1, f"a = {d} + a")

    def s_tensorraise(self, indent, loops, python_ints, depth):
        self.used.add("raise under a tensor condition (never taken)")
        v = self.rng.choice(("x", "y"))
        self.emit(indent, f"if {v} > 100.0:")
        self.emit(indent + 1, self.rng.choice((f"raise ValueError('{v} is too large')",
                                               f"assert False, '{v} is too large'")))

    def s_elifreturn(self, indent, loops, python_ints, depth):
        self.used.add("return in a later elif")
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.s_assign(indent + 1, loops, python_ints, depth)
        self.emit(indent, f"elif {self.cond(python_ints)}:")
        self.emit(indent + 1, f"return {self.fexpr()}, {self.fexpr()}")
        self.emit(indent, "else:")
        self.s_item(indent + 1, loops, python_ints, depth)

    def s_returncontinue(self, indent, loops, python_ints, depth):
        self.used.add("return and continue mixed")
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.emit(indent + 1, f"return {self.fexpr()}, {self.fexpr()}")
        self.emit(indent, "else:")
        self.emit(indent + 1, f"{self.rng.choice(FLOATS)} = {self.fexpr()}")
        if self.rng.random() < 0.5:
            self.s_item(indent + 1, loops, python_ints, depth)
        self.emit(indent + 1, "continue")

    def s_if(self, indent, loops, python_ints, depth):
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.block(indent + 1, loops, python_ints, depth + 1)
        if self.rng.random() < 0.3:
            self.emit(indent, f"elif {self.cond(python_ints)}:")
            self.block(indent + 1, loops, python_ints, depth + 1)
        if self.rng.random() < 0.5:
            self.emit(indent, "else:")
            self.block(indent + 1, loops, python_ints, depth + 1)

    def s_while(self, indent, loops, python_ints, depth):
        i = self.fresh("i")
        bound = self.rng.choice(["n", "n", "2", "3"])
        self.emit(indent, f"{i} = 0")
        test = f"{i} < {bound}"
        walrus = None
        if self.rng.random() < 0.15:
            self.used.add("walrus in a while test")
            walrus = self.fresh("w")
            test = f"({walrus} := {i} * 2) < {bound} * 2"
        if self.rng.random() < 0.3:
            test = f"{test} and ({self.tensor_cond(python_ints)})"
        self.emit(indent, f"while {test}:")
        self.emit(indent + 1, f"{i} += 1")
        start = len(self.lines)
        self.block(indent + 1, loops + ["while"], python_ints, depth + 1)
        if walrus is not None:  # bound by the last test, also when the loop stops early
            self.emit(indent, f"c = c + float({walrus}) * 0.25")
            # a tensor loop cannot combine `:=` in its test with a `break`/`return` in its
            # body (a documented rejection)
            body = "\n".join(self.lines[start:])
            if "break" in body or "return" in body:
                self.risky = True

    def s_for(self, indent, loops, python_ints, depth):
        j = self.fresh("j")
        self.emit(indent, f"for {j} in range(n):")
        self.block(indent + 1, loops + ["for"], python_ints + [j], depth + 1)
        if self.rng.random() < 0.15:
            self.emit(indent, "else:")
            self.block(indent + 1, loops, python_ints, depth + 1)

    def s_pyfor(self, indent, loops, python_ints, depth):
        j = self.fresh("j")
        self.emit(indent, f"for {j} in range({self.rng.randint(0, 3)}):")
        self.block(indent + 1, loops + ["pyfor"], python_ints + [j], depth + 1)

    def s_pywhile(self, indent, loops, python_ints, depth):
        k = self.fresh("k")
        self.emit(indent, f"{k} = 0")
        self.emit(indent, f"while {k} < {self.rng.randint(1, 3)}:")
        self.emit(indent + 1, f"{k} += 1")
        self.block(indent + 1, loops + ["pywhile"], python_ints + [k], depth + 1)

    def s_break(self, indent, loops, python_ints, depth):
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.emit(indent + 1, "break")

    def s_continue(self, indent, loops, python_ints, depth):
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.emit(indent + 1, "continue")

    def s_return(self, indent, loops, python_ints, depth):
        self.emit(indent, f"if {self.cond(python_ints)}:")
        if self.rng.random() < 0.25:
            self.used.add("Python number returned")
            first = self.rng.choice(["0", "1", "m", "-2"])
            self.emit(indent + 1, f"return {first}, {self.rng.choice([self.fexpr(), '3'])}")
        else:
            self.emit(indent + 1, f"return {self.fexpr()}, {self.fexpr()}")

    def s_count(self, indent, loops, python_ints, depth):
        self.used.add("Python int counter " + self._where(loops))
        self.emit(indent, self.rng.choice(["m += 1", "m = m + 2", "m -= 1"]))

    def s_risky_branch(self, indent, loops, python_ints, depth):
        self.risky = True
        d = self.fresh("d")
        self.emit(indent, f"if {self.cond(python_ints)}:")
        self.emit(indent + 1, f"{d} = {self.fexpr()}")
        self.emit(indent, f"a = {d} + a")

    def s_risky_loop(self, indent, loops, python_ints, depth):
        self.risky = True
        d, i = self.fresh("d"), self.fresh("i")
        self.emit(indent, f"{i} = 0")
        self.emit(indent, f"while {i} < n:")
        self.emit(indent + 1, f"{i} += 1")
        self.emit(indent + 1, f"{d} = {self.fexpr()}")
        self.emit(indent, f"b = {d}")

    # --- loops over sequences, and lists appended in loops ----------------------------------
    def loop_header(self, indent: int) -> tuple:
        """A loop over ``v``, a range, or ``enumerate``/``zip``/``reversed`` of them: (header
        line, "for" (a tensor loop) or "pyfor", int targets, float targets)."""
        k, j, t, u = self.fresh("k"), self.fresh("j"), self.fresh("t"), self.fresh("u")
        forms = [  # (iterable, targets, int targets, float targets, tensor loop, construct)
            ("v", t, [], [t], True, "for over a tensor"),
            ("enumerate(v)", f"{k}, {t}", [k], [t], True, "enumerate over a tensor"),
            ("enumerate(v, 1)", f"{k}, {t}", [k], [t], True, "enumerate over a tensor"),
            ("enumerate(range(n))", f"{k}, {j}", [k, j], [], True,
             "enumerate over a tensor range"),
            ("reversed(range(n))", j, [j], [], True, "reversed over a tensor range"),
            ("reversed(range(1, n))", j, [j], [], True, "reversed over a tensor range"),
            ("reversed(v)", t, [], [t], True, "reversed over a tensor"),
            ("zip(range(n), v)", f"{j}, {t}", [j], [t], True,
             "zip over a tensor range and a tensor"),
            ("zip(v, reversed(v))", f"{t}, {u}", [], [t, u], True, "zip over tensors"),
            ("enumerate(zip(range(n), v))", f"{k}, ({j}, {t})", [k, j], [t], True,
             "enumerate over a zip"),
            ("enumerate(reversed(range(n)))", f"{k}, {j}", [k, j], [], True,
             "enumerate over a reversed tensor range"),
            ("enumerate(range(3))", f"{k}, {j}", [k, j], [], False,
             "enumerate/zip/reversed over a Python range"),
            ("reversed(range(3))", j, [j], [], False, "enumerate/zip/reversed over a Python range"),
            ("zip(range(3), range(1, 3))", f"{j}, {k}", [j, k], [], False,
             "enumerate/zip/reversed over a Python range"),
        ]
        iterable, targets, ints, floats, tensor, construct = self.rng.choice(forms)
        self.used.add(construct)
        return f"for {targets} in {iterable}:", "for" if tensor else "pyfor", ints, floats

    def loop_body(self, indent, header, kind, ints, floats, loops, python_ints, depth,
                  first: tuple = ()) -> None:
        self.emit(indent, header)
        for extra, line in first:  # (indent within the body, text)
            self.emit(indent + 1 + extra, line)
        self.items += floats
        self.block(indent + 1, loops + [kind], python_ints + ints, depth + 1)
        del self.items[len(self.items) - len(floats):]

    def s_seqfor(self, indent, loops, python_ints, depth):
        header, kind, ints, floats = self.loop_header(indent)
        self.loop_body(indent, header, kind, ints, floats, loops, python_ints, depth)

    def s_append(self, indent, loops, python_ints, depth):
        out = self.fresh("o")
        self.emit(indent, f"{out} = []")
        r = self.rng.random()
        if r < 0.4:
            header, kind, ints, floats = self.loop_header(indent)
        elif r < 0.7:
            j = self.fresh("j")
            header, kind, ints, floats = f"for {j} in range(n):", "for", [j], []
        elif r < 0.85:
            i = self.fresh("i")
            self.emit(indent, f"{i} = 0")
            header, kind, ints, floats = f"while {i} < n:", "while", [], []
            self.emit(indent, header)
            self.emit(indent + 1, f"{i} += 1")
            header = None
        else:
            j = self.fresh("j")
            header, kind, ints, floats = (f"for {j} in range({self.rng.randint(0, 3)}):",
                                          "pyfor", [j], [])
        tensor = kind != "pyfor" or any(loop in ("while", "for") for loop in loops)
        self.used.add("list append in a tensor loop" if tensor else "list append in a Python loop")
        self.items += floats
        grow = self.rng.random()
        if grow < 0.7:
            first = [(0, f"{out}.append({self.fexpr()})")]
        elif grow < 0.85:
            self.used.add("list extend")
            first = [(0, f"{out}.extend([{self.fexpr()}, {self.fexpr()}])")]
        else:
            self.used.add("list +=")
            first = [(0, f"{out} += [{self.fexpr()}]")]
        if self.rng.random() < 0.25:  # the list grows in one branch only
            self.used.add("list append under a tensor if in a loop")
            first = [(0, f"if {self.tensor_cond(python_ints + ints)}:"), (1, first[0][1])]
        if self.rng.random() < 0.3:  # a called function changes state before the list grows
            self.used.add("state changed before a list grows")
            first = [(0, f"{self.rng.choice(['k.put', 'bump', 'setl'])}({self.fexpr()})")] + first
        self.items = self.items[:len(self.items) - len(floats)]
        if header is None:
            for extra, line in first:
                self.emit(indent + 1 + extra, line)
            self.block(indent + 1, loops + [kind], python_ints + ints, depth + 1)
        else:
            self.loop_body(indent, header, kind, ints, floats, loops, python_ints, depth,
                           first=tuple(first))
        use = self.rng.random()
        if use < 0.35:
            e = self.fresh("e")
            self.emit(indent, f"for {e} in {out}:")
            target, k = self.rng.choice(FLOATS), self.rng.choice(CONSTANTS)
            self.emit(indent + 1, f"{target} += {e} * {k}")
        elif use < 0.6:
            last = self.rng.choice(["0", "-1"])
            self.emit(indent, f"if len({out}) > {self.rng.randint(0, 2)}:")
            self.emit(indent + 1, f"{self.rng.choice(FLOATS)} -= {out}[{last}]")
        elif use < 0.8:
            self.emit(indent, f"{self.rng.choice(FLOATS)} = {out}[-1] if len({out}) > 0 else "
                              f"{self.fexpr()}")
        else:
            self.emit(indent, f"if len({out}) >= {self.rng.randint(1, 3)}:")
            self.emit(indent + 1, f"{self.rng.choice(FLOATS)} = {self.fexpr()}")
