"""TF1 graphs for ``autojit.compat.v1``: ``Graph``, its symbolic ``Tensor``s, ``Operation``s
and ``Variable``s, and the deferred calls they are built from.

Note [Deferred calls]: a v1 tensor is one output of a *deferred call* ``fn(*args, **kwargs)``:
``fn`` is a public autojit function (``reduce_sum``), a ``Tensor`` operator (``__mul__``) or
``bind`` itself (for an autojit op given a v1 tensor, via ``Tensor._bind_outside``), and the
arguments may hold other v1 tensors. ``Session.run`` traces the calls its fetches need into a
fresh ``GraphTrace`` whose inputs are the fed tensors -- as ``@aj.function`` traces a Python
function for one input signature -- then optimizes, generates replay code and caches it.
Each call is also evaluated once when it is made, on the graph's *static* trace, which gives
v1 tensors their shape and dtype and raises shape and dtype errors at the user's line.

Why deferred rather than nodes built once: TF1 code writes placeholders of unknown rank
(``tf.placeholder(tf.float32)``), which autojit's shape rules cannot type, and Python-side
wrappers need the rank (``reduce_sum``'s default axes). Replaying the calls once the feeds are
known gives every op its real input types. For the static trace an unknown-rank placeholder
stands in as a scalar: results that depend on one get their dtype from that probe, an unknown
shape (``None``), and no definition-time errors (the probe's rank is a guess).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from autojit import backend, nest, variables
from autojit.autodiff import GradientTape
from autojit.errors import InvalidArgumentError, TracingError
from autojit.graph import ir
from autojit.graph.tracer import GraphTrace, SymbolicTensor, user_location, where_text
from autojit.ops import core
from autojit.ops.core import TensorSpec
from autojit.tensor import Tensor as EagerTensor

# ----------------------------------------------------------------------------- deferred calls


class _Call:
    """One deferred call of a graph. ``fn is None`` marks a placeholder (``spec`` its type)."""

    __slots__ = ("fn", "args", "kwargs", "graph", "name", "where", "seq", "deps", "probe",
                 "static", "spec")

    def __init__(self, fn: Callable | None, args: tuple, kwargs: dict, graph: "Graph",
                 name: str, deps: list):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.graph = graph
        self.name = graph._unique(name)
        self.where = user_location()
        graph._seq += 1
        self.seq = graph._seq  # creation order: a topological order of the graph's calls
        self.deps = deps  # the v1 graph elements among the arguments
        self.probe = False  # static types come from an unknown-rank placeholder's stand-in
        self.static: list | None = None  # flat static results; None when unknown
        self.spec: TensorSpec | None = None


class _Evaluator:
    """Evaluates deferred calls into one ``GraphTrace``, each once, with a persistent tape
    that records every op (so ``gradients`` calls can differentiate what came before)."""

    def __init__(self, name: str, device: backend.Device):
        self.graph = ir.Graph(name)
        self.trace = GraphTrace(self.graph, device)
        self.tape = GradientTape(persistent=True)
        self.results: dict[int, list] = {}  # id(call) -> flat results
        self.fed: dict[int, SymbolicTensor] = {}  # id(v1 tensor) -> graph input
        self._keep: list = []  # the calls and tensors whose ids key the dicts above

    def feed(self, tensor: "Tensor", spec: TensorSpec) -> None:
        """Make ``tensor`` a graph input of type ``spec``."""
        symbol = SymbolicTensor(self.graph.add_input(spec), self.trace)
        self.tape.watch(symbol)
        self.fed[id(tensor)] = symbol
        self._keep.append(tensor)

    def lookup(self, x: Any) -> Any:
        """The value in this trace standing for argument leaf ``x``."""
        if isinstance(x, Tensor):
            fed = self.fed.get(id(x))
            return fed if fed is not None else self.results[id(x._call)][x._index]
        if isinstance(x, Operation):
            return None
        return x  # Variables (read by reference), Python and NumPy values

    def run(self, call: _Call) -> Any:
        """Evaluate ``call`` (its dependencies must be evaluated); return its result."""
        args, kwargs = nest.map_structure(self.lookup, (call.args, call.kwargs))
        start = len(self.graph.nodes)
        _running.evaluators.append(self)
        try:
            with core.trace_scope(self.trace):
                core.push_tape(self.tape)
                result = call.fn(*args, **kwargs)
        finally:
            _running.evaluators.pop()
        for node in self.graph.nodes[start:]:
            node.where = call.where  # printed graphs point at the user's definition
        flat = nest.flatten(result)
        self.tape.watch([x for x in flat if isinstance(x, EagerTensor)])  # any x in gradients
        self.results[id(call)] = flat
        self._keep.append(call)
        return result


class _Running(threading.local):
    def __init__(self):
        self.evaluators: list[_Evaluator] = []  # gradients calls need the innermost's tape


_running = _Running()


def _gradients(ys: Any, xs: list, grad_ys: Any) -> list:
    """The deferred body of ``gradients``: the running evaluator's tape differentiates."""
    return _running.evaluators[-1].tape.gradient(ys, xs, output_gradients=grad_ys)


