"""``aj.switch_case`` and ``aj.case`` (TF's semantics): eagerly the chosen function runs
alone; inside ``@aj.function`` they are nested ``cond`` nodes chosen at each call (one trace
for every index), out-of-range indices run the default (or the last branch), and gradients
taken with a tape inside the function equal eager ones, also for Variables."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

X = np.array([0.5, -1.5, 2.0])


def _branches(x):
    return [lambda: x * 2.0, lambda: x * x, lambda: aj.sin(x), lambda: aj.exp(x) - x]


def _switch(i, x, default=True):
    return aj.switch_case(i, _branches(x), default=(lambda: -x) if default else None)


def _value_and_grad(i, x, default):
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = _switch(i, x, default)
        loss = aj.reduce_sum(y * [1.0, 2.0, 3.0])
    return y, tape.gradient(loss, x)


def test_eager_runs_only_the_chosen_branch():
    ran = []
    fns = [lambda: ran.append(0) or 0.0, lambda: ran.append(1) or 1.0]
    assert aj.switch_case(aj.constant(1), fns) == 1.0
    assert aj.switch_case(0, {1: fns[1], 0: fns[0]}) == 0.0
    assert aj.switch_case(np.int64(1), [(1, fns[1]), (0, fns[0])]) == 1.0
    assert ran == [1, 0, 1]


@pytest.mark.parametrize("index,want", [(-1, -1), (0, 0), (3, 3), (4, -1), (99, -1)])
def test_out_of_range_runs_the_default_or_the_last_branch(index, want):
    fns = [lambda k=k: k for k in range(4)]
    assert aj.switch_case(index, fns, default=lambda: -1) == want
    assert aj.switch_case(index, fns) == (3 if want == -1 else want)


@pytest.mark.parametrize("default", [True, False], ids=["default", "no default"])
def test_graph_values_and_gradients_equal_eager(default):
    traced = aj.function(_value_and_grad)
    x = aj.constant(X)
    for i in [-2, 0, 1, 2, 3, 4, 7]:
        want = _value_and_grad(aj.constant(i), x, default)
        got = traced(aj.constant(i), x, default)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)
    assert traced.tracing_count == 1


def test_graph_builds_conds_and_gradients_reach_variables():
    w = aj.Variable(np.array([1.0, 2.0]))

    def step(i):
        with aj.GradientTape() as tape:
            y = aj.switch_case(i, [lambda: aj.reduce_sum(w * w), lambda: aj.reduce_sum(w * 3.0),
                                   lambda: aj.reduce_prod(w)])
        return y, tape.gradient(y, w)

    traced = aj.function(step)
    for i in range(4):
        want, got = step(aj.constant(i)), traced(aj.constant(i))
        np.testing.assert_allclose(got[0].numpy(), want[0].numpy())
        np.testing.assert_allclose(got[1].numpy(), want[1].numpy())
    graph = traced.get_concrete_function(aj.constant(0)).graph
    assert sum(node.op.name == "cond" for node in graph.walk()) >= 2


def test_a_tape_outside_the_function_differentiates_through_it():
    f = aj.function(lambda i, x: _switch(i, x))
    x = aj.constant(X)
    for i in (0, 1, 3, 5):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = aj.reduce_sum(f(aj.constant(i), x))
        with aj.GradientTape() as eager:
            eager.watch(x)
            e = aj.reduce_sum(_switch(aj.constant(i), x))
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), eager.gradient(e, x).numpy())


def test_switch_case_errors():
    fns = [lambda: 1.0, lambda: 2.0]
    with pytest.raises(ValueError, match=r"switch_case: branch keys must be 0 \.\. 1 \(each "
                       r"once\), got \[0, 2\]"):
        aj.switch_case(0, {0: fns[0], 2: fns[1]})
    with pytest.raises(TypeError, match="switch_case: expected an int scalar branch_index, got "
                       r"f32\[\]"):
        aj.switch_case(aj.constant(1.0), fns)
    with pytest.raises(TypeError, match="switch_case: expected an int scalar branch_index, got "
                       "float 1.0"):
        aj.switch_case(1.0, fns)
    with pytest.raises(TypeError, match="switch_case: expected branch_fns as a non-empty list"):
        aj.switch_case(0, [])
    with pytest.raises(TypeError, match="switch_case: the branch for key 1 must be callable"):
        aj.switch_case(0, [(0, fns[0]), (1, 2.0)])
    with pytest.raises(TypeError, match="switch_case: branch keys must be Python ints, got str"):
        aj.switch_case(0, {"a": fns[0]})


def _piecewise(x):
    return aj.case([(x < 0.0, lambda: -x), (x > 2.0, lambda: x * x), (x > 1.0, lambda: 3.0 * x)],
                   default=lambda: aj.sin(x))


def test_case_runs_the_first_true_predicate_else_the_default():
    for v, want in [(-2.0, 2.0), (3.0, 9.0), (1.5, 4.5), (0.5, np.sin(0.5))]:
        np.testing.assert_allclose(_piecewise(aj.constant(v)).numpy(), want, rtol=1e-6)
    assert aj.case([(False, lambda: 1), (True, lambda: 2)]) == 2


def test_case_in_a_graph_equals_eager_with_gradients():
    def value_and_grad(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = _piecewise(x)
        return y, tape.gradient(y, x)

    traced = aj.function(value_and_grad)
    for v in (-2.0, 3.0, 1.5, 0.5, 2.0):
        x = aj.constant(np.float64(v))
        for g, w in zip(traced(x), value_and_grad(x)):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12)
    assert traced.tracing_count == 1


def test_case_without_default_and_exclusive_checks():
    pairs = lambda x: [(x < 0.0, lambda: -x), (x > 2.0, lambda: x * x)]  # noqa: E731
    traced = aj.function(lambda x: aj.case(pairs(x)))
    for v in (-1.0, 3.0):
        np.testing.assert_allclose(traced(aj.constant(v)).numpy(),
                                   aj.case(pairs(aj.constant(v))).numpy())
    with pytest.raises(InvalidArgumentError, match="case: none of the predicates is True and "
                       "no default was given"):
        aj.case(pairs(aj.constant(1.0)))
    with pytest.raises(InvalidArgumentError, match="case: none of the predicates is True and "
                       "no default was given"):
        traced(aj.constant(1.0))
    both = lambda x: [(x > 0.0, lambda: x), (x > 1.0, lambda: -x)]  # noqa: E731
    exclusive = aj.function(lambda x: aj.case(both(x), default=lambda: x * 0.0, exclusive=True))
    np.testing.assert_allclose(exclusive(aj.constant(0.5)).numpy(), 0.5)
    with pytest.raises(InvalidArgumentError, match="case: exclusive=True but more than one "
                       "predicate is True"):
        exclusive(aj.constant(2.0))
    with pytest.raises(InvalidArgumentError, match="case: exclusive=True but more than one "
                       "predicate is True"):
        aj.case(both(aj.constant(2.0)), exclusive=True)
    np.testing.assert_allclose(aj.case(both(aj.constant(2.0))).numpy(), 2.0)  # first wins


def test_case_errors():
    with pytest.raises(TypeError, match=r"case: expected a bool scalar predicate, got f32\[\]"):
        aj.case([(aj.constant(1.0), lambda: 1.0)])
    with pytest.raises(TypeError, match="case: expected a bool scalar predicate, got int 1"):
        aj.case([(1, lambda: 1.0)])
    with pytest.raises(TypeError, match="case: expected pred_fn_pairs as a non-empty list"):
        aj.case([])
    with pytest.raises(TypeError, match="case: the function paired with a predicate must be "
                       "callable, got float"):
        aj.case([(True, 1.0)])
