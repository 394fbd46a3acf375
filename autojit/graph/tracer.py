"""Tracing: ``SymbolicTensor`` and ``GraphTrace``, which turns each ``bind`` into a node.

While a ``GraphTrace`` is the innermost trace, every op adds a node instead of computing.
Inputs are converted as ``tf.function`` does (Note [Captures]):

* symbolic tensors of this trace are used as they are; those of an enclosing trace (a
  ``cond`` branch using an outer value) become inputs of this subgraph, recorded in
  ``captures`` so the enclosing node can pass them in;
* eager tensors become constants (captured by value: eager tensors never change); inside
  a subgraph, one a tape watches is captured from the enclosing graph instead, so the
  enclosing node takes it as an input and gradients reach it;
* ``Variable``s are captured by reference: a ``read_variable`` node reads the buffer at
  replay time, and ``assign*`` nodes write it in place, in program order;
* Python scalars become constants of the dtype they take (Note [Weak scalars]).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np

from autojit import backend, dtypes
from autojit.errors import AutojitError, TracingError
from autojit.graph.ir import Graph, Value, static_shape_value
from autojit.ops import core
from autojit.ops.core import TensorSpec
from autojit.ops.shapes import size
from autojit.tensor_shape import TensorShape, shape_of
from autojit.tensor import Tensor

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # not the user's code
_CONSTANT = core.registry()["constant"]


def user_location(skip: int = 1) -> tuple | None:
    """(file, line) of the innermost frame outside the autojit package: the user's line."""
    frame = sys._getframe(skip)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(PACKAGE):
            return (filename, frame.f_lineno)
        frame = frame.f_back
    return None


def at_user_line(exc: Exception, where: tuple | None) -> Exception:
    """``exc`` with the user's ``file:line`` appended to its message (once)."""
    suffix = f" (at {where_text(where)})"
    if where and exc.args and isinstance(exc.args[0], str) and suffix not in exc.args[0]:
        exc.args = (exc.args[0] + suffix,) + exc.args[1:]
    return exc


def where_text(where: tuple | None) -> str:
    """``train.py:14`` for a location, or ``an unknown line``."""
    return f"{where[0]}:{where[1]}" if where else "an unknown line"


# ---------------------------------------------------------------------------------------


def _read_rule(name, *, var):
    return var.shape, var.dtype


READ_VARIABLE = core.defop("read_variable", [], "var._array", _read_rule, attrs=("var",),
                           effect=True)