def defer(fn: Callable, args: tuple, kwargs: dict, name: str, structure: Any = 0) -> Any:
    """Add the call ``fn(*args, **kwargs)`` to the graph of its v1 arguments (else the default
    graph) and return its v1 outputs: ``Tensor``s in the result's structure, or an
    ``Operation`` when it has none (Note [Deferred calls]). ``structure`` is the outputs'
    structure to assume when the static trace cannot tell (one tensor by default).

    Usage: ``defer(aj.reduce_sum, (x,), {"axis": 1}, "Sum")``
    """
    if _running.evaluators:  # a deferred call being evaluated uses v1 ops: just run them
        return fn(*args, **kwargs)
    deps = [x for x in nest.flatten((args, kwargs)) if isinstance(x, _ELEMENTS)]
    call = _Call(fn, args, kwargs, _graph_of(deps, name), name, deps)
    static = call.graph._evaluate_static(call)
    if call.static is None:  # types unknown until Session.run
        return nest.pack_as(structure, [Tensor(call, i)
                                        for i in range(len(nest.flatten(structure)))])
    if static is None or (isinstance(static, tuple) and not static):
        return Operation(call)
    outputs = [Tensor(call, i) if isinstance(leaf, EagerTensor) else leaf
               for i, leaf in enumerate(call.static)]
    return nest.pack_as(static, outputs)


def _graph_of(deps: list, name: str) -> "Graph":
    graphs = {id(d.graph): d.graph for d in deps}
    if len(graphs) > 1:
        names = ", ".join(repr(d.name) for d in deps)
        raise InvalidArgumentError(f"{name}: the inputs ({names}) belong to different graphs; "
                                   "build an op from tensors of one graph only")
    return next(iter(graphs.values())) if graphs else get_default_graph()


# ----------------------------------------------------------------------------- graph elements


class _GraphOperators:
    """Python operators that add deferred calls (mixed into v1 ``Tensor`` and ``Variable``).

    ``==`` and ``!=`` compare identity, as in TF1, so tensors key ``feed_dict``s safely; use
    ``tf.equal`` for elementwise comparison.
    """

    __slots__ = ()

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __ne__(self, other: Any) -> bool:
        return self is not other

    __hash__ = object.__hash__

    def __pos__(self) -> Any:
        return self


_OPERATORS = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor")


def _deferred_operator(dunder: str, name: str) -> Callable:
    method = getattr(EagerTensor, dunder)

    def operator(self, *other):
        return defer(method, (self, *other), {}, name)

    operator.__name__ = dunder
    return operator


for _name in _OPERATORS:
    setattr(_GraphOperators, f"__{_name}__", _deferred_operator(f"__{_name}__", _name))
    setattr(_GraphOperators, f"__r{_name}__", _deferred_operator(f"__r{_name}__", _name))
