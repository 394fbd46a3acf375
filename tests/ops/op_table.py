"""The op table: every registered op with a NumPy reference and the inputs to try it on.

One ``Entry`` per op (an op may have several): the autojit call, a NumPy reference, and
``Case``s (input specs plus keyword attrs). ``test_op_table.py`` runs each case forward
against the reference (value, shape, dtype; also the op's shape rule on ``TensorSpec``s with
known and unknown dims), checks VJPs against central differences through random inner
products (autograd's ``check_grads``), and second derivatives through nested tapes.
``test_gpu_ops.py`` runs the same table on ``GPU:0``.

Input specs: ``F(shape, kind)`` a float array of the case's dtype (``kind`` keeps it away
from kinks and outside domains: "normal", "pos", "neg", "away" from 0, "small", "distinct"
values with no ties, "unit" inside (-1, 1), "gt1" above 1); ``I(shape, lo, hi)`` ints;
``B(shape)`` bools; ``S(x)`` a Python scalar (float for float cases, int for int cases);
anything else is passed as it is.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

import autojit as aj
import autojit.variables  # its ops must be registered before the registry is read
from autojit.ops import core
from autojit.ops.array import (
    CONCAT_GRAD,
    PAD_GRAD,
    RESHAPE_DYNAMIC,
    SIZE_ALONG,
    TILE_GRAD,
    reshape_like,
)
from autojit.ops.core import bind
from autojit.ops.creation import FILL_DYNAMIC
from autojit.ops.indexing import (
    GATHER_GRAD,
    GETITEM_ADVANCED_GRAD,
    GETITEM_GRAD,
    INDEX_AT,
    INDEX_AT_GRAD,
    IndexKey,
    Slot,
)
from autojit.ops.math import broadcast_like, unbroadcast
from autojit.ops.nn import RELU_GRAD

F32, F64, I32, I64 = np.dtype("float32"), np.dtype("float64"), np.dtype("int32"), np.dtype("int64")
FLOATS = (F32, F64)
NUMERIC = (F32, F64, I32)

# ----------------------------------------------------------------------------- input specs


@dataclasses.dataclass(frozen=True)
class F:
    shape: tuple
    kind: str = "normal"

    def make(self, rng, dtype):
        shape, n = self.shape, int(np.prod(self.shape))
        if dtype.kind in "iu":
            table = {"normal": (-5, 6), "pos": (1, 6), "small": (0, 4), "neg": (-5, 0),
                     "unit": (0, 1), "gt1": (2, 6)}
            if self.kind == "away":
                v = rng.integers(1, 6, shape) * rng.choice([-1, 1], shape)
            elif self.kind == "distinct":
                v = rng.permutation(n).reshape(shape) - n // 2
            else:
                v = rng.integers(*table[self.kind], shape)
            return np.asarray(v, dtype)
        if self.kind == "pos":
            v = rng.uniform(0.5, 2.0, shape)
        elif self.kind == "neg":
            v = rng.uniform(-2.0, -0.5, shape)
        elif self.kind == "away":
            v = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif self.kind == "small":
            v = rng.uniform(-2.0, 2.0, shape)
        elif self.kind == "unit":  # asin, acos, atanh; tan away from its poles at +-pi/2
            # (inside (-1, 1) also after test_fuse's wrapping 1.5 * x - 0.25)
            v = rng.uniform(-0.45, 0.75, shape)
        elif self.kind == "gt1":  # acosh
            v = rng.uniform(1.2, 3.0, shape)
        elif self.kind == "distinct":  # no ties: gradients of max/min/argmax are defined
            v = (rng.permutation(n).reshape(shape) - n / 2) * 0.3 + rng.uniform(0, 0.1, shape)
        else:
            v = rng.standard_normal(shape)
        return np.asarray(v, dtype)

    def __str__(self):
        return f"f{list(self.shape)}" + ("" if self.kind == "normal" else self.kind[:3])


@dataclasses.dataclass(frozen=True)
class I:  # noqa: E742
    shape: tuple
    lo: int
    hi: int
    dtype: Any = I32

    def make(self, rng, dtype):
        return np.asarray(rng.integers(self.lo, self.hi, self.shape), self.dtype)

    def __str__(self):
        return f"i{list(self.shape)}"


@dataclasses.dataclass(frozen=True)
class B:
    shape: tuple

    def make(self, rng, dtype):
        return rng.random(self.shape) < 0.5

    def __str__(self):
        return f"b{list(self.shape)}"


@dataclasses.dataclass(frozen=True)
class S:
    value: float

    def make(self, rng, dtype):
        return int(self.value) if dtype.kind in "iu" else float(self.value)

    def __str__(self):
        return f"s{self.value}"


@dataclasses.dataclass
class Case:
    args: tuple
    attrs: dict = dataclasses.field(default_factory=dict)

    def label(self) -> str:
        parts = ["x".join(str(a) if hasattr(a, "make") else type(a).__name__ for a in self.args)]
        parts += [f"{k}={_short(v)}" for k, v in self.attrs.items()]
        return ",".join(p for p in parts if p) or "noargs"


def _short(value):
    if isinstance(value, np.dtype):
        return value.name
    text = repr(value).replace("slice", "sl").replace(" ", "")
    return text if len(text) < 40 else text[:37] + "..."


@dataclasses.dataclass
class Entry:
    op: str  # the registered op this entry exercises
    fn: Callable  # autojit call: fn(*inputs, **attrs)
    ref: Callable  # NumPy reference: ref(*arrays, **attrs)
    cases: list
    dtypes: tuple = (F32,)  # the dtypes F inputs take in forward tests
    grad: int = 2  # 0: none, 1: first derivatives, 2: also second
    rtol: float = 1e-5  # forward, float32 (float64 uses 1e-10)
    atol: float = 1e-6
    fd_step: float = 1e-5  # central differences
    grad_rtol: float = 1e-5  # analytic vs central differences
    value_dependent_shape: bool = False  # output dims a TensorSpec rule cannot know

    def ids(self):
        return [f"{self.op}[{c.label()}]" for c in self.cases]


def make_inputs(case: Case, dtype: np.dtype, seed_text: str) -> list:
    """The case's inputs as NumPy arrays / Python values, reproducible per ``seed_text``."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    return [a.make(rng, dtype) if hasattr(a, "make") else a for a in case.args]


