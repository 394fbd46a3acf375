"""Converters: one source-to-source rewrite per Python construct, applied in the order of
``transpiler.CONVERTERS``. This module holds what they share: the conversion ``Context``, the
``Converter`` base class and the flag-guarding rewrite used for ``break``/``continue``/
``return``.
"""

from __future__ import annotations

from typing import Any, Callable

import gast

from autojit.autograph import origin, templates
from autojit.autograph.naming import Namer

LOOPS = (gast.While, gast.For, gast.AsyncFor)
FUNCTIONS = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda, gast.ClassDef)


class Context:
    """What converters know about the function being converted.

    Usage: ``Context(Namer.for_tree(node), "train.py", node)``
    """

    def __init__(self, namer: Namer, filename: str, top: Any):
        self.namer = namer
        self.filename = filename
        self.top = top


class Converter(gast.NodeTransformer):
    """Base of all converters. Class bodies are left alone: their names are not locals, so
    control flow there cannot become functions (methods of user classes are converted when
    they are called, through ``converted_call``)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @classmethod
    def transform(cls, node: Any, ctx: Context) -> Any:
        """Apply this converter to ``node`` (a function or lambda) and return the result."""
        return cls(ctx).visit(node)

    def visit_ClassDef(self, node: Any) -> Any:
        return node

    # A leaner `visit`/`generic_visit` than `ast.NodeTransformer`'s (same contract: a visit
    # may return a node, a list of nodes to splice, or None to drop): ten converters walk
    # every tree, so this is most of the conversion time.
    def visit(self, node: Any) -> Any:
        method = _METHODS.get((type(self), type(node)))
        if method is None:
            method = getattr(type(self), "visit_" + type(node).__name__, None)
            _METHODS[(type(self), type(node))] = method = method or type(self).generic_visit
        return method(self, node)

    # Converters of statements set this: they skip expressions (most of a tree), which can
    # hold no statements (lambdas have none; nested `def`s are statements).
    statements_only = False

    def generic_visit(self, node: Any) -> Any:
        for field in node._fields:
            old = getattr(node, field, None)
            if isinstance(old, list):
                if self.statements_only and old and not isinstance(old[0], _BLOCK_ITEMS):
                    continue
                new = []
                for item in old:
                    if isinstance(item, gast.AST):
                        item = self.visit(item)
                        if item is None:
                            continue
                        if isinstance(item, list):
                            new.extend(item)
                            continue
                    new.append(item)
                old[:] = new
            elif isinstance(old, gast.AST) and not self.statements_only:
                setattr(node, field, self.visit(old))
        return node


_METHODS: dict = {}
_BLOCK_ITEMS = (gast.stmt, gast.excepthandler, gast.match_case)


def own_nodes(stmts: list, skip_loops: bool = False):
    """The nodes of ``stmts`` in this function's scope (not inside nested functions, lambdas
    or classes; not inside nested loops either when ``skip_loops``)."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, FUNCTIONS) or skip_loops and isinstance(node, LOOPS):
            continue
        stack.extend(gast.iter_child_nodes(node))


def contains(stmts: Any, kinds: Any, skip_loops: bool = False) -> bool:
    """True when ``stmts`` (a statement or list) has a node of ``kinds`` in its own scope."""
    stmts = stmts if isinstance(stmts, list) else [stmts]
    return any(isinstance(node, kinds) for node in own_nodes(stmts, skip_loops))


def blocks(stmt: Any) -> list:
    """(owner, field) pairs for the statement lists inside a compound statement."""
    found = []
    for field in ("body", "orelse", "finalbody"):
        if isinstance(getattr(stmt, field, None), list):
            found.append((stmt, field))
    for handler in getattr(stmt, "handlers", ()):
        found.append((handler, "body"))
    for case in getattr(stmt, "cases", ()):
        found.append((case, "body"))
    return found


def rewrite_jumps(stmts: list, is_jump: Callable, replace: Callable, may_jump: Callable,
                  flag: str, on_loop: Callable | None = None) -> list:
    """Replace each jump statement (``break``, ``continue`` or ``return``) by ``replace(jump)``
    (statements that set ``flag``), drop what follows it in its block, and put every
    statement that follows a block which may jump under ``if not flag:``. Loops that may
    jump are given to ``on_loop`` (``return`` must also stop them)."""
    out: list = []
    for index, stmt in enumerate(stmts):
        if is_jump(stmt):
            out.extend(origin.set_location(replace(stmt), stmt))
            return out
        if not may_jump(stmt):
            out.append(stmt)
            continue
        for owner, field in blocks(stmt):
            block = rewrite_jumps(getattr(owner, field), is_jump, replace, may_jump, flag,
                                  on_loop)
            if not block and field == "body":
                block = [gast.Pass()]
            setattr(owner, field, block)
        if isinstance(stmt, LOOPS) and on_loop is not None:
            on_loop(stmt)
        out.append(stmt)
        rest = stmts[index + 1:]
        if rest:
            rest = rewrite_jumps(rest, is_jump, replace, may_jump, flag, on_loop)
            # `else: FLAG = True` changes nothing in Python; it makes the flag state of the
            # `if` (Note [Flags known in their guards], conditionals.py)
            guard = templates.replace("if not FLAG:\n    REST\nelse:\n    FLAG = True",
                                      FLAG=flag, REST=rest)
            guard[0].ag_guard_flag = flag  # Note [Flags known in their guards]
            out.extend(origin.set_location(guard, rest[0]))
        return out
    return out


def and_not(flag: str, test: Any) -> Any:
    """The expression ``not flag and (test)``, or ``not flag`` when ``test`` is None."""
    if test is None:
        return templates.replace_as_expression("not FLAG", FLAG=flag)
    new = templates.replace_as_expression("not FLAG and TEST", FLAG=flag, TEST=test)
    new.ag_jump_flag = True  # the logical converter names it in its errors
    return new
