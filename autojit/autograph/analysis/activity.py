"""Activity analysis: which names a piece of code reads and which it (re)binds.

Scope rules follow Python: a nested ``def``/``lambda``/comprehension binds its own names, so
only its *free* names count as reads of the enclosing function (conservatively, at the point of
definition), and its name (for a ``def``) as a write. Attribute and item assignments
(``a.b = 1``, ``a[i] = 1``) read ``a``; they do not rebind it, but an item assignment or
deletion (``a[i] = v``, ``a[k] += v``, ``del a[k]``, also ``a[i][j] = v``), and a call of one of
its mutating methods (``a.update(...)``, ``a.extend(...)``), records ``a`` as *mutated*: the
control-flow converter makes such a container state of the block, as if the whole container
were rebound (Note [Containers in tensor control flow] in conditionals.py).
An attribute assignment or deletion of a dotted name (``self.total = v``, ``s.a.b += v``)
records that name (``"self.total"``) among the *attributes*: the converter makes it state of
the block too (Note [Attributes in tensor control flow] in control_flow.py).
"""

from __future__ import annotations

from typing import Any, Iterable

import gast

_FUNCTIONS = (gast.FunctionDef, gast.AsyncFunctionDef)
_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


class Activity:
    """Names read and written by a node. ``modified`` are definite rebindings; ``maybe`` are
    bindings that may not happen (walrus targets inside an expression); ``mutated`` are
    names whose items are assigned or deleted (``a[i] = v``); ``attributes`` are dotted names
    assigned or deleted (``"self.total"`` for ``self.total = v``)."""

    __slots__ = ("read", "modified", "maybe", "mutated", "attributes")

    def __init__(self):
        self.read: set = set()
        self.modified: set = set()
        self.maybe: set = set()
        self.mutated: set = set()
        self.attributes: set = set()


def activity(nodes: Any) -> Activity:
    """The ``Activity`` of a node or a list of nodes. Usage: ``activity(if_node).modified``"""
    result = Activity()
    for node in nodes if isinstance(nodes, list) else [nodes]:
        if node is not None:
            _Scanner(result).visit(node)
    return result


def reads(nodes: Any) -> set:
    """Names read by a node or list of nodes (``None`` reads nothing)."""
    return activity(nodes).read


def modified(nodes: Any) -> set:
    """Names rebound by a node or list of nodes (definitely or maybe)."""
    result = activity(nodes)
    return result.modified | result.maybe


# Methods of list and dict that change the container in place (``append`` too: lists grown
# in tensor loops are ListArrays, Note [Lists appended in tensor loops]).
MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort",
                              "reverse", "update", "setdefault", "popitem"})


_LIST_OPERATORS = frozenset({"list_append", "list_extend", "list_iadd"})


def _is_converted_call(node: Any) -> bool:
    func = node.func
    return isinstance(func, gast.Attribute) and func.attr == "converted_call" \
        and isinstance(func.value, gast.Name) and func.value.id == "ag__"


