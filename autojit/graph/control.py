"""Control flow: ``aj.cond`` and ``aj.while_loop``, eagerly plain Python, in graphs nodes that
carry subgraphs, and differentiable either way.

Each branch or loop function is traced once into its own subgraph by a child
``GraphTrace``; values it uses from outside become explicit inputs of the node
(Note [Captures] in tracer.py). The node then goes through ``bind`` like any op, so tapes
record it and its VJP runs when a gradient is asked for:

* ``cond``'s VJP is a ``cond`` whose branches recompute their forward branch under a tape
  and return its VJP (recomputing one branch is cheaper than keeping both alive).
* ``while_loop``'s VJP makes the forward loop save each iteration's loop variables (a stack,
  like TF's), then runs a reverse loop that recomputes one body step from the saved state
  and applies its VJP, accumulating gradients of captured values. Reading a saved state is
  itself differentiable, so gradients of gradients are right (Note [Higher-order loops]).

Replay code inlines branches as ``if``/``else`` and loops as ``while`` blocks (see the
emitters at the end), so no Python call happens per branch or iteration.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from autojit import dtypes, nest
from autojit.errors import AutographError, DTypeError, ShapeError, TracingError
from autojit.graph import codegen
from autojit.graph.interpret import evaluate, interpret
from autojit.graph.ir import Graph, Node
from autojit.graph.tracer import (READ_VARIABLE, GraphTrace, SymbolicTensor, user_location,
                                 where_text)
from autojit.ops import core
from autojit.ops.core import TensorSpec, bind
from autojit.tensor import Tensor, is_symbolic

STACK_DTYPE = np.dtype(object)


# ---------------------------------------------------------------------------------------
# Tracing a Python function into a subgraph.


def _to_tensor(leaf: Any) -> Any:
    if isinstance(leaf, Tensor):
        return leaf
    from autojit.ops.array import constant

    return constant(leaf)


def trace_subgraph(fn: Callable, parent: GraphTrace, specs: Sequence[TensorSpec], name: str,
                   args_structure: Any = None, skip_none: bool = False
                   ) -> tuple[Graph, GraphTrace, Any]:
    """Trace ``fn`` over symbolic inputs of ``specs`` in a child of ``parent``.

    Returns the graph (inputs: the given specs, then one per capture; outputs: the flat
    output tensors), the child trace and the output structure. With
    ``skip_none``, ``None`` leaves of the output are no graph outputs (a branch run only
    for its effects returns None)."""
    graph = Graph(name)
    trace = GraphTrace(graph, parent.device, parent)
    inputs = [SymbolicTensor(graph.add_input(s), trace) for s in specs]
    with core.trace_scope(trace):
        args = pack_state(args_structure, inputs) if args_structure is not None else inputs
        out = fn(*args) if args_structure is not None else fn()
        flat = [_to_tensor(leaf) for leaf in flatten_state(out)
                if not (skip_none and leaf is None)]
        graph.outputs = [trace.value_of(t, name) for t in flat]
    return graph, trace, out


# Note [Composite loop state]
# A loop variable may be a composite value: an object with ``_aj_components()`` (its tensors,
# possibly none yet), ``_aj_rebuild(tensors)`` (the same kind of object over other tensors),
# ``_aj_key()`` (what must stay the same across an iteration) and ``_aj_settle(after)`` (the
# initial value remade to fit what one iteration gave). ``aj.TensorArray`` is one: it travels
# through the loop as its buffer tensor, and an array with no buffer yet (its element shape
# unknown) settles after one traced iteration shows what the body writes into it.


def is_composite(leaf: Any) -> bool:
    """True for a composite loop value (Note [Composite loop state])."""
    return hasattr(type(leaf), "_aj_components")


def flatten_state(structure: Any) -> list:
    """``nest.flatten`` with composite leaves replaced by their component tensors."""
    leaves = nest.flatten(structure)
    if not any(is_composite(leaf) for leaf in leaves):
        return leaves
    flat: list = []
    for leaf in leaves:
        if is_composite(leaf):
            flat.extend(leaf._aj_components())
        else:
            flat.append(leaf)
    return flat


def pack_state(structure: Any, tensors: Sequence[Any]) -> Any:
    """The inverse of ``flatten_state``: ``structure`` rebuilt over ``tensors``."""
    leaves = nest.flatten(structure)
    if not any(is_composite(leaf) for leaf in leaves):
        return nest.pack_as(structure, list(tensors))
    it = iter(tensors)
    new = []
    for leaf in leaves:
        if is_composite(leaf):
            new.append(leaf._aj_rebuild([next(it) for _ in leaf._aj_components()]))
        else:
            new.append(next(it))
    return nest.pack_as(structure, new)


def _state_key(structure: Any) -> Any:
    return nest.structure_key(structure, lambda leaf: leaf._aj_key() if is_composite(leaf)
                              else None)


def _settle(structure: Any, after: Any) -> Any:
    """``structure`` with each composite whose key changed across the iteration settled by
    the body's value, or None when nothing could be settled."""
    before, later = nest.flatten(structure), nest.flatten(after)
    if len(before) != len(later):
        return None
    changed = False
    new = []
    for a, b in zip(before, later):
        if is_composite(a) and is_composite(b) and a._aj_key() != b._aj_key():
            settled = a._aj_settle(b)
            changed = changed or settled is not a
            a = settled
        new.append(a)
    return nest.pack_as(structure, new) if changed else None