for _dunder, _name in [("__neg__", "neg"), ("__abs__", "abs"), ("__invert__", "logical_not"),
                       ("__lt__", "less"), ("__le__", "less_equal"), ("__gt__", "greater"),
                       ("__ge__", "greater_equal"), ("__getitem__", "getitem")]:
    setattr(_GraphOperators, _dunder, _deferred_operator(_dunder, _name))


class Tensor(_GraphOperators, EagerTensor):
    """A symbolic value of a v1 graph; it gets a value only in ``Session.run``.

    Usage: ``z = w * x + b; sess.run(z, feed_dict={x: 1.0})``. ``shape`` is ``None`` while
    the rank is unknown (a placeholder without a shape upstream); dims may be ``None``.
    """

    __slots__ = ("_call", "_index")

    def __init__(self, call: _Call, index: int):
        static = call.static[index] if call.static is not None else None
        device = getattr(static, "_device", None) or backend.CPU
        super().__init__(None, device)
        self._call = call
        self._index = index

    @property
    def graph(self) -> "Graph":
        """The graph this tensor belongs to. Usage: ``x.graph is tf.get_default_graph()``"""
        return self._call.graph

    @property
    def name(self) -> str:
        """``"add_1:0"``: the op's unique name and the output index, as TF1 prints them."""
        return f"{self._call.name}:{self._index}"

    @property
    def shape(self) -> tuple | None:
        """The static shape (``None`` dims unknown), or ``None`` when the rank is unknown."""
        call = self._call
        if call.spec is not None:
            return call.spec.shape
        if call.static is None or call.probe:
            return None
        return tuple(call.static[self._index].shape)

    def get_shape(self) -> tuple | None:
        """Same as ``shape`` (TF1's spelling). Usage: ``x.get_shape()``"""
        return self.shape

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype, or ``None`` when it could not be inferred before ``Session.run``."""
        call = self._call
        if call.spec is not None:
            return call.spec.dtype
        return None if call.static is None else call.static[self._index].dtype

    @property
    def ndim(self) -> int | None:
        shape = self.shape
        return None if shape is None else len(shape)

    def _bind_outside(self, op: core.Op, inputs: tuple, attrs: dict) -> Any:
        # An autojit op met this tensor at top level (the eager trace asks, see
        # autojit/tensor.py): it becomes a deferred call of ``bind``.
        return defer(core.bind, (op, *inputs), attrs, op.name)

    def _describe(self) -> str:  # for GraphTrace's error when used inside @aj.function
        return f"the compat.v1 tensor {self.name!r}"

    _trace = None  # not a symbolic tensor of any GraphTrace

    def _refuse(self, what: str) -> TracingError:
        return TracingError(f"{what} of {self!r} at {where_text(user_location())}: a "
                            "compat.v1 tensor has no value until it runs; fetch it with "
                            "sess.run(t, feed_dict=...)")

    def __bool__(self) -> bool:
        raise self._refuse("bool()")

    def __float__(self) -> float:
        raise self._refuse("float()")

    def __int__(self) -> int:
        raise self._refuse("int()")

    def __index__(self) -> int:
        raise self._refuse("Using as an index")

    def numpy(self) -> np.ndarray:
        raise self._refuse(".numpy()")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise self._refuse("np.asarray()")

    def __len__(self) -> int:
        if not self.shape or self.shape[0] is None:
            raise self._refuse("len()")
        return self.shape[0]

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else \
            "(" + ", ".join("?" if d is None else str(d) for d in self.shape) + \
            ("," if len(self.shape) == 1 else "") + ")"
        dtype = "?" if self.dtype is None else self.dtype.name
        return f'Tensor("{self.name}", shape={shape}, dtype={dtype})'

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)


class Operation:
    """A graph element with no outputs, run for its effect: ``sess.run(op)`` returns None.

    Usage: ``init = tf.global_variables_initializer(); sess.run(init)``
    """

    __slots__ = ("_call",)

    def __init__(self, call: _Call):
        self._call = call

    @property
    def graph(self) -> "Graph":
        """The graph this operation belongs to."""
        return self._call.graph

    @property
    def name(self) -> str:
        """The operation's unique name, e.g. ``"init"``."""
        return self._call.name

    def __repr__(self) -> str:
        return f'<tf.Operation "{self.name}">'


