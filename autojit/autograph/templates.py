"""Code templates: write generated code as Python source with placeholder names.

``replace("def NAME():\\n    return VALUE", NAME="get_state", VALUE=node)`` parses the template
once (cached), copies it and substitutes each placeholder: a ``str`` becomes a name, a gast
node is pasted in (its ``ctx`` fixed to the place it lands), a list of statements is spliced
where the placeholder stands alone as a statement. Placeholders are also replaced in function
names, parameter names and ``nonlocal``/``global`` lists. Template nodes carry no line numbers:
``origin.set_location`` gives them the user's line afterwards.
"""

from __future__ import annotations

import copy
import functools
import textwrap
from typing import Any

import gast

_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


@functools.lru_cache(maxsize=256)
def _parse(template: str) -> list:
    body = gast.parse(textwrap.dedent(template)).body
    for node in body:
        for child in gast.walk(node):
            for attr in _LOCATION:
                if hasattr(child, attr):
                    setattr(child, attr, None)
    return body


def replace(template: str, **names: Any) -> list:
    """The statements of ``template`` with placeholders replaced. Usage: see module docstring."""
    body = copy.deepcopy(_parse(template))
    return _Replacer(names).visit_block(body)


def replace_as_expression(template: str, **names: Any) -> Any:
    """Like ``replace`` for a template that is a single expression."""
    (stmt,) = replace(template, **names)
    return stmt.value


class _Replacer(gast.NodeTransformer):
    def __init__(self, names: dict):
        self.names = names

    def visit_block(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Name):
                value = self.names.get(stmt.value.id)
                if isinstance(value, list):
                    out.extend(value)
                    continue
            result = self.visit(stmt)
            out.extend(result if isinstance(result, list) else [result])
        return out

    def generic_visit(self, node: Any) -> Any:
        for field, old in gast.iter_fields(node):
            if isinstance(old, list) and old and isinstance(old[0], gast.stmt):
                setattr(node, field, self.visit_block(old))
        return super().generic_visit(node)

    def visit_Name(self, node: Any) -> Any:
        value = self.names.get(node.id)
        if value is None:
            return node
        if isinstance(value, str):
            node.id = value
            return node
        if isinstance(value, list):
            raise ValueError(f"template: {node.id} is a list of statements used in an "
                             "expression")
        new = copy.deepcopy(value)
        _set_ctx(new, node.ctx)
        return new

    def visit_FunctionDef(self, node: Any) -> Any:
        value = self.names.get(node.name)
        if isinstance(value, str):
            node.name = value
        return self.generic_visit(node)

    def visit_Nonlocal(self, node: Any) -> Any:
        node.names = self._expand(node.names)
        return node if node.names else None

    def visit_Global(self, node: Any) -> Any:
        node.names = self._expand(node.names)
        return node if node.names else None

    def _expand(self, names: list) -> list:
        out: list = []
        for name in names:
            value = self.names.get(name, name)
            out.extend([value] if isinstance(value, str) else list(value))
        return out


def _set_ctx(node: Any, ctx: Any) -> None:
    """Give a pasted expression the context of the place it lands (load, store, del)."""
    if isinstance(node, (gast.Name, gast.Attribute, gast.Subscript, gast.Starred)):
        node.ctx = type(ctx)()
    if isinstance(node, (gast.Tuple, gast.List)):
        node.ctx = type(ctx)()
        for element in node.elts:
            _set_ctx(element, ctx)
    if isinstance(node, gast.Starred):
        _set_ctx(node.value, ctx)


def name(identifier: str, store: bool = False) -> Any:
    """A gast ``Name`` node. Usage: ``name("x", store=True)``"""
    return gast.Name(id=identifier, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def names_tuple(identifiers: Any, store: bool = False) -> Any:
    """A tuple expression of names (``(a, b)``). Usage: ``names_tuple(["a", "b"])``"""
    ctx = gast.Store() if store else gast.Load()
    return gast.Tuple(elts=[name(i, store) for i in identifiers], ctx=ctx)


def constant(value: Any) -> Any:
    """A gast constant (also tuples of constants). Usage: ``constant(("x", "y"))``"""
    if isinstance(value, tuple):
        return gast.Tuple(elts=[constant(v) for v in value], ctx=gast.Load())
    return gast.Constant(value=value, kind=None)
