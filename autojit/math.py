"""``aj.math``: elementwise math, reductions and friends, as ``tf.math``.

Usage: ``aj.math.log(x)``, ``aj.math.reduce_sum(x, axis=1)``, ``aj.math.add_n([a, b])``
"""

from autojit.ops.array import add_n
from autojit.ops.math import (
                              abs,
                              add,
                              cos,
                              divide,
                              equal,
                              exp,
                              floordiv,
                              greater,
                              greater_equal,
                              less,
                              less_equal,
                              log,
                              log1p,
                              logical_and,
                              logical_not,
                              logical_or,
                              logical_xor,
                              maximum,
                              minimum,
                              mod,
                              multiply,
                              negative,
                              not_equal,
                              pow,
                              rsqrt,
                              sigmoid,
                              sign,
                              sin,
                              sqrt,
                              square,
                              subtract,
                              tanh,
)
from autojit.ops.nn import log_softmax, softmax
from autojit.ops.reduce import (
                              argmax,
                              argmin,
                              reduce_all,
                              reduce_any,
                              reduce_max,
                              reduce_mean,
                              reduce_min,
                              reduce_prod,
                              reduce_sum,
)

floormod = mod  # TF's name for Python's %
truediv = divide

__all__ = ["abs", "add", "add_n", "argmax", "argmin", "cos", "divide", "equal", "exp",
           "floordiv", "floormod", "greater", "greater_equal", "less", "less_equal", "log",
           "log1p", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
           "maximum", "minimum", "mod", "multiply", "negative", "not_equal", "pow",
           "reduce_all", "reduce_any", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod",
           "reduce_sum", "rsqrt", "sigmoid", "sign", "sin", "softmax", "sqrt", "square",
           "subtract", "tanh", "truediv"]