def to_tensors(values: list, device: str | None = None) -> list:
    """Arrays as autojit tensors (on ``device``), other values unchanged."""
    out = []
    for v in values:
        if isinstance(v, np.ndarray):
            t = aj.constant(v)
            out.append(t.to(device) if device else t)
        else:
            out.append(v)
    return out


def as_list(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


# ----------------------------------------------------------------------------- helpers


def _sum_to(g, shape):
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, d in enumerate(shape):
        if d == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def _one_hot_ref(indices, depth, on_value=1, off_value=0, axis=-1, dtype=F32):
    hot = np.asarray(indices)[..., None] == np.arange(depth)
    out = np.where(hot, on_value, off_value).astype(dtype)
    return np.moveaxis(out, -1, axis)


def _constant_ref(value, dtype=None):
    # TF's defaults: Python floats become float32 and ints int32; NumPy arrays keep theirs.
    array = np.asarray(value)
    if dtype is None and not isinstance(value, np.ndarray):
        dtype = {"f": F32, "i": I32}.get(array.dtype.kind)
    return array.astype(dtype or array.dtype)


def _log_softmax_ref(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _pad_adjoint_ref(g, like, paddings, mode):
    # The padding as an explicit matrix (the padded images of the unit vectors), transposed.
    n = like.size
    columns = [np.pad(np.eye(n)[j].reshape(like.shape), paddings, mode=mode.lower()).ravel()
               for j in range(n)]
    return (np.stack(columns, axis=1).T @ g.ravel()).reshape(like.shape).astype(g.dtype)


def _split_ref(x, num_or_size_splits, axis=0):
    if isinstance(num_or_size_splits, int):
        return np.split(x, num_or_size_splits, axis=axis)
    sizes = list(num_or_size_splits)
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - sum(s for s in sizes if s != -1)
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _range_ref(start, limit=None, delta=1, dtype=None):
    if limit is None:
        start, limit = 0, start
    if dtype is None:
        dtype = F32 if any(isinstance(v, float) for v in (start, limit, delta)) else I32
    return np.arange(start, limit, delta, dtype=dtype)


class Arg:
    """In a getitem key template: the i-th extra argument (a tensor index)."""

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return f"Arg({self.i})"


def _key(template, extra):
    key = template if isinstance(template, tuple) else (template,)
    return tuple(extra[k.i] if isinstance(k, Arg) else k for k in key)


def _index_fn(x, *extra, key):
    return x[_key(key, extra)]


def _index_ref(x, *extra, key):
    return np.asarray(x[_key(key, extra)])


# ----------------------------------------------------------------------------- entry builders

UNARY_SHAPES = [(), (5,), (3, 4)]
BINARY_PAIRS = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4)), ((3, 4), None),
                (None, (3, 4))]


def unary(op, fn, ref, kind="normal", dtypes=FLOATS, **options):
    return Entry(op, fn, ref, [Case((F(s, kind),)) for s in UNARY_SHAPES], dtypes, **options)


def binary(op, fn, ref, kinds=("normal", "normal"), scalar=2.5, dtypes=NUMERIC, **options):
    cases = []
    for a, b in BINARY_PAIRS:
        args = (S(scalar) if a is None else F(a, kinds[0]),
                S(scalar) if b is None else F(b, kinds[1]))
        cases.append(Case(args))
    return Entry(op, fn, ref, cases, dtypes, **options)


def reduction(op, fn, ref, kind="normal", dtypes=NUMERIC, **options):
    cases = [Case((F((), kind),), {"axis": None, "keepdims": False})]
    for shape in [(3, 4), (2, 3, 4)]:
        axes = [None, *range(len(shape)), -1, (0, len(shape) - 1)]
        for axis in axes:
            for keepdims in (False, True):
                cases.append(Case((F(shape, kind),), {"axis": axis, "keepdims": keepdims}))
    return Entry(op, fn, ref, cases, dtypes, **options)


def _np_reduce(f):
    return lambda x, axis=None, keepdims=False: np.asarray(
        f(x, axis=axis, keepdims=keepdims, dtype=x.dtype))


def _np_extreme(f):
    return lambda x, axis=None, keepdims=False: np.asarray(f(x, axis=axis, keepdims=keepdims))


def compare(op, fn, ref):
    return binary(op, fn, ref, grad=0)


# is_nan, is_inf, is_finite: random values and every special value
_PREDICATE_CASES = [Case((F(s),)) for s in UNARY_SHAPES] + [
    Case((np.array([np.nan, np.inf, -np.inf, 0.0, -1.5, 3e38], np.float32),))]


# ----------------------------------------------------------------------------- the table

@aj.custom_gradient
def _custom_sin(x):
    return aj.sin(x), lambda dy: dy * aj.cos(x)


_SAVED_SIN_GRADS: dict = {}


def _saved_sin(x):
    """sin with the form ``aj.saved_model`` writes a custom gradient in: a
    ``custom_gradient_saved`` node whose ``grad`` is the traced gradient graph."""
    from autojit.autodiff import CUSTOM_GRADIENT_SAVED

    x = aj.convert_to_tensor(x)
    key = (tuple(x.shape), x.dtype)
    if key not in _SAVED_SIN_GRADS:
        spec = aj.TensorSpec(x.shape, x.dtype)
        grad = aj.function(lambda v, dy: (dy * aj.cos(v),), autograph=False)
        _SAVED_SIN_GRADS[key] = grad.get_concrete_function(spec, spec).graph
    return core.bind(CUSTOM_GRADIENT_SAVED, x, aj.sin(x), grad=_SAVED_SIN_GRADS[key],
                     n_args=1, n_vars=0)[0]


