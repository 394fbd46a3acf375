"""Calls go through ``converted_call``: user functions are converted recursively, library
functions are not."""

import numpy as np

import autojit as aj
from autojit import autograph

from ..helpers import check


def helper(v):
    if v > 0:
        return v * 2.0
    return -v


def caller(x):
    return helper(x) + helper(-x)


class Scaler:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        if x > 0:
            return x * self.k
        return x

    def twice(self, x):
        return self(x) + self(x)


def uses_object(x):
    return Scaler(3.0).twice(x)


def uses_libraries(x):
    return aj.abs(x) + float(np.float32(1.0))


def test_user_functions_are_converted_recursively():
    check(caller, [(2.0,), (-2.0,)], ops={"cond"})


def test_methods_and_callable_objects():
    check(uses_object, [(2.0,), (-2.0,)], ops={"cond"})


def test_library_calls_run_as_they_are():
    check(uses_libraries, [(2.0,), (-2.0,)])
    code = autograph.to_code(uses_libraries)
    assert "ag__.converted_call(aj.abs, (x,))" in code


def test_frame_builtins_and_ag_calls_are_left_alone():
    def frames(x):
        names = locals()
        return names["x"]

    assert autograph.convert(frames)(1) == 1
    assert "converted_call(locals" not in autograph.to_code(frames)


def test_zero_argument_super():
    class Base:
        def f(self, x):
            return x + 1

    class Derived(Base):
        def f(self, x):
            if x > 0:
                return super().f(x) * 2
            return 0

    assert autograph.convert(Derived().f)(3) == 8
    assert "super(__class__, self)" in autograph.to_code(Derived.f)
