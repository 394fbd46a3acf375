"""The lecture's two examples of data-dependent graphs:
``y = w1*x if z > 0 else w2*x`` and ``y_t = (y_{t-1} + x_t) * w``."""

import numpy as np

import autojit as aj

from .helpers import op_names


@aj.function
def choose(x, z, w1, w2):
    y = w1 * x if z > 0 else w2 * x
    return y


@aj.function
def recurrence(xs, w):
    y = aj.zeros_like(xs[0])
    for x_t in xs:
        y = (y + x_t) * w
    return y


def test_conditional_graph():
    w1, w2, x = aj.constant(3.0), aj.constant(5.0), aj.constant(2.0)
    assert choose(x, aj.constant(1.0), w1, w2).numpy() == 6.0
    assert choose(x, aj.constant(-1.0), w1, w2).numpy() == 10.0
    assert choose.tracing_count == 1
    assert "cond" in op_names(choose.get_concrete_function(x, aj.constant(1.0), w1, w2).graph)
    for z, want in ((1.0, [2.0, 0.0]), (-1.0, [0.0, 2.0])):
        with aj.GradientTape() as tape:
            tape.watch([w1, w2])
            y = choose(x, aj.constant(z), w1, w2)
        grads = tape.gradient(y, [w1, w2])
        assert [0.0 if g is None else float(g) for g in grads] == want


def test_recurrent_graph():
    w = aj.constant(0.5)
    for values in ([1.0, 2.0, 3.0], [4.0, -1.0, 0.5]):
        xs = aj.constant(np.array(values, np.float32))
        y = 0.0
        for x_t in values:
            y = (y + x_t) * 0.5
        assert recurrence(xs, w).numpy() == np.float32(y)
    assert recurrence.tracing_count == 1
    assert "while_loop" in op_names(recurrence.get_concrete_function(xs, w).graph)
    with aj.GradientTape() as tape:
        tape.watch([xs, w])
        y = recurrence(xs, w)
    g_xs, g_w = tape.gradient(y, [xs, w])
    # y = x0 w^3 + x1 w^2 + x2 w
    np.testing.assert_allclose(g_xs.numpy(), [0.125, 0.25, 0.5])
    np.testing.assert_allclose(float(g_w), 3 * 4.0 * 0.25 + 2 * -1.0 * 0.5 + 0.5)