class _Scanner(gast.NodeVisitor):
    def __init__(self, result: Activity):
        self.result = result

    def visit_Name(self, node: Any) -> None:
        if isinstance(node.ctx, gast.Load):
            self.result.read.add(node.id)
        elif isinstance(node.ctx, (gast.Store, gast.Del)):
            self.result.modified.add(node.id)
        if node.annotation is not None:
            self.visit(node.annotation)

    def visit_Subscript(self, node: Any) -> None:
        if isinstance(node.ctx, (gast.Store, gast.Del)):
            base = node.value
            while isinstance(base, gast.Subscript):
                base = base.value
            if isinstance(base, gast.Name):
                self.result.mutated.add(base.id)
        self.generic_visit(node)

    def visit_Call(self, node: Any) -> None:
        # `d.update(...)`, `l.extend(...)`: a container's own mutating methods mutate it, as
        # an item assignment does (also once the call is `ag__.converted_call(d.update, ...)`)
        func = node.func
        if _is_converted_call(node) and node.args:
            func = node.args[0]
        if isinstance(func, gast.Attribute) and func.attr in MUTATING_METHODS \
                and isinstance(func.value, gast.Name):
            self.result.mutated.add(func.value.id)
        # `l = ag__.list_append(l, x)` (converters/lists.py) grows `l` in place too
        if isinstance(func, gast.Attribute) and func.attr in _LIST_OPERATORS and node.args \
                and isinstance(func.value, gast.Name) and func.value.id == "ag__" \
                and isinstance(node.args[0], gast.Name):
            self.result.mutated.add(node.args[0].id)
        self.generic_visit(node)

    def visit_Attribute(self, node: Any) -> None:
        if isinstance(node.ctx, (gast.Store, gast.Del)):
            name = dotted(node)
            if name is not None:
                self.result.attributes.add(name)
        self.generic_visit(node)

    def visit_AugAssign(self, node: Any) -> None:
        if isinstance(node.target, gast.Name):
            self.result.read.add(node.target.id)
        self.generic_visit(node)

    def visit_NamedExpr(self, node: Any) -> None:
        self.visit(node.value)
        self.result.maybe.add(node.target.id)

    def visit_alias(self, node: Any) -> None:
        if node.name != "*":
            self.result.modified.add((node.asname or node.name).split(".")[0])

    def _function(self, node: Any, name: str | None) -> None:
        if name is not None:
            self.result.modified.add(name)
        for decorator in getattr(node, "decorator_list", ()):
            self.visit(decorator)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        self.result.read |= free_names(node)

    def visit_FunctionDef(self, node: Any) -> None:
        self._function(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: Any) -> None:
        self._function(node, None)

    def visit_ClassDef(self, node: Any) -> None:
        self.result.modified.add(node.name)
        inner = activity(node.bases + node.keywords + node.decorator_list + node.body)
        self.result.read |= inner.read

    def _comprehension(self, node: Any) -> None:
        # The first iterable runs in this scope; the rest runs in the comprehension's own.
        self.visit(node.generators[0].iter)
        inner = activity([g for g in node.generators] +
                         ([node.key, node.value] if isinstance(node, gast.DictComp)
                          else [node.elt]))
        targets = modified([g.target for g in node.generators])
        self.result.read |= inner.read - targets
        self.result.maybe |= inner.maybe

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_MatchAs(self, node: Any) -> None:
        if node.name:
            self.result.modified.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: Any) -> None:
        if node.name:
            self.result.modified.add(node.name)

    def visit_MatchMapping(self, node: Any) -> None:
        if node.rest:
            self.result.modified.add(node.rest)
        self.generic_visit(node)


def walrus_targets(node: Any) -> set:
    """Names an expression (or simple statement) always binds with ``:=`` when it runs: not
    those in operands that may be skipped (after the first of an ``and``/``or``, the branches
    of ``a if c else b``), in comprehensions or in lambdas. Usage:
    ``walrus_targets(while_node.test)`` → ``{"j"}`` for ``while (j := f()) < n:``"""
    found: set = set()
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, gast.NamedExpr):
            found.add(current.target.id)
            stack.append(current.value)
        elif isinstance(current, gast.BoolOp):
            stack.append(current.values[0])
        elif isinstance(current, gast.IfExp):
            stack.append(current.test)
        elif isinstance(current, _COMPREHENSIONS):
            stack.append(current.generators[0].iter)
        elif not isinstance(current, (gast.Lambda, *_FUNCTIONS, gast.ClassDef)):
            stack.extend(gast.iter_child_nodes(current))
    return found