def _align_captures(traces: Sequence[GraphTrace]) -> list:
    """One list of captured objects for several subgraphs; each graph gets an input per
    object (in that order), after its own leading inputs."""
    objects: list = []
    seen: dict[int, int] = {}
    for trace in traces:
        for obj, _ in trace.captures:
            if id(obj) not in seen:
                seen[id(obj)] = len(objects)
                objects.append(obj)
    for trace in traces:
        graph = trace.graph
        lead = graph.inputs[:len(graph.inputs) - len(trace.captures)]
        mine = {id(obj): inner for obj, inner in trace.captures}
        graph.inputs = lead + [mine[id(obj)] if id(obj) in mine
                               else _unused_input(obj) for obj in objects]
    return objects


def _distinct(values: Sequence[Any], positions: list[int]) -> list[int]:
    """The positions holding the first occurrence of each value.

    Note [Repeated inputs]: a node may take one value at several inputs (a subgraph that
    captured ``a`` and ``x`` after simplification merged ``a = x * 1`` into ``x``). A VJP
    that recomputes its subgraph under a tape and asks for the gradient of each input gets,
    for a repeated value, the gradient through *all* of its uses at every position; the tape
    adds cotangents per value, so it would count them once per repeat. Asking only at the
    first position (None at the others) gives each value its gradient once."""
    seen: set[int] = set()
    kept = []
    for i in positions:
        if id(values[i]) not in seen:
            seen.add(id(values[i]))
            kept.append(i)
    return kept


def _unused_input(obj: Any):
    from autojit.graph.ir import Value

    return Value(TensorSpec(obj.shape, obj.dtype))


# ---------------------------------------------------------------------------------------
# cond


def _cond_kernel(xp, pred, *args, branches):
    graph = branches[0] if pred else branches[1]
    return tuple(interpret(graph, args, xp))


def _cond_rule(name, pred, *captured, branches):
    if pred.dtype != dtypes.bool or (pred.shape and any(d != 1 for d in pred.shape)):
        raise DTypeError(f"cond: expected a bool scalar predicate, got "
                         f"{TensorSpec(pred.shape, pred.dtype).short()}")
    return [(v.spec.shape, v.spec.dtype) for v in branches[0].outputs]


def _cond_vjp(gs, outs, pred, *captured, branches, needs=None):
    from autojit.autodiff import GradientTape, UnconnectedGradients
    from autojit.ops.math import zeros_like_value

    wanted = _distinct(captured, [i for i, c in enumerate(captured)
                                  if dtypes.is_floating(c.dtype)
                                  and (needs is None or needs[1 + i])])
    if not wanted:
        return (None,) * (1 + len(captured))
    cts = [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]
    floats = [i for i, o in enumerate(outs) if dtypes.is_floating(o.dtype)]

    def backward(graph):
        def branch():
            sources = [captured[i] for i in wanted]
            with GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(sources)
                results = evaluate(graph, list(captured))
            if not floats:
                return [zeros_like_value(s) for s in sources]
            return tape.gradient([results[i] for i in floats], sources,
                                 output_gradients=[cts[i] for i in floats],
                                 unconnected_gradients=UnconnectedGradients.ZERO)
        return branch

    grads = cond(pred, backward(branches[0]), backward(branches[1]))
    result: list = [None] * (1 + len(captured))
    for i, g in zip(wanted, grads):
        result[1 + i] = g
    return tuple(result)


COND = core.defop("cond", ["*args"], _cond_kernel, _cond_rule, _cond_vjp,
                  attrs=("branches",), multiple=True, vjp_needs=True)


