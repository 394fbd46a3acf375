"""Private-name mangling for converted methods.

Note [Private names]: Python rewrites an identifier ``__x`` (two leading underscores, not
two trailing) written inside a class body, methods included, to ``_Class__x``. Autograph
compiles a method's source again outside its class, where nothing would rewrite it, so
``self.__state`` would look up an attribute no object has. Before the converters run, the
parsed function gets the rewrite Python would have made: the class is the innermost one
its ``__qualname__`` names (``Model.step`` or ``make.<locals>.Model.step.<locals>.body``),
and a class defined inside the function mangles with its own name, as in Python. As in
Python, names, attributes, parameters, definitions and imports are rewritten; the keywords
of a call (``f(__x=1)``) are not.
"""

from __future__ import annotations

import gast

__all__ = ["mangle_private_names", "enclosing_class"]


def enclosing_class(qualname: str) -> str | None:
    """The class a function of this ``__qualname__`` was written in, or None.

    Usage: ``enclosing_class("A.m.<locals>.f")  # 'A'``
    """
    parts = qualname.split(".")[:-1]
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "<locals>":
            continue
        if i + 1 < len(parts) and parts[i + 1] == "<locals>":
            continue  # a function's name
        return parts[i]
    return None


def mangle_private_names(node: gast.AST, qualname: str) -> None:
    """Rewrite ``__x`` identifiers in ``node`` as Python does in a class body (in place).

    Usage: ``mangle_private_names(tree, fn.__qualname__)``
    """
    cls = enclosing_class(qualname)
    if cls is not None:
        _Mangler(cls).visit(node)


def _mangled(name: str | None, cls: str) -> str | None:
    if name is None or not name.startswith("__") or name.endswith("__") or "." in name:
        return name
    stripped = cls.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


class _Mangler(gast.NodeVisitor):
    def __init__(self, cls: str):
        self.cls = cls

    def visit_Name(self, node):
        node.id = _mangled(node.id, self.cls)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        node.attr = _mangled(node.attr, self.cls)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        node.name = _mangled(node.name, self.cls)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Global(self, node):
        node.names = [_mangled(n, self.cls) for n in node.names]

    visit_Nonlocal = visit_Global

    def visit_alias(self, node):  # the bound name: `import __m` binds `_A__m` to __m
        if node.asname is not None:
            node.asname = _mangled(node.asname, self.cls)
        elif _mangled(node.name, self.cls) != node.name:
            node.asname = _mangled(node.name, self.cls)

    def visit_ClassDef(self, node):
        inner = _Mangler(node.name)  # the class body mangles with its own name
        node.name = _mangled(node.name, self.cls)
        for child in node.bases + node.keywords + node.decorator_list:
            self.visit(child)
        for stmt in node.body:
            inner.visit(stmt)
