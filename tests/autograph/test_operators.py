"""The runtime operators on Python values (their tensor paths are tested through the
converters and ``@aj.function``)."""

import functools

import numpy as np
import pytest

import autojit as aj
from autojit import autograph
from autojit.autograph import operators as ag


class State:
    """get_state/set_state over a dict, as converted code does over locals."""

    def __init__(self, **values):
        self.values = values
        self.names = tuple(values)

    def get(self):
        return tuple(self.values[n] for n in self.names)

    def set(self, values):
        self.values.update(zip(self.names, values))


def test_if_stmt_runs_one_branch():
    s = State(y=0)
    ag.if_stmt(True, lambda: s.values.update(y=1), lambda: s.values.update(y=2), s.get, s.set,
               s.names, 1)
    assert s.values["y"] == 1
    ag.if_stmt(np.float32(0.0), lambda: s.values.update(y=1), ag.no_op, s.get, s.set,
               s.names, 1)
    assert s.values["y"] == 1
    ag.if_stmt(aj.constant(-1.0) > 0, ag.no_op, lambda: s.values.update(y=3), None, None, (), 0)
    assert s.values["y"] == 3  # a concrete tensor condition is plain Python


def test_while_stmt_tests_once_per_iteration():
    s = State(i=0)
    tests = []

    def test():
        tests.append(s.values["i"])
        return s.values["i"] < 3

    ag.while_stmt(test, lambda: s.values.update(i=s.values["i"] + 1), s.get, s.set, s.names, 1)
    assert tests == [0, 1, 2, 3]


def test_for_stmt_with_an_extra_test():
    s = State(total=0, stop=False)

    def body(item):
        s.values["total"] += item
        s.values["stop"] = item >= 2

    ag.for_stmt(range(10), lambda: not s.values["stop"], body, s.get, s.set, s.names, 2)
    assert s.values["total"] == 3
    seen = []
    ag.for_stmt(aj.constant([1.0, 2.0]), None, lambda row: seen.append(float(row)), None, None,
                (), 0)
    assert seen == [1.0, 2.0]


def test_logical_operators_keep_python_semantics():
    assert ag.and_(0, lambda: 1 / 0) == 0
    assert ag.and_(2, lambda: "b") == "b"
    assert ag.or_("a", lambda: 1 / 0) == "a"
    assert ag.or_([], lambda: 5) == 5
    assert ag.not_(0) is True and ag.not_([1]) is False
    assert ag.if_exp(1, lambda: "t", lambda: 1 / 0) == "t"


def test_undefined_reads_raise_unbound_local_error():
    value = ag.Undefined("z")
    assert ag.ld(3) == 3
    with pytest.raises(UnboundLocalError, match="cannot access local variable 'z'"):
        ag.ld(value)


def test_retval():
    assert ag.retval(True, 5) == 5
    assert ag.retval(False, ag.UndefinedReturnValue()) is None


def test_assert_and_python_cond():
    ag.assert_stmt(True)
    with pytest.raises(AssertionError, match="^msg$"):
        ag.assert_stmt(0, lambda: "msg")
    assert ag.python_cond(3, "x") == 3 and ag.python_iter([1], "x") == [1]


def test_converted_call_converts_user_code_only():
    def user(x):
        return x if x > 0 else -x

    assert ag.converted_call(user, (-2,)) == 2
    assert ag.converted_call(np.abs, (-2,)) == 2
    assert ag.converted_call(functools.partial(user, -3), ()) == 3
    assert ag.converted_call(range, (3,)) == range(3)
    assert ag.converted_call(len, ([1, 2],)) == 2
    assert ag.converted_call(sorted, ([2, 1],), {"reverse": True}) == [2, 1]


def test_range_of_a_tensor_outside_graphs_is_eager():
    assert [int(i) for i in ag.converted_call(aj.range, (aj.constant(3),))] == [0, 1, 2]
    assert autograph.convert(lambda n: [i for i in range(n)])(aj.constant(2)) == [0, 1]
