"""Op-table entries for the activations and normalization of issue 9 and the sigmoid
cross-entropy and ``l2_loss`` (compositions, each listed under one op it runs), and the
pointer for ``dropout_mask`` (random: its own file).
"""

from __future__ import annotations

import math

import numpy as np
from op_table import FLOATS, UNARY_SHAPES, Case, F
from op_table import Entry as E

import autojit as aj

_erf = np.vectorize(math.erf, otypes=[np.float64])
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _gelu_ref(x, approximate=False):
    if approximate:
        c = math.sqrt(2 / math.pi)
        return (0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))).astype(x.dtype)
    return (0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _elu(x):
    return np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1).astype(x.dtype)


def _moments_ref(x, axes, keepdims=False):
    axes = tuple(axes)
    mean = x.mean(axis=axes, keepdims=keepdims)
    var = ((x - x.mean(axis=axes, keepdims=True)) ** 2).mean(axis=axes, keepdims=keepdims)
    return mean.astype(x.dtype), var.astype(x.dtype)


def _bn_ref(x, mean, variance, offset, scale, variance_epsilon):
    y = (x - mean) / np.sqrt(variance + variance_epsilon)
    if scale is not None:
        y = y * scale
    if offset is not None:
        y = y + offset
    return y.astype(x.dtype)


def _l2_ref(x, axis=None, epsilon=1e-12):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return (x / np.sqrt(np.maximum((x ** 2).sum(axis=axis, keepdims=True), epsilon))).astype(
        x.dtype)


def _sigmoid_xent_ref(labels, logits):
    x, z = logits, labels
    return (np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


def _cases(kind="normal", **attrs):
    return [Case((F(s, kind),), dict(attrs)) for s in UNARY_SHAPES]


ENTRIES = [
    E("erf", aj.nn.gelu, _gelu_ref, _cases(), FLOATS),
    E("tanh", aj.nn.gelu, _gelu_ref, _cases(approximate=True), FLOATS),
    E("where", aj.nn.leaky_relu, lambda x, alpha=0.2: np.where(x > 0, x, alpha * x),
      _cases("away") + [Case((F((3, 4), "away"),), {"alpha": 0.01})], FLOATS),
    E("where", aj.nn.elu, _elu, _cases("away"), FLOATS),
    E("expm1", aj.nn.selu, lambda x: (_SELU_SCALE * np.where(
        x > 0, x, _SELU_ALPHA * (np.exp(np.minimum(x, 0)) - 1))).astype(x.dtype),
      _cases("away"), FLOATS),
    E("sigmoid", aj.nn.silu, lambda x, beta=1.0: (x * _sigmoid(beta * x)).astype(x.dtype),
      _cases() + [Case((F((3, 4)),), {"beta": 1.7})], FLOATS),
    E("sigmoid", aj.nn.swish, lambda x: (x * _sigmoid(x)).astype(x.dtype), _cases(), FLOATS),
    E("softplus", aj.math.log_sigmoid, lambda x: np.log(_sigmoid(x)).astype(x.dtype), _cases(),
      FLOATS),
    E("reduce_mean", aj.nn.moments, _moments_ref,
      [Case((F((4, 3)),), {"axes": [0]}), Case((F((2, 3, 4)),), {"axes": [0, 1]}),
       Case((F((2, 3, 4)),), {"axes": [-1], "keepdims": True}), Case((F((5,)),), {"axes": [0]})],
      FLOATS),
    E("rsqrt", aj.nn.batch_normalization, _bn_ref,
      [Case((F((4, 3)), F((3,)), F((3,), "pos"), F((3,)), F((3,))), {"variance_epsilon": 1e-3}),
       Case((F((2, 2, 3)), F((1, 1, 3)), F((1, 1, 3), "pos"), None, F((3,))),
            {"variance_epsilon": 1e-5}),
       Case((F((4, 3)), F((3,)), F((3,), "pos"), F((3,)), None), {"variance_epsilon": 0.1}),
       Case((F((4, 3)), F((3,)), F((3,), "pos"), None, None), {"variance_epsilon": 0.1})],
      FLOATS),
    E("rsqrt", aj.nn.l2_normalize, _l2_ref,
      [Case((F((3, 4)),)), Case((F((3, 4)),), {"axis": 1}), Case((F((2, 3, 4)),), {"axis": [0, 2]}),
       Case((F((5,)),), {"axis": 0})], FLOATS),
    E("log1p", aj.nn.sigmoid_cross_entropy_with_logits, _sigmoid_xent_ref,
      [Case((F(s, "unit"), F(s))) for s in UNARY_SHAPES] + [Case((F((3, 4), "unit"),
                                                                 F((3, 4), "away")))], FLOATS),
    E("reduce_sum", aj.nn.l2_loss, lambda t: (np.sum(t ** 2) / 2).astype(t.dtype), _cases(),
      FLOATS),
]

# Random: tested for fresh masks per call and replay, scaling and gradients there.
TESTED_ELSEWHERE = {"dropout_mask": "tests/ops/test_dropout.py"}