class Variable(_GraphOperators, variables.Variable):
    """A TF1 variable: an ``aj.Variable`` that belongs to a graph; its operators and
    ``assign*`` add deferred calls, and ``global_variables_initializer()`` (re)assigns its
    initial value.

    Usage: ``w = tf.Variable(2.0, name="weight")``. Unlike TF1 the variable holds its initial
    value from the start (autojit variables are never uninitialized), and the initial value
    is computed once, at creation: running the initializer again assigns that same value.
    """

    __slots__ = ("graph", "_initial_value")

    def __init__(self, initial_value: Any = None, trainable: bool = True,
                 name: str | None = None, dtype: Any = None):
        graph = get_default_graph()
        if isinstance(initial_value, Tensor):  # e.g. tf.Variable(tf.zeros([3, 4]))
            from autojit.compat.session import Session

            initial_value = Session(initial_value.graph).run(initial_value)
        super().__init__(initial_value, trainable=trainable, name=name, dtype=dtype)
        self.graph = graph
        self._initial_value = self._device.xp.array(self._array, copy=True)
        graph._variables.append(self)

    def assign(self, value: Any, read_value: bool = True) -> Tensor:
        """A tensor that, when run, assigns ``value`` and gives the new value (TF1)."""
        return defer(variables.Variable.assign, (self, value), {}, "Assign")

    def assign_add(self, delta: Any, read_value: bool = True) -> Tensor:
        """A tensor that, when run, adds ``delta`` and gives the new value."""
        return defer(variables.Variable.assign_add, (self, delta), {}, "AssignAdd")

    def assign_sub(self, delta: Any, read_value: bool = True) -> Tensor:
        """A tensor that, when run, subtracts ``delta`` and gives the new value."""
        return defer(variables.Variable.assign_sub, (self, delta), {}, "AssignSub")

    def read_value(self) -> Tensor:
        """A tensor reading the value when run."""
        return defer(variables.Variable.read_value, (self,), {}, "read")

    value = read_value

    @property
    def initializer(self) -> Operation:
        """The operation assigning this variable's initial value.

        Usage: ``sess.run(w.initializer)``
        """
        return defer(_initialize, ([self],), {}, self.name.split(":")[0] + "/Assign")


def _initialize(variables_: list) -> None:
    for var in variables_:
        variables.Variable.assign(var, var._initial_value)


_ELEMENTS = (Tensor, Operation, Variable)


# ----------------------------------------------------------------------------- graphs


class Graph:
    """A TF1 computational graph: placeholders, variables and the deferred calls on them.

    Usage::

        g = tf.Graph()
        with g.as_default():
            x = tf.placeholder(tf.float32, name="x")

    ``print(g)`` shows the graph as traced on the declared placeholder types (an
    unknown-rank placeholder appears as a scalar there); ``Session.run`` compiles the part
    its fetches need for the fed types.
    """

    def __init__(self):
        self._seq = 0
        self._names: dict[str, int] = {}
        self._variables: list[Variable] = []
        self._static = _Evaluator("v1_graph", backend.CPU)

    def as_default(self) -> "_AsDefault":
        """A context in which new ops, placeholders and variables go to this graph.

        Usage: ``with g.as_default(): ...`` (``with tf.Graph().as_default() as g:`` too)
        """
        return _AsDefault(self)

    def _unique(self, name: str) -> str:
        count = self._names.get(name, 0)
        self._names[name] = count + 1
        return name if count == 0 else f"{name}_{count}"

    def _evaluate_static(self, call: _Call) -> Any:
        """Trace ``call`` on the declared types; set ``call.static``; return its result."""
        tensors = [d for d in call.deps if isinstance(d, Tensor)]
        if any(t._call.static is None for t in tensors):
            return None
        call.probe = any(t._call.probe for t in tensors)
        try:
            result = self._static.run(call)
        except Exception:
            if call.probe:  # a scalar stand-in's error says nothing about the real rank
                return None
            raise
        call.static = self._static.results[id(call)]
        return result

    def __str__(self) -> str:
        return str(self._static.graph)

    def __repr__(self) -> str:
        return f"<tf.Graph: {self._seq} ops, {len(self._variables)} variables>"


