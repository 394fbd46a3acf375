"""Definite assignment: which local names surely hold a value at each point.

A forward pass over one function sets ``stmt.ag_defined_in`` (names bound on every path to the
statement) on every statement of that scope and ``name.ag_maybe_undefined = True`` on each
read of a name that may be unbound there. The control-flow converter uses the first to give a
name an ``Undefined`` value before a block that may bind it, and the second to check reads of
such names (``ag__.ld``), as Python's own ``UnboundLocalError`` would.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph.analysis import activity as act


def annotate(fn: Any) -> None:
    """Annotate the statements and name reads of function node ``fn``."""
    declared = act.declarations(fn)
    entry = act.params(fn) | declared["global"] | declared["nonlocal"]
    _Definitions().block(fn.body, frozenset(entry))


class _Definitions:
    def block(self, stmts: list, defined: frozenset) -> frozenset:
        for stmt in stmts:
            stmt.ag_defined_in = defined
            defined = self.stmt(stmt, defined)
        return defined

    def reads(self, node: Any, defined: frozenset) -> None:
        """Mark the reads in an expression (or simple statement) that may be unbound."""
        if node is None:
            return
        for child in _own_expression_nodes(node):
            if isinstance(child, gast.Name) and isinstance(child.ctx, gast.Load) \
                    and child.id not in defined:
                child.ag_maybe_undefined = True

    def stmt(self, node: Any, defined: frozenset) -> frozenset:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is not None:
            return method(node, defined)
        self.reads(node, defined)
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) \
                and node.target.id not in defined:
            node.target.ag_maybe_undefined = True
        return defined | act.activity(node).modified

    def stmt_Delete(self, node: Any, defined: frozenset) -> frozenset:
        self.reads(node, defined)  # `del a[i]` reads `a`; `del x` needs `x` bound
        for target in node.targets:
            if isinstance(target, gast.Name) and target.id not in defined:
                target.ag_maybe_undefined = True
        return defined - {t.id for t in node.targets if isinstance(t, gast.Name)}

    def stmt_If(self, node: Any, defined: frozenset) -> frozenset:
        self.reads(node.test, defined)
        return defined | (self.block(node.body, defined) & self.block(node.orelse, defined))

    def stmt_While(self, node: Any, defined: frozenset) -> frozenset:
        self.reads(node.test, defined)
        self.block(node.body, defined)
        return self.block(node.orelse, defined)

    def stmt_For(self, node: Any, defined: frozenset) -> frozenset:
        self.reads(node.iter, defined)
        self.reads(getattr(node, "ag_extra_test", None), defined)
        self.block(node.body, defined | act.modified(node.target))
        return self.block(node.orelse, defined)

    stmt_AsyncFor = stmt_For

    def stmt_Try(self, node: Any, defined: frozenset) -> frozenset:
        normal = self.block(node.orelse, self.block(node.body, defined))
        for handler in node.handlers:
            self.reads(handler.type, defined)
            normal &= self.block(handler.body, defined | act.modified(handler.name))
        return normal | self.block(node.finalbody, defined)

    stmt_TryStar = stmt_Try

    def stmt_With(self, node: Any, defined: frozenset) -> frozenset:
        for item in node.items:
            self.reads(item.context_expr, defined)
            defined = defined | act.modified(item.optional_vars)
        return self.block(node.body, defined)

    stmt_AsyncWith = stmt_With

    def stmt_FunctionDef(self, node: Any, defined: frozenset) -> frozenset:
        for expr in node.decorator_list + node.args.defaults + node.args.kw_defaults:
            self.reads(expr, defined)
        return defined | {node.name}

    stmt_AsyncFunctionDef = stmt_FunctionDef

    def stmt_ClassDef(self, node: Any, defined: frozenset) -> frozenset:
        for expr in node.bases + node.decorator_list:
            self.reads(expr, defined)
        return defined | {node.name}

    def stmt_Match(self, node: Any, defined: frozenset) -> frozenset:
        self.reads(node.subject, defined)
        for case in node.cases:
            self.block(case.body, defined | act.modified(case.pattern))
        return defined


def _own_expression_nodes(node: Any):
    """Nodes of an expression evaluated now: lambdas and nested defs run later, skip them."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (gast.Lambda, gast.FunctionDef, gast.AsyncFunctionDef,
                                gast.ClassDef)):
            continue
        stack.extend(gast.iter_child_nodes(current))
