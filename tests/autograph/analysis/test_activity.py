"""Reads and writes of a block, with Python's scope rules."""

import gast

from autojit.autograph.analysis import activity


def first(source):
    return gast.parse(source).body[0]


def test_reads_and_writes():
    info = activity.activity(first("if a > b:\n    c = d\n    e += 1\n    f.g = h\n    i[j] = k"))
    assert info.modified == {"c", "e"}
    assert info.read == {"a", "b", "d", "e", "f", "h", "i", "j", "k"}


def test_nested_scopes_only_read_their_free_names():
    info = activity.activity(first(
        "if x:\n"
        "    g = lambda p: p + q\n"
        "    def h(r):\n        s = r + t\n        return s\n"
        "    u = [v + w for v in z]"))
    assert info.modified == {"g", "h", "u"}
    assert info.read == {"x", "q", "t", "w", "z"}


def test_walrus_imports_and_declarations():
    info = activity.activity(first("if (n := f()):\n    import numpy as np\n"
                                   "    from os import path"))
    assert info.maybe == {"n"} and info.modified == {"np", "path"}
    fn = first("def f():\n    global a\n    nonlocal b\n    def g():\n        nonlocal c")
    assert activity.declarations(fn) == {"global": {"a"}, "nonlocal": {"b"}}


def test_closure_reads():
    fn = first("def f(x):\n    y = 1\n    g = lambda: y\n    return g")
    assert activity.closure_reads(fn) == {"y"}


def test_a_lambda_run_during_a_known_call_is_not_a_closure_but_one_kept_is():
    fn = first("def f(x, p):\n    y = 1\n    z = aj.cond(p, lambda: y, lambda: x)\n"
               "    keep = []\n    keep.append(lambda: z)\n    m = map(lambda v: v * x, [1])\n"
               "    return sorted([x], key=lambda v: p)")
    assert activity.closure_reads(fn) == {"z", "x"}