def dotted(node: Any) -> str | None:
    """``"a.b.c"`` for an attribute chain on a name (``a.b.c``), else None."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name) or not parts:
        return None
    return ".".join([node.id, *reversed(parts)])


def free_names(fn: Any) -> set:
    """Names a nested function or lambda reads from its enclosing scopes."""
    params = {a.id for a in _params(fn.args)}
    if isinstance(fn, gast.Lambda):
        return reads(fn.body) - params
    body = activity(fn.body)
    declared = declarations(fn)
    local = (params | body.modified | body.maybe) - declared["nonlocal"] - declared["global"]
    return (body.read | declared["nonlocal"]) - local


def _params(args: Any) -> Iterable:
    for group in (args.posonlyargs, args.args, args.kwonlyargs):
        yield from group
    if args.vararg is not None:
        yield args.vararg
    if args.kwarg is not None:
        yield args.kwarg


def params(fn: Any) -> set:
    """Parameter names of a function or lambda node."""
    return {a.id for a in _params(fn.args)}


def declarations(fn: Any) -> dict:
    """``{"global": {...}, "nonlocal": {...}}``: names a function declares, not counting its
    nested functions."""
    found: dict = {"global": set(), "nonlocal": set()}
    for node in own_nodes(fn.body):
        if isinstance(node, gast.Global):
            found["global"].update(node.names)
        elif isinstance(node, gast.Nonlocal):
            found["nonlocal"].update(node.names)
    return found


def own_nodes(body: list) -> Iterable:
    """Every node of ``body`` that belongs to this function's own scope (nested functions,
    lambdas and classes are yielded but not entered)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_FUNCTIONS, gast.Lambda, gast.ClassDef)):
            continue
        stack.extend(reversed(list(gast.iter_child_nodes(node))))


def catch_all(case: Any) -> bool:
    """Whether the ``match`` case ``case`` matches every subject (``case _:``, ``case
    name:``, no guard): no case after it runs, nor the code after the ``match`` unmatched."""
    return isinstance(case.pattern, gast.MatchAs) and case.pattern.pattern is None \
        and case.guard is None


def _callee_name(call: Any) -> str | None:
    """The last name of the function ``call`` calls (``aj.cond`` → ``"cond"``), looking
    through ``ag__.converted_call(f, ...)``."""
    func = call.func
    if isinstance(func, gast.Attribute) and func.attr == "converted_call" and call.args:
        func = call.args[0]
    if isinstance(func, gast.Attribute):
        return func.attr
    return func.id if isinstance(func, gast.Name) else None


def _call_arguments(call: Any) -> list:
    """The argument expressions of ``call``, looking into the argument tuple and keyword
    dict of ``ag__.converted_call(f, (args...), {kwargs...})`` (calls are converted first)."""
    found = [*call.args, *(k.value for k in call.keywords)]
    for arg in call.args[1:]:
        if isinstance(arg, (gast.Tuple, gast.List)):
            found.extend(arg.elts)
        elif isinstance(arg, gast.Dict):
            found.extend(arg.values)
    return found


# Functions that call the functions given to them during the call and keep none of them:
# a lambda passed straight to one of these runs there (matched by the callee's last name).
RUN_DURING_THE_CALL = frozenset((
    "cond", "while_loop", "map_fn", "scan", "foldl", "foldr", "case", "switch_case",
    "vectorized_map", "map_structure", "sorted", "sort", "min", "max", "reduce"))


def closure_reads(fn: Any) -> set:
    """Names of ``fn``'s scope read by functions/lambdas nested in it. A closure may run at
    any time, so the analyses treat these names as always live, except for a lambda passed
    straight to a function known to run it during the call and keep none of it
    (``RUN_DURING_THE_CALL``: ``aj.cond(p, lambda: a * x, ...)``, ``sorted(xs, key=lambda v:
    v)``): its reads count like the statement's own. A lambda given to any other call
    (``getters.append(lambda: x)``, ``map(lambda v: v * x, xs)``, lazy) may run later."""
    found: set = set()
    nodes = list(own_nodes(fn.body))
    arguments = {id(arg) for node in nodes if isinstance(node, gast.Call)
                 and _callee_name(node) in RUN_DURING_THE_CALL
                 for arg in _call_arguments(node) if isinstance(arg, gast.Lambda)}
    for node in nodes:
        if isinstance(node, gast.Lambda) and id(node) in arguments:
            continue
        if isinstance(node, (*_FUNCTIONS, gast.Lambda)):
            found |= free_names(node)
        elif isinstance(node, gast.ClassDef):
            found |= reads(node.body)
    return found
