"""autojit: eager tensors on NumPy/CuPy, GradientTape, Modules, and @function graphs.

Usage: ``import autojit as aj``
"""

from autojit import dtypes, nest
from autojit.autodiff import GradientTape, UnconnectedGradients, custom_gradient
from autojit.backend import Device, device, get_device, gpu_available, list_devices
from autojit.dtypes import (as_dtype, bool, float16, float32, float64, int8, int16, int32,
                            int64, uint8)
from autojit.ops.array import (constant, expand_dims, identity, ones, ones_like, reshape,
                               stack, stop_gradient, unstack, zeros, zeros_like)
from autojit.ops.core import TensorSpec
from autojit.tensor_shape import TensorShape
from autojit.ops.linalg import matmul
from autojit.ops.math import (abs, add, cast, clip_by_value, cos, divide, equal, exp, greater,
                              greater_equal, less, less_equal, log, logical_and, logical_not,
                              logical_or, maximum, minimum, multiply, negative, not_equal, pow,
                              sigmoid, sign, sin, sqrt, square, subtract, tanh, where)
from autojit.ops.reduce import (argmax, argmin, reduce_all, reduce_any, reduce_max, reduce_mean,
                                reduce_min, reduce_prod, reduce_sum)
from autojit.tensor import Tensor, convert_to_tensor, from_dlpack

__version__ = "0.1.0"
from autojit.variables import Variable, name_scope  # noqa: E402
from autojit.module import Module  # noqa: E402
from autojit import optimizers  # noqa: E402
from autojit import config  # noqa: E402
from autojit.function import ConcreteFunction, Function, RetracingWarning, function  # noqa: E402
from autojit.graph.control import cond, while_loop  # noqa: E402
from autojit.tensor_array import TensorArray  # noqa: E402
from autojit.ops.io import print  # noqa: E402,A001

# --- array, indexing, nn and random ops; the aj.math / aj.nn / aj.random / aj.linalg namespaces
from autojit.ops.array import (add_n, broadcast_to, concat, eye, fill, linspace, pad,  # noqa: E402
                               rank, shape, size, split, squeeze, tile, transpose)
from autojit.ops.array import arange as range  # noqa: E402,A001  (tf.range)
from autojit.ops.indexing import gather, one_hot  # noqa: E402
# more math, n-d indexing and sorting (issue 9); this where also takes a condition alone
from autojit.ops.clipping import clip_by_global_norm, clip_by_norm, norm  # noqa: E402
from autojit.ops.einsum import einsum  # noqa: E402
from autojit.ops.extra_math import reduce_logsumexp  # noqa: E402
from autojit.ops.scan import cumprod, cumsum  # noqa: E402
from autojit.ops.scatter import (boolean_mask, gather_nd, scatter_nd,  # noqa: E402
                                 tensor_scatter_nd_add, tensor_scatter_nd_update, where)
from autojit.ops.sorting import argsort, sort  # noqa: E402
# rounding and trigonometry where TF 2 has them at top level too (tf.floor, not tf.ceil)
from autojit.ops.math import (acos, acosh, asin, asinh, atan, atan2, atanh, cosh,  # noqa: E402
                              floor, round, sinh, tan)
# reordering, repeating, grids and masks; tensordot (also aj.linalg.tensordot, as TF)
from autojit.ops.extra_array import meshgrid, repeat, reverse, roll, sequence_mask  # noqa: E402
from autojit.ops.linalg import tensordot  # noqa: E402
from autojit import linalg, math, nn, random  # noqa: E402
from autojit import initializers  # noqa: E402
from autojit import metrics  # noqa: E402
from autojit import data, keras, layers, losses  # noqa: E402
from autojit import compat  # noqa: E402
from autojit import autograph  # noqa: E402
from autojit import train  # noqa: E402
from autojit import saved_model  # noqa: E402
from autojit.functional import foldl, foldr, map_fn, scan, vectorized_map  # noqa: E402
from autojit import debugging  # noqa: E402
from autojit.context import control_dependencies, executing_eagerly, init_scope, no_op  # noqa: E402
from autojit.ops.array import ensure_shape, identity_n  # noqa: E402
from autojit import image  # noqa: E402
from autojit.ops.counting import searchsorted, unique, unique_with_counts  # noqa: E402
from autojit.tensor import is_tensor  # noqa: E402
# more TF names: scatters, partition/stitch, truncating division, switch_case/case
from autojit.ops.scatter_more import (tensor_scatter_nd_max, tensor_scatter_nd_min,  # noqa: E402
                                      tensor_scatter_nd_sub)
from autojit.ops.partition import dynamic_partition, dynamic_stitch  # noqa: E402
from autojit.math import truncatediv, truncatemod  # noqa: E402
from autojit.graph.control import case, switch_case  # noqa: E402
