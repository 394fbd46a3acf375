"""Calling an ``@aj.function`` binds arguments as calling the Python function does: an
unexpected keyword or a missing argument is a ``TypeError`` naming it, on the first call and
on cached calls alike (with and without ``input_signature``)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj

SCALAR = aj.TensorSpec([], aj.float32)


def _scale(x, y=2.0):
    return x * y


@pytest.mark.parametrize("signature", [None, [SCALAR]])
def test_unexpected_keyword_is_a_type_error_even_after_tracing(signature):
    f = aj.function(_scale, input_signature=signature)
    for x in (1.5, -2.0):  # one function object, traced once
        assert float(f(aj.constant(x))) == pytest.approx(_scale(x))
    with pytest.raises(TypeError, match="_scale.*unexpected keyword argument 'z'"):
        f(aj.constant(1.0), z=3)
    assert f.tracing_count == 1


@pytest.mark.parametrize("signature", [None, [SCALAR]])
def test_missing_argument_is_a_type_error_naming_it(signature):
    f = aj.function(_scale, input_signature=signature)
    with pytest.raises(TypeError, match="_scale.*missing .*argument.*'x'"):
        f()
    with pytest.raises(TypeError, match="_scale.*missing .*argument.*'x'"):
        f(y=aj.constant(1.0))


def test_keywords_the_function_takes_still_work():
    f = aj.function(_scale)
    assert float(f(aj.constant(3.0), y=aj.constant(0.5))) == 1.5
    assert float(f(x=aj.constant(3.0))) == 6.0
    np.testing.assert_allclose(f(aj.constant([1.0, 2.0]), 3.0).numpy(), [3.0, 6.0])


def test_functions_taking_kwargs_accept_any_keyword():
    f = aj.function(lambda x, **extra: x * len(extra))
    assert float(f(aj.constant(2.0), a=1, b=2)) == 4.0


# A concrete function's graph holds the Python values (and Variables) it was traced with:
# calling it with others is a TypeError naming the argument, as in TF.


def test_a_concrete_function_refuses_other_python_values():
    f = aj.function(_scale)
    cf = f.get_concrete_function(aj.constant(1.0), 3.0)
    assert float(cf(aj.constant(2.0), 3.0)) == 6.0
    assert float(cf(aj.constant(2.0), y=3.0)) == 6.0  # by keyword, the same value
    for other in (4.0, 3, True, None):
        with pytest.raises(TypeError, match=r"_scale: this concrete function was traced with "
                                            r"`y` = 3\.0.*got " + repr(other)):
            cf(aj.constant(2.0), other)
    default = f.get_concrete_function(aj.constant(1.0))  # y from its default
    assert float(default(aj.constant(2.0))) == 4.0
    with pytest.raises(TypeError, match="`y` = 2.0"):
        default(aj.constant(2.0), -0.0)


def test_a_concrete_function_refuses_another_variable():
    v, w = aj.Variable(2.0), aj.Variable(5.0)
    cf = aj.function(_scale).get_concrete_function(aj.constant(1.0), v)
    assert float(cf(aj.constant(3.0), v)) == 6.0
    with pytest.raises(TypeError, match="traced with `y` = <aj.Variable"):
        cf(aj.constant(3.0), w)


def test_a_concrete_function_refuses_another_structure():
    f = aj.function(lambda xs, scale: aj.add_n(xs) * scale)
    cf = f.get_concrete_function([aj.constant(1.0), aj.constant(2.0)], 1.0)
    assert float(cf([aj.constant(1.0), aj.constant(5.0)], 1.0)) == 6.0
    with pytest.raises(TypeError, match="`xs` of another structure"):
        cf([aj.constant(1.0), aj.constant(5.0), aj.constant(1.0)], 1.0)