E = Entry
TABLE: list[Entry] = [
    # --- arithmetic
    binary("add", aj.add, np.add),
    binary("subtract", aj.subtract, np.subtract),
    binary("multiply", aj.multiply, np.multiply),
    binary("divide", aj.divide, np.true_divide, kinds=("normal", "away")),
    binary("floordiv", aj.math.floordiv, np.floor_divide, kinds=("normal", "away")),
    binary("mod", aj.math.mod, np.mod, kinds=("normal", "away")),
    binary("pow", aj.pow, np.power, kinds=("pos", "small"), scalar=2.0),
    binary("maximum", aj.maximum, np.maximum, kinds=("distinct", "distinct"), scalar=0.35),
    binary("minimum", aj.minimum, np.minimum, kinds=("distinct", "distinct"), scalar=0.35),
    unary("negative", aj.negative, np.negative, dtypes=NUMERIC),
    unary("abs", aj.abs, np.abs, kind="away", dtypes=NUMERIC),
    unary("sign", aj.sign, np.sign, kind="away", dtypes=NUMERIC),
    unary("square", aj.square, np.square, dtypes=NUMERIC),
    unary("exp", aj.exp, np.exp),
    unary("log", aj.math.log, np.log, kind="pos"),
    unary("log1p", aj.math.log1p, np.log1p, kind="pos"),
    unary("sqrt", aj.sqrt, np.sqrt, kind="pos"),
    unary("rsqrt", aj.math.rsqrt, lambda x: 1 / np.sqrt(x), kind="pos"),
    unary("sin", aj.sin, np.sin),
    unary("cos", aj.cos, np.cos),
    unary("tanh", aj.tanh, np.tanh),
    unary("sigmoid", aj.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    # --- rounding (normal draws keep a central difference's step off the jumps) and tests
    unary("floor", aj.floor, np.floor),
    unary("ceil", aj.math.ceil, np.ceil),
    unary("round", aj.round, np.round, dtypes=NUMERIC),
    E("is_nan", aj.math.is_nan, np.isnan, _PREDICATE_CASES, FLOATS, grad=0),
    E("is_inf", aj.math.is_inf, np.isinf, _PREDICATE_CASES, FLOATS, grad=0),
    E("is_finite", aj.math.is_finite, np.isfinite, _PREDICATE_CASES, FLOATS, grad=0),
    # --- trigonometric and hyperbolic
    unary("tan", aj.tan, np.tan, kind="unit"),
    unary("asin", aj.asin, np.arcsin, kind="unit"),
    unary("acos", aj.acos, np.arccos, kind="unit"),
    unary("atan", aj.atan, np.arctan),
    # y away from 0: off the branch cut (y = 0, x < 0), where atan2 jumps by 2 pi
    binary("atan2", aj.atan2, np.arctan2, kinds=("away", "normal"), dtypes=FLOATS),
    unary("sinh", aj.sinh, np.sinh),
    unary("cosh", aj.cosh, np.cosh),
    unary("asinh", aj.asinh, np.arcsinh),
    unary("acosh", aj.acosh, np.arccosh, kind="gt1"),
    unary("atanh", aj.atanh, np.arctanh, kind="unit"),
    # --- comparisons and logic
    compare("equal", aj.equal, np.equal),
    compare("not_equal", aj.not_equal, np.not_equal),
    compare("less", aj.less, np.less),
    compare("less_equal", aj.less_equal, np.less_equal),
    compare("greater", aj.greater, np.greater),
    compare("greater_equal", aj.greater_equal, np.greater_equal),
    E("logical_and", aj.logical_and, np.logical_and,
      [Case((B((3, 4)), B((3, 4)))), Case((B((3, 1)), B((4,)))), Case((B((3,)), True))], grad=0),
    E("logical_or", aj.logical_or, np.logical_or, [Case((B((3, 4)), B((1, 4))))], grad=0),
    E("logical_xor", aj.math.logical_xor, np.logical_xor, [Case((B((3, 4)), B((3, 4))))],
      grad=0),
    E("logical_not", aj.logical_not, np.logical_not, [Case((B((3, 4)),)), Case((B(()),))],
      grad=0),
    # --- where, clip, cast
    E("where", lambda c, x, y: aj.where(c, x, y), np.where,
      [Case((B((3, 4)), F((3, 4)), F((3, 4)))), Case((B((3, 1)), F((1, 4)), F((3, 4)))),
       Case((B((3, 4)), F((3, 4)), S(0.0))), Case((B((4,)), S(1.5), F((3, 4))))], NUMERIC),
    E("clip_by_value", aj.clip_by_value, np.clip,
      [Case((F((3, 4)), S(-0.5), S(0.5))), Case((F((3, 4)), F((3, 1), "neg"), F((1, 4), "pos"))),
       Case((F((3, 4), "small"), F(()), S(1.0)))], NUMERIC),
    E("cast", aj.cast, lambda x, dtype: x.astype(dtype),
      [Case((F((3, 4)),), {"dtype": F64}), Case((F((3, 4)),), {"dtype": I32}),
       Case((F((5,)),), {"dtype": np.dtype(bool)}), Case((F(()),), {"dtype": np.dtype("float16")})],
      grad=0),
    E("cast", aj.cast, lambda x, dtype: x.astype(dtype),  # gradients: float64 -> float32
      [Case((F((3, 4)),), {"dtype": F32}), Case((F(()),), {"dtype": F32})], (F64,),
      fd_step=0.1, grad_rtol=1e-4),  # linear: a long step is exact but for float32 rounding
    # --- reductions
    reduction("reduce_sum", aj.reduce_sum, _np_reduce(np.sum)),
    reduction("reduce_mean", aj.reduce_mean, _np_reduce(np.mean)),
    reduction("reduce_prod", aj.reduce_prod, _np_reduce(np.prod), kind="away"),
    E("reduce_prod", aj.reduce_prod, _np_reduce(np.prod),  # an exact zero: first order only
      [Case((np.array([[1.5, 0.0, -2.0], [0.5, 2.0, 3.0]]),), {"axis": 1}),
       Case((np.array([0.0, 2.0, 0.0, 3.0]),), {"axis": None})], (F64,), grad=1),
    reduction("reduce_max", aj.reduce_max, _np_extreme(np.max), kind="distinct"),
    reduction("reduce_min", aj.reduce_min, _np_extreme(np.min), kind="distinct"),
    E("reduce_any", aj.reduce_any, _np_extreme(np.any),
      [Case((B((3, 4)),), {"axis": a, "keepdims": k}) for a in (None, 0, 1) for k in (0, 1)],
      grad=0),
    E("reduce_all", aj.reduce_all, _np_extreme(np.all),
      [Case((B((3, 4)),), {"axis": a, "keepdims": k}) for a in (None, 0, -1) for k in (0, 1)],
      grad=0),
    E("argmax", aj.argmax,
      lambda x, axis=0, output_type=I64: np.argmax(x, axis).astype(output_type),
      [Case((F((3, 4), "distinct"),), {"axis": a}) for a in (0, 1, -1)]
      + [Case((F((5,), "distinct"),), {"axis": 0, "output_type": I32})], NUMERIC, grad=0),
    E("argmin", aj.argmin,
      lambda x, axis=0, output_type=I64: np.argmin(x, axis).astype(output_type),
      [Case((F((3, 4), "distinct"),), {"axis": a}) for a in (0, 1)], NUMERIC, grad=0),
    # --- linear algebra
    E("matmul", aj.matmul,
      lambda a, b, transpose_a=False, transpose_b=False: np.matmul(
          np.swapaxes(a, -1, -2) if transpose_a else a,
          np.swapaxes(b, -1, -2) if transpose_b else b),
      [Case((F((3, 4)), F((4, 5)))), Case((F((2, 3, 4)), F((4, 5)))),
       Case((F((2, 3, 4)), F((2, 4, 5)))), Case((F((1, 3, 4)), F((2, 4, 2)))),
       Case((F((4, 3)), F((4, 5))), {"transpose_a": True}),
       Case((F((3, 4)), F((5, 4))), {"transpose_b": True})], NUMERIC),
    E("matrix_transpose", aj.linalg.matrix_transpose, lambda x: np.swapaxes(x, -1, -2),
      [Case((F((3, 4)),)), Case((F((2, 3, 4)),))], NUMERIC),
    # --- creation
    E("constant", lambda value, dtype=None: aj.constant(value, dtype=dtype), _constant_ref,
      [Case((), {"value": [[1.0, 2.0], [3.0, 4.0]]}), Case((), {"value": [1, 2, 3]}),
       Case((), {"value": 3.0, "dtype": F64}), Case((), {"value": [True, False]}),
       Case((), {"value": np.arange(3.0)})], grad=0),
    E("zeros", aj.zeros, lambda shape, dtype=F32: np.zeros(shape, dtype),
      [Case((), {"shape": (2, 3)}), Case((), {"shape": (), "dtype": I32})], grad=0),
    E("ones", aj.ones, lambda shape, dtype=F32: np.ones(shape, dtype),
      [Case((), {"shape": (2, 3)}), Case((), {"shape": 4, "dtype": F64})], grad=0),
    E("zeros_like", aj.zeros_like, np.zeros_like, [Case((F((3, 4)),)), Case((F(()),))], NUMERIC),
    E("ones_like", aj.ones_like, np.ones_like, [Case((F((3, 4)),))], NUMERIC),
    E("fill", lambda value, dims: aj.fill(dims, value),
      lambda value, dims: np.full(dims, value, _constant_ref(value).dtype),
      [Case((F(()),), {"dims": (2, 3)}), Case((S(7.0),), {"dims": (3,)})], NUMERIC),
    E("fill_dynamic",  # shapes unknown while tracing (aj.zeros([aj.shape(x)[0], 2]))
      lambda dims, value: bind(FILL_DYNAMIC, dims, value, hint=(None,) * len(dims)),
      lambda dims, value: np.full(tuple(dims), value, value.dtype),
      [Case((np.array([2, 3], np.int32), F(()))), Case((np.array([0], np.int64), F(())))],
      NUMERIC, value_dependent_shape=True),
    E("eye", aj.eye,
      lambda num_rows, num_columns=None, batch_shape=(), dtype=F32: np.broadcast_to(
          np.eye(num_rows, num_columns, dtype=dtype), tuple(batch_shape) + (
              num_rows, num_columns or num_rows)),
      [Case((), {"num_rows": 3}), Case((), {"num_rows": 2, "num_columns": 4, "dtype": I32}),
       Case((), {"num_rows": 2, "batch_shape": (3,)})], grad=0),
    E("range", aj.range, _range_ref,
      [Case((), {"start": 5}), Case((), {"start": 1, "limit": 10, "delta": 3}),
       Case((), {"start": 0.0, "limit": 1.0, "delta": 0.25}),
       Case((), {"start": 5, "limit": 0, "delta": -2}),
       Case((), {"start": 2, "limit": 4, "dtype": F64}), Case((), {"start": 3, "limit": 1})],
      grad=0),
    E("linspace", aj.linspace,
      lambda start, stop, num: np.linspace(start, stop, num, dtype=F32),
      [Case((), {"start": 0.0, "stop": 1.0, "num": 5}),
       Case((), {"start": -1.0, "stop": 2.0, "num": 1})], grad=0),
    # --- shapes as tensors
    E("shape", aj.shape, lambda x, out_type=I32: np.asarray(x.shape, out_type),
      [Case((F((3, 4)),)), Case((F(()),)), Case((F((2, 3, 4)),), {"out_type": I64})], grad=0),
    E("size", aj.size, lambda x, out_type=I32: np.asarray(x.size, out_type),
      [Case((F((3, 4)),)), Case((F((0, 4)),), {"out_type": I64})], grad=0),
    E("rank", aj.rank, lambda x: np.asarray(x.ndim, I32), [Case((F((3, 4)),)), Case((F(()),))],
      grad=0),
    E("size_along", lambda x, axes: bind(SIZE_ALONG, x, axes=axes),
      lambda x, axes: np.asarray(np.prod([x.shape[a] for a in axes]), I32),
      [Case((F((2, 3, 4)),), {"axes": (0, 2)})], grad=0),
    # --- reshaping
    E("reshape", aj.reshape, np.reshape,
      [Case((F((3, 4)),), {"shape": s}) for s in [(4, 3), (-1,), (2, -1, 2), (12, 1)]]
      + [Case((F(()),), {"shape": (1, 1)})], NUMERIC),
    E("reshape_dynamic",
      lambda x, shape: bind(RESHAPE_DYNAMIC, x, shape, hint=(None,) * len(shape)),
      lambda x, shape: np.reshape(x, tuple(shape)),
      [Case((F((3, 4)), np.array([4, 3], np.int32))),
       Case((F((3, 4)), np.array([2, -1], np.int32))),
       Case((F((2, 3, 2)), np.array([-1], np.int64)))], NUMERIC, value_dependent_shape=True),
    E("reshape_like", reshape_like, lambda x, like: x.reshape(like.shape),
      [Case((F((3, 4)), F((2, 6)))), Case((F((6,)), F((2, 3))))]),
    E("expand_dims", aj.expand_dims, np.expand_dims,
      [Case((F((3, 4)),), {"axis": a}) for a in (0, 1, 2, -1)] + [Case((F(()),), {"axis": 0})],
      NUMERIC),
    E("squeeze", aj.squeeze, lambda x, axis=None: np.squeeze(x, axis),
      [Case((F((1, 3, 1)),), {"axis": a}) for a in (None, 0, -1, (0, 2))]
      + [Case((F((3, 4)),))], NUMERIC),
    E("transpose", aj.transpose, lambda a, perm=None: np.transpose(a, perm),
      [Case((F((3, 4)),)), Case((F((2, 3, 4)),), {"perm": (1, 0, 2)}),
       Case((F((2, 3, 4)),), {"perm": [2, 0, 1]}), Case((F((2, 3, 4)),)), Case((F(()),))],
      NUMERIC),
    E("broadcast_to", aj.broadcast_to, np.broadcast_to,
      [Case((F((3,)),), {"shape": (2, 3)}), Case((F((3, 1)),), {"shape": (2, 3, 4)}),
       Case((F(()),), {"shape": (2, 2)})], NUMERIC),
    E("broadcast_like", broadcast_like, lambda x, like: np.broadcast_to(x, like.shape),
      [Case((F((3, 1)), F((3, 4)))), Case((F(()), F((2, 3))))]),
    E("unbroadcast", unbroadcast, lambda g, like: _sum_to(g, like.shape),
      [Case((F((2, 3, 4)), F((3, 1)))), Case((F((3, 4)), F(()))), Case((F((3, 4)), F((1, 4))))]),
    E("tile", aj.tile, lambda input, multiples: np.tile(input, multiples),
      [Case((F((2, 3)),), {"multiples": m}) for m in ([2, 1], [1, 3], [2, 3], [0, 2])]
      + [Case((F((3,)),), {"multiples": [2]}), Case((F(()),), {"multiples": []})], NUMERIC),
    E("tile_grad", lambda g, like, multiples: bind(TILE_GRAD, g, like, multiples=multiples),
      lambda g, like, multiples: g.reshape(multiples[0], like.shape[0], multiples[1],
                                           like.shape[1]).sum(axis=(0, 2)),
      [Case((F((6, 8)), F((3, 4))), {"multiples": (2, 2)})]),
    E("pad", aj.pad,
      lambda tensor, paddings, mode="CONSTANT", constant_values=0: np.pad(
          tensor, paddings, mode=mode.lower(),
          **({"constant_values": constant_values} if mode == "CONSTANT" else {})),
      [Case((F((3, 4)),), {"paddings": [[1, 2], [0, 1]]}),
       Case((F((3, 4)),), {"paddings": [[0, 0], [2, 1]], "constant_values": 1.5}),
       Case((F((3, 4)),), {"paddings": [[1, 2], [2, 3]], "mode": "REFLECT"}),
       Case((F((3, 4)),), {"paddings": [[1, 3], [2, 4]], "mode": "symmetric"}),
       Case((F((2,)),), {"paddings": [[0, 0]]})], NUMERIC),
    E("pad_grad", lambda g, like, paddings, mode: bind(PAD_GRAD, g, like, paddings=paddings,
                                                       mode=mode),
      _pad_adjoint_ref,
      [Case((F((6, 7)), F((3, 4))), {"paddings": ((1, 2), (2, 1)), "mode": "REFLECT"}),
       Case((F((6, 9)), F((3, 4))), {"paddings": ((1, 2), (1, 4)), "mode": "SYMMETRIC"})]),
    # --- joining and splitting
    E("concat", lambda *xs, axis: aj.concat(list(xs), axis),
      lambda *xs, axis: np.concatenate(xs, axis),
      [Case((F((2, 3)), F((4, 3))), {"axis": 0}),
       Case((F((2, 3)), F((2, 1)), F((2, 2))), {"axis": 1}),
       Case((F((2, 3)), F((2, 2))), {"axis": -1}), Case((F((2,)),), {"axis": 0})], NUMERIC),
    E("concat_grad", lambda g, *likes, axis: bind(CONCAT_GRAD, g, *likes, axis=axis),
      lambda g, *likes, axis: np.split(g, np.cumsum([x.shape[axis] for x in likes])[:-1], axis),
      [Case((F((5, 3)), F((2, 3)), F((3, 3))), {"axis": 0}),
       Case((F((2, 4)), F((2, 1)), F((2, 3))), {"axis": 1})]),
    E("split", aj.split, _split_ref,
      [Case((F((6, 4)),), {"num_or_size_splits": 3}),
       Case((F((6, 4)),), {"num_or_size_splits": [1, -1], "axis": 1}),
       Case((F((6, 4)),), {"num_or_size_splits": [2, 0, 4], "axis": -2}),
       Case((F((6, 4)),), {"num_or_size_splits": 1})], NUMERIC),
    E("stack", lambda *xs, axis=0: aj.stack(list(xs), axis=axis),
      lambda *xs, axis=0: np.stack(xs, axis),
      [Case((F((3, 4)), F((3, 4))), {"axis": a}) for a in (0, 1, 2, -1)]
      + [Case((F(()), F(()), F(())))], NUMERIC),
    E("unstack", aj.unstack, lambda value, axis=0: list(np.moveaxis(value, axis, 0)),
      [Case((F((3, 4)),), {"axis": a}) for a in (0, 1, -1)], NUMERIC),
    E("add_n", lambda *xs: aj.add_n(list(xs)), lambda *xs: np.asarray(sum(xs)),
      [Case((F((3, 4)), F((3, 4)), F((3, 4)))), Case((F((3,)),)), Case((F(()), F(())))],
      NUMERIC),
    E("identity", aj.identity, np.asarray, [Case((F((3, 4)),)), Case((F(()),))], NUMERIC),
    # a custom gradient that is the true one, written with ops: its derivatives are checked
    E("custom_gradient", lambda x: _custom_sin(x), np.sin,
      [Case((F((3, 4)),)), Case((F(()),))]),
    # the same as saved (Note [Saved custom gradients] in autodiff.py)
    E("custom_gradient_saved", _saved_sin, np.sin, [Case((F((3, 4)),)), Case((F(()),))]),
    E("stop_gradient", aj.stop_gradient, np.asarray, [Case((F((3, 4)),))], NUMERIC,
      grad=0),  # its gradient is None on purpose: test_op_table checks that separately
    # --- indexing
    E("getitem", _index_fn, _index_ref,
      [Case((F((3, 4)),), {"key": k}) for k in [
          0, -1, (1, 2), slice(1, None), slice(None, None, -1), (slice(None), 1),
          (slice(None, None, -2), slice(3, 0, -1)), (Ellipsis, None), (None, slice(0, 2), 1),
          (Ellipsis, 0), (1, Ellipsis, None), ()]]
      + [Case((F((2, 3, 4)),), {"key": (slice(None), None, -1, slice(1, 3))})], NUMERIC),
    E("getitem_grad",
      lambda g, like, key: bind(GETITEM_GRAD, g, like, key=IndexKey(key)),
      lambda g, like, key: _scatter_ref(g, like, key),
      [Case((F((3,)), F((3, 4))), {"key": (slice(None), 1)}),
       Case((F((2, 4)), F((3, 4))), {"key": (slice(None, None, -2),)})]),
    E("getitem_advanced", _index_fn, _index_ref,
      [Case((F((4, 3)),), {"key": k}) for k in [
          [0, 2, 2], np.array([[1, 0], [3, -1]]), (slice(None), [2, 0]), ([0, 3], [1, 2]),
          (1, [0, 2]), ([0, 1], slice(None), None), ([], slice(None)),
          np.array([True, False, True, True]), (slice(1, None), np.array([True, False, True]))]]
      + [Case((F((2, 3, 4)),), {"key": k}) for k in [
          (0, slice(None), [1, 3]), ([1, 0], None, [2, 2]), (Ellipsis, [0, 3]),
          np.arange(6).reshape(2, 3) % 2 == 0, ([0, 1], Ellipsis, [1, 2])]]
      + [Case((F((4, 3)), I((2,), -4, 4)), {"key": Arg(0)}),
         Case((F((4, 3)), I((2,), 0, 3)), {"key": (slice(None), Arg(0))}),
         Case((F((4, 3)), B((4, 3))), {"key": Arg(0)}),
         Case((F((4, 3)), B((4,))), {"key": (Arg(0), slice(0, 2))})],
      NUMERIC, value_dependent_shape=True),
    E("getitem_advanced_grad",
      lambda g, like, index: bind(GETITEM_ADVANCED_GRAD, g, like, index, key=IndexKey((Slot(0),))),
      lambda g, like, index: _add_at_ref(g, like, index),
      [Case((F((4, 3)), F((5, 3)), np.array([0, 2, 2, 4])))]),
    E("index_at", lambda x, i, axis: bind(INDEX_AT, x, i, axis=axis),
      lambda x, i, axis: np.take(x, i, axis),
      [Case((F((5, 3)), I((), 0, 5)), {"axis": 0}),
       Case((F((2, 4, 3)), I((), 0, 4)), {"axis": 1}),
       Case((F((5,)), I((), -5, 0)), {"axis": 0}),
       Case((F((4, 2)), I((), 0, 4, I64)), {"axis": 0})],
      NUMERIC),
    E("index_at_grad", lambda g, like, i, axis: bind(INDEX_AT_GRAD, g, like, i, axis=axis),
      lambda g, like, i, axis: _index_at_grad_ref(g, like, i, axis),
      [Case((F((3,)), F((5, 3)), np.int32(2)), {"axis": 0}),
       Case((F((2, 3)), F((2, 4, 3)), np.int32(-1)), {"axis": 1})]),
    E("gather", aj.gather, lambda params, indices, axis=0: np.take(params, indices, axis),
      [Case((F((5, 3)), I((4,), 0, 5))), Case((F((3, 5)), I((2, 2), 0, 5)), {"axis": 1}),
       Case((F((5,)), I((), 0, 5))), Case((F((2, 3, 4)), [3, 0, 3]), {"axis": -1}),
       Case((F((5, 3)), I((3,), 0, 5, I64)))], NUMERIC),
    E("gather_grad",
      lambda g, indices, like, axis: bind(GATHER_GRAD, g, indices, like, axis=axis),
      lambda g, indices, like, axis: _add_at_ref(np.moveaxis(g, axis, 0),
                                                 np.moveaxis(like, axis, 0), indices, axis),
      [Case((F((4, 3)), np.array([0, 2, 2, 4]), F((5, 3))), {"axis": 0}),
       Case((F((3, 2)), np.array([1, 1]), F((3, 4))), {"axis": 1})]),
    E("one_hot", aj.one_hot, _one_hot_ref,
      [Case((I((4,), -1, 4),), {"depth": 3}),
       Case((I((2, 3), 0, 4),), {"depth": 4, "axis": 0, "on_value": 5.0, "off_value": -1.0,
                                 "dtype": F64}),
       Case((I((3,), 0, 3, I64),), {"depth": 3, "dtype": I32}),
       Case((I((), 0, 2),), {"depth": 2, "dtype": np.dtype(bool)})], grad=0),
    # --- nn
    E("relu", aj.nn.relu, lambda x: np.maximum(x, 0),
      [Case((F(s, "away"),)) for s in UNARY_SHAPES], NUMERIC),
    E("relu_grad", lambda g, out: bind(RELU_GRAD, g, out), lambda g, out: g * (out > 0),
      [Case((F((3, 4)), F((3, 4), "away")))]),
    E("softmax", aj.nn.softmax,
      lambda logits, axis=-1: np.exp(_log_softmax_ref(logits, axis)),
      [Case((F((3, 4)),)), Case((F((3, 4)),), {"axis": 0}), Case((F((2, 3, 4)),), {"axis": 1}),
       Case((F((5,)),))], FLOATS),
    E("log_softmax", aj.nn.log_softmax, lambda logits, axis=-1: _log_softmax_ref(logits, axis),
      [Case((F((3, 4)),)), Case((F((3, 4)),), {"axis": 0}), Case((F((2, 3, 4)),), {"axis": -2})],
      FLOATS),
    E("sparse_softmax_cross_entropy_with_logits",
      lambda labels, logits: aj.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                            logits=logits),
      lambda labels, logits: -np.take_along_axis(_log_softmax_ref(logits), labels[..., None],
                                                 -1)[..., 0],
      [Case((I((3,), 0, 4), F((3, 4)))), Case((I((2, 3), 0, 5, I64), F((2, 3, 5)))),
       Case((I((), 0, 4), F((4,))))], FLOATS),
    E("softmax_cross_entropy_with_logits",
      lambda labels, logits: aj.nn.softmax_cross_entropy_with_logits(labels=labels,
                                                                     logits=logits),
      lambda labels, logits: -(labels * _log_softmax_ref(logits)).sum(-1),
      [Case((F((3, 4), "pos"), F((3, 4)))), Case((F((2, 3, 5)), F((2, 3, 5)))),
       Case((F((4,), "pos"), F((4,))))], FLOATS),
]


