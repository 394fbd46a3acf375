"""``l.append(x)`` → ``l = ag__.list_append(l, x)`` (``l.extend(xs)`` and ``l += [...]`` →
``list_extend``/``list_iadd``, an append per item), so a list that a tensor loop appends to
is a loop variable the loop operators can carry (as a TensorArray); and, in a function that
appends, ``return v`` → ``return ag__.list_return(v)``, which stacks such lists into tensors
(Note [Lists appended in tensor loops] in loops.py).

Only ``name.append(one_argument)`` (``extend``, ``+=`` of a list display) statements on a
*local* name are rewritten (a parameter or
a name the function assigns): rebinding a global or closure name would make it local. The
operators decide at run time; on a plain Python list ``list_append`` appends in place.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.analysis import activity as act
from autojit.autograph.converters import Converter


class ListConverter(Converter):
    statements_only = True

    def visit_FunctionDef(self, node: Any) -> Any:
        declared = act.declarations(node)
        local = (act.params(node) | act.modified(node.body)) - declared["global"] \
            - declared["nonlocal"]
        rewriter = _Appends(local)
        node.body = rewriter.visit_block(node.body)
        if rewriter.count:
            node.body = _Returns().visit_block(node.body)
        return self.generic_visit(node)  # nested functions: their own scopes

    visit_AsyncFunctionDef = visit_FunctionDef


def _growth(stmt: Any, local: set) -> str | None:
    """``"append"`` or ``"extend"`` for ``name.append(x)`` / ``name.extend(xs)`` on a local
    name, else None."""
    if not isinstance(stmt, gast.Expr) or not isinstance(stmt.value, gast.Call):
        return None
    call = stmt.value
    func = call.func
    if (isinstance(func, gast.Attribute) and func.attr in ("append", "extend")
            and isinstance(func.value, gast.Name) and func.value.id in local
            and len(call.args) == 1 and not call.keywords
            and not isinstance(call.args[0], gast.Starred)):
        return func.attr
    return None


def _is_list_iadd(stmt: Any, local: set) -> bool:
    """``name += [...]`` (a list display or comprehension) on a local name."""
    return (isinstance(stmt, gast.AugAssign) and isinstance(stmt.op, gast.Add)
            and isinstance(stmt.target, gast.Name) and stmt.target.id in local
            and isinstance(stmt.value, (gast.List, gast.ListComp)))


class _Block(gast.NodeTransformer):
    """Walks the statements of one function scope (nested functions are converted on
    their own: their names are another scope)."""

    def visit_block(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            new = self.visit(stmt)
            out.extend(new if isinstance(new, list) else [new])
        return out

    def generic_visit(self, node: Any) -> Any:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                setattr(node, field, self.visit_block(block))
        for handler in getattr(node, "handlers", ()):
            handler.body = self.visit_block(handler.body)
        for case in getattr(node, "cases", ()):
            case.body = self.visit_block(case.body)
        return node

    def _leave(self, node: Any) -> Any:
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _leave


class _Appends(_Block):
    def __init__(self, local: set):
        self.local = local
        self.count = 0

    def visit_Expr(self, node: Any) -> Any:
        kind = _growth(node, self.local)
        if kind is None:
            return node
        self.count += 1
        call = node.value
        new = templates.replace(f"NAME = ag__.list_{kind}(NAME, VALUE)",
                                NAME=call.func.value.id, VALUE=call.args[0])
        return origin.set_location(new, node)

    def visit_AugAssign(self, node: Any) -> Any:
        if not _is_list_iadd(node, self.local):
            return node
        self.count += 1
        new = templates.replace("NAME = ag__.list_iadd(NAME, VALUE)", NAME=node.target.id,
                                VALUE=node.value)
        return origin.set_location(new, node)


class _Returns(_Block):
    def visit_Return(self, node: Any) -> Any:
        if node.value is None:
            return node
        node.value = origin.set_location(
            templates.replace_as_expression("ag__.list_return(VALUE)", VALUE=node.value),
            node.value)
        return node