def cond(pred: Any, true_fn: Callable, false_fn: Callable, name: str | None = None) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``; in a graph both become subgraphs of one
    ``cond`` node and the choice happens at run time.

    Usage: ``y = aj.cond(x > 0, lambda: w1 * x, lambda: w2 * x)``
    """
    if not is_symbolic(pred):
        return true_fn() if bool(pred) else false_fn()
    parent = core.current_trace()
    where = user_location()
    t_graph, t_trace, t_out = trace_subgraph(true_fn, parent, [], "true_branch",
                                             skip_none=True)
    f_graph, f_trace, f_out = trace_subgraph(false_fn, parent, [], "false_branch",
                                             skip_none=True)
    t_key, f_key = _branch_key(t_out), _branch_key(f_out)
    if t_key != f_key:
        raise AutographError(
            f"cond: both branches must return the same structure (at {where_text(where)}); "
            f"the true branch returned {_shape_of_structure(t_out)} and the false branch "
            f"{_shape_of_structure(f_out)}")
    for i, (a, b) in enumerate(zip(t_graph.outputs, f_graph.outputs)):
        if a.spec.dtype != b.spec.dtype:
            raise DTypeError(
                f"cond: output #{i} is {a.spec.dtype.name} in the true branch but "
                f"{b.spec.dtype.name} in the false branch (at {where_text(where)}); cast one "
                "so both branches return the same dtype")
        if len(a.spec.shape) != len(b.spec.shape):
            raise ShapeError(
                f"cond: output #{i} has shape {list(a.spec.shape)} in the true branch but "
                f"{list(b.spec.shape)} in the false branch (at {where_text(where)}); both "
                "branches must return tensors of the same rank")
        if a.spec.shape != b.spec.shape:
            relaxed = tuple(x if x == y else None for x, y in zip(a.spec.shape, b.spec.shape))
            a.spec = b.spec = TensorSpec(relaxed, a.spec.dtype)
    objects = _align_captures([t_trace, f_trace])
    outputs = list(bind(COND, pred, *objects, branches=(t_graph, f_graph)))
    leaves = [leaf for leaf in nest.flatten(t_out) if leaf is not None]
    values = iter(nest.flatten(pack_state(leaves, outputs)))
    return nest.map_structure(lambda leaf: None if leaf is None else next(values), t_out)


def _branch_key(out: Any) -> Any:
    return nest.structure_key(out, lambda leaf: leaf._aj_key() if is_composite(leaf)
                              else leaf is None)


def _shape_of_structure(value: Any) -> str:
    return repr(nest.map_structure(lambda leaf: "tensor", value))


# ---------------------------------------------------------------------------------------
# while_loop


class _Stack(list):
    """A loop's saved states when the kernel runs eagerly (``evaluate`` of a stateful function
    under a tape): an eager Tensor wraps it, so it has the dtype and shape of its spec."""

    dtype = STACK_DTYPE
    shape = ()
    ndim = 0


def _while_kernel(xp, *args, cond, body, n_vars, save, has_max):
    end = len(args) - (1 if has_max else 0)
    loop = list(args[:n_vars])
    captured = list(args[n_vars:end])
    limit = int(args[-1]) if has_max else None
    stack = _Stack()
    count = 0
    while (limit is None or count < limit) and interpret(cond, loop + captured, xp)[0]:
        if save:
            stack.append(tuple(loop))
        loop = interpret(body, loop + captured, xp)
        count += 1
    return tuple(loop) + ((stack,) if save else ())


def _while_rule(name, *avals, cond, body, n_vars, save, has_max):
    specs = [(v.spec.shape, v.spec.dtype) for v in body.outputs]
    return specs + ([((), STACK_DTYPE)] if save else [])


def _while_vjp(gs, outs, *inputs, cond, body, n_vars, save, has_max, needs=None):
    from autojit.ops.math import subtract, zeros_like_value

    if not save:
        raise TracingError("while_loop: a gradient was requested through a loop traced "
                           "outside any GradientTape; compute the loop inside the tape")
    end = len(inputs) - (1 if has_max else 0)
    init, captured = list(inputs[:n_vars]), list(inputs[n_vars:end])
    loop_outs = outs[:n_vars]
    float_vars = [i for i in range(n_vars) if dtypes.is_floating(loop_outs[i].dtype)]
    if not float_vars:
        return (None,) * len(inputs)
    # Only the captured values the tape wants: the reverse loop accumulates one gradient per
    # capture every iteration (a gathered row's is a full-size scatter).
    float_caps = _distinct(captured, [i for i, c in enumerate(captured)
                                      if dtypes.is_floating(c.dtype)
                                      and (needs is None or needs[n_vars + i])])
    cts = [gs[i] if gs[i] is not None else zeros_like_value(loop_outs[i]) for i in float_vars]
    stack = outs[n_vars]
    start = subtract(bind(STACK_LEN, stack), 1)
    # a private copy: passes change the loop node's body for that node (Note [Owned subgraphs])
    var_grads, cap_grads = _reverse_loop(_Loop(body.clone(), n_vars), stack, start, cts, init,
                                         captured, float_vars, float_caps)
    grads: list = [None] * len(inputs)
    for i, g in zip(float_vars, var_grads):
        grads[i] = g
    for i, g in zip(float_caps, cap_grads):
        grads[n_vars + i] = g
    return tuple(grads)


class _Loop:
    """A forward loop's body and number of loop variables, as an attribute of the
    ``stack_get`` nodes that read its saved states: their VJP runs the body backwards (it is
    no subgraph of theirs: the nodes themselves never run it)."""

    __slots__ = ("body", "n_vars")

    def __init__(self, body: Graph, n_vars: int):
        self.body, self.n_vars = body, n_vars

    def __repr__(self) -> str:
        return f"<loop {self.body.name}>"


def _reverse_loop(loop: _Loop, stack, start, cts, init, captured, float_vars, float_caps):
    """Cotangents of the loop variables before iteration 0, and of the captured values, from
    cotangents ``cts`` of the float loop variables after iteration ``start``: a loop running
    iterations ``start, start - 1, ..., 0``, each recomputing one body step from the state
    saved in ``stack`` under a tape and applying its VJP.

    Note [Higher-order loops]: the states are read with ``stack_get``, whose inputs include
    the loop's initial values and captures and whose VJP is this reverse loop again (from
    the state read back to iteration 0). So an outer tape that records a reverse loop sees
    how each saved state depends on the loop's inputs, and gradients of gradients are right
    to any order (at O(n^2) body steps for the second order of an n-iteration loop)."""
    from autojit.autodiff import GradientTape, UnconnectedGradients
    from autojit.ops.math import add, subtract, zeros_like_value

    body, n_vars = loop.body, loop.n_vars
    specs = tuple(TensorSpec(v.spec.shape, v.spec.dtype) for v in body.inputs[:n_vars])
    nf = len(float_vars)
    accs = [zeros_like_value(captured[i]) for i in float_caps]

    def back_cond(i, *rest):
        return i >= 0

    def back_body(i, *rest):
        ct, acc = list(rest[:nf]), list(rest[nf:])
        state = list(bind(STACK_GET, stack, i, *init, *captured, specs=specs, loop=loop))
        sources = [state[j] for j in float_vars] + [captured[j] for j in float_caps]
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(sources)
            new = evaluate(body, state + captured)
        grads = tape.gradient([new[j] for j in float_vars], sources, output_gradients=ct,
                              unconnected_gradients=UnconnectedGradients.ZERO)
        return (subtract(i, 1), *grads[:nf], *[add(a, g) for a, g in zip(acc, grads[nf:])])

    result = while_loop(back_cond, back_body, (start, *cts, *accs))
    return list(result[1:1 + nf]), list(result[1 + nf:])


def _stack_get_vjp(gs, outs, stack, index, *rest, specs, loop, needs=None):
    """State ``index`` of a loop is its body applied ``index`` times to the initial values:
    its VJP runs the reverse loop from iteration ``index - 1`` (Note [Higher-order loops])."""
    from autojit.ops.math import subtract, zeros_like_value

    n_vars = loop.n_vars
    init, captured = list(rest[:n_vars]), list(rest[n_vars:])
    float_vars = [j for j in range(n_vars) if dtypes.is_floating(specs[j].dtype)]
    grads: list = [None] * (2 + len(rest))
    if all(gs[j] is None for j in float_vars):
        return tuple(grads)
    float_caps = _distinct(captured, [i for i, c in enumerate(captured)
                                      if dtypes.is_floating(c.dtype)
                                      and (needs is None or needs[2 + n_vars + i])])
    cts = [gs[j] if gs[j] is not None else zeros_like_value(outs[j]) for j in float_vars]
    var_grads, cap_grads = _reverse_loop(loop, stack, subtract(index, 1), cts, init, captured,
                                         float_vars, float_caps)
    for j, g in zip(float_vars, var_grads):
        grads[2 + j] = g
    for i, g in zip(float_caps, cap_grads):
        grads[2 + n_vars + i] = g
    return tuple(grads)


WHILE = core.defop("while_loop", ["*args"], _while_kernel, _while_rule, _while_vjp,
                   attrs=("cond", "body", "n_vars", "save", "has_max"), multiple=True,
                   vjp_needs=True)

# ``stack_get(stack, index, *initial values, *captures)``: the loop state saved before
# iteration ``index``; the kernel reads only the stack, the other inputs are there for the VJP.
STACK_GET = core.defop(
    "stack_get", ["*args"], "args[0][int(args[1])]",
    lambda name, stack, index, *rest, specs, loop: [(s.shape, s.dtype) for s in specs],
    _stack_get_vjp, attrs=("specs", "loop"), multiple=True, vjp_needs=True)
STACK_LEN = core.defop("stack_len", ["stack"], "xp.asarray(len(stack), dtype=xp.int32)",
                       lambda name, stack: ((), dtypes.int32))


def while_loop(cond: Callable, body: Callable, loop_vars: Any, shape_invariants: Any = None,
               parallel_iterations: int = 10, back_prop: bool = True,
               swap_memory: bool = False, maximum_iterations: Any = None,
               name: str | None = None, _names: Sequence[str] | None = None) -> Any:
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; return the final
    loop variables (same structure). In a graph the body is traced once into a
    ``while_loop`` node; shapes that change across iterations become unknown dims.

    TF's parameters, in TF's order: ``shape_invariants`` (the structure of ``loop_vars`` with a
    shape, ``None`` dims unknown, for each tensor: the body may change only those dims),
    ``back_prop=False`` (no gradient through the loop, as ``aj.stop_gradient`` of its
    results), ``maximum_iterations``; ``parallel_iterations`` and ``swap_memory`` are
    accepted and change nothing.

    Usage: ``i, acc = aj.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * 2), (0, x))``
    """
    result = _while_loop(cond, body, loop_vars, shape_invariants, maximum_iterations, _names)
    if back_prop:
        return result
    from autojit.ops.array import stop_gradient

    return nest.map_structure(
        lambda v: stop_gradient(v) if isinstance(v, Tensor) else v, result)


