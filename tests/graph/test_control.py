"""``aj.cond`` and ``aj.while_loop``: eagerly and in graphs, nested loop variables,
``maximum_iterations``, shape relaxation, the errors, and gradients (against finite
differences in float64 and against eager execution)."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import autojit as aj
from autojit.errors import AutojitError, DTypeError, TracingError
from autojit.graph.interpret import interpret
from tests.numeric import numeric_grad

State = collections.namedtuple("State", ["step", "acc"])


def fn_graph(fn, *args):
    return aj.function(fn, autograph=False).get_concrete_function(*args).graph


def both(fn, *args):
    """``fn(*args)`` eagerly and through @function (traced, then replayed), as NumPy."""
    eager = aj.nest.map_structure(lambda t: np.asarray(t), fn(*args))
    compiled = aj.function(fn, autograph=False)
    traced = aj.nest.map_structure(lambda t: np.asarray(t), compiled(*args))
    replayed = aj.nest.map_structure(lambda t: np.asarray(t), compiled(*args))
    return eager, traced, replayed


def assert_same(a, b, **tol):
    fa, fb = aj.nest.flatten(a), aj.nest.flatten(b)
    assert len(fa) == len(fb)
    for x, y in zip(fa, fb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **tol)


def tape_grad(fn, x):
    x = aj.constant(x)
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x).numpy()


# --------------------------------------------------------------------------------------
# cond


def test_cond_eager_runs_only_the_taken_branch():
    calls = []

    def t():
        calls.append("t")
        return aj.constant(1.0)

    def f():
        calls.append("f")
        return aj.constant(2.0)

    assert float(aj.cond(aj.constant(True), t, f)) == 1.0
    assert float(aj.cond(aj.constant(False), t, f)) == 2.0
    assert calls == ["t", "f"]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_in_a_graph_picks_at_run_time(sign):
    def fn(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: x * 2.0, lambda: x - 1.0)

    x = aj.constant(sign * np.array([1.0, 2.0]))
    eager, traced, replayed = both(fn, x)
    expected = x.numpy() * 2 if sign > 0 else x.numpy() - 1
    for got in (eager, traced, replayed):
        np.testing.assert_allclose(got, expected)
    graph = fn_graph(fn, x)
    assert [n.op.name for n in graph.nodes].count("cond") == 1


def test_cond_one_trace_serves_both_branches():
    f = aj.function(lambda x: aj.cond(aj.reduce_sum(x) > 0, lambda: x * 2.0, lambda: -x),
                    autograph=False)
    np.testing.assert_allclose(f(aj.constant([1.0, 2.0])).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(f(aj.constant([-1.0, -2.0])).numpy(), [1.0, 2.0])
    assert f.tracing_count == 1


def test_cond_nested_structures_and_captures():
    w = aj.Variable(3.0, dtype=aj.float64)

    def fn(x, y):
        return aj.cond(x[0] > y[0],
                       lambda: {"a": (x * w, y), "b": [x + y]},
                       lambda: {"a": (y * w, x), "b": [x - y]})

    for xs in ([2.0, 1.0], [0.0, 1.0]):
        x = aj.constant(np.array(xs))
        y = aj.constant(np.array([1.0, 5.0]))
        eager, traced, replayed = both(fn, x, y)
        assert set(traced) == {"a", "b"}
        assert_same(eager, traced)
        assert_same(eager, replayed)


def test_cond_branches_with_different_dims_give_unknown_dims():
    def fn(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: x, lambda: aj.concat([x, x], axis=0))

    x = aj.constant(np.array([1.0, 2.0]))
    graph = fn_graph(fn, x)
    assert graph.outputs[0].spec.shape == (None,)
    f = aj.function(fn, autograph=False, input_signature=[aj.TensorSpec([2], aj.float64)])
    assert f(x).shape == (2,)
    assert f(-x).shape == (4,)


def test_cond_branches_run_for_their_effects_may_return_none():
    v = aj.Variable(0.0)

    def fn(x):
        aj.cond(x > 0, lambda: (v.assign_add(x), None)[1], lambda: None)
        y, nothing = aj.cond(x > 1, lambda: (x * 2.0, None), lambda: (x, None))
        return y, nothing, v * 1.0

    f = aj.function(fn, autograph=False)
    y, nothing, value = f(aj.constant(2.0))
    assert (float(y), nothing, float(value)) == (4.0, None, 2.0)
    y, nothing, value = f(aj.constant(-1.0))
    assert (float(y), nothing, float(value)) == (-1.0, None, 2.0)
    with pytest.raises(AutojitError, match="same structure"):
        aj.function(lambda x: aj.cond(x > 0, lambda: x, lambda: None),
                    autograph=False)(aj.constant(1.0))


def test_cond_branch_structure_mismatch_is_an_error():
    def fn(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: (x, x), lambda: x)

    with pytest.raises(AutojitError, match="same structure"):
        aj.function(fn, autograph=False)(aj.constant([1.0]))


def test_cond_branch_dtype_mismatch_is_an_error():
    def fn(x):
        return aj.cond(aj.reduce_sum(x) > 0, lambda: x, lambda: aj.cast(x, aj.int32))

    with pytest.raises(DTypeError, match="float32 in the true branch but int32"):
        aj.function(fn, autograph=False)(aj.constant([1.0]))


def test_value_from_a_branch_used_outside_it_is_a_clear_error():
    leaked = []

    def fn(x):
        def true_fn():
            y = x * 2.0
            leaked.append(y)
            return y

        out = aj.cond(aj.reduce_sum(x) > 0, true_fn, lambda: x)
        return out + leaked[0]

    with pytest.raises(TracingError) as info:
        aj.function(fn, autograph=False)(aj.constant([1.0]))
    message = str(info.value)
    assert "cannot be used outside it" in message
    assert "test_control.py" in message  # where the leaked value was used


def test_cond_inside_a_function_with_a_variable_assigned_in_one_branch():
    v = aj.Variable(0.0)

    @aj.function(autograph=False)
    def bump(x):
        def yes():
            v.assign_add(x)
            return v * 1.0

        return aj.cond(x > 0, yes, lambda: v * 1.0)

    assert float(bump(aj.constant(2.0))) == 2.0
    assert float(bump(aj.constant(-1.0))) == 2.0
    assert float(bump(aj.constant(3.0))) == 5.0
    assert float(v) == 5.0
    assert bump.tracing_count == 1


# --------------------------------------------------------------------------------------
# while_loop


def test_while_loop_eager_is_python():
    i, acc = aj.while_loop(lambda i, a: i < 4, lambda i, a: (i + 1, a * 2.0),
                           (aj.constant(0), aj.constant(1.0)))
    assert int(i) == 4 and float(acc) == 16.0


def test_while_loop_in_a_graph_runs_a_data_dependent_number_of_times():
    def fn(n):
        return aj.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * 2.0),
                             (aj.constant(0), aj.constant(1.0)))

    f = aj.function(fn, autograph=False)
    for n in (0, 1, 5):
        i, acc = f(aj.constant(n))
        assert int(i) == n and float(acc) == 2.0 ** n
    assert f.tracing_count == 1
    assert [n.op.name for n in f.get_concrete_function(aj.constant(3)).graph.nodes
            ].count("while_loop") == 1


def test_while_loop_single_loop_var():
    def fn(x):
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 100.0, lambda v: v * 3.0, x)

    eager, traced, replayed = both(fn, aj.constant([1.0, 2.0]))
    np.testing.assert_allclose(eager, [81.0, 162.0])
    assert_same(eager, traced)
    assert_same(eager, replayed)


def test_while_loop_nested_structures_as_loop_vars():
    def fn(x):
        def body(state, extra):
            acc = {"sum": state.acc["sum"] + x, "prod": [state.acc["prod"][0] * 2.0]}
            return State(state.step + 1, acc), (extra[0] - 1.0,)

        init = (State(aj.constant(0), {"sum": aj.zeros_like(x), "prod": [aj.ones_like(x)]}),
                (aj.constant(10.0),))
        return aj.while_loop(lambda s, e: s.step < 3, body, init)

    x = aj.constant(np.array([1.0, 2.0]))
    eager, traced, replayed = both(fn, x)
    state, extra = traced
    assert isinstance(state, State) and isinstance(state.acc["prod"], list)
    np.testing.assert_allclose(state.acc["sum"], [3.0, 6.0])
    np.testing.assert_allclose(state.acc["prod"][0], [8.0, 8.0])
    assert float(extra[0]) == 7.0
    assert_same(eager, traced)
    assert_same(eager, replayed)


@pytest.mark.parametrize("limit", [0, 2, 10])
def test_while_loop_maximum_iterations(limit):
    def fn(x):
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 1000.0, lambda v: v + 1.0, x,
                             maximum_iterations=limit)

    x = aj.constant([0.0])
    expected = min(limit, 1000)
    eager, traced, replayed = both(fn, x)
    for got in (eager, traced, replayed):
        np.testing.assert_allclose(got, [expected])


def test_while_loop_maximum_iterations_as_a_tensor():
    f = aj.function(lambda x, n: aj.while_loop(lambda v: v < 100.0, lambda v: v + 1.0, x,
                                               maximum_iterations=n), autograph=False)
    assert float(f(aj.constant(0.0), aj.constant(3))) == 3.0
    assert float(f(aj.constant(0.0), aj.constant(7))) == 7.0
    assert f.tracing_count == 1


def test_while_loop_takes_tfs_parameters_in_tfs_order():
    # tf.while_loop(cond, body, loop_vars, shape_invariants, parallel_iterations, back_prop,
    #               swap_memory, maximum_iterations, name)
    def fn(x):
        return aj.while_loop(lambda v: v < 100.0, lambda v: v + 1.0, x, None, 10, True, False,
                             4, "loop")

    eager, traced, replayed = both(fn, aj.constant(0.0))
    assert float(eager) == float(traced) == float(replayed) == 4.0


def test_shape_invariants_let_the_named_dims_change():
    def fn(x):
        return aj.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, aj.concat([v, v], 0)),
                             (aj.constant(0), x), shape_invariants=([], [None, 2]))

    x = aj.constant(np.ones((1, 2), np.float32))
    assert fn_graph(fn, x).outputs[1].spec.shape == (None, 2)
    eager, traced, replayed = both(fn, x)
    assert eager[1].shape == traced[1].shape == replayed[1].shape == (8, 2)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_body_changing_a_dim_its_invariant_fixes_is_an_error_naming_it(compiled):
    def fn(x):
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 10.0, lambda v: aj.concat([v, v], 1),
                             [x], shape_invariants=[aj.TensorSpec([1, 2], aj.float32)])

    run = aj.function(fn, autograph=False) if compiled else fn
    when = "after one iteration" if compiled else "in the loop"
    with pytest.raises(aj.errors.ShapeError, match=rf"loop variable #0 has shape \[1, 4\] "
                                                   rf"{when}, which its shape invariant "
                                                   rf"\[1, 2\] does not allow"):
        run(aj.constant(np.ones((1, 2), np.float32)))


def test_shape_invariants_of_another_structure_are_an_error():
    with pytest.raises(TypeError, match="shape_invariants must have the structure of "
                                        "loop_vars"):
        aj.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v), (0, aj.constant(1.0)),
                      shape_invariants=[[]])


def test_back_prop_false_stops_the_gradient_through_the_loop():
    def fn(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            (y,) = aj.while_loop(lambda v: aj.reduce_sum(v) < 10.0, lambda v: [v * 2.0], [x],
                                 back_prop=False)
            z = aj.reduce_sum(y) + aj.reduce_sum(x * 3.0)
        return tape.gradient(z, x)

    x = aj.constant([1.0, 0.5])
    eager, traced, replayed = both(fn, x)
    for got in (eager, traced, replayed):
        np.testing.assert_allclose(got, [3.0, 3.0])


def test_a_body_returning_one_tensor_for_a_list_of_one_is_that_list():
    def fn(x):
        return aj.while_loop(lambda v: aj.reduce_sum(v) < 10.0, lambda v: v * 2.0, [x])

    eager, traced, replayed = both(fn, aj.constant(np.ones((1, 2), np.float32)))
    for got in (eager, traced, replayed):
        np.testing.assert_allclose(got[0], [[8.0, 8.0]])


def test_an_eager_body_returning_another_structure_is_an_error():
    with pytest.raises(AutojitError, match="the body must return the same structure"):
        aj.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1,), (0, aj.constant(1.0)))


def test_while_loop_relaxes_a_shape_that_changes():
    def fn(x):
        return aj.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, aj.concat([v, v], 0)),
                             (aj.constant(0), x))

    x = aj.constant(np.array([1.0, 2.0]))
    graph = fn_graph(fn, x)
    assert graph.outputs[1].spec.shape == (None,)
    eager, traced, replayed = both(fn, x)
    assert traced[1].shape == (16,)
    assert_same(eager, traced)
    assert_same(eager, replayed)


def test_while_loop_dtype_change_names_the_loop_var():
    def fn(x):
        return aj.while_loop(lambda i, a: i < 3,
                             lambda i, a: (i + 1, aj.cast(a, aj.float64)),
                             (aj.constant(0), x))

    with pytest.raises(DTypeError) as info:
        aj.function(fn, autograph=False)(aj.constant(1.0))
    message = str(info.value)
    assert "loop variable #1" in message
    assert "float32" in message and "float64" in message
    assert "test_control.py" in message


def test_while_loop_structure_mismatch_is_an_error():
    def fn(x):
        return aj.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, (a, a)),
                             (aj.constant(0), x))

    with pytest.raises(AutojitError, match="same structure as loop_vars"):
        aj.function(fn, autograph=False)(aj.constant(1.0))


def test_while_loop_body_reads_a_variable_it_writes_each_iteration():
    v = aj.Variable(1.0)

    def fn():
        def body(i, acc):
            acc = acc + v * 1.0  # read before the write: must see this iteration's value
            v.assign_add(1.0)
            return i + 1, acc

        return aj.while_loop(lambda i, acc: i < 3, body, (aj.constant(0), aj.constant(0.0)))

    _, acc = fn()
    assert (float(acc), float(v)) == (6.0, 4.0)
    v.assign(1.0)
    f = aj.function(fn, autograph=False)
    _, acc = f()
    assert (float(acc), float(v)) == (6.0, 4.0)
    _, acc = f()
    assert (float(acc), float(v)) == (4.0 + 5.0 + 6.0, 7.0)


def test_while_loop_cond_reads_a_variable_the_body_writes():
    v = aj.Variable(0.0)

    @aj.function(autograph=False)
    def count_up(limit):
        def body(i):
            v.assign_add(1.0)
            return i + 1

        return aj.while_loop(lambda i: v < limit, body, aj.constant(0))

    assert int(count_up(aj.constant(5.0))) == 5
    assert float(v) == 5.0
    assert int(count_up(aj.constant(7.0))) == 2


def _nested_loop_writes(v):
    def outer(i, acc):
        acc = acc + v * 1.0  # read before the inner loop writes v
        aj.while_loop(lambda j: j < 2, lambda j: (v.assign_add(1.0), j + 1)[1], aj.constant(0))
        return i + 1, acc

    return aj.while_loop(lambda i, acc: i < 3, outer, (aj.constant(0), aj.constant(0.0)))


def _cond_in_loop_writes(v):
    def body(i, acc):
        acc = acc + v * 1.0
        aj.cond(i % 2 == 0, lambda: (v.assign_add(10.0), aj.constant(0.0))[1],
                lambda: aj.constant(0.0))
        return i + 1, acc * 1.0 + v

    return aj.while_loop(lambda i, acc: i < 4, body, (aj.constant(0), aj.constant(0.0)))


@pytest.mark.parametrize("program", [_nested_loop_writes, _cond_in_loop_writes])
def test_variable_writes_in_nested_control_flow_match_eager(program):
    v = aj.Variable(0.0)
    expected = [float(t) for t in program(v)] + [float(v)]
    f = aj.function(program, autograph=False)
    for call in range(2):
        v.assign(0.0)
        assert [float(t) for t in f(v)] + [float(v)] == expected
    assert f.tracing_count == 1


def test_while_loop_interpreted_matches_replay():
    def fn(x):
        def body(i, v):
            v = aj.cond(aj.reduce_sum(v) > 2.0, lambda: v * 0.5, lambda: v + 1.0)
            return i + 1, v

        return aj.while_loop(lambda i, v: i < 6, body, (aj.constant(0), x))

    x = aj.constant(np.array([0.25, 0.5]))
    f = aj.function(fn, autograph=False)
    graph = f.get_concrete_function(x).graph
    i, v = interpret(graph, [x.numpy()], np)
    i2, v2 = f(x)
    assert int(i) == int(i2) == 6
    np.testing.assert_allclose(v, v2.numpy())
    np.testing.assert_allclose(v, fn(x)[1].numpy())


# --------------------------------------------------------------------------------------
# Gradients, against finite differences (float64) and eager execution.


def _cond_fn(x):
    return aj.reduce_sum(aj.cond(aj.reduce_sum(x) > 0, lambda: aj.exp(x) * x,
                                 lambda: aj.square(x) - x))


def _while_fn(x):
    _, y = aj.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, aj.tanh(y * x) + x),
                         (aj.constant(0), x))
    return aj.reduce_sum(y)


def _nested_while_fn(x):
    def outer(i, y):
        _, y = aj.while_loop(lambda j, z: j < 2, lambda j, z: (j + 1, aj.sin(z) * x),
                             (aj.constant(0), y))
        return i + 1, y + 0.5

    _, y = aj.while_loop(lambda i, y: i < 3, outer, (aj.constant(0), x))
    return aj.reduce_sum(y * y)


def _cond_in_while_fn(x):
    def body(i, y):
        y = aj.cond(aj.reduce_sum(y) > 1.0, lambda: y * 0.5 + x, lambda: y * x + 1.0)
        return i + 1, y

    _, y = aj.while_loop(lambda i, y: i < 4, body, (aj.constant(0), x))
    return aj.reduce_sum(aj.square(y))


def _while_in_cond_fn(x):
    def loop():
        return aj.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             (aj.constant(0), aj.ones_like(x)))[1]

    return aj.reduce_sum(aj.cond(aj.reduce_sum(x) > 0, loop, lambda: aj.exp(x)))


GRAD_CASES = {
    "cond": _cond_fn,
    "while": _while_fn,
    "nested_while": _nested_while_fn,
    "cond_in_while": _cond_in_while_fn,
    "while_in_cond": _while_in_cond_fn,
}
POINTS = [np.array([0.3, -0.2, 0.5]), np.array([-0.6, -0.1, 0.2])]


@pytest.mark.parametrize("point", range(len(POINTS)))
@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_gradients_through_control_flow(case, point):
    fn = GRAD_CASES[case]
    x = POINTS[point]
    numeric = numeric_grad(lambda v: float(fn(aj.constant(v))), x)
    eager = tape_grad(fn, x)
    np.testing.assert_allclose(eager, numeric, rtol=1e-6, atol=1e-8)

    @aj.function(autograph=False)
    def inside(v):  # the tape inside the traced function
        with aj.GradientTape() as tape:
            tape.watch(v)
            y = fn(v)
        return y, tape.gradient(y, v)

    y, g = inside(aj.constant(x))
    np.testing.assert_allclose(float(y), float(fn(aj.constant(x))), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), eager, rtol=1e-10, atol=1e-12)
    compiled = aj.function(fn, autograph=False)  # the tape outside the traced function
    np.testing.assert_allclose(tape_grad(compiled, x), eager, rtol=1e-10, atol=1e-12)


def test_gradient_through_while_with_respect_to_a_captured_variable():
    w = aj.Variable(np.array([0.5, -0.3]))

    def fn(x):
        _, y = aj.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * w + x),
                             (aj.constant(0), x))
        return aj.reduce_sum(y)

    x = aj.constant(np.array([1.0, 2.0]))

    def numeric(wv):
        saved = w.numpy().copy()
        w.assign(wv)
        out = float(fn(x))
        w.assign(saved)
        return out

    expected = numeric_grad(numeric, w.numpy())
    with aj.GradientTape() as tape:
        y = fn(x)
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), expected, rtol=1e-6)

    compiled = aj.function(fn, autograph=False)
    with aj.GradientTape() as tape:
        y = compiled(x)
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), expected, rtol=1e-6)
