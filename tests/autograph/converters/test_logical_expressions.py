"""``and``/``or``/``not``: short circuits kept; tensors become ``logical_*`` or ``cond``."""

import numpy as np

import autojit as aj
from autojit import autograph

from ..helpers import check, check_python, op_names


def both(x, y):
    if x > 0 and y > 0:
        return 1.0
    return 0.0


def either(x, y):
    if x > 0 or not y > 0:
        return 1.0
    return 0.0


def guarded_index(v, i):
    # `v[i]` must not run when `i` is out of range: the right operand stays lazy.
    return i < 3 and v[i] > 0


def values(a, b):
    return a and b, a or b, not a


def test_and_or_not_on_tensors():
    cases = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
    check(both, cases, ops={"cond", "logical_and"})
    check(either, cases, ops={"cond", "logical_or", "logical_not"})


def test_python_semantics_are_kept():
    check_python(values, [(0, 5), (3, 5), (3, 0), ("", "x")])
    calls = []

    def right():
        calls.append(1)
        return True

    def fn(a):
        return a and right()

    autograph.convert(fn)(False)
    assert calls == []


def test_lazy_right_operand_with_a_tensor_left():
    traced = aj.function(lambda v, i: guarded_index(v, i))
    v = aj.constant(np.array([1.0, -1.0, 2.0], np.float32))
    assert [bool(traced(v, aj.constant(i))) for i in (0, 1, 2, 5)] == [True, False, True, False]
    assert traced.tracing_count == 1
    assert "cond" in op_names(traced.get_concrete_function(v, aj.constant(0)).graph)


def test_code_shape():
    code = autograph.to_code(both)
    assert "ag__.and_(x > 0, lambda: y > 0, True)" in code
    assert "ag__.not_(y > 0)" in autograph.to_code(either)
