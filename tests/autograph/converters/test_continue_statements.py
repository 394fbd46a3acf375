"""``continue``: a flag reset each iteration, the rest of the body guarded."""

from autojit import autograph

from ..helpers import check


def odd_sum(n):
    s = 0
    for i in range(n):
        if i % 2 == 0:
            continue
        s += i
    return s


def while_continue(x, n):
    s = 0.0
    i = 0
    while i < n:
        i += 1
        if s > 3.0:
            continue
        s += x
    return s


def test_for_continue():
    check(odd_sum, [(0,), (1,), (6,), (9,)], ops={"while_loop", "cond"})


def test_while_continue():
    check(while_continue, [(1.0, 0), (1.0, 2), (2.5, 8)], ops={"while_loop", "cond"})


def test_code_shape():
    code = autograph.to_code(odd_sum)
    assert "continue_ = False" in code and "continue_ = True" in code
    assert "ag__.not_(continue_)" in code