class _AsDefault:
    def __init__(self, graph: Graph):
        self.graph = graph

    def __enter__(self) -> Graph:
        _defaults.stack.append(self.graph)
        return self.graph

    def __exit__(self, *exc) -> None:
        _defaults.stack.remove(self.graph)


class _Defaults(threading.local):
    def __init__(self):
        self.stack: list[Graph] = []


_defaults = _Defaults()
_base_graph: Graph | None = None


def get_default_graph() -> Graph:
    """The graph new ops go to: the innermost ``as_default()``, else the global default.

    Usage: ``tf.get_default_graph()``
    """
    global _base_graph
    if _defaults.stack:
        return _defaults.stack[-1]
    if _base_graph is None:
        _base_graph = Graph()
    return _base_graph


def reset_default_graph() -> None:
    """Replace the global default graph with an empty one. Usage: ``tf.reset_default_graph()``"""
    global _base_graph
    if _defaults.stack:
        raise InvalidArgumentError("reset_default_graph: called inside `with g.as_default():`; "
                                   "call it outside every as_default() block")
    _base_graph = Graph()


# ----------------------------------------------------------------------------- builders


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """A graph input whose value ``Session.run`` takes from ``feed_dict``.

    Usage: ``x = tf.placeholder(tf.float32, shape=[None, 784], name="x")``

    ``shape`` fixes the rank (``None`` dims take any size), and feeds must fit it; a session
    compiles once for all feeds that fit. ``shape=None`` (TF1's default, also written
    ``shape=(None)``) leaves even the rank open: each new feed shape compiles its own
    graph, and tensors computed from the placeholder have ``shape`` ``None`` until run.
    Fed values are converted to ``dtype`` (float64 data into float32 is fine; 1.5 into
    int32 is an error).
    """
    if isinstance(shape, int):
        shape = (shape,)
    spec = TensorSpec(shape, dtype)
    graph = get_default_graph()
    call = _Call(None, (), {}, graph, name or "Placeholder", [])
    call.spec = spec
    call.probe = spec.shape is None
    tensor = Tensor(call, 0)
    graph._static.feed(tensor, TensorSpec((), spec.dtype) if call.probe else spec)
    call.static = [graph._static.fed[id(tensor)]]
    return tensor


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients") -> list:
    """Symbolic gradients: one tensor per ``xs`` entry, d(sum of ``ys``)/d(x) (``None``
    where ``ys`` does not depend on ``x``, when that is known at definition).

    Usage: ``grad_x, grad_y = tf.gradients(c, [x, y])``. ``grad_ys`` weights ``ys``.
    Gradient tensors are graph tensors like any other, so they can be differentiated again.
    """
    xs = list(xs) if isinstance(xs, (list, tuple)) else [xs]
    return defer(_gradients, (ys, xs, grad_ys), {}, name or "gradients", [0] * len(xs))


def global_variables() -> list:
    """The variables of the default graph, in creation order. Usage: ``tf.global_variables()``"""
    return list(get_default_graph()._variables)


def trainable_variables() -> list:
    """The trainable variables of the default graph. Usage: ``tf.trainable_variables()``"""
    return [v for v in get_default_graph()._variables if v.trainable]


def variables_initializer(var_list: list, name: str = "init") -> Operation:
    """An operation assigning each variable its initial value.

    Usage: ``sess.run(tf.variables_initializer([w, b]))``
    """
    return defer(_initialize, (list(var_list),), {}, name)


def global_variables_initializer() -> Operation:
    """An operation assigning every variable of the default graph its initial value.

    Usage: ``init = tf.global_variables_initializer(); sess.run(init)``
    """
    return variables_initializer(get_default_graph()._variables)
