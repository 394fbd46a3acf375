"""``@aj.function``: trace once per input signature, optimize, generate replay code, cache.

Note [Signature keys]: a call's key describes everything tracing depended on: for each
tensor its (shape, dtype, device); for each Variable its identity (variables are captured
by reference, so their values are not part of the key); for Python scalars and other
hashables their value; lists, tuples, dicts and namedtuples by structure; keyword
arguments by name; and the device scope active at the call. A key maps to one
``ConcreteFunction``. With ``input_signature`` the tensor part is fixed by the specs (unknown
dims allowed); a spec of unknown rank (``TensorSpec(None)``) takes tensors of any rank,
traced once per rank with every dim unknown (a symbolic tensor always has a rank, so
``x.shape`` and the shape rules stay simple); with ``reduce_retracing=True`` a retrace
generalizes the dims that changed.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import threading
import time
import warnings
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from autojit import backend, nest, variables
from autojit.config import _config
from autojit.config import logger as _log
from autojit.errors import TracingError
from autojit.explain import (
    BuildInfo,
    CacheInfo,
    Explanation,
    TraceRecord,
    count_nodes,
    explain_concrete,
    retrace_reason,
    signature_text,
)
from autojit.graph.executors import compile_graph
from autojit.graph.interpret import evaluate
from autojit.graph.ir import Graph
from autojit.graph.passes import optimize
from autojit.graph.tracer import GraphTrace, SymbolicTensor, user_location, where_text
from autojit.ops import core
from autojit.ops.core import TensorSpec
from autojit.signature import (
    SCALARS,
    describe_key,
    first_difference,
    key_of,
    key_tensor_shapes,
    strip_shapes,
)
from autojit.tensor import Tensor
from autojit.tensor_array import TensorArray, as_tensor_value

_EAGER = core._State.trace


class ConcreteFunction:
    """One traced, optimized and compiled graph for one input signature.

    Usage: ``cf = fn.get_concrete_function(x); print(cf.graph); print(cf.code); cf(x)``
    """

    def __init__(self, name: str, graph: Graph, device: backend.Device, input_specs: list,
                 output_template: Any, output_kinds: list, variables_used: list):
        self.name = name
        self.graph = graph
        self.device = device
        self.input_specs = input_specs
        self._template = output_template
        self._kinds = output_kinds  # per leaf: result index, ("py", v) or ("array", ta, [i])
        self.variables = variables_used
        began = time.perf_counter()
        self._fn, self.code = compile_graph(graph, device, name, variables_used,
                                            _config.fusion, _config.cuda_graphs)
        self._compile_s = time.perf_counter() - began
        self._build: BuildInfo | None = None  # set by Function._trace, read by explain()
        self._filename = self._fn.__code__.co_filename
        self._lines = self._fn.line_nodes
        self._pack = _make_packer(output_template, output_kinds)
        self._backward: Function | None = None
        # writes, prints or random draws: recomputing it for a VJP would repeat them
        self._stateful = any(node.op.effect and node.op.name != "read_variable"
                             for node in graph.walk())
        self._guarded = _written_before_failure(graph)  # Note [Failed replays]
        self.arguments: Any = None  # (args, kwargs) traced with, tensors as ArgumentSlots
        self.function_signature: inspect.Signature | None = None  # of the Python function

    @property
    def structured_input_signature(self) -> list:
        """The ``TensorSpec`` of each tensor input, in call order."""
        return list(self.input_specs)

    @property
    def structured_outputs(self) -> Any:
        """What the traced function returned, with its tensors as the symbolic tensors of
        the trace (their ``shape``/``dtype`` are the outputs' types, as TF's).
        Usage: ``[t.shape for t in aj.nest.flatten(cf.structured_outputs)]``"""
        return self._template

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tensors: list = []
        for leaf in nest.flatten((args, kwargs)):
            if isinstance(leaf, Tensor) and not leaf._is_variable:
                tensors.append(leaf)
            elif isinstance(leaf, np.ndarray):
                tensors.append(Tensor(leaf))
            elif isinstance(leaf, TensorArray):  # Note [TensorArrays across functions]
                leaf._aj_signature(tensors)
        if self.arguments is not None:
            self._check_python_arguments(args, kwargs)
        if len(tensors) != len(self.input_specs):
            raise TracingError(f"{self.name}: this concrete function takes "
                               f"{len(self.input_specs)} tensors, got {len(tensors)}")
        for i, (t, spec) in enumerate(zip(tensors, self.input_specs)):
            if not spec.is_compatible_with(t.shape, t.dtype):
                raise TracingError(
                    f"{self.name}: tensor #{i} must match {spec!r}, the type this concrete "
                    f"function was traced for, got a {t.dtype.name} tensor of shape "
                    f"{tuple(t.shape)}; call the Function itself to trace for new types")
        return self._call(tensors)

    def _check_python_arguments(self, args: tuple, kwargs: dict) -> None:
        """A Python value (or Variable) the graph was traced with must be passed again: the
        graph holds the traced one (TF raises the same TypeError)."""
        traced_args, traced_kwargs = self.arguments
        signature = self.function_signature
        if signature is None:
            return
        try:
            traced = signature.bind(*traced_args, **traced_kwargs)
            given = signature.bind(*args, **kwargs)
        except TypeError:  # a call the function refuses: the tensor count check says so
            return
        traced.apply_defaults()
        given.apply_defaults()
        pairs = [(name, traced.arguments[name], given.arguments.get(name))
                 for name in traced.arguments]
        for name, old, new in pairs:
            old_leaves, new_leaves = nest.flatten(old), nest.flatten(new)
            if len(old_leaves) != len(new_leaves):
                raise TypeError(f"{self.name}: this concrete function was traced with "
                                f"`{name}` of another structure ({old!r:.60}); got {new!r:.60}")
            for a, b in zip(old_leaves, new_leaves):
                if isinstance(a, ArgumentSlot) or a is b:
                    continue
                if isinstance(b, Tensor) or isinstance(a, Tensor) or type(a) is not type(b) \
                        or not _same_value(a, b):
                    raise TypeError(
                        f"{self.name}: this concrete function was traced with `{name}` = "
                        f"{a!r:.60}, and a Python value (or Variable) is part of the graph; "
                        f"got {b!r:.60}. Call the Function itself to trace for it")

    def _call(self, tensors: Sequence[Tensor]) -> Any:
        if core._state.trace is not _EAGER:  # called while another function traces: inline
            return self._pack(evaluate(self.graph, list(tensors)), None, None)
        if core._state.tapes and (tensors or self.variables):
            if self._stateful:  # Note [Gradients across functions]: no recomputation
                return self._pack(evaluate(self.graph, list(tensors)), None, None)
            results = core.bind(CALL, *tensors, *self.variables, concrete=self,
                                n_inputs=len(tensors))
        else:
            device = self.device
            arrays = []
            for t in tensors:
                if t._device is not device:
                    arrays.append(backend.transfer(t._array, device))
                else:
                    arrays.append(t._array)
            saved = [(v, v._array.copy()) for v in self._guarded] if self._guarded else ()
            try:
                results = self._fn(*arrays)
            except Exception as exc:
                for var, array in saved:  # Note [Failed replays]
                    var._array[...] = array
                raise self._replay_error(exc) from exc
            return self._pack(results, Tensor, device)
        return self._pack(results, None, None)

    def _replay_error(self, exc: Exception) -> Exception:
        """``exc`` from generated code, reworded to name the op and the user's line."""
        tb = exc.__traceback__
        line = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                line = tb.tb_lineno
            tb = tb.tb_next
        node = self._lines.get(line)
        if node is None:
            return exc
        message = (f"{type(exc).__name__} while running `{node.op.name}` of {self.name} "
                   f"(at {where_text(node.where)}): {exc}")
        try:
            return type(exc)(message)
        except Exception:  # exception types with unusual constructors keep their own text
            return exc

    def check_values(self) -> None:
        """Wait for the device and raise what its deferred index checks found: on a GPU, a bad
        index (a label out of range) is otherwise reported by the next call (Note [Deferred
        checks] in graph/executors/device_checks.py). The CPU checks at every call: nothing
        to do there.

        Usage: ``step.get_concrete_function(x, y).check_values()``
        """
        check = getattr(self._fn, "check_values", None)
        if check is not None:
            check()

    def explain(self) -> Explanation:
        """A report on this graph (print it): time to convert, trace, optimize and compile;
        nodes before and after each pass and what each removed or added; buffers reused;
        Variables snapshotted for failed replays (Note [Failed replays]); host round trips.

        Usage: ``print(fn.get_concrete_function(x).explain())``
        """
        return explain_concrete(self)

    def backward_function(self) -> "Function":
        """A traced function ``backward(inputs, states, cotangents)`` computing the gradients
        of the tensor inputs and of the variables the graph reads, from output cotangents;
        ``states`` holds, per variable, the Variable or the value it had when the forward ran
        (Note [Gradients across functions])."""
        if self._backward is None:
            graph, variables_used = self.graph, self.variables

            def backward(inputs, states, cotangents):
                from autojit.autodiff import GradientTape

                with GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(inputs)
                    tape.watch(states)
                    outputs = evaluate(graph, inputs, dict(zip(map(id, variables_used),
                                                                 states)))
                pairs = [(o, g) for o, g in zip(outputs, cotangents)
                         if g is not None and hasattr(o, "dtype")]
                if not pairs:
                    return [None] * (len(inputs) + len(states))
                return tape.gradient([o for o, _ in pairs], list(inputs) + list(states),
                                     output_gradients=[g for _, g in pairs])

            # reduce_retracing: a forward traced for unknown dims (input_signature) must not
            # retrace its backward for every batch size
            self._backward = Function(backward, name=f"{self.name}_backward", autograph=False,
                                      reduce_retracing=True)
        return self._backward

    def __repr__(self) -> str:
        return f"<ConcreteFunction {self.name} {[s.short() for s in self.input_specs]}>"


