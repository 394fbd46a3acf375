"""The surprising semantics of ``@aj.function``, one test each (as TF's ``tf.function``).

1. Python side effects -- ``print``, appending to a list, incrementing a Python counter,
   reading ``np.random`` -- run only while tracing, not at every call.
2. ``aj.print`` is a graph op: it prints at every call, with the values of that call.
3. ``Variable.assign*`` inside the function runs at every call, in program order.
4. Variables may be created only on the first trace; creating one on a later trace (a
   retrace for a new shape, say) is an error. Guard the creation (``if self.v is None``).
5. Python scalars are part of the signature: every new value retraces (and warns after a
   few). Pass ``aj.constant(value)`` for values that change.
6. A tensor captured from the enclosing scope (a closure or a global) is a constant baked in
   when the function is traced: rebinding the Python name later does not change the graph.
   Variables, in contrast, are captured by reference: ``v.assign`` outside is seen.
7. Python attributes and other plain Python values read inside (``self.scale``, a
   global float, an optimizer's float learning rate) are baked in at trace time too.
8. Python ``if``/``for`` on Python values are resolved while tracing; ``if`` on a tensor
   needs autograph (the default) or ``aj.cond``; with ``autograph=False`` it is an error.
9. Python values returned by the function are those of the trace.
10. A function traced once for a shape serves only that shape: calling it with another
    shape retraces, unless ``input_signature`` or ``reduce_retracing`` says otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autojit as aj
from autojit.errors import TracingError
from autojit.function import RetracingWarning

from .common import AUTOGRAPH


def fn(f):
    return aj.function(f, autograph=AUTOGRAPH)


def test_1_python_side_effects_run_only_while_tracing(capsys):
    log, counter = [], {"n": 0}

    @fn
    def step(x):
        print("tracing step")
        log.append(x)
        counter["n"] += 1
        noise = np.random.default_rng().uniform()  # drawn once, at trace time
        return x + noise

    first = step(aj.constant(1.0))
    second = step(aj.constant(1.0))
    step(aj.constant(2.0))
    assert capsys.readouterr().out.count("tracing step") == 1
    assert len(log) == 1 and counter["n"] == 1
    assert float(first) == float(second)  # the same "random" number: a constant now


def test_2_aj_print_runs_at_every_call(capsys):
    @fn
    def step(x):
        aj.print("value:", x)
        return x + 1.0

    for value in (1.0, 2.0, 3.0):
        step(aj.constant(value))
    out = capsys.readouterr().out.splitlines()
    assert out == ["value: 1.0", "value: 2.0", "value: 3.0"]
    assert step.tracing_count == 1


def test_2_aj_print_also_prints_eagerly(capsys):
    aj.print("eager:", aj.constant(2.0))
    assert capsys.readouterr().out == "eager: 2.0\n"


def test_3_assigns_run_every_call_in_order():
    v = aj.Variable(1.0)

    @fn
    def step():
        v.assign(v * 2.0)
        v.assign_add(1.0)
        return v * 1.0

    assert [float(step()) for _ in range(3)] == [3.0, 7.0, 15.0]


def test_4_variables_only_on_the_first_trace():
    made = []

    @fn
    def unguarded(x):
        made.append(aj.Variable(0.0))
        return x + made[-1]

    unguarded(aj.constant(1.0))
    with pytest.raises(TracingError, match="created on a later trace"):
        unguarded(aj.constant([1.0, 2.0]))

    class Counter:
        v = None

    counter = Counter()

    @fn
    def guarded(x):
        if counter.v is None:
            counter.v = aj.Variable(0.0)
        counter.v.assign_add(1.0)
        return x + counter.v

    guarded(aj.constant(1.0))
    guarded(aj.constant([1.0, 2.0]))  # a retrace, but no new variable
    assert float(counter.v) == 2.0


def test_5_python_scalars_retrace():
    f = fn(lambda x, n: x * n)
    x = aj.constant(1.0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for n in range(6):
            f(x, n)
    assert f.tracing_count == 6
    assert any(issubclass(w.category, RetracingWarning) for w in record)
    g = fn(lambda x, n: x * n)
    for n in range(6):
        g(x, aj.constant(float(n)))  # a tensor: one trace serves every value
    assert g.tracing_count == 1


SCALE = aj.constant(2.0)


def test_6_captured_tensors_are_constants_variables_are_references():
    global SCALE
    local = aj.constant(10.0)
    v = aj.Variable(100.0)

    @fn
    def f(x):
        return x * SCALE + local + v

    x = aj.constant(1.0)
    assert float(f(x)) == 112.0
    saved = SCALE
    try:
        SCALE = aj.constant(3.0)  # rebinding the global...
        local = aj.constant(20.0)  # ...and the closure variable  # noqa: F841
        assert float(f(x)) == 112.0  # ...changes nothing: both were baked in
    finally:
        SCALE = saved
    v.assign(200.0)
    assert float(f(x)) == 212.0  # the variable is read at every call
    assert f.tracing_count == 1


def test_7_python_attributes_are_baked_in():
    class Layer(aj.Module):
        def __init__(self):
            super().__init__()
            self.scale = 2.0
            self.w = aj.Variable(1.0)

        @aj.function(autograph=AUTOGRAPH)
        def __call__(self, x):
            return x * self.scale * self.w

    layer = Layer()
    x = aj.constant(1.0)
    assert float(layer(x)) == 2.0
    layer.scale = 5.0  # a plain Python attribute: the graph does not see it
    assert float(layer(x)) == 2.0
    layer.w.assign(3.0)  # a Variable: it does
    assert float(layer(x)) == 6.0

    w = aj.Variable(1.0)
    optimizer = aj.optimizers.SGD(learning_rate=0.5)

    @fn
    def sgd_step():
        optimizer.apply_gradients([(aj.constant(1.0), w)])

    sgd_step()
    optimizer.learning_rate = 0.0  # a float learning rate was baked in at the trace
    sgd_step()
    assert float(w) == 0.0


def test_8_python_control_flow_is_resolved_while_tracing():
    @fn
    def f(x, use_square):
        if use_square:  # a Python bool: picks one branch at trace time
            return aj.square(x)
        return -x

    assert float(f(aj.constant(3.0), True)) == 9.0
    assert float(f(aj.constant(3.0), False)) == -3.0
    assert f.tracing_count == 2  # one trace per Python value
    names = [n.op.name for n in f.get_concrete_function(aj.constant(3.0), True).graph.nodes]
    assert "square" in names and "negative" not in names and "cond" not in names

    def tensor_if(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(TracingError, match="bool"):
        aj.function(tensor_if, autograph=False)(aj.constant(1.0))
    if AUTOGRAPH:  # autograph turns it into a cond
        g = aj.function(tensor_if)
        assert float(g(aj.constant(-2.0))) == 2.0 and float(g(aj.constant(2.0))) == 2.0


def test_9_python_return_values_are_those_of_the_trace():
    state = {"calls": 0}

    @fn
    def f(x):
        state["calls"] += 1
        return x + 1.0, state["calls"]

    assert f(aj.constant(1.0))[1] == 1
    assert f(aj.constant(1.0))[1] == 1  # not 2: the Python int was fixed at the trace


def test_10_another_shape_retraces_unless_told_otherwise():
    f = fn(lambda x: aj.reduce_sum(x))
    f(aj.ones((2,)))
    f(aj.ones((3,)))
    assert f.tracing_count == 2
    g = aj.function(lambda x: aj.reduce_sum(x), autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([None])])
    g(aj.ones((2,)))
    g(aj.ones((3,)))
    assert g.tracing_count == 1
