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
