"""``return`` inside control flow: ``do_return``/``retval_``, tensor ifs and loops."""

from autojit import autograph

from ..helpers import check


def early(x):
    if x > 0:
        return x * 2.0
    y = x - 1.0
    return y


def both_branches(x):
    if x > 1.0:
        return x
    else:
        return -x


def in_loop(x, n):
    s = 0.0
    for i in range(n):
        s += x
        if s > 5.0:
            return s
    return -s


def in_while(x):
    i = 0
    s = 0.0
    while i < 10:
        i += 1
        s += x
        if s > 4.0:
            return i
    return 0


def nested(x, y):
    if x > 0:
        if y > 0:
            return x + y
        return x - y
    return y


def test_early_return():
    check(early, [(3.0,), (-3.0,), (0.0,)], ops={"cond"})


def test_return_in_both_branches():
    check(both_branches, [(3.0,), (-3.0,)], ops={"cond"})


def test_return_from_a_tensor_for_loop():
    check(in_loop, [(1.0, 0), (1.0, 3), (2.0, 10)], ops={"while_loop"})


def test_return_from_a_tensor_while_loop():
    check(in_while, [(1.0,), (0.1,), (5.0,)], ops={"while_loop"})


def test_nested_returns():
    check(nested, [(1.0, 1.0), (1.0, -1.0), (-1.0, 2.0)], ops={"cond"})


def test_top_level_returns_are_left_alone():
    def plain(x):
        y = x + 1
        return y

    assert "do_return" not in autograph.to_code(plain)


def test_code_shape():
    code = autograph.to_code(early)
    assert "do_return = False" in code and "retval_ = ag__.UndefinedReturnValue()" in code
    assert code.rstrip().endswith("return retval_")
