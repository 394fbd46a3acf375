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
