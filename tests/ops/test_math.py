"""Facts of ``ops/math.py`` the op table does not pin: rounding halves to even, NaN and
infinity tests on the special values, integer rounding, gradients of the piecewise-constant
ops, the trigonometric ops' TF names, and their errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError


def test_round_takes_halves_to_even():
    x = aj.constant([0.5, 1.5, 2.5, -0.5, -1.5])
    np.testing.assert_array_equal(aj.round(x).numpy(), [0.0, 2.0, 2.0, -0.0, -2.0])
    assert np.signbit(aj.round(x).numpy()[3])  # -0.5 rounds to -0.0, as np.round and TF
    assert aj.math.round is aj.round


def test_round_gives_integers_back_unchanged():
    for dtype in (aj.int32, aj.int64):
        x = aj.constant([-3, 0, 7], dtype)
        out = aj.round(x)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.numpy(), [-3, 0, 7])


def test_floor_and_ceil():
    x = aj.constant([-1.5, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(aj.floor(x).numpy(), [-2.0, -1.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(aj.math.ceil(x).numpy(), [-1.0, -0.0, 0.0, 1.0, 2.0])


def test_nan_and_infinity_tests():
    x = aj.constant([math.nan, math.inf, -math.inf, 1.0])
    for fn, expected in [(aj.math.is_nan, [True, False, False, False]),
                         (aj.math.is_inf, [False, True, True, False]),
                         (aj.math.is_finite, [False, False, False, True])]:
        out = fn(x)
        assert out.dtype == aj.bool
        np.testing.assert_array_equal(out.numpy(), expected)


def test_rounding_has_zero_gradients_and_the_tests_none():
    x = aj.constant([0.3, 1.7, -2.2])
    with aj.GradientTape(persistent=True) as tape:
        tape.watch(x)
        rounded = aj.floor(x) + aj.math.ceil(x) + aj.round(x)
        flags = aj.math.is_nan(x)
    np.testing.assert_array_equal(tape.gradient(rounded, x).numpy(), [0.0, 0.0, 0.0])
    assert tape.gradient(flags, x) is None


def test_trigonometric_values_and_top_level_names():
    x = np.array([-0.75, 0.0, 0.5])
    t = aj.constant(x)
    for fn, ref in [(aj.tan, np.tan), (aj.asin, np.arcsin), (aj.acos, np.arccos),
                    (aj.atan, np.arctan), (aj.sinh, np.sinh), (aj.cosh, np.cosh),
                    (aj.asinh, np.arcsinh), (aj.atanh, np.arctanh)]:
        np.testing.assert_allclose(fn(t).numpy(), ref(x), rtol=1e-15)
        assert getattr(aj.math, fn.__name__) is fn
    np.testing.assert_allclose(aj.acosh(aj.constant([1.0, 2.0])).numpy(), np.arccosh([1.0, 2.0]))


def test_atan2_takes_y_first_and_covers_every_quadrant():
    y = aj.constant([1.0, 1.0, -1.0, -1.0, 0.0])
    x = aj.constant([1.0, -1.0, -1.0, 1.0, -1.0])
    np.testing.assert_allclose(aj.atan2(y, x).numpy(),
                               [math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4, -math.pi / 4,
                                math.pi], rtol=1e-7)
    with aj.GradientTape() as tape:  # a Python-scalar x: the gradient goes to y alone
        tape.watch(y)
        angle = aj.reduce_sum(aj.math.atan2(y, 2.0))
    np.testing.assert_allclose(tape.gradient(angle, y).numpy(),
                               2.0 / (4.0 + y.numpy() ** 2), rtol=1e-6)


def test_elementwise_math_in_a_graph_matches_eager():
    def fn(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = (aj.tan(x) + aj.asin(x * 0.5) + aj.atan2(x, x * x + 1.0) + aj.cosh(x)
                 + aj.where(aj.math.is_finite(aj.math.log(x)), aj.round(x * 3.0), 0.0))
            loss = aj.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    x = aj.constant(np.linspace(-0.9, 0.9, 7))
    with np.errstate(invalid="ignore", divide="ignore"):
        eager = fn(x)
        graph = aj.function(fn, autograph=False)(x)
    for e, g in zip(eager, graph):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12)


ERRORS = [
    (lambda: aj.floor(aj.constant([1, 2])), "floor: expected a floating-point tensor"),
    (lambda: aj.math.ceil(aj.constant([1, 2])), "ceil: expected a floating-point tensor"),
    (lambda: aj.round(aj.constant([True])), "round: expected a numeric tensor, got bool"),
    (lambda: aj.math.is_nan(aj.constant([1, 2])), "is_nan: expected a floating-point tensor"),
    (lambda: aj.acosh(aj.constant([1, 2])), "acosh: expected a floating-point tensor"),
    (lambda: aj.atan2(aj.constant([1, 2]), aj.constant([1, 2])),
     "atan2: expected a floating-point tensor"),
    (lambda: aj.atan2(aj.constant([1.0]), aj.constant([1.0], aj.float64)),
     "atan2: expected inputs of one dtype, got float32 and float64"),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=[m.split(":")[0] for _, m in ERRORS])
def test_errors_name_the_op(call, message):
    with pytest.raises(DTypeError, match=re.escape(message)):
        call()