def _same_value(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and (type(a) is not float or repr(a) == repr(b))  # -0.0, nan
    except Exception:  # an object whose == is not a bool
        return False


class ArgumentSlot:
    """Where the ``index``-th tensor input of a concrete function stood in the arguments it
    was traced with (``concrete.arguments``), and its type.

    Usage: ``args, kwargs = concrete.arguments; args[0].spec``
    """

    __slots__ = ("index", "spec")

    def __init__(self, index: int, spec: TensorSpec):
        self.index, self.spec = index, spec

    def __repr__(self) -> str:
        return f"ArgumentSlot({self.index}, {self.spec!r})"


def _signature_of(fn: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or an object without one
        return None


def _make_packer(template: Any, kinds: list) -> Callable:
    """A generated function rebuilding the output structure from the flat results (and
    wrapping arrays as tensors when ``wrap`` is given): ``lambda r, T, D: (T(r[0], D), [...])``.
    Generic ``nest.pack_as`` costs microseconds per call; this costs a tuple build."""
    constants: dict[str, Any] = {}
    leaves = iter(kinds)

    def build(value: Any) -> str:
        if nest.is_namedtuple(value):
            name = f"k{len(constants)}"
            constants[name] = type(value)
            return f"{name}({', '.join(build(v) for v in value)})"
        if isinstance(value, tuple):
            items = [build(v) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(value, list):
            return "[" + ", ".join(build(v) for v in value) + "]"
        if isinstance(value, dict):
            keys = sorted(value, key=nest._sort_key)
            built = {k: build(value[k]) for k in keys}
            name = f"k{len(constants)}"
            constants[name] = type(value)
            items = [f"({_const(constants, k)}, {built[k]})" for k in value]
            return f"{name}([{', '.join(items)}])"
        kind = next(leaves)
        if isinstance(kind, int):
            return f"(r[{kind}] if T is None else T(r[{kind}], D))"
        if kind[0] == "array":  # Note [TensorArrays across functions]
            parts = ", ".join(f"(r[{i}] if T is None else T(r[{i}], D))" for i in kind[2])
            return f"{_const(constants, kind[1]._aj_from_outputs)}([{parts}])"
        return _const(constants, kind[1])

    body = build(template)
    return eval(f"lambda r, T, D: {body}", constants)  # noqa: S307  (our own source)


def _const(constants: dict, value: Any) -> str:
    name = f"k{len(constants)}"
    constants[name] = value
    return name


# Note [Gradients across functions]: calling a function under an eager tape binds one
# ``call`` op, so the tape records the whole call as a single entry. Its VJP is another
# traced function that recomputes the forward graph under a tape (through ``evaluate``) and
# returns gradients for the tensor inputs and the variables the graph reads. The ``call``
# op's inputs include those Variables, so an assign before ``gradient`` leaves the entry a
# snapshot of the old value (Note [Tapes and assigns]); the backward is given each
# Variable, or its snapshot as a tensor argument, and the recomputation reads that in
# place of the variable (a Variable argument is by reference, a snapshot a new trace). Recomputing
# trades a second forward pass for not keeping intermediates alive between calls.
# A graph with effects other than variable reads (assigns, aj.print, random draws) cannot
# be recomputed: the effects would run twice, and the recomputation would see the variables
# it wrote, or draw other random numbers (another dropout mask). Under a tape such a graph
# runs op by op eagerly instead (``evaluate``), and the tape records each op, as for eager
# code.


def _call_kernel(xp, *arrays, concrete, n_inputs):
    return concrete._fn(*arrays[:n_inputs])


def _call_rule(name, *specs, concrete, n_inputs):
    return [(v.spec.shape, v.spec.dtype) for v in concrete.graph.outputs]


def _call_vjp(gs, outs, *inputs, concrete, n_inputs):
    # inputs[n_inputs:] are the graph's Variables, or the snapshots of those assigned since
    # the call (Note [Tapes and assigns]): the backward reads the values the forward saw
    grads = concrete.backward_function()(list(inputs[:n_inputs]), list(inputs[n_inputs:]),
                                         list(gs))
    return tuple(grads)


CALL = core.defop("call", ["*args"], _call_kernel, _call_rule, _call_vjp,
                  attrs=("concrete", "n_inputs"), multiple=True, effect=True)


# ---------------------------------------------------------------------------------------


class BoundMethod:
    """An ``@aj.function`` method of one object (``model.step``): calls the Function traced
    for that object, which it keeps alive as a Python bound method does, so
    ``Model().step(x)`` works on a temporary. Other attributes are the Function's.

    Usage: ``model.step(x); model.step.tracing_count; model.step.function``
    """

    __slots__ = ("function", "__self__")

    def __init__(self, function: "Function", instance: Any):
        self.function = function
        self.__self__ = instance

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.function, name)

    def __eq__(self, other: object) -> bool:  # as Python's bound methods: equal, not one object
        return isinstance(other, BoundMethod) and other.function is self.function

    def __hash__(self) -> int:
        return hash(id(self.function))

    def __repr__(self) -> str:
        return f"<bound aj.function {self.function.name} of {self.__self__!r:.60}>"


class Function:
    """A Python function compiled to cached graphs, one per input signature.

    Usage::

        @aj.function
        def train_step(x, y):
            ...
        train_step(xb, yb)              # traced once, replayed afterwards
        train_step.tracing_count        # 1
    """

    def __init__(self, python_function: Callable, name: str | None = None,
                 input_signature: Sequence[TensorSpec] | None = None, autograph: bool = True,
                 reduce_retracing: bool = False, instance: Any = None):
        self.python_function = python_function
        self.name = name or getattr(python_function, "__name__", "function")
        self.input_signature = None if input_signature is None else list(input_signature)
        self._var_keyword: bool | None = None  # set by _takes_kwargs
        self.autograph = autograph
        self.reduce_retracing = reduce_retracing
        self._instance = None if instance is None else weakref.ref(instance)
        self._cache: dict = {}
        self._generalized: list = []  # (specs, concrete, key shape) for reduce_retracing
        self._lock = threading.RLock()
        self._tracing_count = 0
        self._last_key: Any = None
        self._hits = 0  # cache lookups (calls, get_concrete_function) found / not found
        self._misses = 0
        self._traces: list[TraceRecord] = []
        self._trace_keys: list = []  # the key of each trace, for the next one's reason
        self._converted: Callable | None = None
        self._bound: dict = {}  # id(instance) -> (weakref to it, its bound Function)
        functools.update_wrapper(self, python_function, updated=())

    @property
    def tracing_count(self) -> int:
        """How many times this function has been traced. Usage: ``fn.tracing_count``"""
        return self._tracing_count

    def experimental_get_tracing_count(self) -> int:
        """How many times this function has been traced (TF's name for ``tracing_count``).

        Usage: ``fn.experimental_get_tracing_count()``
        """
        return self._tracing_count

    def cache_info(self) -> CacheInfo:
        """Entries, hits, misses and every trace with its signature, the reason it traced
        (which argument changed and how) and its time. Printable.

        Usage: ``print(fn.cache_info())``
        """
        entries = len({id(c) for c in self._cache.values()})
        return CacheInfo(self.name, entries, self._hits, self._misses, tuple(self._traces))

    # --- methods: one Function per instance, not keeping the instance alive ---------------
    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        # Keyed by id with a weak reference, not a WeakKeyDictionary: instances need not be
        # hashable (dataclasses with eq=True are not). The entry goes when the instance does.
        entry = self._bound.get(id(instance))
        if entry is not None and entry[0]() is instance:
            return BoundMethod(entry[1], instance)
        with self._lock:
            entry = self._bound.get(id(instance))
            if entry is not None and entry[0]() is instance:
                return BoundMethod(entry[1], instance)
            bound = Function(self.python_function, self.name, self.input_signature,
                             self.autograph, self.reduce_retracing, instance=instance)
            self._bound[id(instance)] = (weakref.ref(instance, _forget(self._bound, id(instance))),
                                         bound)
        return BoundMethod(bound, instance)

    def _target(self) -> Callable:
        """The Python callable traced: converted by autograph when enabled."""
        if self._converted is None:
            fn = self.python_function
            if self.autograph:
                from autojit import autograph

                fn = autograph.convert(fn)
            self._converted = fn
        if self._instance is None:
            return self._converted
        instance = self._instance()
        if instance is None:
            raise TracingError(f"{self.name}: the object this method belongs to is gone")
        return functools.partial(self._converted, instance)

    # --- calls --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _config.run_eagerly:
            return self._plain()(*args, **kwargs)
        if core._state.trace is not _EAGER:
            return self._target()(*args, **kwargs)  # called while tracing: inline
        concrete, tensors = self._lookup(args, kwargs)
        return concrete._call(tensors)

    def _plain(self) -> Callable:
        if self._instance is None:
            return self.python_function
        return functools.partial(self.python_function, self._instance())

    def _lookup(self, args: tuple, kwargs: dict) -> tuple:
        tensors: list = []
        if self.input_signature is not None:
            key = self._check_signature(args, kwargs, tensors)
        else:
            if kwargs and len(kwargs) > 1 and not self._takes_kwargs():
                kwargs = dict(sorted(kwargs.items()))  # bound by name: order is invisible
            key = (key_of(args, tensors), key_of(kwargs, tensors) if kwargs else None)
        scope = backend._scope.stack
        if scope:
            key = (key, scope[-1])
        concrete = self._cache.get(key)
        if concrete is None:
            with self._lock:
                concrete = self._cache.get(key)
                if concrete is None:
                    self._misses += 1
                    concrete = self._match_generalized(key, tensors)
                else:
                    self._hits += 1
                if concrete is None:
                    concrete = self._trace(args, kwargs, key, tensors)
                self._cache[key] = concrete
        else:
            self._hits += 1
        return concrete, tensors

    def _takes_kwargs(self) -> bool:
        """Whether the Python function has ``**kwargs`` (whose order its body can see)."""
        if self._var_keyword is None:
            signature = _signature_of(self.python_function)
            self._var_keyword = signature is None or any(
                p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        return self._var_keyword

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The traced graph for these arguments (tensors or ``TensorSpec``s), tracing if needed.

        Usage: ``print(fn.get_concrete_function(aj.TensorSpec([None, 3])).graph)``
        """
        if not args and not kwargs and self.input_signature is not None:
            args = tuple(self.input_signature)
        concrete, _ = self._lookup(args, kwargs)
        return concrete

    # --- input_signature -----------------------------------------------------------------
    def _check_signature(self, args: tuple, kwargs: dict, tensors: list) -> Any:
        specs = self.input_signature
        if kwargs or len(args) < len(specs):  # too many: the input_signature error below
            self._check_arguments(args, kwargs)
        if kwargs:
            params = list(inspect.signature(self.python_function).parameters)
            if self._instance is not None:
                params = params[1:]
            args = args + tuple(kwargs[p] for p in params[len(args):] if p in kwargs)
        if len(args) != len(specs):
            raise TracingError(f"{self.name}: input_signature has {len(specs)} entries, but the "
                               f"call passed {len(args)} arguments")
        ranks: list = []
        for i, (arg, spec) in enumerate(zip(args, specs)):
            spec_leaves = nest.flatten(spec)
            # a spec takes one value, which may be a nested Python list ([[1, 2, 3]])
            arg_leaves = [arg] if isinstance(spec, TensorSpec) else nest.flatten(arg)
            if len(spec_leaves) != len(arg_leaves):
                raise TracingError(f"{self.name}: argument {self._arg_name(i)} does not match "
                                   f"the structure of input_signature[{i}]")
            for leaf, s in zip(arg_leaves, spec_leaves):
                tensor = leaf if isinstance(leaf, (Tensor, TensorSpec)) else None
                if isinstance(leaf, TensorArray):
                    raise TracingError(
                        f"{self.name}: argument {self._arg_name(i)} is an aj.TensorArray, but "
                        f"input_signature[{i}] is {s!r} (there is no TensorArraySpec); pass "
                        "ta.stack() and rebuild it with unstack, or drop input_signature")
                if tensor is None:
                    from autojit.ops.array import constant

                    tensor = constant(leaf, dtype=s.dtype)
                shape = tensor.shape
                if not s.is_compatible_with(shape, tensor.dtype):
                    raise TracingError(
                        f"{self.name}: argument {self._arg_name(i)} must match {s!r} from "
                        f"input_signature, got a {tensor.dtype.name} tensor of shape "
                        f"{tuple(shape)}")
                if s.shape is None:  # unknown rank: one trace per rank (see Note [Signature keys])
                    if shape is None:
                        raise TracingError(
                            f"{self.name}: input_signature[{i}] is {s!r}, of unknown rank, so "
                            "a concrete function needs the rank: pass a TensorSpec with dims "
                            "(None for an unknown one) or a tensor")
                    ranks.append(len(shape))
                tensors.append(tensor)
        return ("signature", tuple(ranks)) if ranks else ("signature",)

    def _check_arguments(self, args: tuple, kwargs: dict) -> None:
        """A call whose arguments the Python function would refuse (an unexpected keyword, a
        missing argument) is the same ``TypeError``, not silently ignored by the cache."""
        try:
            signature = inspect.signature(self._plain())
        except (TypeError, ValueError):
            return
        try:
            signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self.name}(): {error}") from None

    def _signature_arguments(self, args: tuple, kwargs: dict, inputs: list) -> tuple:
        """The arguments to trace with under ``input_signature``: each argument a spec covers
        becomes symbolic tensors in the spec's structure (a Python list given for a spec too),
        matched as ``_check_signature`` matches them: by position, then keywords in parameter
        order."""
        it = iter(inputs)
        packed = [nest.pack_as(spec, [next(it) for _ in nest.flatten(spec)])
                  for spec in self.input_signature]
        sym_kwargs = dict(kwargs)
        if kwargs:
            params = list(inspect.signature(self.python_function).parameters)
            if self._instance is not None:
                params = params[1:]
            named = [p for p in params[len(args):] if p in kwargs]
            for name, value in zip(named, packed[len(args):]):
                sym_kwargs[name] = value
        return tuple(packed[:len(args)]), sym_kwargs

    def _arg_name(self, index: int) -> str:
        try:
            params = list(inspect.signature(self.python_function).parameters)
            if self._instance is not None:
                params = params[1:]
            return f"`{params[index]}`"
        except (TypeError, ValueError, IndexError):
            return f"#{index}"

    # --- reduce_retracing ----------------------------------------------------------------
    def _match_generalized(self, key: Any, tensors: list) -> ConcreteFunction | None:
        for specs, concrete, structure in self._generalized:
            if structure == strip_shapes(key) and len(specs) == len(tensors) and all(
                    s.is_compatible_with(t.shape, t.dtype) for s, t in zip(specs, tensors)):
                return concrete
        return None

    # --- tracing -------------------------------------------------------------------------
    def _trace(self, args: tuple, kwargs: dict, key: Any, tensors: list) -> ConcreteFunction:
        specs = [TensorSpec(t.shape, t.dtype) for t in tensors]
        if self.input_signature is not None:
            specs = [s if s.shape is not None else TensorSpec((None,) * len(t.shape), s.dtype)
                     for s, t in zip([s for spec in self.input_signature
                                      for s in nest.flatten(spec)], tensors)]
        elif self.reduce_retracing and self._last_key is not None:
            specs = self._generalize(key, specs)
        self._warn_if_retracing(args, key)
        began = time.perf_counter()
        target = self._target()  # autograph conversion, cached after the first trace
        converted = time.perf_counter()
        first = next((t for t in tensors if isinstance(t, Tensor)), None)
        device = backend.scope_device() or (first._device if first is not None else backend.CPU)
        graph = Graph(self.name)
        trace = GraphTrace(graph, device)
        inputs = [SymbolicTensor(graph.add_input(s), trace) for s in specs]
        it = iter(inputs)

        def to_symbol(leaf):
            if isinstance(leaf, (Tensor, np.ndarray, TensorSpec)) and not getattr(
                    leaf, "_is_variable", False):
                return next(it)
            if isinstance(leaf, TensorArray):  # Note [TensorArrays across functions]
                return leaf._aj_rebuild([next(it) for _ in leaf._aj_components()])
            return leaf

        if self.input_signature is not None:
            sym_args, sym_kwargs = self._signature_arguments(args, kwargs, inputs)
        else:
            sym_args, sym_kwargs = nest.map_structure(to_symbol, (args, kwargs))
        hook = self._variable_hook()
        variables._creation_hooks.append(hook)
        saved_autograph = core._state.autograph
        core._state.autograph = self.autograph  # Note [Library code calling user code]
        try:
            with core.trace_scope(trace):
                outputs = target(*sym_args, **sym_kwargs)
        finally:
            core._state.autograph = saved_autograph
            variables._creation_hooks.remove(hook)
        self._tracing_count += 1
        self._last_key = key
        kinds, results = [], []
        outputs = as_tensor_value(outputs)  # lists grown in tensor loops leave as tensors
        for leaf in nest.flatten(outputs):
            if isinstance(leaf, Tensor):
                with core.trace_scope(trace):
                    value = trace.value_of(leaf, "return")
                kinds.append(len(results))
                results.append(value)
            elif isinstance(leaf, TensorArray):  # Note [TensorArrays across functions]
                index = []
                for part in leaf._aj_outputs():
                    with core.trace_scope(trace):
                        results.append(trace.value_of(part, "return"))
                    index.append(len(results) - 1)
                kinds.append(("array", leaf, index))
            else:
                kinds.append(("py", leaf))
        graph.outputs = results
        trace.finished = True  # its tensors kept outside say so when used (tracer.escaped)
        traced = time.perf_counter()
        build = BuildInfo(convert_s=converted - began, trace_s=traced - converted,
                          nodes_traced=count_nodes(graph))
        if _config.optimize:
            graph = optimize(graph, record=build.passes)
        graph.verify()
        build.optimize_s = time.perf_counter() - traced
        used = _variables_read(graph)
        concrete = ConcreteFunction(self.name, graph, device, specs, outputs, kinds, used)
        concrete.function_signature = _signature_of(self._plain())
        slots = {id(t): ArgumentSlot(i, s) for i, (t, s) in enumerate(zip(inputs, specs))}
        concrete.arguments = nest.map_structure(lambda leaf: slots.get(id(leaf), leaf),
                                                (sym_args, sym_kwargs))
        build.compile_s = concrete._compile_s
        concrete._build = build
        self._record_trace(key, build)
        if self.reduce_retracing and any(None in s.shape for s in specs):
            self._generalized.append((specs, concrete, strip_shapes(key)))
        return concrete

    def _record_trace(self, key: Any, build: BuildInfo) -> None:
        """Remember this trace for ``cache_info()`` and log it (logger ``"autojit"``)."""
        name = self._param_name
        previous = self._trace_keys[-1] if self._trace_keys else None
        reason = retrace_reason(previous, key, name)
        record = TraceRecord(self._tracing_count, signature_text(key, name), reason,
                             build.convert_s, build.trace_s, build.optimize_s, build.compile_s)
        self._traces.append(record)
        self._trace_keys.append(key)
        if _log.isEnabledFor(logging.INFO):  # nothing is formatted when it is off
            what = "traced" if record.number == 1 else "retraced"
            _log.info("%s %s (trace #%d) for (%s) in %.2f ms: %s", what, self.name,
                      record.number, record.signature, record.seconds * 1e3, reason)
            for stat in build.passes:
                _log.debug("%s: pass %s", self.name, stat)

    def _param_name(self, index: int) -> str:
        return self._arg_name(index).strip("`")

    def _variable_hook(self) -> Callable:
        tracing_thread = threading.get_ident()

        def hook(var):
            if threading.get_ident() != tracing_thread:
                return  # another thread's Variable (hooks are global; traces are per thread)
            if self._tracing_count:  # a variable created after the first trace
                raise TracingError(
                    f"{self.name}: a Variable ({var.name}) was created on a later trace at "
                    f"{where_text(user_location())}. Variables may be created only on the first "
                    "trace of an @aj.function (as in TF): create it outside the function, or "
                    "once, guarded by `if self.v is None:`")
        return hook

    def _generalize(self, key: Any, specs: list) -> list:
        previous: list = []
        key_tensor_shapes(self._last_key, previous)
        if len(previous) != len(specs):
            return specs
        out = []
        for s, old in zip(specs, previous):
            if old is None or len(old) != len(s.shape):
                out.append(s)
            else:
                out.append(TensorSpec([a if a == b else None for a, b in zip(s.shape, old)],
                                      s.dtype))
        return out

    def _warn_if_retracing(self, args: tuple, key: Any) -> None:
        if self._tracing_count + 1 < _config.retrace_warning_threshold or self._last_key is None:
            return
        change = first_difference(self._last_key, key)
        what = ""
        if change is not None:
            index, old, new = change
            label = f"`{index}`" if isinstance(index, str) else self._arg_name(index)
            what = (f": argument {label} changed from {describe_key(old)} to "
                    f"{describe_key(new)}")
            if isinstance(new, tuple) and new and new[0] in SCALARS:
                what += ("; Python values are part of the signature, so pass a tensor "
                         "(aj.constant) to avoid retracing")
            else:
                what += ("; use input_signature=[aj.TensorSpec([None, ...])] or "
                         "reduce_retracing=True to trace once for many shapes")
        warnings.warn(f"{self.name} has been traced {self._tracing_count + 1} times{what}",
                      RetracingWarning, stacklevel=_user_stacklevel())

    def __repr__(self) -> str:
        return f"<aj.function {self.name} (traced {self._tracing_count}x)>"


class RetracingWarning(UserWarning):
    """An ``@aj.function`` keeps tracing: some argument changes between calls (the message
    names it).

    Usage: ``warnings.simplefilter("error", aj.RetracingWarning)``
    """


def _forget(bound: dict, key: int) -> Callable:
    """A weakref callback dropping ``bound[key]`` if it still belongs to the dead instance."""
    def callback(ref: Any) -> None:
        entry = bound.get(key)
        if entry is not None and entry[0] is ref:
            del bound[key]
    return callback


def _user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` (called by our caller) that names the
    innermost frame outside the autojit package: the user's call, however it got here."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# Note [Failed replays]: nothing the user owns is left half-updated by a failed call. Shapes
# and dtypes are checked while tracing, so a replay can fail only where a check had to wait
# for values: an op that checks input values (index ranges), an ``assert``, or an op
# on a dim that was unknown at trace time (``input_signature`` with None). Training steps
# write their variables last, after all of those; a graph that writes a variable *before*
# such a node copies that variable at each call and restores it when the replay raises.


def _may_fail(node) -> bool:
    if node.op.checks_values or node.op.check is not None or node.op.name == "assert":
        return True
    if any(None in v.spec.shape for v in node.inputs if v.spec.shape is not None):
        return True
    return any(_may_fail(inner) for sub in node.subgraphs() for inner in sub.nodes)


def _written_before_failure(graph: Graph) -> list:
    """The variables written before the last node that may fail at replay time."""
    last = max((i for i, node in enumerate(graph.nodes) if _may_fail(node)), default=-1)
    found: dict = {}
    for node in graph.nodes[:last]:
        for inner in (node, *(n for sub in node.subgraphs() for n in sub.walk())):
            var = inner.attrs.get("var")
            if var is not None and inner.op.effect and inner.op.name != "read_variable":
                found[id(var)] = var
    return list(found.values())


def _variables_read(graph: Graph) -> list:
    seen, found = set(), []
    for node in graph.walk():
        var = node.attrs.get("var")
        if var is not None and id(var) not in seen:
            seen.add(id(var))
            found.append(var)
    return found


def function(func: Callable | None = None, *, input_signature: Sequence[TensorSpec] | None = None,
             autograph: bool = True, reduce_retracing: bool = False,
             jit_compile: bool | None = None, name: str | None = None,
             experimental_relax_shapes: bool | None = None) -> Any:
    """Compile ``func`` into cached graphs (as ``tf.function``).

    Usage: ``@aj.function`` or ``@aj.function(input_signature=[aj.TensorSpec([None, 784])])``
    (``experimental_relax_shapes`` is TF's older name for ``reduce_retracing``; ``jit_compile``
    is accepted and changes nothing)
    """
    if experimental_relax_shapes is not None:
        reduce_retracing = reduce_retracing or bool(experimental_relax_shapes)
    if func is None:
        return lambda f: function(f, input_signature=input_signature, autograph=autograph,
                                  reduce_retracing=reduce_retracing, jit_compile=jit_compile,
                                  name=name)
    return Function(func, name=name, input_signature=input_signature, autograph=autograph,
                    reduce_retracing=reduce_retracing)


__all__ = ["function", "Function", "BoundMethod", "ConcreteFunction", "RetracingWarning"]
