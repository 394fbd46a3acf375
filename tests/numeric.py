"""Test helper shared by the gradient tests: central finite differences in float64."""

from __future__ import annotations

import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """d f / d x by central differences, one element at a time (``f``: NumPy in, float out)."""
    x = np.asarray(x, np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


def check_graph_replays_eager(fn, inputs, rtol=1e-12):
    """``fn(x)`` and the gradient of ``sum(fn(x)**2)`` through one ``@aj.function``: each
    input of ``inputs`` (the first traces, the others replay) gives the eager values, with
    one trace. Usage: ``check_graph_replays_eager(aj.linalg.det, [a1, a2])``"""
    import autojit as aj

    def value_and_grad(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            loss = aj.reduce_sum(y * y)
        return y, tape.gradient(loss, x)

    traced = aj.function(value_and_grad)
    for x in inputs:
        for e, g in zip(value_and_grad(x), traced(x)):
            assert g.shape == e.shape
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol)
    assert traced.tracing_count == 1


def check_directional_derivatives(loss, variables, grads, rng, eps=1e-6, rtol=1e-6,
                                  atol=1e-8):
    """Each Variable's gradient against the central difference of ``loss()`` along a random
    direction (one evaluation pair per Variable, however large it is).

    Usage: ``check_directional_derivatives(lambda: f(x), layer.weights, grads, rng)``"""
    for var, grad in zip(variables, grads):
        base = var.numpy().copy()
        direction = rng.standard_normal(base.shape)
        var.assign(base + eps * direction)
        up = float(loss())
        var.assign(base - eps * direction)
        down = float(loss())
        var.assign(base)
        np.testing.assert_allclose(np.sum(np.asarray(grad) * direction),
                                   (up - down) / (2 * eps), rtol=rtol, atol=atol)