def _scatter_ref(g, like, key):
    out = np.zeros(like.shape, g.dtype)
    out[key] = g
    return out


def _add_at_ref(g, like, index, axis=0):
    out = np.zeros(like.shape, g.dtype)
    for row, i in zip(g, np.asarray(index).ravel()):
        out[i] += row
    return np.moveaxis(out, 0, axis)


def _index_at_grad_ref(g, like, i, axis):
    out = np.zeros(like.shape, g.dtype)
    out[(slice(None),) * axis + (int(i),)] = g
    return out


# ----------------------------------------------------------------------------- segments (more),
# truncating division, more n-d scatters, dynamic_partition / dynamic_stitch
# (targeted tests: tests/ops/test_segments_more.py, test_partition.py)


def _segments_ref(kind, data, ids, num_segments=None):
    ids = np.asarray(ids)
    n = num_segments if num_segments is not None else (int(ids.max()) + 1 if ids.size else 0)
    rest = data.shape[ids.ndim:]
    rows = [data[ids == k] for k in range(n)]  # each [count, *rest]
    if kind in ("max", "min"):
        if num_segments is None:
            empty = 0
        else:
            info = np.finfo(data.dtype) if data.dtype.kind == "f" else np.iinfo(data.dtype)
            empty = info.min if kind == "max" else info.max
        pick = np.max if kind == "max" else np.min
        out = [pick(r, axis=0) if len(r) else np.full(rest, empty, data.dtype) for r in rows]
        return np.asarray(out, data.dtype).reshape((n,) + rest)
    if kind == "prod":
        return np.asarray([np.prod(r, axis=0, dtype=data.dtype) for r in rows],
                          data.dtype).reshape((n,) + rest)
    sums = np.asarray([np.sum(r, axis=0, dtype=data.dtype) for r in rows],
                      data.dtype).reshape((n,) + rest)
    counts = np.maximum([len(r) for r in rows], 1).reshape((n,) + (1,) * len(rest))
    if kind == "sqrt_n":
        return (sums / np.sqrt(counts.astype(data.dtype))).astype(data.dtype)
    if data.dtype.kind == "f":
        return (sums / counts.astype(data.dtype)).astype(data.dtype)
    return (np.sign(sums) * (np.abs(sums) // counts)).astype(data.dtype)  # toward zero


def _segment_entries(kind, op, sorted_fn, unsorted_fn, kinds="normal", dtypes=NUMERIC,
                     unsorted_dtypes=NUMERIC):
    # Unsorted cases name every segment: an empty max/min segment holds the dtype's extreme,
    # which no finite-difference check survives (tests/ops/test_segments_more.py pins it).
    entries = []
    if sorted_fn is not None:
        entries.append(E(op, sorted_fn, lambda d, i: _segments_ref(kind, d, i),
                         [Case((F((5, 3), kinds), np.array([0, 0, 1, 3, 3]))),
                          Case((F((4,), kinds), np.array([0, 1, 2, 2], np.int64)))],
                         dtypes, value_dependent_shape=True))
    entries.append(E(op, unsorted_fn,
                     lambda d, i, num_segments: _segments_ref(kind, d, i, num_segments),
                     [Case((F((5, 3), kinds), np.array([2, 0, 2, -1, 1])), {"num_segments": 3}),
                      Case((F((2, 3, 2), kinds), np.array([[0, 1, 0], [2, 2, 1]])),
                           {"num_segments": 3}),
                      Case((F((4,), kinds), np.array([1, 0, 1, 1], np.int64)),
                           {"num_segments": 2})], unsorted_dtypes))
    return entries


def _truncatediv_ref(x, y):
    dtype = np.result_type(x, y)
    if dtype.kind == "f":
        return np.trunc(np.true_divide(x, y))
    return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(dtype)


def _scatter_nd_ref(kind, tensor, indices, updates):
    out = np.array(tensor, copy=True)
    indices = np.asarray(indices)
    m = indices.shape[-1]
    for row, update in zip(indices.reshape(-1, m), updates.reshape((-1,) + out.shape[m:])):
        here = tuple(row)
        if kind == "sub":
            out[here] = out[here] - update
        else:
            out[here] = (np.maximum if kind == "max" else np.minimum)(out[here], update)
    return out


def _stitch_ref(*values):
    n = len(values) // 2
    indices, data = [np.asarray(i) for i in values[:n]], values[n:]
    tail = data[0].shape[indices[0].ndim:]
    out = np.zeros((max(int(i.max()) for i in indices if i.size) + 1,) + tail, data[0].dtype)
    for i, d in zip(indices, data):
        out[i.reshape(-1)] = d.reshape((-1,) + tail)
    return out


_SCATTER_CASES = [
    Case((F((4, 3), "distinct"), np.array([[0, 1], [3, 2], [0, 1]]), F((3,), "distinct"))),
    Case((F((4, 3), "distinct"), np.array([[2], [0], [2]]), F((3, 3), "distinct")))]

TABLE.extend([
    *_segment_entries("max", "segment_max", aj.math.segment_max, aj.math.unsorted_segment_max,
                      kinds="distinct"),
    *_segment_entries("min", "segment_min", aj.math.segment_min, aj.math.unsorted_segment_min,
                      kinds="distinct"),
    *_segment_entries("prod", "segment_prod", aj.math.segment_prod,
                      aj.math.unsorted_segment_prod),
    *_segment_entries("mean", "segment_sum", aj.math.segment_mean,
                      aj.math.unsorted_segment_mean, unsorted_dtypes=FLOATS),
    *_segment_entries("sqrt_n", "segment_sum", None, aj.math.unsorted_segment_sqrt_n,
                      unsorted_dtypes=FLOATS),
    binary("truncatediv", aj.truncatediv, _truncatediv_ref, kinds=("normal", "away")),
    binary("truncatemod", aj.truncatemod, np.fmod, kinds=("normal", "away")),
    E("tensor_scatter_nd_sub", aj.tensor_scatter_nd_sub,
      lambda t, i, u: _scatter_nd_ref("sub", t, i, u), _SCATTER_CASES, NUMERIC),
    E("tensor_scatter_nd_max", aj.tensor_scatter_nd_max,
      lambda t, i, u: _scatter_nd_ref("max", t, i, u), _SCATTER_CASES, NUMERIC),
    E("tensor_scatter_nd_min", aj.tensor_scatter_nd_min,
      lambda t, i, u: _scatter_nd_ref("min", t, i, u), _SCATTER_CASES, NUMERIC),
    E("dynamic_partition", aj.dynamic_partition,
      lambda d, p, num_partitions: [d[np.asarray(p) == k] for k in range(num_partitions)],
      [Case((F((5, 3)), np.array([1, 0, 1, 2, 1])), {"num_partitions": 3}),
       Case((F((2, 3, 2)), np.array([[0, 1, 0], [1, 1, 0]])), {"num_partitions": 2}),
       Case((F((4,)), np.array([2, 2, 0, 2], np.int64)), {"num_partitions": 4})],
      NUMERIC, value_dependent_shape=True),
    E("dynamic_stitch", lambda *v: aj.dynamic_stitch(list(v[:len(v) // 2]), list(v[len(v) // 2:])),
      _stitch_ref,
      [Case((np.array([0, 2]), np.array([[1, 3], [4, 5]]), F((2, 3)), F((2, 2, 3)))),
       Case((np.array([5, 1]), np.array([0, 3]), F((2,)), F((2,)))),
       Case((np.array([[1, 0]]), F((1, 2, 2))))],
      NUMERIC, value_dependent_shape=True),
])


# Ops tested in their own files (an op in neither this table nor here fails test_op_table).
TESTED_ELSEWHERE = {
    "assign": "tests/test_variables.py",
    "assign_add": "tests/test_variables.py",
    "assign_sub": "tests/test_variables.py",
    "read_value": "tests/test_variables.py",
    "fused": "tests/graph/test_fuse.py",
    "fused_assign": "tests/graph/test_fuse.py",
    "matmul_assign": "tests/graph/test_matmul_update.py",
    "fused_assigns": "tests/graph/test_merge_updates.py",
    "label_check": "tests/graph/test_lower.py",
    "random_normal": "tests/ops/test_creation_random.py",
    "random_uniform": "tests/ops/test_creation_random.py",
    "random_truncated_normal": "tests/ops/test_creation_random.py",
    "random_shuffle": "tests/ops/test_creation_random.py",
    "random_categorical": "tests/ops/test_creation_random.py",
    "stateless_random_normal": "tests/ops/test_creation_random.py",
    "stateless_random_uniform": "tests/ops/test_creation_random.py",
    # Ops of the tensor, graph and function layers (their owners keep these paths right).
    "to_device": "tests/test_devices.py",
    "read_variable": "tests/function/test_variables_capture.py",
    "call": "tests/function/test_gradients.py",
    "cond": "tests/graph/test_control.py",
    "while_loop": "tests/graph/test_control.py",
    "stack_get": "tests/graph/test_control.py",
    "stack_len": "tests/graph/test_control.py",
    "print": "tests/function/test_footguns.py",
    "assert": "tests/autograph/converters/test_asserts.py",
    # values and counts: their outputs' lengths come from the values
    "unique": "tests/ops/test_counting.py",
    "bincount": "tests/ops/test_counting.py",
    "searchsorted": "tests/ops/test_counting.py",
}


def cases():
    """(entry, case, id) for every case of the table: the parametrization of the tests."""
    return [(e, c, i) for e in TABLE for c, i in zip(e.cases, e.ids())]


def recorded_ops(fn: Callable) -> tuple:
    """Run ``fn()`` and return (its result, [(op, inputs, outputs, attrs)] of each op it ran)."""
    calls = []

    class Recorder:
        def record(self, op, keys, inputs, outputs, attrs):
            calls.append((op, inputs, outputs, attrs))

    recorder = Recorder()
    core.push_tape(recorder)
    try:
        result = fn()
    finally:
        core.pop_tape(recorder)
    return result, calls


# Entries kept in their own files by theme: ``op_table_<theme>.py`` holds a list ``ENTRIES``
# built with the helpers above (and optionally a dict ``TESTED_ELSEWHERE``); imported here,
# after those helpers exist.
for _theme in ("op_table_conv", "op_table_math", "op_table_nn", "op_table_tensor_array",
               "op_table_range", "op_table_array", "op_table_linalg"):
    try:
        _module = __import__(_theme)
    except ModuleNotFoundError as error:
        if error.name != _theme:
            raise
        continue
    TABLE.extend(_module.ENTRIES)
    TESTED_ELSEWHERE.update(getattr(_module, "TESTED_ELSEWHERE", {}))
