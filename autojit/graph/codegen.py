"""Replay code generation: a graph becomes straight-line Python calling the backend directly.

Each node becomes one line built from its op's kernel expression (Note [One op, every mode]
in ``ops/core.py``), with inputs renamed to SSA names and attributes pasted as literals or
hoisted globals::

    def train_step(a0, a1):
        v2 = var_w._array
        v3 = xp.matmul(a0, v2)
        v5 = xp.add(v3, v4, out=v3)
        ...

Constants and other non-literal attributes are hoisted into the module's globals; values
are deleted after their last use so big activations are freed early; a dying buffer is
reused with ``out=`` (``buffers.py``); loop counters and their tests stay Python ints and
bools (``scalars.py``); subgraphs (``cond`` branches, ``while_loop`` bodies) are emitted
inline as ``if``/``while`` blocks. The source is registered with ``linecache`` so
tracebacks and debuggers show it.

Note [Reads alias buffers]: ``read_variable`` yields the variable's buffer itself (no copy).
Before a node writes a variable, any earlier read of it that is still needed is copied, and
graph outputs that are reads are copied, so in-place updates never change a value the
program already read. A direct read that only the writer itself still needs is not copied
when the writer writes each element from the same element of its inputs (``assign``,
``assign_add``, ``assign_sub``, ``fused_assign``, ``fused_assigns``: an optimizer slot's
update reading the slot). "Reads" include values that may share the buffer: views of a read
(``reshape``, ``transpose``, ``identity``, ... see ``_VIEW_OPS``) and ``cond``/``while_loop``
results that are reads; a loop body's results that are reads are copied each iteration.
"""

from __future__ import annotations

import ast
import itertools
import keyword
import linecache
import math
import re
from typing import Any, Callable

import numpy as np

from autojit.graph.buffers import plan_buffers
from autojit.graph.ir import Graph, Node, Value
from autojit.graph.passes.fuse import expand_fused, has_fused
from autojit.graph.scalars import (INT_ARGUMENTS, PYTHON_EXPR, SCALAR_ARGUMENTS, WRAPPING,
                                   WRAPS, host_scalars, shape_item)
from autojit.ops.core import Op

_TEMPLATES: dict[int, tuple] = {}
_files = itertools.count()


def _template(op: Op) -> str:
    """The op's kernel expression with markers for inputs, attrs and helpers (cached)."""
    cached = _TEMPLATES.get(id(op))
    if cached is not None and cached[0] is op:
        return cached[1]
    tree = ast.parse(op.source, mode="eval")
    for name in ast.walk(tree):
        if isinstance(name, ast.Name):
            if name.id in op.inputs:
                name.id = f"__in_{op.inputs.index(name.id)}__"
            elif name.id in op.attr_names:
                name.id = f"__at_{name.id}__"
            elif name.id in op.namespace:
                name.id = f"__ns_{name.id}__"
    text = ast.unparse(tree)
    _TEMPLATES[id(op)] = (op, text)
    return text


