"""Which names are live after each statement."""

import gast

from autojit.autograph.analysis import liveness


def function(source):
    fn = gast.parse(source).body[0]
    liveness.annotate(fn)
    return fn


def test_if_outputs_are_the_names_read_later():
    fn = function("def f(x):\n"
                  "    if x:\n        y = 1\n        t = 2\n    else:\n        y = 2\n"
                  "    return y")
    assert fn.body[0].ag_live_out == {"y"}


def test_loops_carry_names_read_in_the_next_iteration():
    fn = function("def f(n):\n"
                  "    i = 0\n    s = 0\n"
                  "    while i < n:\n        t = s * 2\n        s = t + i\n        i += 1\n"
                  "    return s")
    loop = fn.body[2]
    assert loop.ag_live_head == {"i", "n", "s"}
    assert loop.ag_live_out == {"s"}


def test_for_targets_are_not_carried():
    fn = function("def f(n):\n    for i in range(n):\n        y = i\n    return 0")
    assert fn.body[0].ag_live_head == set()


def test_closure_reads_and_globals_are_always_live():
    fn = function("def f(x):\n    global g\n    if x:\n        g = 1\n        y = 2\n"
                  "    h = lambda: y\n    return 0")
    assert fn.body[1].ag_live_out >= {"g", "y"}


def test_match_captures_are_bound_before_the_case_body():
    # `k` is bound by the pattern; with `case _:` nothing falls through the match
    fn = function("def f(xs, cfg):\n    s = 0\n    for x in xs:\n"
                  "        match cfg:\n            case {'k': k}:\n                t = x * k\n"
                  "            case _:\n                t = x\n        s = s + t\n"
                  "    return s")
    assert fn.body[1].ag_live_head == {"cfg", "s"}


def test_match_without_a_catch_all_may_fall_through():
    fn = function("def f(m):\n    t = 0\n    match m:\n        case 1:\n            t = 2\n"
                  "    return t")
    assert fn.body[0].ag_live_out >= {"t"}


def test_try_temporaries_assigned_in_body_and_handler_are_not_live_before():
    fn = function("def f(xs):\n    s = 0\n    for v in xs:\n        try:\n"
                  "            w = v * 2\n        except ZeroDivisionError:\n            w = 0\n"
                  "        s = s + w\n    return s")
    assert fn.body[1].ag_live_head == {"ZeroDivisionError", "s"}  # no `w`


def test_what_finally_reads_is_live_throughout_the_try():
    fn = function("def f(x):\n    w = 1\n    try:\n        w = x\n        y = 1 / x\n"
                  "    finally:\n        print(w)\n    return y")
    assert {"w", "x"} <= fn.body[0].ag_live_out