def _while_loop(cond, body, loop_vars, shape_invariants, maximum_iterations, _names):
    single = not isinstance(loop_vars, (list, tuple))
    structure = (loop_vars,) if single else tuple(loop_vars)
    invariants = None
    if shape_invariants is not None:
        invariants = _invariant_shapes(loop_vars, shape_invariants, user_location())
    parent = core.current_trace()
    if not isinstance(parent, GraphTrace):
        return _python_while(cond, body, structure, maximum_iterations, single, invariants)
    where = user_location()
    names = list(_names) if _names else None
    flat = [_to_tensor(leaf) for leaf in flatten_state(structure)]
    specs = [TensorSpec(t.shape, t.dtype) for t in flat]
    if invariants is not None:
        _check_invariants(flat, invariants, names, where, "before the loop")
        specs = [spec if shape is None else TensorSpec(shape, spec.dtype)
                 for spec, shape in zip(specs, invariants)]

    def body_fn(*args):
        out = body(*args)
        # a result that is no list or tuple is one loop variable, as in TF
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)

    for _ in range(4):  # relax shapes that change across an iteration, then retrace
        b_graph, b_trace, b_out = trace_subgraph(body_fn, parent, specs, "body", structure)
        if _state_key(b_out) != _state_key(structure):
            settled = _settle(structure, b_out)  # Note [Composite loop state]
            if settled is not None:
                structure = settled
                flat = [_to_tensor(leaf) for leaf in flatten_state(structure)]
                specs = [TensorSpec(t.shape, t.dtype) for t in flat]
                continue
            raise _structure_error(b_out, structure, where)
        if invariants is not None:
            _check_invariants(b_graph.outputs, invariants, names, where, "after one iteration")
        relaxed = _relax(specs, b_graph.outputs, names, where)
        if relaxed == specs:
            break
        specs = relaxed
    c_graph, c_trace, c_out = trace_subgraph(cond, parent, specs, "cond", structure)
    if len(c_graph.outputs) != 1 or c_graph.outputs[0].spec.dtype != dtypes.bool:
        raise DTypeError(f"while_loop: cond must return a bool scalar tensor (at "
                         f"{where_text(where)}), got {_shape_of_structure(c_out)}")
    for value, spec in zip(b_graph.outputs, specs):
        value.spec = spec
    _read_written_variables([c_trace, b_trace])
    objects = _align_captures([c_trace, b_trace])
    extra = []
    if maximum_iterations is not None:
        extra.append(maximum_iterations)
    save = bool(core.active_tapes())
    outputs = bind(WHILE, *flat, *objects, *extra, cond=c_graph, body=b_graph,
                   n_vars=len(flat), save=save, has_max=bool(extra))
    result = pack_state(b_out, list(outputs[:len(flat)]))
    return result[0] if single else result


