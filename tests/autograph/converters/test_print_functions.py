"""``print``: ``aj.print`` for tensors (every call), Python's print otherwise (tracing)."""

import autojit as aj
from autojit import autograph


def shout(x):
    print("x =", x)
    print("traced")
    return x


def test_print_of_tensors_runs_at_every_call(capfd):
    traced = aj.function(shout)
    traced(aj.constant(1.0))
    traced(aj.constant(2.0))
    out = capfd.readouterr().out
    assert out.count("traced") == 1
    assert "x = 1.0" in out and "x = 2.0" in out


def test_print_of_python_values(capsys):
    autograph.convert(shout)(3)
    assert capsys.readouterr().out == "x = 3\ntraced\n"
    assert "ag__.print_('x =', x)" in autograph.to_code(shout)


def structures(x):
    print("v:", [x, x * 2.0], {"a": (x,)}, ("s", 1), "end")
    return x


def test_print_of_lists_tuples_and_dicts_of_tensors_shows_their_values(capfd):
    traced = aj.function(structures)
    for value in (3.0, -1.5):
        traced(aj.constant(value))
        out = capfd.readouterr().out
        assert out == (f"v: [{value}, {value * 2.0}] {{'a': ({value},)}} ('s', 1) end\n")
    # eagerly, aj.print formats them the same way Python would print the values
    aj.print("e", [aj.constant([1, 2]), "s"], (aj.constant(2),))
    assert capfd.readouterr().out == "e [[1 2], 's'] (2,)\n"
