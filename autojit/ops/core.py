"""The op record, ``TensorSpec``, ``bind`` and the per-thread trace and tape stacks.

An op is one definition serving every mode (Note [One op, every mode]):

* ``kernel``: a Python expression over ``xp`` (the array module), the input names and the
  attribute names, e.g. ``"xp.sum(x, axis=axis, keepdims=keepdims)"``. Eager execution
  compiles it to a lambda; graph codegen pastes it into the replay source, so the replay
  line is exactly ``v3 = np.sum(v2, axis=(0,), keepdims=False)``. A plain function
  ``f(xp, *inputs, **attrs)`` is accepted where an expression does not fit.
* ``rule``: shape/dtype rule ``rule(*avals, **attrs) -> (shape, dtype)`` (a list of them for
  multi-output ops). ``avals`` are anything with ``.shape``/``.dtype``: NumPy/CuPy arrays
  eagerly, ``TensorSpec`` while tracing (``None`` marks an unknown dim). It raises the
  user-facing error before any work is done, so errors read the same in both modes.
* ``vjp``: ``vjp(g, out, *inputs, **attrs) -> tuple`` of cotangents (``None`` where an input
  has no gradient), written with autojit ops so it works eagerly, to higher order and
  inside traced graphs.
* ``check`` (optional): a value check run on concrete inputs before the kernel, eagerly
  and at every graph replay (Note [Value checks]).

``bind(op, *inputs, **attrs)`` hands the op to the innermost trace of this thread: the
eager trace (``autojit.tensor``) computes at once, the graph tracer (``autojit.graph``)
adds a node. Active tapes (``autojit.autodiff``) are told about every op afterwards.
This module knows nothing of ``Tensor``, graphs or tapes: higher layers install them.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from autojit import dtypes
from autojit.errors import DTypeError, TracingError

_REGISTRY: dict[str, "Op"] = {}


class Op:
    """One primitive operation: name, kernel, shape/dtype rule and VJP.

    Usage: ``bind(OPS["multiply"], x, y)`` (users call ``aj.multiply(x, y)``)
    """

    __slots__ = (
        "name", "inputs", "variadic", "attr_names", "kernel", "source", "namespace", "rule",
        "vjp", "effect", "multiple", "scalars", "no_outputs", "vjp_needs", "checks_values",
        "check",
    )

    def __init__(self, name, inputs, kernel, rule, vjp=None, *, attrs=(), effect=False,
                 multiple=False, scalars=True, namespace=None, no_outputs=False,
                 vjp_needs=False, checks_values=False, check=None):
        self.name = name
        self.variadic = len(inputs) == 1 and inputs[0].startswith("*")
        self.inputs = tuple(i.lstrip("*") for i in inputs)
        self.attr_names = tuple(attrs)
        self.rule = rule
        self.vjp = vjp
        self.effect = effect  # ordered, never removed or merged by passes
        self.no_outputs = no_outputs  # run for its effect only (assign, print)
        # The VJP takes ``needs=`` (one bool per input: does the tape want its cotangent?),
        # for ops whose cotangents come from one shared computation (a while_loop's reverse
        # loop), where deferring each one separately cannot skip work.
        self.vjp_needs = vjp_needs
        # The rule also looks at input values when they are concrete (index ranges), so the
        # eager trace must run it every time (Note [Checked signatures] in tensor.py).
        self.checks_values = checks_values
        # Note [Value checks]: ``check(name, *inputs, **attrs)`` raises the user-facing error
        # for input *values* the kernel cannot use (an index out of range), which no shape
        # rule can see while tracing. It runs before the kernel at every eager call and, in
        # graphs, at every replay (codegen emits a call to it; the interpreter calls it),
        # so a bad value gives the same error in both modes instead of a wrapped index.
        # Replay passes host scalars (loop counters) as Python ints; a check must accept them
        # and should return fast when the values are fine (it runs every loop iteration).
        self.check = check
        self.multiple = multiple or no_outputs  # returns a tuple of outputs
        self.scalars = scalars  # Python scalars among inputs are weak (Note [Weak scalars])
        self.namespace = dict(namespace or {})
        if isinstance(kernel, str):
            self.source = kernel
            params = ", ".join(["xp", *inputs] + ([f"*, {', '.join(attrs)}"] if attrs else []))
            if self.variadic and attrs:
                params = ", ".join(["xp", *inputs, *attrs])
            self.kernel = eval(f"lambda {params}: {kernel}", dict(self.namespace))  # noqa: S307
        else:
            self.source = None
            self.kernel = kernel

    def __repr__(self) -> str:
        return f"<Op {self.name}>"


def defop(name: str, inputs: Sequence[str], kernel: "str | Callable", rule: Callable,
          vjp: Callable | None = None, **options: Any) -> Op:
    """Define and register an op (see the module docstring for the three parts).

    Usage: ``neg = defop("negative", ["x"], "xp.negative(x)", same_as_input, neg_vjp)``
    """
    if name in _REGISTRY:
        raise ValueError(f"op {name!r} is defined twice")
    op = Op(name, tuple(inputs), kernel, rule, vjp, **options)
    _REGISTRY[name] = op
    return op


def registry() -> dict[str, Op]:
    """All registered ops by name (the op tests check each has a table entry)."""
    return dict(_REGISTRY)


class TensorSpec:
    """The type of a tensor: shape (``None`` for an unknown dim), dtype, optional device.

    Usage: ``aj.TensorSpec([None, 784], aj.float32)``
    """

    __slots__ = ("shape", "dtype", "device", "name")

    def __init__(self, shape: Sequence[int | None] | None = None, dtype: Any = dtypes.float32,
                 name: str | None = None, device: Any = None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        # object dtype: opaque values such as a while_loop's saved-state stack
        self.dtype = dtype if isinstance(dtype, np.dtype) and dtype.kind == "O" \
            else dtypes.as_dtype(dtype)
        self.name = name
        self.device = device

    @property
    def ndim(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    def is_compatible_with(self, shape: Sequence[int], dtype: np.dtype) -> bool:
        """True when a tensor of ``shape``/``dtype`` fits this spec."""
        if dtype != self.dtype:
            return False
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and all(
            s is None or s == d for s, d in zip(self.shape, shape))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorSpec) and self.shape == other.shape
                and self.dtype == other.dtype and self.device == other.device)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.device))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype=aj.{self.dtype.name})"

    def short(self) -> str:
        """``f32[32,?]``: the compact form the graph printer uses."""
        dims = "*" if self.shape is None else ",".join("?" if d is None else str(d)
                                                      for d in self.shape)
        return f"{_SHORT.get(self.dtype.name, self.dtype.name)}[{dims}]"


_SHORT = {"float16": "f16", "float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64",
          "bool": "bool", "int8": "i8", "int16": "i16", "uint8": "u8"}


# ---------------------------------------------------------------------------------------
# Per-thread state: the innermost trace and the active tapes.


class _State(threading.local):
    trace: Any = None  # class default: the eager trace, installed by autojit.tensor
    tapes: list = ()  # class default: no tapes
    autograph: bool = False  # an @aj.function with autograph is being traced


_state = _State()


def bind(op: Op, *inputs: Any, **attrs: Any) -> Any:
    """Run ``op`` in the current trace: compute now (eager) or add a graph node (tracing)."""
    return _state.trace.process(op, inputs, attrs)


def install_eager_trace(trace: Any) -> None:
    """Called once by ``autojit.tensor``: the trace every thread starts with."""
    _State.trace = trace


def current_trace() -> Any:
    """The innermost trace of this thread."""
    return _state.trace


class trace_scope:  # noqa: N801
    """Make ``trace`` the innermost trace; tapes of the outer trace are set aside inside.

    Usage (graph tracer): ``with trace_scope(GraphTrace(graph)): outputs = fn(*symbols)``
    """

    def __init__(self, trace: Any):
        self.trace = trace

    def __enter__(self) -> Any:
        self.saved = (_state.trace, _state.tapes)
        _state.trace = self.trace
        _state.tapes = []
        return self.trace

    def __exit__(self, *exc) -> None:
        _state.trace, _state.tapes = self.saved


def eager_scope() -> trace_scope:
    """Run ops eagerly inside, even while tracing (TF's ``init_scope``): variable and
    optimizer-slot initializers use it. Usage: ``with eager_scope(): v = Variable(0.0)``
    """
    return trace_scope(_State.trace)


_lift_hooks: list = []


def lift_value(value: Any) -> Any:
    """A concrete value for ``value``: symbolic tensors that depend on no function input
    are evaluated by the hook the graph tracer installs; anything else is returned as is."""
    for hook in _lift_hooks:
        value = hook(value)
    return value


_pack_hooks: list = []  # creation's packing of lists that hold tensors


def packed_inputs(inputs: tuple) -> tuple | None:
    """``inputs`` with each (nested) list or tuple that holds a tensor stacked into one
    tensor, as TF packs such lists (``aj.gather(x, [n - 1])``, ``aj.maximum(x, [y, 1.0])``):
    symbolic tensors work and gradients flow to the items. None when no input holds one.
    The traces call it for op inputs that are neither tensors nor Python numbers."""
    if not _pack_hooks:
        return None
    pack = _pack_hooks[0]
    packed = tuple((pack(x, None) if type(x) in (list, tuple) else None) for x in inputs)
    if all(p is None for p in packed):
        return None
    return tuple(x if p is None else p for p, x in zip(packed, inputs))


# Note [Library code calling user code]: autograph converts user functions as converted
# code calls them, and calls library functions (autojit's own included) as they are. Library
# code that calls back into user code (a Keras layer's ``call``, the layers of a
# ``Sequential``, a ``custom_gradient`` forward, a ``with_name_scope`` method) passes the
# callable through ``user_function``, which autograph makes return it converted while an
# @aj.function with autograph is traced, as TF's Keras converts ``call``.
_convert_hooks: list = []


def user_function(fn: Callable) -> Callable:
    """``fn`` converted by autograph while an @aj.function with autograph is traced, else
    ``fn`` (Note [Library code calling user code]).
    Usage: ``return core.user_function(self.call)(inputs)``"""
    if _state.autograph and _convert_hooks:
        return _convert_hooks[0](fn)
    return fn


_known_hooks: list = []


def known_value(value: Any) -> Any:
    """The NumPy value of the symbolic tensor ``value`` when it is known while tracing
    (computed from constants and fully known shapes, as TF's ``constant_value``; the graph
    tracer installs the hook), else None.
    Usage: ``n = core.known_value(aj.shape(x)[0])``"""
    for hook in _known_hooks:
        found = hook(value)
        if found is not None:
            return found
    return None


def concrete(op_name: str, value: Any, what: str, hint: str = "Python values") -> np.ndarray:
    """The NumPy value of a tensor argument that must be known while tracing: a concrete
    tensor's, or a symbolic one's computed from constants and static shapes; else a
    ``TracingError`` naming the op, what the argument is and ``hint``.
    Usage: ``depth = int(concrete("one_hot", depth, "depth"))``"""
    if value._array is not None:
        return value.numpy()
    known = known_value(value)
    if known is None:
        raise TracingError(f"{op_name}: {what} must be known while the function is traced, "
                           "got a symbolic tensor that depends on the function's inputs (or "
                           f"on a dimension unknown while tracing); pass {hint}")
    return known


# Tapes that hold recorded entries (active or not), so an eager ``assign`` can find the
# ones that read the Variable it is about to change (Note [Tapes and assigns], autodiff.py).
holding_tapes: weakref.WeakSet = weakref.WeakSet()


def active_tapes() -> list:
    """The tapes recording in this thread (innermost last)."""
    return _state.tapes


def push_tape(tape: Any) -> None:
    """Start telling ``tape`` about every op of this thread."""
    if not isinstance(_state.tapes, list):
        _state.tapes = []
    _state.tapes = [*_state.tapes, tape]


def pop_tape(tape: Any) -> None:
    """Stop telling ``tape`` about ops."""
    _state.tapes = [t for t in _state.tapes if t is not tape]


def record(op: Op, keys: Sequence[Any], inputs: Sequence[Any], outputs: Any,
           attrs: dict) -> None:
    """Tell each active tape that ``op`` ran (called by traces only when tapes exist)."""
    for tape in _state.tapes:
        tape.record(op, keys, inputs, outputs, attrs)


# ---------------------------------------------------------------------------------------
# Conversion helpers shared by the traces.

PY_SCALARS = (bool, int, float)


def weak_dtype(op: Op, inputs: Sequence[Any]) -> np.dtype | None:
    """The dtype Python scalars among ``inputs`` take: that of the first non-scalar input,
    or, when all are Python scalars, the default dtype of the widest (float > int > bool),
    so ``aj.subtract(2.0, 1)`` is float32 as in Python."""
    widest = None
    for value in inputs:
        if not isinstance(value, PY_SCALARS):
            dt = getattr(value, "dtype", None)
            if dt is not None:
                return dt
        elif isinstance(value, float):
            widest = dtypes.float32
        elif isinstance(value, int) and not isinstance(value, bool) and widest is None:
            widest = dtypes.int32
    return widest


def scalar_to_array(op: Op, value: Any, partner: np.dtype | None) -> np.generic:
    """A weak Python scalar as a NumPy scalar of the dtype it takes next to ``partner``."""
    if partner is None:
        dt = dtypes.python_scalar_dtype(value)
        if dt == dtypes.int32 and not _INT32_MIN <= value <= _INT32_MAX:
            dt = dtypes.int64  # as tf.constant: ints that do not fit int32 become int64
    else:
        if not op.scalars:
            raise DTypeError(f"{op.name}: expected tensors, got the Python "
                             f"{type(value).__name__} {value!r}")
        dt = dtypes.weak_scalar_dtype(op.name, value, partner)
    try:
        return dt.type(value)
    except OverflowError:
        raise DTypeError(f"{op.name}: the Python int {value} does not fit in {dt.name}; "
                         f"aj.cast the tensor to a wider dtype first") from None


def data_to_array(op: Op, value: Any, partner: np.dtype | None) -> np.ndarray:
    """Python data (a nested list or tuple of numbers) as an array for ``op``: next to a
    tensor it takes the tensor's dtype where its numbers would as scalars (ints and floats
    next to a float tensor, ints next to an int tensor; Note [Weak scalars]), as TF converts
    a list with the dtype of the op's tensor input: ``x64 + [1.0, 2.0]`` is float64. NumPy
    values keep their dtype."""
    array = to_numpy_constant(value)
    if (partner is None or not op.scalars or array.dtype == partner
            or not isinstance(value, (list, tuple))):
        return array
    kind = array.dtype.kind
    if (kind in "iuf" and dtypes.is_floating(partner)) or \
            (kind in "iu" and dtypes.is_integer(partner)):
        return to_numpy_constant(value, partner)  # checked: a value it cannot hold is an error
    return array


_INT32_MIN, _INT32_MAX = -2**31, 2**31 - 1
_UNSUPPORTED_KINDS = "OUSVMmc"  # object, strings, void, datetimes, complex


def as_operand(value: Any, dtype: Any = None) -> Any:
    """``value`` itself when it is a tensor or an array (it has a shape and a dtype); a
    (nested) list holding tensors stacked into one tensor (``packed_inputs``); else
    ``to_numpy_constant(value, dtype)``: Python data made an operand ops can read the shape
    of (with ``dtype``, the dtype Python data and packed items take).

    Usage: ``x = as_operand(x)`` at the top of a function that reads ``x.shape``
    """
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return value
    if type(value) in (list, tuple) and _pack_hooks:
        packed = _pack_hooks[0](value, dtype)
        if packed is not None:
            return packed
    return to_numpy_constant(value, dtype)


def to_numpy_constant(value: Any, dtype: Any = None) -> np.ndarray:
    """A NumPy array for a Python or NumPy value, with TF's defaults for Python data
    (float -> float32, int -> int32, or int64 when it does not fit); NumPy values keep their
    dtype. With ``dtype``, values must convert without loss (``1.0`` may become int32, ``1.5``
    may not), as ``tf.constant`` checks.

    Usage: ``to_numpy_constant([[1, 2]])`` (int32), ``to_numpy_constant(1, aj.float64)``
    """
    target = None if dtype is None else dtypes.as_dtype(dtype)
    python_data = not isinstance(value, (np.ndarray, np.generic))
    if python_data and isinstance(value, PY_SCALARS) and target is None:
        dt = dtypes.python_scalar_dtype(value)
        if dt == dtypes.int32 and not _INT32_MIN <= value <= _INT32_MAX:
            dt = dtypes.int64
        try:
            return np.asarray(value, dtype=dt)
        except OverflowError:
            raise DTypeError(f"cannot convert the Python int {value} to a tensor: it does not "
                             "fit in int64") from None
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise DTypeError(f"cannot convert {type(value).__name__} {value!r:.60} to a tensor "
                         f"({exc})") from None
    if array.dtype.kind in _UNSUPPORTED_KINDS:
        raise DTypeError(f"cannot convert {type(value).__name__} {value!r:.60} to a tensor: "
                         f"its NumPy dtype {array.dtype} is not supported")
    if target is not None:
        return _convert_exactly(array, target)
    if python_data:
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        elif array.dtype == np.int64 and _fits(array, dtypes.int32):
            array = array.astype(np.int32)
    if array.dtype not in dtypes._ALL:
        dtypes.as_dtype(array.dtype)  # raises the DTypeError listing supported dtypes
    return array


def _fits(array: np.ndarray, dtype: np.dtype) -> bool:
    if array.size == 0 or np.can_cast(array.dtype, dtype):
        return True
    info = np.iinfo(dtype)
    return bool(array.min() >= info.min and array.max() <= info.max)


def _convert_exactly(array: np.ndarray, target: np.dtype) -> np.ndarray:
    """``array`` as ``target``, or a DTypeError when values would change (1.5 -> int32)."""
    if array.dtype == target:
        return array
    kind = array.dtype.kind
    if target.kind in "iub" and kind == "f":
        if not bool(np.all(np.isfinite(array) & (array == np.trunc(array)))):
            raise DTypeError(f"cannot convert float values to {target.name} without loss; "
                             f"use aj.cast(x, aj.{target.name}) to truncate")
    if target.kind in "iu" and kind in "iuf" and array.size:
        info = np.iinfo(target)
        if array.min() < info.min or array.max() > info.max:
            raise DTypeError(f"cannot convert values in [{array.min()}, {array.max()}] to "
                             f"{target.name}: they do not fit in [{info.min}, {info.max}]")
    if target.kind == "b" and kind != "b" and array.size and not bool(
            np.all((array == 0) | (array == 1))):
        raise DTypeError(f"cannot convert {array.dtype.name} values other than 0 and 1 to "
                         "bool; use a comparison such as x != 0")
    return array.astype(target, copy=False)
