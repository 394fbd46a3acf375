"""``autojit.compat.v1``: TensorFlow 1's define-and-run API on autojit's IR, passes and code
generation. ``import autojit.compat.v1 as tf`` and TF1 code runs as written::

    x = tf.placeholder(tf.float32)
    w = tf.Variable(2.0, name="weight")
    z = w * x
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print(sess.run(z, feed_dict={x: 3.0}))  # 6.0

Every op here builds a graph node (a deferred call, Note [Deferred calls] in
``autojit/compat/graph.py``), whatever its arguments; operators on v1 tensors and variables
do too. Eager autojit code (``aj.*`` on ``aj.Tensor``s) stays eager, inside ``as_default()``
as well. Differences from TF1: variables hold their initial value from creation, a
``Session`` fetches NumPy values but shares variables with every other session, and there
are no collections, control dependencies or ``tf.cond``/``tf.while_loop`` in v1 graphs.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable

from autojit.compat.graph import (Graph, Operation, Tensor, Variable, defer, get_default_graph,
                                  global_variables, global_variables_initializer, gradients,
                                  placeholder, reset_default_graph, trainable_variables,
                                  variables_initializer)
from autojit.compat.session import Session
from autojit.dtypes import (bool, float16, float32, float64, int8, int16, int32,  # noqa: A004
                            int64, uint8)
from autojit.ops import array as _array
from autojit.ops import indexing as _indexing
from autojit.ops import linalg as _linalg
from autojit.ops import math as _math
from autojit.ops import nn as _nn
from autojit.ops import random as _random
from autojit.ops import reduce as _reduce


def graph_op(fn: Callable, name: str | None = None) -> Callable:
    """``fn`` as a v1 op: each call adds a deferred call of ``fn`` to the graph and returns
    its v1 tensors; ``fn`` runs on symbolic tensors when a session compiles (it may use
    ``aj.*`` and ``tf.*`` ops alike). A ``name=`` argument names the node (TF1 style).

    Usage: ``softplus = tf.graph_op(lambda t: tf.log(1.0 + tf.exp(t)), "softplus")``
    """
    default = name or fn.__name__

    @functools.wraps(fn)
    def op(*args: Any, name: str | None = None, **kwargs: Any) -> Any:
        return defer(fn, args, kwargs, name or default)

    return op


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const") -> Tensor:
    """A constant node. Usage: ``a = tf.constant(5); sess.run(a + 3)`` (8)"""
    return defer(_array.constant, (value,), {"dtype": dtype, "shape": shape}, name or "Const")


# The autojit ops, as graph ops. Names follow TF1 where it differs (random_normal).
_OPS = {module: names.split() for module, names in [
    (_math, "abs add cast clip_by_value cos divide equal exp floordiv greater greater_equal "
            "less less_equal log log1p logical_and logical_not logical_or logical_xor maximum "
            "minimum mod multiply negative not_equal pow rsqrt sigmoid sign sin sqrt square "
            "subtract tanh where"),
    (_array, "concat expand_dims fill identity ones ones_like reshape shape squeeze stack "
             "stop_gradient tile transpose unstack zeros zeros_like"),
    (_indexing, "gather one_hot"),
    (_linalg, "matmul"),
    (_reduce, "argmax argmin reduce_all reduce_any reduce_max reduce_mean reduce_min "
              "reduce_prod reduce_sum"),
]}
for _module, _names in _OPS.items():
    for _name in _names:
        globals()[_name] = graph_op(getattr(_module, _name))
random_normal = graph_op(_random.normal, "random_normal")
random_uniform = graph_op(_random.uniform, "random_uniform")
nn = types.SimpleNamespace(
    relu=graph_op(_nn.relu), softmax=graph_op(_nn.softmax), log_softmax=graph_op(_nn.log_softmax),
    sigmoid=graph_op(_math.sigmoid), tanh=graph_op(_math.tanh),
    softmax_cross_entropy_with_logits=graph_op(_nn.softmax_cross_entropy_with_logits),
    sparse_softmax_cross_entropy_with_logits=graph_op(
        _nn.sparse_softmax_cross_entropy_with_logits))

__all__ = ["Graph", "Operation", "Session", "Tensor", "Variable", "constant", "get_default_graph",
           "global_variables", "global_variables_initializer", "gradients", "graph_op", "nn",
           "placeholder", "random_normal", "random_uniform", "reset_default_graph",
           "trainable_variables", "variables_initializer", "bool", "float16", "float32",
           "float64", "int8", "int16", "int32", "int64", "uint8",
           *[name for names in _OPS.values() for name in names]]
