"""Converting functions: caching, rebuilding closures/defaults/methods, line numbers,
``to_code``, ``do_not_convert`` and ``autograph=False``."""

import textwrap
import warnings

import numpy as np
import pytest

import autojit as aj
from autojit import autograph
from autojit.errors import AutographError

from .helpers import op_names


def absolute(x):
    if x > 0:
        return x
    return -x


def test_conversions_are_cached_by_code_object():
    first, second = autograph.convert(absolute), autograph.convert(absolute)
    assert first is not second and first.__code__ is second.__code__
    assert autograph.is_converted(first) and not autograph.is_converted(absolute)
    assert autograph.convert(first) is first


def test_closures_of_one_code_share_the_conversion():
    def make(k):
        def fn(x):
            return x + k if x > 0 else x - k
        return fn

    one, two = autograph.convert(make(1)), autograph.convert(make(10))
    assert one.__code__ is two.__code__
    assert (one(1), two(1), one(-1)) == (2, 11, -2)


def test_converted_code_reports_the_users_file_and_lines():
    converted = autograph.convert(absolute)
    assert converted.__code__.co_filename == __file__
    assert converted.__code__.co_firstlineno == absolute.__code__.co_firstlineno
    assert converted.__code__.co_name == "absolute"


def test_methods_are_converted_and_bound_again():
    class Counter:
        def __init__(self):
            self.n = 0

        def step(self, x):
            if x > 0:
                self.n += 1
            return self.n

    counter = Counter()
    step = autograph.convert(counter.step)
    assert step.__self__ is counter and autograph.is_converted(step)
    assert (step(1), step(-1), step(2)) == (1, 1, 2)


class Shift:
    def apply(self, v):
        return v + 1.0


def test_methods_of_a_class_defined_in_a_converted_function_are_converted():
    # The class body's code is nested in the converted function's code, but converters
    # leave class bodies alone: its methods must be converted when called, not taken for
    # converted code (they raised "bool() of a symbolic tensor" before).
    @aj.function
    def f(v):
        class Twice(Shift):
            def apply(self, v):
                if aj.reduce_sum(v) > 0:
                    return super().apply(v) * 2.0
                return v

            def repeat(self, v, n):
                s = v
                for _ in aj.range(n):
                    s = s + self.apply(v)
                return s

        return Twice().repeat(v, 3)

    for values in ([1.0, -2.0, 3.0], [-1.0, -2.0, 0.5]):
        v = aj.constant(values)
        assert np.allclose(f(v).numpy(), f.python_function(v).numpy())
    assert f.tracing_count == 1

def test_recursion():
    def fact(n):
        if n <= 1:
            return 1
        return n * fact(n - 1)

    assert autograph.convert(fact)(5) == 120


def test_to_code_of_functions_methods_and_aj_functions():
    text = autograph.to_code(absolute)
    assert text.startswith("def absolute(x):")
    assert autograph.to_code(aj.function(absolute)) == text
    with pytest.raises(AutographError, match="expected a Python function"):
        autograph.to_code(len)


def test_do_not_convert():
    @autograph.do_not_convert
    def helper(x):
        return x > 0

    def fn(x):
        return helper(x)

    assert autograph.convert(helper) is helper
    assert aj.function(fn)(aj.constant(1.0)).numpy()


def test_autograph_false_traces_python_as_is():
    def fn(x, flag):
        if flag:
            return x * 2.0
        return x

    plain = aj.function(fn, autograph=False)
    assert plain(aj.constant(2.0), True).numpy() == 4.0
    assert "cond" not in op_names(plain.get_concrete_function(aj.constant(2.0), True).graph)


def test_functions_without_source_run_unconverted_with_a_warning():
    namespace = {}
    exec(textwrap.dedent("""
        def made(x):
            return x + 1
    """), namespace)  # noqa: S102
    with pytest.warns(autograph.AutographWarning, match="could not convert `made`"):
        assert autograph.convert(namespace["made"]) is namespace["made"]


def test_the_operator_name_is_reserved():
    def fn(ag__):
        return ag__

    with pytest.raises(AutographError, match="uses the name `ag__`"):
        autograph.convert(fn)


def test_conversion_failures_inside_calls_fall_back_with_a_warning():
    namespace = {}
    exec("def made(x):\n    return x * 2\n", namespace)  # noqa: S102

    def fn(x):
        return made(x)

    made = namespace["made"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert autograph.convert(fn)(2) == 4  # exec'd code without source: just called