class SymbolicTensor(Tensor):
    """A tensor inside a graph being traced: it has a type but no value yet.

    Usage: inside ``@aj.function``, ``x.shape`` and ``x.dtype`` work; ``bool(x)`` does not.
    """

    __slots__ = ("_value", "_trace", "_weak")

    def __init__(self, value: Value, trace: "GraphTrace"):
        self._array = None
        self._device = trace.device
        self._value = value
        self._trace = trace
        self._weak = False  # holds Python numbers (Note [Weak tensors])

    @property
    def shape(self) -> TensorShape:
        return shape_of(self._value.spec.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._value.spec.dtype

    def _refuse(self, what: str, hint: str) -> TracingError:
        if self._finished():
            return TracingError(f"{what} of a symbolic tensor at "
                                f"{where_text(user_location())}: {self.escaped()}")
        return TracingError(
            f"{what} of a symbolic tensor ({self._describe()}) at "
            f"{where_text(user_location())}: inside @aj.function a tensor has no value "
            f"while the function is traced. {hint}")

    def _describe(self) -> str:
        node = self._value.node
        return f"{self._value.spec.short()} from `{node.op.name if node else 'input'}`"

    def _finished(self) -> bool:
        """True once the @aj.function trace this tensor belongs to has finished."""
        root = self._trace
        while root.parent is not None:
            root = root.parent
        return root.finished

    def escaped(self) -> str:
        """What went wrong when this tensor is used after its trace finished, naming where it
        was made. Usage: ``raise TracingError(f"add: {x.escaped()}")``"""
        node = self._value.node
        made = f"made by `{node.op.name}`" if node is not None else "an input"
        if node is not None and node.where:
            made += f" at {where_text(node.where)}"
        return (f"it is a {self._value.spec.short()} {made} while tracing "
                f"`{self._trace.graph.name}`, and that trace has finished: a symbolic tensor "
                "has no value outside its @aj.function (it was kept in an attribute, a global, "
                "a list or a closure). Return it from the function instead")

    def __bool__(self) -> bool:
        raise self._refuse(
            "bool()", "Let autograph convert this `if`/`while` (it does by default in "
            "@aj.function; this code was not converted), use aj.cond / aj.where, or make "
            "the argument a Python value")

    def __float__(self) -> float:
        raise self._refuse("float()", "Return the tensor from the function and convert "
                                      "the result, or pass a Python value")

    def __int__(self) -> int:
        raise self._refuse("int()", "Use aj.cast for dtype changes, or pass a Python value")

    def __index__(self) -> int:
        if self.dtype.kind in "iu" and not self.shape:
            known = core.known_value(self)  # from static shapes: Note [Known values]
            if known is not None:
                return int(known)
        raise self._refuse("Using as an index", "Use aj.gather or tensor slicing ops")

    def numpy(self) -> np.ndarray:
        raise self._refuse(".numpy()", "Return the tensor from the function and call "
                                       ".numpy() on the result, or use aj.print")

    def __len__(self) -> int:
        if not self.shape or self.shape[0] is None:
            raise self._refuse("len()", "Use aj.shape(x)[0] for a dynamic length")
        return self.shape[0]

    def __iter__(self):
        if not self.shape or self.shape[0] is None:
            raise self._refuse("Iterating", "Let autograph convert the `for` loop, or use "
                                            "aj.while_loop")
        return super().__iter__()

    def __array__(self, dtype=None, copy=None):
        raise self._refuse("np.asarray()", "Use autojit ops inside the function")

    def __repr__(self) -> str:
        return f"<aj.Tensor {self._value!r} shape={self.shape} dtype={self.dtype.name} (symbolic)>"

    __str__ = __repr__


class GraphTrace:
    """The trace that adds nodes to ``graph`` (a child trace per subgraph, with ``parent``)."""

    def __init__(self, graph: Graph, device: backend.Device, parent: "GraphTrace | None" = None):
        self.graph = graph
        self.device = device
        self.parent = parent
        # (object, inner input) pairs: the outer symbolic tensor or Variable this subgraph
        # reads, and the input standing for it; the enclosing node passes the object in.
        self.captures: list[tuple[Any, Value]] = []
        self._written: set[int] = set()  # variables assigned in this (sub)graph
        self._captured: dict[int, Value] = {}
        self._constants: dict[int, Value] = {}
        self._variables: dict[int, Value] = {}
        self._keep: list = []  # objects whose ids key the dicts above
        # id of a symbolic tensor made for a tape's record -> (the object it stands for, it);
        # one dict for a whole trace and its subgraphs (Note [Tape keys while tracing])
        self._stands_for: dict[int, tuple] = parent._stands_for if parent is not None else {}
        # tapes recording the enclosing graphs (a subgraph's trace sets them aside)
        self._outer_tapes: tuple = () if parent is None else \
            parent._outer_tapes + tuple(core._state.tapes)
        self.finished = False  # set by @aj.function when its trace is done

    # --- converting inputs -----------------------------------------------------------
    def value_of(self, x: Any, op_name: str = "op") -> Value:
        """The value in this graph standing for tensor ``x`` (see Note [Captures])."""
        if x._array is None:
            if x._trace is self:
                return x._value
            return self._capture(x, op_name)
        if x._is_variable:
            return self._read(x)
        if self._outer_tapes and any(id(x) in tape._watched for tape in self._outer_tapes):
            return self._capture(x, op_name)  # a watched tensor: the gradient goes through
        return self._constant_of(x)           # the enclosing node (Note [Captures])

    def _capture(self, x: Any, op_name: str) -> Value:
        inner = self._captured.get(id(x))
        if inner is not None:
            return inner
        symbolic = x._array is None
        if symbolic and not x._is_variable and x._finished():
            raise TracingError(f"{op_name} at {where_text(user_location())}: got a symbolic "
                               f"tensor from another @aj.function: {x.escaped()}")
        if symbolic and not x._is_variable and (self.parent is None
                                                or not self._is_ancestor(x._trace)):
            node = x._value.node
            made = f", made at {where_text(node.where)}" if node is not None and node.where \
                else ""
            raise TracingError(
                f"{op_name}: got a symbolic tensor ({x._describe()}{made}) that belongs to "
                f"another graph (at {where_text(user_location())}). A value computed inside "
                "one branch or loop body cannot be used outside it; return it from the branch "
                "or body instead")
        spec = TensorSpec(x.shape, x.dtype)
        inner = self.graph.add_input(spec)
        self.captures.append((x, inner))
        self._captured[id(x)] = inner
        self._keep.append(x)
        return inner

    def _is_ancestor(self, trace: "GraphTrace") -> bool:
        parent = self.parent
        while parent is not None:
            if parent is trace:
                return True
            parent = parent.parent
        return False

    def _read(self, var: Any) -> Value:
        if self.parent is not None and id(var) not in self._written:
            return self._capture(var, "read")  # the enclosing node passes the value in
        value = self._variables.get(id(var))
        if value is None:
            spec = TensorSpec(var.shape, var.dtype)
            value = self.graph.add_node(READ_VARIABLE, [], {"var": var}, [spec],
                                        user_location()).outputs[0]
            self._variables[id(var)] = value
            self._keep.append(var)
        return value

    def forget_variables(self) -> None:
        """Drop cached reads: the next use of each variable reads it again (after a write)."""
        self._variables.clear()

    def _constant_of(self, x: Tensor) -> Value:
        value = self._constants.get(id(x))
        if value is None:
            array = x._array
            if x._device is not self.device:
                array = backend.transfer(array, self.device)
            value = self.constant(array)
            self._constants[id(x)] = value
            self._keep.append(x)
        return value

    def constant(self, array: Any) -> Value:
        """A new constant node holding ``array``."""
        spec = TensorSpec(array.shape, array.dtype)
        return self.graph.add_node(_CONSTANT, [], {"value": array}, [spec]).outputs[0]

    # --- the trace protocol ----------------------------------------------------------
    def process(self, op: core.Op, inputs: tuple, attrs: dict) -> Any:
        weak = False
        if op.name in WEAK_OPS:
            inputs, weak = _weak_inputs(inputs)
        values = []
        converted = []
        partner = None
        for x in inputs:
            if isinstance(x, Tensor):
                value = self.value_of(x, op.name)
                converted.append(x if x._array is None and x._trace is self
                                 else SymbolicTensor(value, self))
            else:
                if isinstance(x, core.PY_SCALARS):
                    if partner is None:
                        partner = core.weak_dtype(op, inputs) or False
                    try:
                        array = core.scalar_to_array(op, x, partner or None)
                    except AutojitError as exc:  # a number the tensor's dtype cannot take
                        raise at_user_line(exc, user_location()) from None
                else:
                    if type(x) in (list, tuple):  # a list holding tensors: stacked
                        packed = core.packed_inputs(inputs)
                        if packed is not None:
                            return self.process(op, packed, attrs)
                    if partner is None:
                        partner = core.weak_dtype(op, inputs) or False
                    array = core.data_to_array(op, x, partner or None)
                value = self.constant(array)
                converted.append(SymbolicTensor(value, self))
            values.append(value)
        specs = [v.spec for v in values]
        where = user_location()
        try:
            result = op.rule(op.name, *specs, **attrs)
        except AutojitError as exc:
            raise at_user_line(exc, where) from None
        out_specs = [TensorSpec(s, d) for s, d in result] if op.multiple \
            else [TensorSpec(*result)]
        node = self.graph.add_node(op, values, attrs, out_specs, where)
        if op.effect and "var" in attrs and op is not READ_VARIABLE:
            self._variables.pop(id(attrs["var"]), None)
            self._written.add(id(attrs["var"]))
        if node.subgraphs() and node.effect:
            self._written.update(node.written_variables())
            self.forget_variables()
        outputs = [SymbolicTensor(v, self) for v in node.outputs]
        if weak:
            for out in outputs:
                out._weak = out.dtype != np.bool_
        result = tuple(outputs) if op.multiple else outputs[0]
        if core._state.tapes:
            self._record(op, inputs, converted, result, attrs)
        return result

    def _record(self, op: core.Op, inputs: tuple, converted: list, result: Any,
                attrs: dict) -> None:
        """Tell each tape about the op, keyed as Note [Tape keys while tracing] says."""
        stands = self._stands_for
        for x, c in zip(inputs, converted):
            if c is not x and isinstance(x, Tensor):
                stands[id(c)] = (x, c)  # c stands for x (and keeps c alive: ids stay unique)
        for tape in core._state.tapes:
            watched = tape._watched
            keys = []
            for x in inputs:
                if isinstance(x, Tensor):
                    while id(x) not in watched:  # the first of x, what x stands for, ...
                        link = stands.get(id(x))
                        if link is None:
                            break
                        x = link[0]
                keys.append(x)
            tape.record(op, tuple(keys), converted, result, attrs)


# Note [Tape keys while tracing]
# An op's VJP computes with the values the op saw (``converted``): for a Variable, the
# symbolic read made when the op ran (so an assign later in the graph does not change the
# gradient, Note [Tapes and assigns]); for an eager tensor or an outer trace's tensor, the
# constant or captured input standing for it. Tapes key on the user's object (Note [Tape
# keys]), so an op taking one of those stand-ins must be recorded with the object it stands
# for as its key: a VJP is an op too, and when an outer tape records it (second order:
# a gradient penalty, a Hessian-vector product w.r.t. weights) its operand is the stand-in.
# ``_stands_for`` maps each stand-in made for a record to what it stands for (a stand-in of
# a stand-in inside a subgraph, ..., the Variable). Each tape keys an operand on the first
# object along that chain it watches, else on the last: the tape a control-flow VJP runs
# over a subgraph watches the stand-ins given to it, an outer tape the Variable.


# Note [Weak tensors]
# Autograph makes a Python number that a tensor `if` or loop carries a tensor (`n = 0`, then
# `n += 1` in a tensor loop), but marks it weak (Note [Weak numbers in tensor control flow]
# in autograph/conditionals.py): it still takes the dtype of what it meets, as the number
# would have in eager code, so `total / n` with a float `total` is float, not a dtype error.
# Here the arithmetic and comparison ops carry that on while tracing: weak inputs are cast to
# the dtype of a strong (non-bool) input they may take without loss (an int to a float, a
# float32 to a float64), or, when all are weak, to their common dtype with the Python numbers
# among the inputs (an int and a float: float32); the results of ops with no strong input are
# weak again. Eager tensors are never weak.
WEAK_OPS = frozenset({
    "add", "subtract", "multiply", "divide", "floordiv", "mod",
    "maximum", "minimum", "pow", "negative", "abs", "square", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "where",
})


def is_weak(value: Any) -> bool:
    """True for a weak symbolic tensor (Note [Weak tensors]).
    Usage: ``if is_weak(x): ...``"""
    return type(value) is SymbolicTensor and value._weak


def _weak_inputs(inputs: tuple) -> tuple[tuple, bool]:
    """``inputs`` with weak tensors cast as Note [Weak tensors] says, and whether the
    op's results are weak."""
    weak = [x for x in inputs if is_weak(x)]
    if not weak:
        return inputs, False
    from autojit.ops.math import cast  # ops build on the tracer: import late

    strong = [x.dtype for x in inputs if isinstance(x, Tensor) and x.dtype != np.bool_
              and not is_weak(x)]
    if strong:
        target = strong[0]
    else:
        target = weak[0].dtype
        for x in inputs:
            if isinstance(x, Tensor) and x.dtype != np.bool_:
                target = dtypes.weak_promotion(target, x.dtype)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                target = dtypes.weak_promotion(target, dtypes.python_scalar_dtype(x))
    return tuple(cast(x, target) if is_weak(x) and dtypes.weak_meets(x.dtype, target)
                 is not None else x for x in inputs), not strong


# ---------------------------------------------------------------------------------------
# Lifting: a Variable created while tracing gets its initial value computed eagerly.

# Note [Known values]
# A symbolic tensor computed only from constants and fully known static shapes
# (`aj.shape(x)[0] - 1`, `aj.rank(x) - 1`, `aj.constant(2)` for an `x` of static shape) has
# a value while tracing, the same at every replay of this graph (the static shapes are part
# of its signature). Arguments that must be Python values read it (TF's `constant_value`):
# shapes, multiples, paddings, depths and counts (`core.concrete`), axes
# (`shapes.normalize_axis`) and indices (`SymbolicTensor.__index__`: slice bounds,
# `range()`). Results of more than MAX_KNOWN elements, effects (random ops), variables,
# inputs and control flow are not known; a value that depends on an input is still the
# error that says so.

MAX_KNOWN = 1024  # elements: known values are small (shapes, counts), never big arrays


class _Unknown(Exception):
    pass


def _evaluate(value: "SymbolicTensor", known: bool) -> Any:
    """The array ``value`` holds, computed from the graph: for ``known``, only from
    constants and static shapes, with no effects and small results (else ``_Unknown``);
    otherwise from anything but inputs, variables and control flow (else the lift error)."""
    memo: dict[int, Any] = {}
    xp = np if known else value._trace.device.xp

    def evaluate(v: Value) -> Any:
        if v.id in memo:
            return memo[v.id]
        node = v.node
        static = None if node is None else static_shape_value(node)
        if static is not None:
            memo[v.id] = static
            return static
        if node is None or node.subgraphs() or node.op is READ_VARIABLE:
            if known:
                raise _Unknown
            raise TracingError(
                "Variable: the initial value of a Variable created inside @aj.function must "
                "not depend on the function's arguments or on other variables; compute it "
                "from constants (e.g. aj.zeros, aj.random.normal) or pass a callable")
        if known and (node.effect or any(
                size(o.spec.shape) is None or size(o.spec.shape) > MAX_KNOWN
                for o in node.outputs)):
            raise _Unknown
        arrays = [evaluate(i) for i in node.inputs]
        out = node.op.kernel(xp, *arrays, **node.attrs)
        outs = out if node.op.multiple else (out,)
        for o, r in zip(node.outputs, outs):
            memo[o.id] = xp.asarray(r).astype(o.spec.dtype, copy=False) if known else r
        return memo[v.id]

    return evaluate(value._value)


def _lift(value: Any) -> Any:
    if not isinstance(value, SymbolicTensor):
        return value
    return Tensor(value._trace.device.xp.asarray(_evaluate(value, False)), value._trace.device)


def _known(value: Any) -> Any:
    if not isinstance(value, SymbolicTensor):
        return None
    try:
        return _evaluate(value, True)
    except Exception:  # unknown, or an op's own error: the replay raises it at its line
        return None


core._lift_hooks.append(_lift)
core._known_hooks.append(_known)


__all__ = ["SymbolicTensor", "GraphTrace", "READ_VARIABLE", "user_location", "where_text",
           "at_user_line"]