class Namespace:
    """Collision-free names for values and hoisted globals (like torch.fx's ``_Namespace``)."""

    def __init__(self, xp: Any):
        self.globals: dict[str, Any] = {"xp": xp, "np": np}
        self._by_id: dict[int, str] = {}
        self._used: set[str] = {"xp", "np"}

    def fresh(self, hint: str) -> str:
        base = re.sub(r"\W", "_", hint).strip("_") or "g"
        if base[0].isdigit() or keyword.iskeyword(base):  # "<lambda>" -> "_lambda"
            base = "_" + base
        name = base
        for i in itertools.count(1):
            if name not in self._used:
                break
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    def hoist(self, obj: Any, hint: str) -> str:
        """A global name bound to ``obj`` (the same name for the same object)."""
        name = self._by_id.get(id(obj))
        if name is None:
            name = self.fresh(hint)
            self.globals[name] = obj
            self._by_id[id(obj)] = name
        return name

    def literal(self, value: Any, hint: str) -> str:
        """Source text for an attribute value: a literal where exact, else a hoisted name."""
        if value is None or isinstance(value, (bool, int, str)):
            return repr(value)
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        if value is Ellipsis:
            return "..."
        if isinstance(value, tuple):
            items = [self.literal(v, hint) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if isinstance(value, slice):
            return (f"slice({self.literal(value.start, hint)}, {self.literal(value.stop, hint)}, "
                    f"{self.literal(value.step, hint)})")
        if isinstance(value, np.dtype):
            return self.hoist(value, value.name)
        if getattr(value, "_is_variable", False):
            return self.hoist(value, "var_" + value.name.split(":")[0])
        return self.hoist(value, hint)


class _Emitter:
    def __init__(self, ns: Namespace, device: Any):
        self.ns = ns
        self.device = device
        self.lines: list[str] = []
        self.names: dict[int, str] = {}
        self.reads: dict[int, list[Value]] = {}  # variable id -> read values in scope
        self.line_nodes: dict[int, Node] = {}  # index into lines -> node that emitted it
        self.inplace: dict[int, int] = {}  # id(node) -> input it may overwrite (buffers.py)
        self.host: set[int] = set()  # values kept as Python scalars (scalars.py)
        self.reading: set[int] | None = None  # ids the top-level node being emitted reads
        self.kernels: dict[str, Callable] = {}  # op name -> an executor's own kernel for it
        self.checks: Callable | None = None  # node -> an executor's own value check, or None

    def arg(self, value: Value, host_ok: bool = False) -> str:
        """The name of ``value`` as an op argument: a host scalar becomes a 0-d array unless
        the consumer takes Python scalars (``host_ok``)."""
        name = self.names[value.id]
        if self.reading is not None:
            self.reading.add(value.id)
        if value.id in self.host and not host_ok:
            dtype = self.ns.hoist(value.spec.dtype, value.spec.dtype.name)
            if self.device.xp is np:
                return f"xp.asarray({name}, dtype={dtype})"
            # On a GPU, a fill kernel taking the value as an argument: asarray would copy it
            # from the host, through a pinned staging buffer a CUDA-graph capture cannot
            # keep (a captured step would read whatever that buffer held later).
            return f"xp.full((), {name}, dtype={dtype})"
        return name

    def name(self, value: Value) -> str:
        if self.reading is not None:
            self.reading.add(value.id)
        return self.names[value.id]

    def define(self, value: Value) -> str:
        name = self.ns.fresh(f"v{value.id}")
        self.names[value.id] = name
        return name

    # --- graphs ----------------------------------------------------------------------
    def block(self, graph: Graph, indent: str, free: bool) -> None:
        """Emit ``graph``'s nodes; with ``free``, delete each value after its last read."""
        reads: list[tuple[int, set[int]]] = []  # per node: end of its lines, ids it read
        for i, node in enumerate(graph.nodes):
            if free:
                self.reading = set()
            self.protect_reads(node, indent, graph, i)
            self.node(node, indent)
            if node.op.name == "read_variable":
                self.reads.setdefault(id(node.attrs["var"]), []).append(node.outputs[0])
            else:
                self.track_aliases(node)
            if free:
                reads.append((len(self.lines), self.reading))
                self.reading = None
        if free:
            self.free_after_last_read(graph, indent, reads)

    def free_after_last_read(self, graph: Graph, indent: str, reads: list) -> None:
        """Insert ``del`` lines for the values ``graph``'s nodes define, each after the node
        whose emitted code last reads it. Note [Liveness from emitted code]: the reads are
        those the emitted lines actually make (recorded by ``name``/``arg``), so a node
        whose code reads a value its inputs do not list (``shape(x)[k]`` emitted as
        ``x.shape[k]``, a loop reading a capture) keeps that value alive."""
        keep = {v.id for v in graph.outputs} | {v.id for v in graph.inputs}
        names = {v.id: self.names[v.id] for node in graph.nodes if node.op.name != "constant"
                 for v in node.outputs if v.id not in keep and v.id in self.names}
        last: dict[int, int] = {}
        for i, (_, ids) in enumerate(reads):
            for vid in ids:
                if vid in names:
                    last[vid] = i
        dead_at: dict[int, list[str]] = {}
        for vid, i in last.items():
            dead_at.setdefault(i, []).append(names[vid])
        lines, line_nodes = [], {}
        start = 0
        for i, (end, _) in enumerate(reads):
            for index in range(start, end):
                if index in self.line_nodes:
                    line_nodes[len(lines)] = self.line_nodes[index]
                lines.append(self.lines[index])
            if i in dead_at:
                lines.append(f"{indent}del {', '.join(sorted(set(dead_at[i]), key=_natural))}")
            start = end
        for index in range(start, len(self.lines)):
            if index in self.line_nodes:
                line_nodes[len(lines)] = self.line_nodes[index]
            lines.append(self.lines[index])
        self.lines, self.line_nodes = lines, line_nodes

    def track_aliases(self, node: Node) -> None:
        """Outputs that may share a read's buffer (a view of it, or a branch or loop result
        that is one) count as reads of that variable too (Note [Reads alias buffers])."""
        sources = _alias_sources(node)
        if not sources:
            return
        ids = {v.id for v in sources}
        for values in self.reads.values():
            if any(v.id in ids for v in values):
                values.extend(node.outputs)

    def protect_reads(self, node: Node, indent: str, graph: Graph, index: int) -> None:
        """Note [Reads alias buffers]: copy live reads of any variable ``node`` writes. A
        read that only the writing node itself takes, as a direct read of the variable, is
        not copied when the node writes each element from the same element of its inputs
        (``_ELEMENTWISE_WRITERS``: ``v.assign_add(0.1 * (g - v))`` as one fused kernel)."""
        written = node.written_variables()
        if not written:
            return
        later = _used_after(graph, index + 1)
        per_element = node.op.name in _ELEMENTWISE_WRITERS
        later.update(v.id for v in node.inputs if not (
            per_element and v.node is not None and v.node.op.name == "read_variable"))
        for var_id in written:
            for value in self.reads.get(var_id, ()):
                if value.id in later:
                    name = self.name(value)
                    if value.spec.dtype == object:  # a loop's saved states: copy each state
                        copy = self.ns.hoist(_copy_stack, "copy_stack")
                        self.lines.append(f"{indent}{name} = {copy}({name})")
                    else:
                        self.lines.append(f"{indent}{name} = {name}.copy()")
            self.reads[var_id] = []

    def node(self, node: Node, indent: str) -> None:
        start = len(self.lines)
        self._node(node, indent)
        for index in range(start, len(self.lines)):
            self.line_nodes.setdefault(index, node)

    def _node(self, node: Node, indent: str) -> None:
        op = node.op
        if node.outputs and node.outputs[0].id in self.host and self._host_node(node, indent):
            return
        if op.name == "constant":
            array = node.attrs["value"]
            if self.device.xp is not np:
                from autojit import backend

                array = backend.transfer(array, self.device)
            self.names[node.outputs[0].id] = self.ns.hoist(array, f"c{node.outputs[0].id}")
            return
        emit = _SPECIAL.get(op.name)
        if emit is not None:
            emit(self, node, indent)
            return
        if op.check is not None:  # Note [Value checks] in ops/core.py
            self.lines.append(f"{indent}{self.check_call(node)}")
        expr = self.expression(node)
        position = self.inplace.get(id(node))
        if position is not None:
            expr = f"{expr[:-1]}, out={self.name(node.inputs[position])})"
        outs = [self.define(v) for v in node.outputs]
        if not op.multiple:
            self.lines.append(f"{indent}{outs[0]} = {expr}")
        elif outs:
            self.lines.append(f"{indent}{', '.join(outs)}{',' if len(outs) == 1 else ''} = {expr}")
        else:
            self.lines.append(f"{indent}{expr}")

    def _host_node(self, node: Node, indent: str) -> bool:
        """Emit ``node`` as Python scalar arithmetic (Note in scalars.py); False if it is
        not one of the forms that produce host scalars themselves."""
        name = node.op.name
        out = node.outputs[0]
        if name == "constant":
            value = np.asarray(node.attrs["value"]).reshape(()).item()
            self.names[out.id] = repr(value)
            return True
        item = shape_item(node)
        if item is not None:
            self.lines.append(f"{indent}{self.define(out)} = {self.name(item[0])}.shape[{item[1]}]")
            return True
        if name == "stack_len":
            self.lines.append(f"{indent}{self.define(out)} = len({self.name(node.inputs[0])})")
            return True
        template = PYTHON_EXPR.get(name)
        if template is None:
            return False
        expr = template.format(*[self.name(v) for v in node.inputs])
        bits = WRAPS.get(out.spec.dtype) if name in WRAPPING else None
        if bits is not None:  # wrap around as the int32/int64 array op would
            half = 1 << (bits - 1)
            expr = f"(({expr}) + {half}) % {half << 1} - {half}"
        self.lines.append(f"{indent}{self.define(out)} = {expr}")
        return True

    def check_call(self, node: Node) -> str:
        """The call of ``node``'s value check on its inputs, run before its kernel. Checks
        take host scalars (a loop counter) as Python ints: converting one costs more than
        the check."""
        op = node.op
        ints = INT_ARGUMENTS.get(op.name)  # those ops' checks may read other inputs' .shape
        parts = [repr(op.name), *[self.arg(v, host_ok=ints is None or i in ints)
                                  for i, v in enumerate(node.inputs)]]
        parts += [f"{k}={self.ns.literal(v, k)}" for k, v in node.attrs.items()]
        check = (self.checks(node) if self.checks is not None else None) or op.check
        return f"{self.ns.hoist(check, f'check_{op.name}')}({', '.join(parts)})"

    def expression(self, node: Node) -> str:
        op = node.op
        host_ok = INT_ARGUMENTS.get(op.name, frozenset()) | SCALAR_ARGUMENTS.get(op.name,
                                                                                 frozenset())
        args = [self.arg(v, i in host_ok) for i, v in enumerate(node.inputs)]
        if op.source is None or op.name in self.kernels:
            fn = self.ns.hoist(self.kernels.get(op.name, op.kernel), f"k_{op.name}")
            parts = ["xp", *args] + [f"{k}={self.ns.literal(v, k)}" for k, v in node.attrs.items()]
            return f"{fn}({', '.join(parts)})"
        text = _template(op)
        if op.variadic:
            text = text.replace("__in_0__", "(" + ", ".join(args) + ("," if len(args) == 1 else "")
                                + ")")
        else:
            for i, arg in enumerate(args):
                text = text.replace(f"__in_{i}__", arg)
        for key, value in node.attrs.items():
            marker = f"__at_{key}__"
            if marker in text:
                lit = self.ns.literal(value, key)
                text = text.replace(marker, f"({lit})" if lit.startswith("-") else lit)
        for key, helper in op.namespace.items():
            marker = f"__ns_{key}__"
            if marker in text:
                text = text.replace(marker, self.ns.hoist(helper, key))
        if " if " in text:
            text = _drop_dead_arms(text)
        return text


_CONSTANT_TESTS = (ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp, ast.cmpop, ast.boolop,
                   ast.unaryop, ast.expr_context)


class _DeadArms(ast.NodeTransformer):
    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if all(isinstance(n, _CONSTANT_TESTS) for n in ast.walk(node.test)):
            test = eval(compile(ast.Expression(node.test), "<test>", "eval"))  # noqa: S307
            return node.body if test else node.orelse
        return node


def _drop_dead_arms(text: str) -> str:
    """``a if True else b`` -> ``a``: attrs pasted as literals decide some arms at codegen."""
    return ast.unparse(_DeadArms().visit(ast.parse(text, mode="eval")))


# Ops whose result may be a view of their input (NumPy returns views for these).
_VIEW_OPS = frozenset({"identity", "stop_gradient", "reshape", "reshape_like", "expand_dims",
                       "squeeze", "getitem", "transpose", "matrix_transpose", "broadcast_to",
                       "broadcast_like", "unstack", "split", "to_device"})


def _natural(name: str) -> tuple:
    """Sort key putting ``v9`` before ``v10``."""
    digits = re.sub(r"\D", "", name)
    return (len(digits), digits, name)


def _alias_sources(node: Node) -> list[Value]:
    """The values whose buffers ``node``'s outputs may share."""
    if node.op.name in _VIEW_OPS:
        return list(node.inputs)
    if node.op.name == "cond":
        pairs = [(branch, node.inputs[1:]) for branch in node.attrs["branches"]]
        sources = []
    elif node.op.name == "while_loop":
        pairs = [(node.attrs["body"], node.inputs)]
        sources = list(node.inputs[:node.attrs["n_vars"]])
    else:
        return []
    for graph, outer in pairs:  # a result may be an input passed through (a capture)
        outer_of = {inner.id: value for inner, value in zip(graph.inputs, outer)}
        sources.extend(outer_of.get(v.id, v) for v in graph.outputs)
    return sources


def _copy_stack(stack: list) -> list:
    """A while loop's saved states with their arrays copied: a state may be a variable's
    buffer (the loop started from a read) that a later write changes in place."""
    return [tuple(x.copy() if hasattr(x, "copy") else x for x in state) for state in stack]


# Writers of a variable whose kernel writes each element from the same element of its
# inputs, after reading it: the variable's own read may be one of those inputs uncopied.
_ELEMENTWISE_WRITERS = frozenset({"assign", "assign_add", "assign_sub", "fused_assign",
                                  "fused_assigns"})


def _used_after(graph: Graph, index: int) -> set[int]:
    used = {v.id for v in graph.outputs}
    for node in graph.nodes[index:]:
        used.update(v.id for v in node.inputs)
    return used


# Emitters for ops whose replay is a block, not an expression (cond, while_loop):
# ``autojit.graph.control`` registers them here.
_SPECIAL: dict[str, Callable[[_Emitter, Node, str], None]] = {}


def register_emitter(op_name: str, emit: Callable[[_Emitter, Node, str], None]) -> None:
    """Let ``op_name`` nodes emit their own replay lines (used by control-flow ops)."""
    _SPECIAL[op_name] = emit


def generate(graph: Graph, device: Any, name: str = "replay",
             kernels: dict[str, Callable] | None = None,
             checks: Callable[[Node], Callable | None] | None = None) -> tuple[Callable, str]:
    """Compile ``graph`` to a Python function over arrays; return it and its source.

    ``kernels`` maps op names to an executor's own kernels (``kernel(xp, *inputs, **attrs)``),
    called instead of the op's: the GPU executor passes its launcher for ``fused`` nodes.
    Without one, fused nodes are expanded back (NumPy has no kernel fusion: one call per op
    is already the fast replay). ``checks(node)`` may give a node's value check instead of its
    op's (the GPU executor's deferred checks, Note [Deferred checks]).

    Usage: ``fn, source = generate(graph, aj.get_device("CPU:0"))``
    """
    kernels = kernels or {}
    if "fused" not in kernels and has_fused(graph):
        graph = expand_fused(graph.clone())
    ns = Namespace(device.xp)
    emitter = _Emitter(ns, device)
    emitter.kernels = kernels
    emitter.checks = checks
    params = []
    for value in graph.inputs:
        params.append(ns.fresh(f"a{value.id}"))
        emitter.names[value.id] = params[-1]
    fn_name = ns.fresh(name)
    emitter.inplace = {id(graph.nodes[i]): position
                       for i, position in plan_buffers(graph).items()}
    emitter.host = host_scalars(graph)
    emitter.block(graph, "    ", free=True)
    outs = []
    read_values = {v.id for vs in emitter.reads.values() for v in vs}
    for value in graph.outputs:
        text = emitter.arg(value)
        if value.id in read_values or (value.node is not None and value.node.op.name in
                                       ("read_variable", "constant")):
            # a constant is one array shared by every call: a caller writing into one
            # result's .numpy() must not change what later calls return
            text += ".copy()"
        outs.append(text)
    body = emitter.lines or ["    pass"]
    ret = "    return (" + ", ".join(outs) + ("," if len(outs) == 1 else "") + ")"
    source = "\n".join([f"def {fn_name}({', '.join(params)}):", *body, ret]) + "\n"
    filename = f"<autojit-replay-{next(_files)}:{graph.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    exec(code, ns.globals)  # noqa: S102  (our own generated source)
    fn = ns.globals[fn_name]
    # line numbers of the generated source (the def is line 1) -> the node they run
    fn.line_nodes = {index + 2: node for index, node in emitter.line_nodes.items()}
    return fn, source
