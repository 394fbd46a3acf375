"""``break``: flags, guarded statements, loop tests, ``else`` blocks."""

from autojit import autograph

from ..helpers import check, check_python


def while_break(x, n):
    s = 0.0
    i = 0
    while i < n:
        i += 1
        if s > 6.0:
            break
        s += x
    return s, i


def for_break(x, n):
    s = 0.0
    for i in range(n):
        if s + x > 7.0:
            break
        s += x
    return s


def for_else(x, n):
    s = 0.0
    for i in range(n):
        if s * x > 3.0:
            break
        s += x
    else:
        s = -1.0
    return s


def nested_break(x, n):
    s = 0.0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            s += x
    return s


def test_python_inputs():
    for fn in (while_break, for_break, for_else, nested_break):
        check_python(fn, [(1.0, 0), (2.0, 3), (1.5, 10), (-1.0, 5)])


def test_tensor_while():
    check(while_break, [(1.0, 0), (2.0, 3), (1.5, 10), (-1.0, 5)], ops={"while_loop", "cond"})


def test_tensor_for_range():
    check(for_break, [(1.0, 0), (2.0, 3), (1.5, 10), (-1.0, 5)], ops={"while_loop", "cond"})


def test_tensor_for_else():
    check(for_else, [(1.0, 0), (0.5, 3), (2.0, 10)], ops={"while_loop"})


def test_tensor_nested_loops():
    check(nested_break, [(1.0, 0), (2.0, 3), (0.5, 5)], ops={"while_loop"})


def test_break_in_a_python_loop_on_a_tensor_condition():
    def fn(x):
        s = x
        for _ in range(5):  # a Python loop: unrolled, each later step under a graph cond
            if s > 10.0:
                break
            s = s * 2.0
        return s

    check(fn, [(1.0,), (3.0,), (20.0,)], ops={"cond"}, absent={"while_loop"})


def test_code_shape():
    code = autograph.to_code(while_break)
    assert "break_ = False" in code
    assert "break_ = True" in code
    assert "ag__.and_(ag__.not_(break_), lambda: i < n" in code