def _read_written_variables(traces: Sequence[GraphTrace]) -> None:
    """A loop's test and body run once per iteration, so a Variable the loop writes must be
    read afresh in each iteration: its reads captured from outside the loop (taken once,
    before it) become ``read_variable`` nodes at the start of the subgraph. Reads inside an
    iteration come before any write there (later reads are traced as fresh reads), so
    reading at the start of the iteration gives the same value."""
    written = set()
    for trace in traces:
        for node in trace.graph.walk():
            if node.op.effect and "var" in node.attrs and node.op is not READ_VARIABLE:
                written.add(id(node.attrs["var"]))
    for trace in traces:
        kept = []
        for obj, inner in trace.captures:
            if not (getattr(obj, "_is_variable", False) and id(obj) in written):
                kept.append((obj, inner))
                continue
            graph = trace.graph
            graph.inputs = [v for v in graph.inputs if v is not inner]
            node = Node(READ_VARIABLE, [], {"var": obj})
            inner.node, inner.index = node, 0
            node.outputs = [inner]
            graph.nodes.insert(0, node)
            graph._effects = None
        trace.captures = kept


def _relax(specs: list, outputs: list, names: list | None, where: Any) -> list:
    relaxed = []
    for i, (spec, value) in enumerate(zip(specs, outputs)):
        label = f"`{names[i]}`" if names and i < len(names) else f"loop variable #{i}"
        out = value.spec
        if out.dtype != spec.dtype:
            raise DTypeError(
                f"while_loop: {label} is {spec.dtype.name}{list(spec.shape)} before the loop "
                f"but {out.dtype.name}{list(out.shape)} after one iteration (at "
                f"{where_text(where)}); cast it before the loop so its dtype stays the same")
        if len(out.shape) != len(spec.shape):
            raise ShapeError(
                f"while_loop: {label} has rank {len(spec.shape)} before the loop but rank "
                f"{len(out.shape)} after one iteration (at {where_text(where)}); a loop "
                "variable's rank must stay the same")
        relaxed.append(spec if out.shape == spec.shape else TensorSpec(
            tuple(a if a == b else None for a, b in zip(spec.shape, out.shape)), spec.dtype))
    return relaxed


def _python_while(cond, body, structure, maximum_iterations, single, invariants=None):
    loop = structure
    count = 0
    limit = None if maximum_iterations is None else int(maximum_iterations)
    where = user_location() if invariants is not None else None  # errors only
    if invariants is not None:
        _check_invariants(flatten_state(loop), invariants, None, where, "before the loop")
    while (limit is None or count < limit) and bool(cond(*loop)):
        out = body(*loop)
        loop = tuple(out) if isinstance(out, (list, tuple)) else (out,)
        if nest.structure_key(loop, lambda leaf: None) != \
                nest.structure_key(structure, lambda leaf: None):
            raise _structure_error(loop, structure, user_location())
        if invariants is not None:
            _check_invariants(flatten_state(loop), invariants, None, where, "in the loop")
        count += 1
    return loop[0] if single else loop


