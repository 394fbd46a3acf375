"""``aj.debugging``: each value check against its NumPy condition on inputs where it holds and
where it does not, eagerly and at every call of one traced function; the static checks; and
the messages (the check, the condition, the values, the user's line)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError

RNG = np.random.default_rng(9)
D = aj.debugging
MATRIX = aj.TensorSpec([None, None])  # one trace for every draw

PAIRS = [
    (D.assert_equal, np.equal, "=="),
    (D.assert_none_equal, np.not_equal, "!="),
    (D.assert_less, np.less, "<"),
    (D.assert_less_equal, np.less_equal, "<="),
    (D.assert_greater, np.greater, ">"),
    (D.assert_greater_equal, np.greater_equal, ">="),
]
SIGNS = [
    (D.assert_positive, lambda x: x > 0, ">"),
    (D.assert_negative, lambda x: x < 0, "<"),
    (D.assert_non_negative, lambda x: x >= 0, ">="),
    (D.assert_non_positive, lambda x: x <= 0, "<="),
]


def draws(n=40):
    """Small-integer float pairs, equal, one apart or at random: every comparison both holds
    and fails among them."""
    for k in range(n):
        shape = tuple(RNG.integers(1, 4, 2))
        x = RNG.integers(-2, 3, shape).astype(np.float32)
        y = [x, x + 1, x - 1, RNG.integers(-2, 3, shape).astype(np.float32)][k % 4]
        yield x, y


@pytest.mark.parametrize("check, condition, symbol", PAIRS, ids=[p[2] for p in PAIRS])
def test_comparisons_raise_exactly_when_numpy_says_the_condition_fails(check, condition,
                                                                          symbol):
    traced = aj.function(lambda x, y: (check(x, y), x + y)[1], input_signature=[MATRIX, MATRIX])
    outcomes = set()
    for x, y in draws():
        holds = bool(np.all(condition(x, y)))
        outcomes.add(holds)
        for run in (lambda: check(aj.constant(x), aj.constant(y)),
                    lambda: traced(aj.constant(x), aj.constant(y))):
            if holds:
                run()
            else:
                with pytest.raises(InvalidArgumentError,
                                   match=re.escape(f"condition x {symbol} y did not hold")):
                    run()
    assert outcomes == {True, False}


@pytest.mark.parametrize("check, condition, symbol", SIGNS, ids=[s[0].__name__ for s in SIGNS])
def test_sign_checks_raise_exactly_when_numpy_says_the_condition_fails(check, condition,
                                                                      symbol):
    traced = aj.function(lambda x: (check(x), x * 2.0)[1], input_signature=[MATRIX])
    outcomes = set()
    for x, _ in draws():
        holds = bool(np.all(condition(x)))
        outcomes.add(holds)
        for run in (lambda: check(aj.constant(x)), lambda: traced(aj.constant(x))):
            if holds:
                run()
            else:
                with pytest.raises(InvalidArgumentError, match=re.escape(f"x {symbol} 0")):
                    run()
    assert outcomes == {True, False}


def test_a_failed_check_in_a_function_names_the_values_and_the_users_line():
    @aj.function
    def step(labels):
        D.assert_less(labels, 3, message="labels out of range", summarize=2)
        return labels + 1

    step(aj.constant([0, 1, 2]))
    with pytest.raises(InvalidArgumentError) as caught:
        step(aj.constant([0, 5, 7]))
    text = str(caught.value)
    assert "assert_less: labels out of range: condition x < y did not hold" in text
    assert "x = int32[3] [0, 5] ... (3 values), y = int32[] 3" in text
    assert re.search(r"test_debugging\.py:\d+", text)
    np.testing.assert_array_equal(step(aj.constant([2, 2, 2])).numpy(), [3, 3, 3])


def test_assert_near_uses_tolerances_as_tf():
    x = np.array([1.0, 2.0, 3.0])
    D.assert_near(aj.constant(x), aj.constant(x + 1e-16))
    D.assert_near(aj.constant(x), aj.constant(x * (1 + 1e-4)), rtol=1e-3)
    with pytest.raises(InvalidArgumentError, match=r"\|x - y\| <= 1e-06"):
        D.assert_near(aj.constant(x), aj.constant(x + 1e-3), atol=1e-6, rtol=0.0)
    with pytest.raises(DTypeError, match="expected float tensors, got int32"):
        D.assert_near(aj.constant([1]), aj.constant([1]))


def test_check_numerics_passes_the_tensor_and_its_gradient_through():
    x = aj.constant([1.0, -2.0])
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = aj.reduce_sum(D.check_numerics(x * 3.0, "scaled") ** 2)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [18.0, -36.0])
    traced = aj.function(lambda v: D.assert_all_finite(aj.math.log(v), "log"))
    traced(aj.constant([1.0, 2.0]))
    with np.errstate(divide="ignore"), pytest.raises(
            InvalidArgumentError, match="check_numerics: log: the tensor holds NaN or infinity; "
                                        "tensor = float32"):
        traced(aj.constant([1.0, 0.0]))
    with pytest.raises(DTypeError, match="expected a float tensor"):
        D.check_numerics(aj.constant([1]), "ints")


def test_rank_and_type_checks_are_static():
    D.assert_rank(aj.ones((2, 3)), 2)
    D.assert_type(aj.constant([1], aj.int64), aj.int64)
    with pytest.raises(InvalidArgumentError, match=r"expected rank 3, got a tensor of shape "
                                                   r"\[2, 3\] \(rank 2\)"):
        D.assert_rank(aj.ones((2, 3)), 3)
    with pytest.raises(DTypeError, match="assert_type: ids: expected int64, got int32"):
        D.assert_type(aj.constant([1]), aj.int64, message="ids")
    assert D.is_numeric_tensor(aj.ones(2)) and not D.is_numeric_tensor(aj.constant([True]))
    assert not D.is_numeric_tensor(np.ones(2))


def test_assert_shapes_checks_named_dims_statically_and_at_run_time():
    D.assert_shapes([(aj.ones((4, 3)), ("N", "D")), (aj.ones((3, 2)), ("D", 2)),
                     (aj.ones((7, 4, 2)), ("...", "N", 2)), (aj.ones(()), ())])
    with pytest.raises(InvalidArgumentError, match=r"dim 0 of tensor #1 \(float32\[5, 2\]\) is "
                                                   r"5, but \(D, 2\) says 'D' \(dim 1 of tensor "
                                                   r"#0"):
        D.assert_shapes([(aj.ones((4, 3)), ("N", "D")), (aj.ones((5, 2)), ("D", 2))])
    with pytest.raises(InvalidArgumentError, match="should have rank 2 for"):
        D.assert_shapes([(aj.ones((4,)), ("N", "D"))])

    @aj.function(input_signature=[aj.TensorSpec([None, 3]), aj.TensorSpec([None])])
    def f(x, labels):
        D.assert_shapes([(x, ("N", 3)), (labels, ("N",))])
        return x

    assert f(aj.ones((2, 3)), aj.ones((2,))).shape == (2, 3)
    with pytest.raises(InvalidArgumentError, match=r"dim 0 of tensor #1 \(float32\[None\]\) "
                                                   r"must equal 'N'.*size = int32\[\] 5, "
                                                   r"expected = int32\[\] 2"):
        f(aj.ones((2, 3)), aj.ones((5,)))


def test_a_graph_with_a_check_is_not_captured():
    from autojit.graph.executors.capture import plan_capture

    traced = aj.function(lambda x: (D.assert_positive(x), x * 2.0)[1])
    plan = plan_capture(traced.get_concrete_function(aj.ones(3)).graph, capturable_blas=True)
    assert not plan.capturable and "checks its condition on the host" in plan.reasons[0]
