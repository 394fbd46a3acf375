"""Which names surely have a value at each statement."""

import gast

from autojit.autograph.analysis import definitions


def function(source):
    fn = gast.parse(source).body[0]
    definitions.annotate(fn)
    return fn


def loads(fn, name):
    found = [n for n in gast.walk(fn) if isinstance(n, gast.Name) and n.id == name
             and isinstance(n.ctx, gast.Load)]
    return sorted(found, key=lambda n: n.lineno)


def test_both_branches_define():
    fn = function("def f(x):\n    if x:\n        y = 1\n    else:\n        y = 2\n    return y")
    assert fn.body[1].ag_defined_in == {"x", "y"}
    assert not getattr(loads(fn, "y")[0], "ag_maybe_undefined", False)


def test_one_branch_or_a_loop_may_leave_a_name_unbound():
    fn = function("def f(x):\n    if x:\n        y = 1\n    while x:\n        z = 1\n"
                  "    return y + z")
    assert fn.body[1].ag_defined_in == {"x"}
    assert all(n.ag_maybe_undefined for n in loads(fn, "y") + loads(fn, "z"))


def test_for_targets_are_defined_in_the_body():
    fn = function("def f(xs):\n    for x in xs:\n        print(x)\n    return x")
    body_read, after = loads(fn, "x")
    assert not getattr(body_read, "ag_maybe_undefined", False)
    assert after.ag_maybe_undefined