def _structure_error(out: Any, structure: Any, where: Any) -> AutographError:
    return AutographError(f"while_loop: the body must return the same structure as loop_vars "
                          f"(at {where_text(where)}); got {_shape_of_structure(out)} for "
                          f"{_shape_of_structure(structure)}")


def _invariant_shapes(loop_vars: Any, invariants: Any, where: Any) -> list:
    """The shape invariant (a tuple of ints and Nones, or None) of each tensor of
    ``loop_vars`` (in ``flatten_state`` order), read from ``invariants``: the structure of
    ``loop_vars`` with a shape (a list/tuple of dims, a TensorSpec, ``x.shape``) or None in
    place of each tensor."""
    if is_composite(loop_vars):
        return [None] * len(loop_vars._aj_components())
    if isinstance(loop_vars, dict):
        if not isinstance(invariants, dict) or set(invariants) != set(loop_vars):
            raise _invariant_error(loop_vars, invariants, where)
        return [s for key in loop_vars for s in _invariant_shapes(loop_vars[key],
                                                                  invariants[key], where)]
    if isinstance(loop_vars, (list, tuple)):
        if not isinstance(invariants, (list, tuple)) or len(invariants) != len(loop_vars):
            raise _invariant_error(loop_vars, invariants, where)
        return [s for v, i in zip(loop_vars, invariants)
                for s in _invariant_shapes(v, i, where)]
    if invariants is None:
        return [None]
    shape = invariants.shape if isinstance(invariants, TensorSpec) else invariants
    try:
        return [tuple(None if d is None else int(d) for d in shape)]
    except TypeError:
        raise _invariant_error(loop_vars, invariants, where) from None


def _invariant_error(loop_vars: Any, invariants: Any, where: Any) -> TypeError:
    return TypeError(f"while_loop: shape_invariants must have the structure of loop_vars "
                     f"with a shape (a list of dims, None for an unknown one) for each tensor "
                     f"(at {where_text(where)}); got {invariants!r} for "
                     f"{_shape_of_structure(loop_vars)}")


def _check_invariants(values: Sequence[Any], invariants: list, names: list | None,
                      where: Any, when: str) -> None:
    """Check that each value's shape fits its invariant (None: any shape)."""
    for i, (value, shape) in enumerate(zip(values, invariants)):
        if shape is None:
            continue
        spec = getattr(value, "spec", None)
        actual = tuple(spec.shape) if spec is not None else tuple(getattr(value, "shape", ()))
        if len(actual) != len(shape) or any(
                d is not None and a is not None and a != d for a, d in zip(actual, shape)):
            label = f"`{names[i]}`" if names and i < len(names) else f"loop variable #{i}"
            raise ShapeError(
                f"while_loop: {label} has shape {list(actual)} {when}, which its shape "
                f"invariant {list(shape)} does not allow (at {where_text(where)}); use None "
                "for the dims that change")


# ---------------------------------------------------------------------------------------
# Replay emitters: inline blocks instead of calls.


def _emit_cond(em, node, indent):
    pred, *args = [em.name(v) for v in node.inputs]
    outs = [em.define(v) for v in node.outputs]
    for keyword, graph in zip(("if", "else"), node.attrs["branches"]):
        em.lines.append(f"{indent}if {pred}:" if keyword == "if" else f"{indent}else:")
        for inner, outer, name in zip(graph.inputs, node.inputs[1:], args):
            # a capture the branch keeps as an array but the outside has as a Python scalar
            em.names[inner.id] = em.arg(outer, host_ok=inner.id in em.host)
        em.block(graph, indent + "    ", free=False)
        results = [em.arg(v, host_ok=o.id in em.host) for v, o in zip(graph.outputs, node.outputs)]
        if outs:
            em.lines.append(f"{indent}    {', '.join(outs)}{',' if len(outs) == 1 else ''} = "
                            f"{', '.join(results)}{',' if len(results) == 1 else ''}")
        else:
            em.lines.append(f"{indent}    pass")


