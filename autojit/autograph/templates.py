"""Code templates: write generated code as Python source with placeholder names.

``replace("def NAME():\\n    return VALUE", NAME="get_state", VALUE=node)`` parses the template
once (cached), copies it and substitutes each placeholder: a ``str`` becomes a name, a gast
node is pasted in (its ``ctx`` fixed to the place it lands), a list of statements is spliced
where the placeholder stands alone as a statement. Placeholders are also replaced in function
names, parameter names and ``nonlocal``/``global`` lists. Template nodes carry no line numbers:
``origin.set_location`` gives them the user's line afterwards.
"""

from __future__ import annotations

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
    body = copy_tree(_parse(template))
    return _Replacer(names).visit_block(body)


def copy_tree(node: Any) -> Any:
    """A deep copy of a gast tree (nodes, lists and their attributes), several times faster
    than ``copy.deepcopy``, which conversion would otherwise spend most of its time in."""
    if isinstance(node, list):
        return [copy_tree(item) for item in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    for key, value in node.__dict__.items():
        new.__dict__[key] = copy_tree(value) if isinstance(value, (list, gast.AST)) else value
    return new


def replace_as_expression(template: str, **names: Any) -> Any:
    """Like ``replace`` for a template that is a single expression."""
    (stmt,) = replace(template, **names)
    return stmt.value


class _Replacer(gast.NodeTransformer):
    """Visits the template's own nodes only: pasted user code is never walked (it can be
    large, and walking it at every nesting level would make conversion quadratic)."""

    def __init__(self, names: dict):
        self.names = names
        self.pasted: set = set()  # ids of expressions pasted once; later uses are copies

    def visit_block(self, stmts: list) -> list:
        out: list = []
        for stmt in stmts:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Name):
                value = self.names.get(stmt.value.id)
                if isinstance(value, list):
                    out.extend(value)
                    continue
            result = self.visit(stmt)
            if result is not None:
                out.extend(result if isinstance(result, list) else [result])
        return out

    def generic_visit(self, node: Any) -> Any:
        for field, old in gast.iter_fields(node):
            if isinstance(old, list):
                if old and isinstance(old[0], gast.stmt):
                    setattr(node, field, self.visit_block(old))
                    continue
                new = []
                for item in old:
                    result = self.visit(item) if isinstance(item, gast.AST) else item
                    if result is not None:
                        new.append(result)
                setattr(node, field, new)
            elif isinstance(old, gast.AST):
                setattr(node, field, self.visit(old))
        return node

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
        new = copy_tree(value) if id(value) in self.pasted else value
        self.pasted.add(id(value))
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
