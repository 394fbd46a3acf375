"""``aj.math``: elementwise math, reductions and friends, as ``tf.math``.

Usage: ``aj.math.log(x)``, ``aj.math.reduce_sum(x, axis=1)``, ``aj.math.add_n([a, b])``
"""

from autojit.ops.array import add_n
from autojit.ops.counting import bincount
from autojit.ops.math import (
                              abs,
                              acos,
                              acosh,
                              add,
                              asin,
                              asinh,
                              atan,
                              atan2,
                              atanh,
                              ceil,
                              cos,
                              cosh,
                              divide,
                              equal,
                              exp,
                              floor,
                              floordiv,
                              greater,
                              greater_equal,
                              is_finite,
                              is_inf,
                              is_nan,
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
                              round,
                              rsqrt,
                              sigmoid,
                              sign,
                              sin,
                              sinh,
                              sqrt,
                              square,
                              subtract,
                              tan,
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

# more math (issue 9)
from autojit.ops.activations import log_sigmoid  # noqa: E402
from autojit.ops.extra_math import erf, expm1, reduce_logsumexp, softplus  # noqa: E402
# TF's rounding, trigonometric and NaN tests, and its compositions (divide_no_nan, ...)
from autojit.ops.extra_math import (divide_no_nan, reciprocal, reduce_euclidean_norm,  # noqa: E402
                                    reduce_std, reduce_variance, squared_difference, xlogy)
from autojit.ops.extra_math import count_nonzero  # noqa: E402
from autojit.ops.extra_math import truncatediv, truncatemod  # noqa: E402
from autojit.ops.normalization import l2_normalize  # noqa: E402
from autojit.ops.scan import cumprod, cumsum  # noqa: E402
from autojit.ops.scatter import where  # noqa: E402  (also where(condition) alone)
from autojit.ops.segments import (segment_max, segment_mean, segment_min,  # noqa: E402
                                  segment_prod, segment_sum, unsorted_segment_max,
                                  unsorted_segment_mean, unsorted_segment_min,
                                  unsorted_segment_prod, unsorted_segment_sqrt_n,
                                  unsorted_segment_sum)
from autojit.ops.sorting import argsort, sort, top_k  # noqa: E402

floormod = mod  # TF's name for Python's %
truediv = divide

__all__ = ["abs", "add", "add_n", "argmax", "argmin", "cos", "divide", "equal", "exp",
           "floordiv", "floormod", "greater", "greater_equal", "less", "less_equal", "log",
           "log1p", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
           "maximum", "minimum", "mod", "multiply", "negative", "not_equal", "pow",
           "reduce_all", "reduce_any", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod",
           "reduce_sum", "rsqrt", "sigmoid", "sign", "sin", "softmax", "sqrt", "square",
           "subtract", "tanh", "truediv"]
__all__ += ["argsort", "cumprod", "cumsum", "erf", "expm1", "l2_normalize", "log_sigmoid",
            "reduce_logsumexp", "segment_sum", "softplus", "sort", "top_k",
            "unsorted_segment_sum", "where"]
__all__ += ["acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cosh",
            "divide_no_nan", "floor", "is_finite", "is_inf", "is_nan", "reciprocal",
            "reduce_euclidean_norm", "reduce_std", "reduce_variance", "round", "sinh",
            "squared_difference", "tan", "xlogy"]
__all__ += ["bincount", "count_nonzero"]
__all__ += ["segment_max", "segment_mean", "segment_min", "segment_prod", "truncatediv",
            "truncatemod", "unsorted_segment_max", "unsorted_segment_mean",
            "unsorted_segment_min", "unsorted_segment_prod", "unsorted_segment_sqrt_n"]