def _emit_while(em, node, indent):
    attrs = node.attrs
    n = attrs["n_vars"]
    body_inputs = attrs["body"].inputs
    names = [em.arg(v, host_ok=k >= n or body_inputs[k].id in em.host)
             for k, v in enumerate(node.inputs)]
    init = names[:n]
    captured = [em.arg(outer, host_ok=inner.id in em.host)
                for inner, outer in zip(body_inputs[n:], node.inputs[n:])]
    loop = [em.ns.fresh(f"loop{v.id}") for v in node.outputs[:n]]
    if loop:
        em.lines.append(f"{indent}{', '.join(loop)}, = {', '.join(init)},")
    stack = em.define(node.outputs[n]) if attrs["save"] else None
    if stack:
        em.lines.append(f"{indent}{stack} = []")
    if attrs["has_max"]:
        count, limit = em.ns.fresh("count"), names[-1]
        em.lines.append(f"{indent}{count} = 0")
        em.lines.append(f"{indent}while {count} < {limit}:")
    else:
        em.lines.append(f"{indent}while True:")
    inner = indent + "    "
    for graph in (attrs["cond"], attrs["body"]):
        for k, (value, name) in enumerate(zip(graph.inputs, loop + captured)):
            if k >= n:  # the cond graph may keep a capture as an array the body does not
                outer = node.inputs[k]
                name = em.arg(outer, host_ok=value.id in em.host)
            em.names[value.id] = name
    em.block(attrs["cond"], inner, free=False)
    em.lines.append(f"{inner}if not {em.name(attrs['cond'].outputs[0])}:")
    em.lines.append(f"{inner}    break")
    if stack:
        state = ", ".join(loop) + ("," if len(loop) == 1 else "")
        em.lines.append(f"{inner}{stack}.append(({state}))")
    em.block(attrs["body"], inner, free=False)
    # A result that shares a variable's buffer would change under the next iteration's
    # write before that iteration reads it (Note [Reads alias buffers] in codegen.py).
    aliased = {v.id for values in em.reads.values() for v in values}
    results = [em.arg(v, host_ok=body_inputs[k].id in em.host)
               + (".copy()" if v.id in aliased else "")
               for k, v in enumerate(attrs["body"].outputs)]
    if loop:
        em.lines.append(f"{inner}{', '.join(loop)}, = {', '.join(results)},")
    if attrs["has_max"]:
        em.lines.append(f"{inner}{count} += 1")
    for value, name in zip(node.outputs[:n], loop):
        em.names[value.id] = name


def _emit_stack_get(em, node, indent):
    # the kernel reads only the stack and the index; the other inputs serve the VJP
    stack, index = em.name(node.inputs[0]), em.name(node.inputs[1])
    outs = [em.define(v) for v in node.outputs]
    target = f"{', '.join(outs)}{',' if len(outs) == 1 else ''}" if outs else "_"
    em.lines.append(f"{indent}{target} = {stack}[int({index})]")


codegen.register_emitter("cond", _emit_cond)
codegen.register_emitter("stack_get", _emit_stack_get)
codegen.register_emitter("while_loop", _emit_while)


# ---------------------------------------------------------------------------------------
# switch_case and case: chains of cond (TF's semantics, eagerly plain Python)


def _branch_list(branch_fns: Any) -> list:
    """The branches of ``switch_case`` as a list by key (TF's rules: a list of callables, a
    list of ``(int, callable)`` pairs or a dict of int keys, the keys ``0 .. n-1``)."""
    if not isinstance(branch_fns, (list, tuple, dict)) or not branch_fns:
        raise TypeError(f"switch_case: expected branch_fns as a non-empty list or dict of "
                        f"callables, got {type(branch_fns).__name__} {branch_fns!r:.60}")
    pairs = list(branch_fns.items()) if isinstance(branch_fns, dict) else list(branch_fns)
    if all(callable(fn) for fn in pairs):
        pairs = list(enumerate(pairs))
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"switch_case: expected callables or (int, callable) pairs in "
                            f"branch_fns, got {pair!r:.60}")
        key, fn = pair
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise TypeError(f"switch_case: branch keys must be Python ints, got "
                            f"{type(key).__name__} {key!r}")
        if not callable(fn):
            raise TypeError(f"switch_case: the branch for key {key} must be callable, got "
                            f"{type(fn).__name__}")
    keys = sorted(int(key) for key, _ in pairs)
    if keys != list(range(len(keys))):
        raise ValueError(f"switch_case: branch keys must be 0 .. {len(keys) - 1} (each once), "
                         f"got {keys}")
    return [fn for _, fn in sorted(pairs, key=lambda pair: int(pair[0]))]


def _choose(index: Any, actions: list, lo: int, hi: int) -> Any:
    """``actions[index]()`` for ``lo <= index < hi`` as a balanced tree of conds."""
    if hi - lo == 1:
        return actions[lo]()
    mid = (lo + hi) // 2
    from autojit.ops.math import less

    return cond(less(index, mid), lambda: _choose(index, actions, lo, mid),
                lambda: _choose(index, actions, mid, hi))


def switch_case(branch_index: Any, branch_fns: Any, default: Callable | None = None,
                name: str = "switch_case") -> Any:
    """``branch_fns[branch_index]()``; an index outside the keys runs ``default`` (or, with
    no default, the last branch), as TF. ``branch_fns`` is a list of callables, a list of
    ``(int, callable)`` pairs or a dict with keys ``0 .. n-1``. In a graph the branches become
    nested ``cond`` nodes (every branch is traced; one runs), so gradients flow as through cond.

    Usage: ``y = aj.switch_case(i, [lambda: x * 2.0, lambda: x + 1.0], default=lambda: x)``
    """
    actions = [core.user_function(fn) for fn in _branch_list(branch_fns)]
    if default is not None:
        if not callable(default):
            raise TypeError(f"switch_case: default must be callable, got "
                            f"{type(default).__name__}")
        actions.append(core.user_function(default))
    index = _read(branch_index)
    dtype = getattr(index, "dtype", None)
    if dtype is not None:
        if not dtypes.is_integer(dtype) or tuple(index.shape) not in ((), (1,)):
            raise TypeError(f"switch_case: expected an int scalar branch_index, got "
                            f"{TensorSpec(index.shape, dtype).short()}")
    elif isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"switch_case: expected an int scalar branch_index, got "
                        f"{type(index).__name__} {index!r:.60}")
    last = len(actions) - 1
    if not is_symbolic(index):
        k = int(np.asarray(index.numpy() if isinstance(index, Tensor) else index).reshape(()))
        return actions[k if 0 <= k < last else last]()
    from autojit.ops.array import reshape
    from autojit.ops.math import greater, less, logical_or, where

    index = reshape(index, ())
    outside = logical_or(less(index, 0), greater(index, last))
    index = where(outside, last, index)  # out of range: the last action (default), as TF
    return _choose(index, actions, 0, len(actions))


