"""Elementwise fusion: chains of elementwise nodes become one ``fused`` node carrying a small
expression IR (``FusedExpr``), and ``expand_fused`` turns them back into the original nodes.

The pass is backend-neutral: it decides *what* runs as one kernel; an executor decides how.
The GPU executor turns each fused node into one generated CuPy kernel
(``autojit/graph/executors/cuda_source.py``); the CPU code generator expands fused nodes
back (NumPy has no kernel fusion, so one call per op is already the fastest replay).
``evaluate_fused`` runs a fused node on any array module by calling each member op's own
kernel, so its result is the unfused graph's, bit for bit.

Note [Fusion groups]: a group is a set of fusable nodes of one graph (never across a
subgraph boundary) that

* all have the same fully known output shape, the group's shape (inputs may be smaller and
  broadcast; ``broadcast_like``/``broadcast_to`` into the group's shape become members, so
  one kernel reads the small operand directly);
* are pure (fusable ops have no effect) and have known dtypes other than float16;
* can be computed at the position of the group's last member: a node joins a group only while
  no node outside the group has used a group value yet (the group is still *open*), so moving
  the earlier members down to the last one's position never puts a use before a definition.

The fused node's outputs are the members' values used outside the group (by later nodes,
subgraph captures or graph outputs): one kernel may produce several results. 0-d constants
feeding a group are pasted into the expression as literals. Groups of one node stay as they
are, but for ops whose own kernel is several array operations (``_SEVERAL_KERNELS``).

Note [Reduction groups]: after the elementwise groups form, a reduction (``REDUCIBLE``: sum,
mean, max, min or prod over at least one axis of a non-empty value of known shape and numeric
dtype; mean of floats only) ends the group that computes its input when that input is the
group's only value used outside it and the reduction its only user: one reduction kernel then
computes the elementwise prologue per input element as it reduces. When the group has other
values used outside (a one-hot both picked from and subtracted in a gradient) and the input is
read by the reduction alone, the reduction takes copies of the members the input depends on
(``_recomputed``): they are computed twice, per element, where the group would otherwise
write the input for a reduction kernel of its own to read back. An epilogue follows: while
every reader of the group's last value is in one elementwise group of the reduced shape that
reads nothing else but 0-d values (constants, pasted in, or arrays such as a loop's running
total: ``acc + sum(x * y)``; not host scalars) and has one value used outside it
(``mean * 0.5``, ``sqrt(max + 1.0)``), that group joins; a GPU kernel reads such a 0-d array
as a raw parameter (``ReductionSource.raw``). A reduction group holds one reduction
(``FusedExpr.reduction``) and outputs its last member, after any side outputs (below); a
reduction with neither prologue nor epilogue stays as it is.

Note [Side outputs]: a reduction over the leading axes of its input may also store values
its prologue computes, per input element, so one kernel does what two did:

* its input itself, when nodes other than the reduction read it too (a bias gradient's
  ``sum(g, axis=0)`` beside the matmul reading ``g``), if every such read comes after the
  reduction (the fused node sits at the group's last member);
* a sibling: an elementwise group of the input's shape that shares an input with the
  reduction's group, lies wholly before the reduction and is read only after the fused node
  (``_take_siblings``): the loop's reverse step ``g * w`` beside ``acc + sum(g * (y + x))``.

Leading axes only: a kernel reducing them walks its elements in their own (C) order, so each
side value is stored where it belongs (the GPU's ``ReductionKernel`` moves no axes then). And
at most ``_SIDE_ELEMENTS`` (4096) input elements per reduced value: CuPy gives each reduced
value at most one block of threads (a full reduction is one block), so large elementwise work
is faster in a kernel of its own. An input read by the reduction alone keeps ``_recomputed``
instead (no round trip through memory).

Note [Inlined producers]: after the rewrite, a small fused node without a reduction (or a
fusable node left alone) whose outputs are read only per element of their own shape is
recomputed in each reader (``_inline_producers``), as XLA duplicates cheap producers into
their consumers: its kernel and the round trip of its values through memory go, for a few
more operations per element in each reader. Readers are fused nodes (before their
reduction, or by it), reductions of one of the values and fusable nodes left alone; the last
two become fused nodes of one step (``_as_fused``), as each is one kernel anyway. A reader
takes only the steps the values it reads need. The softmax's shifted exp, read by its sum
and by its division, is computed in both: three kernels (max, sum, division), not four.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from autojit.graph.ir import Graph, Node, Value, detached_node, uses
from autojit.graph.passes.dce import eliminate_dead_code
from autojit.graph.scalars import host_scalars
from autojit.ops.core import TensorSpec, defop, registry

# Ops whose kernels are elementwise (with NumPy broadcasting) and that every executor that
# fuses can express; attrs they may carry are listed in the expression.
FUSABLE = frozenset({
    "add", "subtract", "multiply", "divide", "maximum", "minimum", "pow",
    "negative", "abs", "sign", "exp", "log", "log1p", "sqrt", "rsqrt", "square",
    "sin", "cos", "tanh", "sigmoid", "relu", "relu_grad",
    "floor", "ceil", "round", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh",
    "acosh", "atanh", "is_nan", "is_inf", "is_finite",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "where", "cast", "clip_by_value", "identity", "stop_gradient",
    "broadcast_like", "broadcast_to",
})
_DTYPES = frozenset({"float32", "float64", "int32", "int64", "bool"})
# Fusable ops whose own kernel is several array operations (``g * (out > 0)``,
# ``1 / sqrt(x)``, sigmoid's tanh form, clip's maximum and minimum): alone, each is still
# worth one fused kernel.
_SEVERAL_KERNELS = frozenset({"relu_grad", "rsqrt", "sigmoid", "clip_by_value"})
# Reductions a group may end with (Note [Reduction groups]); attrs: axis (a tuple), keepdims.
REDUCIBLE = frozenset({"reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"})


@dataclasses.dataclass(frozen=True)
class Step:
    """One member op of a fused expression: ``op`` applied to ``args``.

    An arg is ``("in", k)`` (the fused node's k-th input), ``("t", j)`` (step j's result) or
    ``("const", array)`` (a 0-d constant pasted in). ``spec`` is the member's output type.

    Usage: ``[step.op for step in node.attrs["expr"].steps]``
    """

    op: str
    args: tuple
    attrs: tuple  # sorted (name, value) pairs
    spec: TensorSpec


@dataclasses.dataclass(frozen=True, eq=False)
class FusedExpr:
    """The expression a fused node computes: steps in order and which steps are outputs.

    Usage: ``print(node.attrs["expr"])`` ->
    ``{t0: f32[4] = multiply in0, in1; t1: f32[4] = exp t0; -> t1}``
    """

    steps: tuple
    outputs: tuple  # step indices, one per output of the fused node
    wheres: tuple = ()  # each member's source line (for expand_fused)
    input_specs: tuple = ()  # the fused node's inputs' types, in order

    @property
    def reduction(self) -> int | None:
        """The index of the reduction step, or None: the steps before it are computed per
        input element (the prologue), the steps after it per reduced element (the epilogue).
        Usage: ``r = expr.reduction``; ``expr.steps[r].op`` -> ``"reduce_sum"``"""
        for j, step in enumerate(self.steps):
            if step.op in REDUCIBLE:
                return j
        return None

    def format_lines(self) -> list[str]:
        """One line per step and one for the results: what the graph printer shows under
        the fused node (``t1: f32[4,3] = exp t0``)."""
        lines = []
        for j, step in enumerate(self.steps):
            text = f"t{j}: {step.spec.short()} = {step.op} " + ", ".join(map(_arg_text, step.args))
            if step.attrs:
                text += " {" + ", ".join(f"{k}={_attr_text(v)}" for k, v in step.attrs) + "}"
            lines.append(text)
        lines.append("-> " + ", ".join(f"t{j}" for j in self.outputs))
        return lines

    def __str__(self) -> str:
        return "{" + "; ".join(self.format_lines()) + "}"

    __repr__ = __str__


def _arg_text(arg: tuple) -> str:
    kind, what = arg
    if kind == "const":
        return repr(what.item())
    return f"{'in' if kind == 'in' else 't'}{what}"


def _attr_text(value: Any) -> str:
    return value.name if isinstance(value, np.dtype) else repr(value)


def evaluate_fused(xp: Any, *inputs: Any, expr: FusedExpr) -> tuple:
    """The fused node's outputs, computed with each member op's own kernel on ``xp``.

    Usage (the ``fused`` op's kernel): ``evaluate_fused(np, a, b, expr=node.attrs["expr"])``
    """
    ops = registry()
    results: list = []
    for step in expr.steps:
        args = [inputs[what] if kind == "in" else results[what] if kind == "t" else what
                for kind, what in step.args]
        results.append(ops[step.op].kernel(xp, *args, **dict(step.attrs)))
    return tuple(results[j] for j in expr.outputs)


def _fused_rule(name: str, *inputs: Any, expr: FusedExpr) -> list:
    return [(expr.steps[j].spec.shape, expr.steps[j].spec.dtype) for j in expr.outputs]


def _fused_vjp(g: Any, out: Any, *inputs: Any, expr: FusedExpr) -> tuple:
    # Fused nodes exist only in graphs handed to an executor; tapes differentiate the
    # optimized graph before fusion, so no tape ever reaches one.
    raise NotImplementedError("fused nodes are not differentiated: differentiate the graph "
                              "before fuse_elementwise")


FUSED = defop("fused", ["*inputs"], evaluate_fused, _fused_rule, _fused_vjp, attrs=("expr",),
              multiple=True)


# ----------------------------------------------------------------------------- the pass


def _fusable(node: Node) -> bool:
    if node.op.name not in FUSABLE or node.effect or len(node.outputs) != 1:
        return False
    spec = node.outputs[0].spec
    if spec.shape is None or None in spec.shape or spec.dtype.name not in _DTYPES:
        return False
    return all(v.spec.dtype.name in _DTYPES and v.spec.shape is not None for v in node.inputs)


def _reducible(node: Node) -> bool:
    if node.op.name not in REDUCIBLE or node.effect or not node.attrs["axis"]:
        return False
    x, out = node.inputs[0].spec, node.outputs[0].spec
    if x.shape is None or None in x.shape or not all(x.shape) or out.shape is None:
        return False  # unknown or empty (max/min of nothing raises in the op's own kernel)
    name = x.dtype.name
    if name not in _DTYPES or name == "bool" or out.dtype != x.dtype:
        return False
    return node.op.name != "reduce_mean" or name in ("float32", "float64")


class _Group:
    __slots__ = ("members", "shape", "open", "reduces")

    def __init__(self, node: Node):
        self.members = [node]
        self.shape = node.outputs[0].spec.shape
        self.open = True
        self.reduces = False


def fuse_elementwise(graph: Graph, host: set[int] | None = None) -> Graph:
    """Replace each group of two or more fusable nodes by one ``fused`` node (Note [Fusion
    groups]); subgraphs are fused on their own. Host scalars (``graph/scalars.py``: loop
    counters and their tests, which replay keeps as Python ints) are never fused: a kernel
    would turn them into device values read back at every loop test. ``host``: their ids,
    computed for the outermost graph. Usage: ``g = fuse_elementwise(g.clone())``
    """
    if host is None:
        host = host_scalars(graph)
    for node in graph.nodes:
        for sub in node.subgraphs():
            fuse_elementwise(sub, host)
    group_of: dict[int, _Group] = {}  # value id -> the group defining it
    groups: list[_Group] = []
    for node in graph.nodes:
        producers = []
        for value in node.inputs:
            group = group_of.get(value.id)
            if group is not None and group not in producers:
                producers.append(group)
        fusable = _fusable(node) and node.outputs[0].id not in host
        joinable = [g for g in producers
                    if fusable and g.open and g.shape == node.outputs[0].spec.shape]
        if joinable:
            target = joinable[0]
            for other in joinable[1:]:  # node joins several open groups: merge them
                target.members.extend(other.members)
                for member in other.members:
                    group_of[member.outputs[0].id] = target
                other.members = []
            target.members.append(node)
            group_of[node.outputs[0].id] = target
            joined = set(map(id, joinable))
        else:
            joined = set()
            if fusable:
                group = _Group(node)
                groups.append(group)
                group_of[node.outputs[0].id] = group
        for group in producers:
            if id(group) not in joined:
                group.open = False  # used outside: later nodes cannot join (they'd move)
    _attach_reductions(graph, groups, group_of, host)
    fused = [g for g in groups if len(g.members) > 1 or (
        len(g.members) == 1 and g.members[0].op.name in _SEVERAL_KERNELS)]
    if not fused:
        return graph
    _rewrite(graph, fused)
    _inline_producers(graph, host)
    return eliminate_dead_code(graph)


_INLINE_STEPS = 8  # the most steps a producer may have to be recomputed in its consumers


def _inline_producers(graph: Graph, host: set[int]) -> None:
    """Recompute small fused producers in the nodes that read them (Note [Inlined
    producers]): a lowered one-hot, read by the loss's picked sum and by the softmax
    gradient; the shifted logits and their exp, read by the sum of the exp, the picked sum
    and the gradient. The producer's inputs broadcast to its shape there just as in its own
    kernel."""
    readers = _readers(graph)
    outputs = {v.id for v in graph.outputs}
    for producer in list(graph.nodes):
        alone = producer.op is not FUSED and _fusable(producer) and (
            producer.outputs[0].id not in host)  # a fusable node left alone: one step
        expr = producer.attrs.get("expr") if producer.op is FUSED else None
        if not alone and (expr is None or expr.reduction is not None
                          or len(expr.steps) > _INLINE_STEPS):
            continue
        reads = [(user, value) for value in producer.outputs
                 for user in readers.get(value.id, [])]
        if not reads or any(v.id in outputs for v in producer.outputs) or not all(
                _reads_whole(user, value, host) for user, value in reads):
            continue
        if alone:
            _as_fused(producer)
        for user in dict.fromkeys(user for user, _ in reads):  # each once, in order
            if user.op is not FUSED:
                _as_fused(user)
            _splice(user, producer)
            for v in producer.inputs:
                readers.setdefault(v.id, []).append(user)
        for value in producer.outputs:
            readers[value.id] = []


def _readers(graph: Graph) -> dict[int, list[Node]]:
    """Value id -> the nodes of ``graph`` that read it, in program order."""
    found: dict[int, list[Node]] = {}
    for node in graph.nodes:
        for value in node.inputs:
            found.setdefault(value.id, []).append(node)
    return found


def _reads_whole(user: Node, value: Value, host: set[int]) -> bool:
    """True when ``user`` reads ``value`` only per element of ``value``'s own shape: a fused
    node's steps before any reduction or its reduction itself, a reduction of ``value``
    (``_reducible``), or a fusable node of ``value``'s shape (both made fused nodes of one
    step by ``_as_fused`` when the producer is spliced in)."""
    if user.op is not FUSED:
        if _reducible(user):
            return user.inputs[0] is value
        return (_fusable(user) and user.outputs[0].id not in host
                and user.outputs[0].spec.shape == value.spec.shape)
    expr = user.attrs["expr"]
    ks = {k for k, v in enumerate(user.inputs) if v is value}
    r = expr.reduction
    for j, step in enumerate(expr.steps):
        if any(kind == "in" and what in ks for kind, what in step.args):
            if r is not None and j >= r:
                if j > r:  # the epilogue runs per reduced element
                    return False
            elif step.spec.shape != value.spec.shape:
                return False
    return True


def _as_fused(node: Node) -> None:
    """Make ``node`` (a reduction or a fusable node) a fused node of one step, in place: its
    output stays the value its readers hold."""
    fused, _ = _fused_node(_Group(node), {node.outputs[0].id})
    node.op, node.inputs, node.attrs = fused.op, fused.inputs, fused.attrs


def _splice(user: Node, producer: Node) -> None:
    """Rewrite ``user``'s expression to compute the steps of ``producer`` that the values it
    reads need first, and read those values from them instead of from inputs."""
    inner, outer = producer.attrs["expr"], user.attrs["expr"]
    made = {id(v): j for v, j in zip(producer.outputs, inner.outputs)}  # value -> its step
    wanted = [made[id(v)] for v in user.inputs if id(v) in made]
    needed: set[int] = set()
    while wanted:
        j = wanted.pop()
        if j not in needed:
            needed.add(j)
            wanted.extend(what for kind, what in inner.steps[j].args if kind == "t")
    order = sorted(needed)
    renumber = {j: i for i, j in enumerate(order)}
    kept = [v for v in user.inputs if id(v) not in made]
    read = {what for j in order for kind, what in inner.steps[j].args if kind == "in"}
    inputs = kept + [v for k, v in enumerate(producer.inputs)
                     if k in read and all(v is not u for u in kept)]
    index = {id(v): i for i, v in enumerate(inputs)}
    n = len(order)

    def inner_arg(kind: str, what: Any) -> tuple:
        if kind == "in":
            return ("in", index[id(producer.inputs[what])])
        return ("t", renumber[what]) if kind == "t" else (kind, what)

    def outer_arg(kind: str, what: Any) -> tuple:
        if kind == "in":
            v = user.inputs[what]
            return ("t", renumber[made[id(v)]]) if id(v) in made else ("in", index[id(v)])
        return ("t", what + n) if kind == "t" else (kind, what)

    steps = [dataclasses.replace(inner.steps[j], args=tuple(
        inner_arg(k, w) for k, w in inner.steps[j].args)) for j in order]
    steps += [dataclasses.replace(st, args=tuple(outer_arg(k, w) for k, w in st.args))
              for st in outer.steps]
    inner_wheres = inner.wheres or (producer.where,) * len(inner.steps)
    wheres = tuple(inner_wheres[j] for j in order) + (
        outer.wheres or (user.where,) * len(outer.steps))
    user.attrs = {**user.attrs, "expr": FusedExpr(
        tuple(steps), tuple(j + n for j in outer.outputs), wheres,
        tuple(v.spec for v in inputs))}
    user.inputs = inputs


def _attach_reductions(graph: Graph, groups: list[_Group], group_of: dict[int, _Group],
                       host: set[int]) -> None:
    """Each reducible node ends the group computing its input, or starts its own, and takes
    its epilogue (Note [Reduction groups]); then sibling groups join reductions over their
    leading axes (Note [Side outputs])."""
    total = uses(graph)
    users = _readers(graph)
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    reducing: list[tuple[_Group, Node]] = []
    for node in list(graph.nodes):  # _recomputed inserts nodes
        if not _reducible(node):  # never a host scalar: its input is a tensor
            continue
        x = node.inputs[0]
        group = group_of.get(x.id)
        free = group is not None and not group.reduces
        if free and _leaves_only(group, x, total):
            group.members.append(node)
        elif (free and _leaving(group, total).get(x, 0) > 1 and _takes_sides(node)
              and _first_use(group, users, position, node) > position[id(node)]):
            group.members.append(node)  # x is read outside by others too: a side output
        elif free and total.get(x.id) == 1:
            copies = _recomputed(graph, group, x, node, total, users, position)
            position = {id(n): i for i, n in enumerate(graph.nodes)}  # copies inserted
            group = _Group(copies[0])
            group.members = [*copies, node]
            groups.append(group)
            for copy in copies:
                group_of[copy.outputs[0].id] = group
        else:
            group = _Group(node)
            groups.append(group)
        group.reduces = True
        group.shape = node.outputs[0].spec.shape
        group_of[node.outputs[0].id] = group
        last = node.outputs[0]
        while (follow := _epilogue(last, group.shape, group_of, users, total, host)) is not None:
            after, last = follow
            end = max(position[id(m)] for m in after.members)
            if _first_use(group, users, position, node, prologue_only=True) < end:
                break  # a side output is read before the epilogue's end: it stays apart
            group.members.extend(after.members)
            for member in after.members:
                group_of[member.outputs[0].id] = group
            after.members = []
        if _takes_sides(node):
            reducing.append((group, node))
    for group, reduction in reducing:
        _take_siblings(group, reduction, groups, group_of, users, position)


_SIDE_ELEMENTS = 4096  # the most input elements per reduced value a side output may join


def _takes_sides(reduction: Node) -> bool:
    """True when ``reduction`` may store side outputs (Note [Side outputs]): it reduces the
    leading axes of its input, at most ``_SIDE_ELEMENTS`` elements per reduced value."""
    shape = reduction.inputs[0].spec.shape
    axes = tuple(sorted(a % len(shape) for a in reduction.attrs["axis"]))
    per_value = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    return axes == tuple(range(len(axes))) and per_value <= _SIDE_ELEMENTS


def _first_use(group: _Group, users: dict[int, list[Node]], position: dict[int, int],
               reduction: Node, prologue_only: bool = False) -> float:
    """The earliest position of a node outside ``group`` (and other than ``reduction``) that
    reads one of its values (with ``prologue_only``, of those computed before
    ``reduction``)."""
    own = {id(m) for m in group.members}
    stop = position[id(reduction)]
    first = float("inf")
    for member in group.members:
        if member is reduction or (prologue_only and position[id(member)] > stop):
            continue
        for reader in users.get(member.outputs[0].id, []):
            if id(reader) not in own and reader is not reduction:
                first = min(first, position.get(id(reader), -1))
    return first


def _take_siblings(group: _Group, reduction: Node, groups: list[_Group],
                   group_of: dict[int, _Group], users: dict[int, list[Node]],
                   position: dict[int, int]) -> None:
    """Elementwise groups of the reduction's input shape that share an input with ``group``,
    lie wholly before ``reduction`` and are read only after the group's last member join it
    as side outputs (Note [Side outputs]): ``g * w`` beside ``acc + sum(g * (y + x))``."""
    shape = reduction.inputs[0].spec.shape
    stop = position[id(reduction)]
    end = max(position[id(m)] for m in group.members)
    own = {m.outputs[0].id for m in group.members}
    read = {v.id for m in group.members for v in m.inputs if v.id not in own}
    for other in groups:
        if (other is group or other.reduces or not other.members or other.shape != shape
                or max(position[id(m)] for m in other.members) > stop):
            continue
        theirs = {m.outputs[0].id for m in other.members}
        inputs = {v.id for m in other.members for v in m.inputs if v.id not in theirs}
        if not inputs & read or inputs & own or read & theirs:
            continue  # no shared input, or one reads the other
        members = {id(m) for m in other.members}
        if any(position.get(id(r), -1) <= end for m in other.members
               for r in users.get(m.outputs[0].id, []) if id(r) not in members):
            continue  # read before the fused node would compute it
        group.members.extend(other.members)
        for member in other.members:
            group_of[member.outputs[0].id] = group
        own |= theirs
        read |= inputs
        other.members = []


def _recomputed(graph: Graph, group: _Group, x: Value, reduction: Node, total: dict[int, int],
                users: dict[int, list[Node]], position: dict[int, int]) -> list[Node]:
    """Copies of the members of ``group`` that ``x`` (read only by ``reduction``) depends on,
    placed just before ``reduction``, which now reads the copy of ``x``: its prologue. The
    use counts follow; the group keeps its other values (Note [Reduction groups])."""
    inside = {m.outputs[0].id: m for m in group.members}
    needed: set[int] = set()
    stack = [x.id]
    while stack:
        vid = stack.pop()
        if vid not in needed:
            needed.add(vid)
            stack.extend(v.id for v in inside[vid].inputs if v.id in inside)
    mapping: dict[int, Value] = {}
    copies = []
    for member in sorted(group.members, key=lambda n: position[id(n)]):
        if member.outputs[0].id not in needed:
            continue
        copy = detached_node(member.op, [mapping.get(v.id, v) for v in member.inputs],
                             dict(member.attrs), [member.outputs[0].spec], member.where)
        mapping[member.outputs[0].id] = copy.outputs[0]
        copies.append(copy)
        for value in copy.inputs:
            total[value.id] = total.get(value.id, 0) + 1
            users.setdefault(value.id, []).append(copy)
    at = graph.nodes.index(reduction)
    graph.nodes[at:at] = copies
    new_x = mapping[x.id]
    reduction.inputs = [new_x, *reduction.inputs[1:]]
    total[x.id] -= 1
    users[x.id] = [n for n in users.get(x.id, []) if n is not reduction]
    total[new_x.id] = total.get(new_x.id, 0) + 1
    users.setdefault(new_x.id, []).append(reduction)
    return copies


def _leaving(group: _Group, total: dict[int, int]) -> dict[Value, int]:
    """The values of ``group`` used outside it (by nodes or outputs), with their use counts."""
    inside: dict[int, int] = {}
    for member in group.members:
        for value in member.inputs:
            inside[value.id] = inside.get(value.id, 0) + 1
    counts = {}
    for member in group.members:
        value = member.outputs[0]
        n = total.get(value.id, 0) - inside.get(value.id, 0)
        if n:
            counts[value] = n
    return counts


def _leaves_only(group: _Group, x: Value, total: dict[int, int]) -> bool:
    """True when ``x`` is the only value of ``group`` used outside it, and used once."""
    return _leaving(group, total) == {x: 1}


def _epilogue(last: Value, shape: tuple, group_of: dict[int, _Group],
              users: dict[int, list[Node]], total: dict[int, int],
              host: set[int]) -> tuple | None:
    """The elementwise group that reads ``last`` (a reduction group's result) and nothing else
    but 0-d values that are no host scalars, with its one value used outside it; None when
    there is none."""
    readers = users.get(last.id, [])
    if not readers or len(readers) != total.get(last.id) or not readers[0].outputs:
        return None  # unread, or a graph output
    after = group_of.get(readers[0].outputs[0].id)
    if (after is None or after.reduces or after.shape != shape
            or any(not r.outputs or group_of.get(r.outputs[0].id) is not after
                   for r in readers)):
        return None
    own = {m.outputs[0].id for m in after.members}
    if not all(v.id in own or v is last or _is_scalar_constant(v)
               or (v.spec.shape == () and v.id not in host)
               for m in after.members for v in m.inputs):
        return None
    leaving = _leaving(after, total)
    return (after, next(iter(leaving))) if len(leaving) == 1 else None


def _rewrite(graph: Graph, groups: list[_Group]) -> None:
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    for group in groups:  # merged groups: members back in program order
        group.members.sort(key=lambda n: position[id(n)])
    member_ids = {id(n) for g in groups for n in g.members}  # dead members leave the graph too
    used_outside = _uses_outside(graph, groups)
    for group in groups:
        _drop_dead(group, used_outside)
    groups = [g for g in groups if g.members]
    last = {id(g.members[-1]): g for g in groups}
    nodes = []
    replace: dict[int, Value] = {}
    for node in graph.nodes:
        node.inputs = [replace.get(v.id, v) for v in node.inputs]
        if id(node) in last:
            group = last[id(node)]
            for member in group.members:
                member.inputs = [replace.get(v.id, v) for v in member.inputs]
            new, produced = _fused_node(group, used_outside)
            nodes.append(new)
            replace.update(produced)
        elif id(node) not in member_ids:
            nodes.append(node)
    graph.nodes = nodes
    graph.outputs = [replace.get(v.id, v) for v in graph.outputs]
    graph._effects = None


def _drop_dead(group: _Group, used_outside: set[int]) -> None:
    """Remove the members whose values nothing live reads (a group whose value a reduction
    now recomputes, ``_recomputed``). The fused node then sits at the last live member: every
    use outside comes after the group's last member, so after it too."""
    live: list[Node] = []
    read = set(used_outside)
    for member in reversed(group.members):
        if member.outputs[0].id in read:
            live.append(member)
            read.update(v.id for v in member.inputs)
    group.members = live[::-1]


def _uses_outside(graph: Graph, groups: list[_Group]) -> set[int]:
    """Ids of group values read by nodes outside their group or by the graph's outputs."""
    owner = {n.outputs[0].id: id(g) for g in groups for n in g.members}
    member_group = {id(n): id(g) for g in groups for n in g.members}
    used = {v.id for v in graph.outputs if v.id in owner}
    for node in graph.nodes:
        mine = member_group.get(id(node))
        for value in node.inputs:
            if value.id in owner and owner[value.id] != mine:
                used.add(value.id)
    return used


def _fused_node(group: _Group, used_outside: set[int]) -> tuple[Node, dict[int, Value]]:
    step_of: dict[int, int] = {}
    inputs: list[Value] = []
    input_of: dict[int, int] = {}
    steps = []
    for member in group.members:
        args = []
        for value in _operands(member):
            if value.id in step_of:
                args.append(("t", step_of[value.id]))
            elif _is_scalar_constant(value):
                args.append(("const", _host_scalar(value.node.attrs["value"])))
            else:
                if value.id not in input_of:
                    input_of[value.id] = len(inputs)
                    inputs.append(value)
                args.append(("in", input_of[value.id]))
        op, attrs = _step_op(member)
        steps.append(Step(op, tuple(args), attrs, member.outputs[0].spec))
        step_of[member.outputs[0].id] = len(steps) - 1
    outs = [m.outputs[0] for m in group.members if m.outputs[0].id in used_outside]
    expr = FusedExpr(tuple(steps), tuple(step_of[v.id] for v in outs),
                     tuple(m.where for m in group.members), tuple(v.spec for v in inputs))
    node = Node(FUSED, inputs, {"expr": expr}, group.members[-1].where)
    node.outputs = [Value(v.spec, node, i) for i, v in enumerate(outs)]
    return node, {old.id: new for old, new in zip(outs, node.outputs)}


def _operands(member: Node) -> Sequence[Value]:
    if member.op.name == "broadcast_like":
        return member.inputs[:1]  # ``like`` gives only the shape, now an attribute
    return member.inputs


def _step_op(member: Node) -> tuple[str, tuple]:
    if member.op.name == "broadcast_like":
        return "broadcast_to", (("shape", member.outputs[0].spec.shape),)
    return member.op.name, tuple(sorted(member.attrs.items()))


def _host_scalar(array: Any) -> np.generic:
    """A 0-d constant (NumPy or CuPy) as a NumPy scalar: it keeps its dtype in every kernel."""
    host = array.get() if hasattr(array, "get") else np.asarray(array)
    return host.reshape(())[()]


def _is_scalar_constant(value: Value) -> bool:
    node = value.node
    return (node is not None and node.op.name == "constant" and value.spec.shape == ()
            and value.spec.dtype.name in _DTYPES)


# ----------------------------------------------------------------------------- expanding back


def expand_fused(graph: Graph) -> Graph:
    """Replace every ``fused`` node (subgraphs too) by its member nodes, in order, and every
    ``fused_assign`` by its members and the assignment.

    Usage: ``g = expand_fused(fuse_elementwise(g))`` computes what ``g`` computed.
    """
    ops = registry()
    constant = ops["constant"]
    nodes: list[Node] = []
    replace: dict[int, Value] = {}
    for node in graph.nodes:
        node.inputs = [replace.get(v.id, v) for v in node.inputs]
        for sub in node.subgraphs():
            expand_fused(sub)
        if node.op is not FUSED and node.op is not FUSED_ASSIGN:
            nodes.append(node)
            continue
        expr = node.attrs["expr"]
        values: list[Value] = []
        wheres = expr.wheres or (node.where,) * len(expr.steps)
        for step, where in zip(expr.steps, wheres):
            args = []
            for kind, what in step.args:
                if kind == "in":
                    args.append(node.inputs[what])
                elif kind == "t":
                    args.append(values[what])
                else:
                    const = detached_node(constant, [], {"value": what},
                                          [TensorSpec((), what.dtype)], where)
                    nodes.append(const)
                    args.append(const.outputs[0])
            member = detached_node(ops[step.op], args, dict(step.attrs), [step.spec], where)
            nodes.append(member)
            values.append(member.outputs[0])
        if node.op is FUSED_ASSIGN:  # the assignment it merged, of the expression's result
            assign = detached_node(ops[node.attrs["how"]], [values[expr.outputs[0]]],
                                   {"var": node.attrs["var"]}, [], node.where)
            nodes.append(assign)
        for out, j in zip(node.outputs, expr.outputs):
            replace[out.id] = values[j]
    graph.nodes = nodes
    graph.outputs = [replace.get(v.id, v) for v in graph.outputs]
    graph._effects = None
    return graph


def has_fused(graph: Graph) -> bool:
    """True when ``graph`` (or a subgraph) holds a fused node. Usage: ``has_fused(g)``"""
    return any(node.op is FUSED or node.op is FUSED_ASSIGN for node in graph.walk())


# ----------------------------------------------------------------------------- assignments


# Note [Fused assignments]: ``assign``/``assign_add``/``assign_sub`` of a fused node's one
# result (or of one fusable op's), used by nothing else, becomes one ``fused_assign`` node:
# its kernel writes the variable's buffer itself (a GPU kernel launch instead of two: the
# optimizer update ``v -= lr * g`` of every weight). A kernel writing a buffer while it
# reads its inputs must not read that buffer at other positions, so every input must be
# known not to be a view of the variable: the variable's own read (the same element is read
# then written), another variable's read, a constant, a host scalar, or the result of an op
# that makes a new array (``_FRESH``). Other inputs (a transpose of the variable, a loop's
# captured value) leave the pair as it is. The node sits at the assignment's position, so
# effects keep their order.
_ASSIGNS = frozenset({"assign", "assign_add", "assign_sub"})
_COMBINE = {"assign_add": "add", "assign_sub": "subtract"}  # how an assignment meets the old
# Ops whose result is a new array, never a view of an input.
_FRESH = (FUSABLE - {"identity", "stop_gradient", "broadcast_to", "broadcast_like", "cast"}) | \
    REDUCIBLE | {"fused", "matmul", "unbroadcast", "softmax", "log_softmax", "one_hot",
                 "sparse_softmax_cross_entropy_with_logits", "constant"}


def _assigned_value(expr: FusedExpr, how: str, k: int, input_specs: tuple,
                    where: Any = None) -> FusedExpr:
    """``expr`` (one result: the value assignment ``how`` takes) extended to the variable's
    new value: for ``assign_add``/``assign_sub`` a last step combining input ``k``, the
    variable's current value, with that result. ``input_specs``: the extended expression's
    inputs. Used by the GPU launcher and by ``merge_updates``."""
    if how not in _COMBINE:
        return dataclasses.replace(expr, input_specs=input_specs)
    result = expr.outputs[0]
    wheres = expr.wheres or (where,) * len(expr.steps)
    step = Step(_COMBINE[how], (("in", k), ("t", result)), (), expr.steps[result].spec)
    return FusedExpr(expr.steps + (step,), (len(expr.steps),),
                     wheres + ((where,) if where is not None else wheres[-1:]), input_specs)


def _fused_assign_kernel(xp: Any, *inputs: Any, expr: FusedExpr, how: str, var: Any) -> tuple:
    (value,) = evaluate_fused(xp, *inputs, expr=expr)
    return registry()[how].kernel(xp, value, var=var)


def _fused_assign_rule(name: str, *inputs: Any, expr: FusedExpr, how: str, var: Any) -> list:
    return []


FUSED_ASSIGN = defop("fused_assign", ["*inputs"], _fused_assign_kernel, _fused_assign_rule,
                     _fused_vjp, attrs=("expr", "how", "var"), effect=True, multiple=True)


def fuse_assignments(graph: Graph, host: set[int] | None = None) -> Graph:
    """Merge each assignment of a fused node's result into one ``fused_assign`` node (Note
    [Fused assignments]); run after ``fuse_elementwise``. ``expand_fused`` undoes it.

    Usage: ``g = fuse_assignments(fuse_elementwise(g.clone()))``
    """
    _fuse_assignments(graph, host_scalars(graph) if host is None else host, top_level=True)
    return graph


def _fuse_assignments(graph: Graph, host: set[int], top_level: bool) -> None:
    for node in graph.nodes:
        for sub in node.subgraphs():
            _fuse_assignments(sub, host, top_level=False)
    total = uses(graph)
    merged: set[int] = set()
    for node in graph.nodes:
        if node.op.name not in _ASSIGNS:
            continue
        value, var = node.inputs[0], node.attrs["var"]
        producer = value.node
        if (producer is None or total.get(value.id) != 1
                or value.spec.shape != tuple(var.shape) or value.spec.dtype != var.dtype):
            continue
        if producer.op is not FUSED and _fusable(producer) and value.id not in host:
            producer = _fused_node(_Group(producer), {value.id})[0]  # one op: ``lr * g``
        if (producer.op is not FUSED or len(producer.outputs) != 1
                or producer.attrs["expr"].reduction is not None
                or not all(_not_a_view(v, host, top_level) for v in producer.inputs)):
            continue
        node.attrs = {"expr": producer.attrs["expr"], "how": node.op.name, "var": var}
        node.op = FUSED_ASSIGN
        node.inputs = list(producer.inputs)
        merged.add(id(value.node))
    if merged:
        graph.nodes = [n for n in graph.nodes if id(n) not in merged]
        graph._effects = None


def _not_a_view(value: Value, host: set[int], top_level: bool) -> bool:
    """True when ``value`` cannot be a view of a variable other than that variable's own read
    (Note [Fused assignments])."""
    if value.id in host:
        return True  # replay makes a new array of it
    node = value.node
    if node is None:
        return top_level  # a subgraph's input may be an outer read of the variable
    return node.op.name == "read_variable" or node.op.name in _FRESH


__all__ = ["FUSABLE", "FUSED", "FUSED_ASSIGN", "REDUCIBLE", "FusedExpr", "Step", "evaluate_fused",
           "expand_fused", "fuse_assignments", "fuse_elementwise", "has_fused"]
