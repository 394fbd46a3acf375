"""Variables inside @aj.function: captured by reference, assigns run at every call in
program order, reads see earlier writes, values read before a write keep the old value
(Note [Reads alias buffers] in codegen.py), and creation only on the first trace."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import TracingError

from .common import AUTOGRAPH


def fn(f):
    return aj.function(f, autograph=AUTOGRAPH)


def test_an_assign_outside_is_seen_by_the_next_call():
    v = aj.Variable(1.0)
    f = fn(lambda x: x * v)
    x = aj.constant(3.0)
    assert float(f(x)) == 3.0
    v.assign(5.0)
    assert float(f(x)) == 15.0
    v.assign_add(1.0)
    assert float(f(x)) == 18.0
    assert f.tracing_count == 1


def test_assigns_inside_run_every_call_in_program_order():
    v = aj.Variable(0.0)

    @fn
    def step():
        v.assign_add(1.0)
        v.assign_add(1.0)
        v.assign_add(1.0)
        return v.read_value()

    for call in range(1, 4):
        assert float(step()) == 3.0 * call
    assert float(v) == 9.0 and step.tracing_count == 1


def test_program_order_of_mixed_writes():
    v = aj.Variable(2.0)

    @fn
    def step():
        v.assign(v * 3.0)
        v.assign_sub(1.0)
        v.assign(v * v)
        return v * 1.0

    assert float(step()) == 25.0  # ((2*3)-1)^2
    assert float(step()) == ((25.0 * 3 - 1) ** 2)
    assert float(v) == (25.0 * 3 - 1) ** 2


def test_read_after_write_sees_the_new_value():
    v = aj.Variable(np.array([1.0, 2.0], np.float32))

    @fn
    def step(x):
        before = v + 0.0
        v.assign_add(x)
        after = v * 1.0
        return before, after, aj.reduce_sum(v)

    before, after, total = step(aj.constant([10.0, 10.0]))
    np.testing.assert_allclose(before.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(after.numpy(), [11.0, 12.0])
    assert float(total) == 23.0
    before, after, total = step(aj.constant([1.0, 1.0]))
    np.testing.assert_allclose(before.numpy(), [11.0, 12.0])
    np.testing.assert_allclose(after.numpy(), [12.0, 13.0])


@pytest.mark.parametrize("optimize", [True, False])
def test_a_value_read_before_a_write_keeps_the_old_value(optimize):
    aj.config.set_graph_optimization(optimize)
    v = aj.Variable(np.array([1.0, 2.0], np.float32))

    @fn
    def step():
        old = v * 1.0  # simplified to the read itself: must still be the old value
        r = v.read_value()
        ident = aj.identity(v)
        v.assign(aj.constant([7.0, 8.0]))
        return old, r, ident, v * 1.0

    old, r, ident, new = step()
    for value in (old, r, ident):
        np.testing.assert_allclose(value.numpy(), [1.0, 2.0])
    np.testing.assert_allclose(new.numpy(), [7.0, 8.0])
    v.assign([0.0, 0.0])
    old, r, ident, new = step()
    for value in (old, r, ident):
        np.testing.assert_allclose(value.numpy(), [0.0, 0.0])


def _reshaped(v):
    r = aj.reshape(v, (2, 1))
    v.assign([7.0, 8.0])
    return r


def _identity(v):
    r = aj.identity(v)
    v.assign([7.0, 8.0])
    return r


def _transposed(v):
    r = aj.transpose(aj.reshape(v, (2, 1)))
    v.assign([7.0, 8.0])
    return r


def _cond_result(v):
    return aj.cond(aj.reduce_sum(v) > 0.0, lambda: v * 1.0, lambda: v * 2.0)


def _loop_result(v):
    return aj.while_loop(lambda i, x: i < 2, lambda i, x: (i + 1, v * 1.0),
                         (aj.constant(0), v * 1.0))[1]


def _loop_passthrough(v):
    x = v * 1.0
    y = aj.while_loop(lambda i, x: i < 2, lambda i, x: (i + 1, x), (aj.constant(0), x))[1]
    v.assign([7.0, 8.0])
    return y


def _loop_carries_a_read_across_a_write(v):
    def body(i, x, z):
        v.assign_add([1.0, 1.0])
        return i + 1, v * 1.0, x * 2.0  # x: the value read at the end of the last iteration

    return aj.while_loop(lambda i, x, z: i < 2, body, (aj.constant(0), v * 1.0, v * 0.0))[2]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("program", [_reshaped, _identity, _transposed, _cond_result,
                                     _loop_result, _loop_passthrough,
                                     _loop_carries_a_read_across_a_write])
def test_views_and_control_flow_results_of_reads_keep_their_value(program, optimize):
    aj.config.set_graph_optimization(optimize)
    v = aj.Variable(np.array([1.0, 2.0], np.float32))
    expected = np.asarray(program(v)).copy()  # eager reference
    v.assign([1.0, 2.0])
    out = fn(program)(v)
    np.testing.assert_allclose(np.asarray(out), expected)
    v.assign([50.0, 60.0])  # a later eager write must not show through the result either
    np.testing.assert_allclose(np.asarray(out), expected)


def test_results_do_not_alias_the_variable():
    v = aj.Variable(np.array([1.0, 2.0], np.float32))
    f = fn(lambda: v * 1.0)
    out = f()
    v.assign([5.0, 5.0])
    np.testing.assert_allclose(out.numpy(), [1.0, 2.0])
    returned = fn(lambda: v)()  # returning the variable itself gives a snapshot
    v.assign([9.0, 9.0])
    np.testing.assert_allclose(np.asarray(returned), [5.0, 5.0])


def test_the_same_as_eager_on_a_counter_program():
    counter = aj.Variable(0, dtype=aj.int64)
    total = aj.Variable(0.0)

    def step(x):
        counter.assign_add(1)
        total.assign_add(aj.reduce_sum(x) * aj.cast(counter, aj.float32))
        return total * 1.0

    xs = [aj.constant(np.full(3, float(i), np.float32)) for i in range(4)]
    eager = [float(step(x)) for x in xs]
    counter.assign(0)
    total.assign(0.0)
    compiled = fn(step)
    assert [float(compiled(x)) for x in xs] == eager
    assert int(counter) == 4 and compiled.tracing_count == 1


def test_a_failed_assign_is_a_trace_time_error_and_changes_nothing():
    v = aj.Variable(np.zeros(3, np.float32))

    @fn
    def bad(x):
        v.assign_add(1.0)
        v.assign(x)  # wrong shape: caught while tracing, before any call ran
        return v * 1.0

    with pytest.raises(Exception, match="shape"):
        bad(aj.ones((4,)))
    np.testing.assert_allclose(v.numpy(), np.zeros(3))


# --------------------------------------------------------------------------------------
# Creation only on the first trace


def test_variables_may_be_created_on_the_first_trace():
    holder = {}

    @fn
    def f(x):
        if "v" not in holder:
            holder["v"] = aj.Variable(aj.zeros((3,)), name="counter")
        holder["v"].assign_add(x)
        return holder["v"] * 1.0

    np.testing.assert_allclose(f(aj.ones((3,))).numpy(), np.ones(3))
    np.testing.assert_allclose(f(aj.ones((3,))).numpy(), np.full(3, 2.0))
    assert isinstance(holder["v"], aj.Variable) and holder["v"].name == "counter:0"
    np.testing.assert_allclose(holder["v"].numpy(), np.full(3, 2.0))


def test_creating_a_variable_on_a_later_trace_is_a_clear_error():
    @fn
    def f(x):
        v = aj.Variable(1.0)  # a new variable at every trace
        return x * v

    f(aj.constant(1.0))  # the first trace may create it
    with pytest.raises(TracingError) as info:
        f(aj.constant([1.0, 2.0]))  # a new shape retraces
    message = str(info.value)
    assert "was created on a later trace" in message
    assert "Variables may be created only on the first trace" in message
    assert "test_variables_capture.py" in message


def test_initial_values_may_not_depend_on_arguments():
    @fn
    def f(x):
        v = aj.Variable(x * 2.0)
        return v * 1.0

    with pytest.raises(TracingError, match="must not depend on the function's arguments"):
        f(aj.constant(1.0))


def test_initial_values_from_constants_are_computed_eagerly():
    holder = []

    @fn
    def f(x):
        if not holder:
            holder.append(aj.Variable(aj.ones((2,)) * 3.0 + 1.0))
        return x + holder[0]

    np.testing.assert_allclose(f(aj.zeros((2,))).numpy(), [4.0, 4.0])
    np.testing.assert_allclose(holder[0].numpy(), [4.0, 4.0])


@pytest.mark.parametrize("make", [
    lambda: aj.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda: aj.optimizers.Adam(learning_rate=0.1),
])
def test_optimizer_slots_created_on_the_first_trace(make):
    def train(optimizer, steps, compiled):
        w = aj.Variable(np.array([1.0, -2.0], np.float32))

        def step(x):
            with aj.GradientTape() as tape:
                loss = aj.reduce_sum(aj.square(w * x - 1.0))
            optimizer.apply_gradients([(tape.gradient(loss, w), w)])
            return loss

        run = fn(step) if compiled else step
        losses = [float(run(aj.constant([0.5, 2.0]))) for _ in range(steps)]
        return w.numpy(), losses, run

    w_eager, losses_eager, _ = train(make(), 5, compiled=False)
    optimizer = make()
    w_graph, losses_graph, run = train(optimizer, 5, compiled=True)
    np.testing.assert_allclose(w_graph, w_eager, rtol=1e-5)
    np.testing.assert_allclose(losses_graph, losses_eager, rtol=1e-5)
    assert run.tracing_count == 1
    assert int(optimizer.iterations) == 5