def _case_pairs(pred_fn_pairs: Any) -> list:
    if isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = list(pred_fn_pairs.items())
    if not isinstance(pred_fn_pairs, (list, tuple)) or not pred_fn_pairs:
        raise TypeError(f"case: expected pred_fn_pairs as a non-empty list of (predicate, "
                        f"callable) pairs, got {type(pred_fn_pairs).__name__}")
    for pair in pred_fn_pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"case: expected (predicate, callable) pairs, got {pair!r:.60}")
        pred, fn = pair
        dtype = getattr(pred, "dtype", None)
        if dtype is None and not isinstance(pred, (bool, np.bool_)):
            raise TypeError(f"case: expected a bool scalar predicate, got "
                            f"{type(pred).__name__} {pred!r:.60}")
        if dtype is not None and (dtype != dtypes.bool or tuple(pred.shape) not in ((), (1,))):
            raise TypeError(f"case: expected a bool scalar predicate, got "
                            f"{TensorSpec(pred.shape, dtype).short()}")
        if not callable(fn):
            raise TypeError(f"case: the function paired with a predicate must be callable, "
                            f"got {type(fn).__name__}")
    return [(_read(pred), core.user_function(fn)) for pred, fn in pred_fn_pairs]


def case(pred_fn_pairs: Any, default: Callable | None = None, exclusive: bool = False,
         strict: bool = False, name: str = "case") -> Any:
    """The function of the first ``(predicate, fn)`` pair whose predicate is True, else
    ``default()``, as ``tf.case``. With ``exclusive=True`` more than one True predicate is
    an error. Without a default the last pair's function serves as one, and no True
    predicate at all is an error (``InvalidArgumentError``, eagerly at once, in a graph at
    each call). In a graph the pairs become nested ``cond`` nodes. ``strict`` is accepted
    for TF's signature (outputs keep their structure either way).

    Usage: ``y = aj.case([(x < 0, lambda: -x), (x > 9, lambda: x - 9)], default=lambda: x)``
    """
    pairs = _case_pairs(pred_fn_pairs)
    if default is not None and not callable(default):
        raise TypeError(f"case: default must be callable, got {type(default).__name__}")
    default = None if default is None else core.user_function(default)
    if not any(is_symbolic(pred) for pred, _ in pairs):
        from autojit.errors import InvalidArgumentError

        flags = [bool(np.asarray(p.numpy() if isinstance(p, Tensor) else p).reshape(()))
                 for p, _ in pairs]
        if exclusive and sum(flags) > 1:
            raise InvalidArgumentError(f"case: exclusive=True but more than one predicate is "
                                       f"True: {flags}")
        for flag, (_, fn) in zip(flags, pairs):
            if flag:
                return fn()
        if default is None:
            raise InvalidArgumentError(f"case: none of the predicates is True and no default "
                                       f"was given: {flags}")
        return default()
    from autojit.ops.array import reshape, stack
    from autojit.ops.io import assert_that
    from autojit.ops.math import cast, less_equal
    from autojit.ops.reduce import reduce_any, reduce_sum

    preds = [reshape(_as_bool(p), ()) for p, _ in pairs]
    if exclusive:
        count = reduce_sum(cast(stack(preds), dtypes.int32))
        assert_that(less_equal(count, 1), "case: exclusive=True but more than one predicate "
                    "is True", [stack(preds)], ["predicates"], "InvalidArgumentError")
    if default is None:  # TF: the last function is the default, run when its predicate holds
        assert_that(reduce_any(stack(preds)), "case: none of the predicates is True and no "
                    "default was given", [stack(preds)], ["predicates"], "InvalidArgumentError")
        default, pairs, preds = pairs[-1][1], pairs[:-1], preds[:-1]
    return _chain(preds, [fn for _, fn in pairs], default)


def _as_bool(pred: Any) -> Any:
    if isinstance(pred, Tensor):
        return pred
    from autojit.ops.array import constant

    return constant(bool(pred))


def _read(value: Any) -> Any:
    """A Variable (or an array) as a tensor: its value read where the call runs (symbolic in
    a graph, so the choice is made at each call, not while tracing); anything else as is."""
    if isinstance(value, Tensor) or not hasattr(value, "dtype"):
        return value
    from autojit.ops.array import identity

    return identity(value)


def _chain(preds: list, fns: list, default: Callable) -> Any:
    """``fns[i]()`` for the first true ``preds[i]``, else ``default()``: nested conds."""
    if not preds:
        return default()
    return cond(preds[0], fns[0], lambda: _chain(preds[1:], fns[1:], default))
