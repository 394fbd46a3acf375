"""``del`` in converted code (ControlFlowConverter.visit_Delete): a local deleted inside a
tensor loop or branch is no error, reading it after ``del`` is Python's UnboundLocalError
eagerly and traced, and ``del`` of items and attributes stays as it is."""

from __future__ import annotations

import pytest

import autojit as aj

from .helpers import check


def temporary_in_a_loop(n, x):
    s = x * 0.0
    for i in aj.range(n):
        tmp = x * 2.0 + aj.cast(i, aj.float32)
        s += tmp
        del tmp
    return s


def temporary_in_a_branch(x):
    y = x
    if x > 0:
        t = x * 3.0
        y = y + t
        del t
    else:
        y = y - 1.0
    return y


def items_and_names(x, n):
    d = {"a": x, "b": x * 2.0}
    del d["a"]
    w = x
    for i in aj.range(n):
        w = w + d["b"]
    z = w
    del w
    return z + float(len(d))


@pytest.mark.parametrize("fn, cases", [
    (temporary_in_a_loop, [(0, 1.0), (3, 1.5), (5, -2.0)]),
    (temporary_in_a_branch, [(2.0,), (-3.0,)]),
    (items_and_names, [(1.0, 0), (0.5, 3)]),
])
def test_del_in_tensor_blocks_runs_as_python(fn, cases):
    check(fn, cases)


def read_after_del(x):
    y = x + 1.0
    del y
    return y  # noqa: F821  (read after del, as the test means)


def test_reading_a_deleted_name_is_an_unbound_local_error_traced_too():
    for fn in (read_after_del, aj.function(read_after_del)):
        with pytest.raises(UnboundLocalError, match="'y'"):
            fn(aj.constant(1.0))
