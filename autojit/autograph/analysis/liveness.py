"""Liveness: which names may still be read after each statement.

A backward pass over the structured statements of one function sets ``stmt.ag_live_out`` on
every statement of that scope, and ``loop.ag_live_head`` (names live at the top of each
iteration) on ``while``/``for``. It runs after the break/continue/return converters, so loops
have no jumps; exceptions are approximated conservatively (everything a handler reads is live
throughout its ``try``). Names in ``always`` (globals, nonlocals, names read by nested
closures, which may run at any time) are live everywhere.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph.analysis import activity as act


def annotate(fn: Any) -> None:
    """Annotate the statements of function node ``fn`` (not of functions nested in it)."""
    declared = act.declarations(fn)
    always = frozenset(declared["global"] | declared["nonlocal"] | act.closure_reads(fn))
    _Liveness(always).block(fn.body, set())


class _Liveness:
    def __init__(self, always: frozenset):
        self.always = always

    def block(self, stmts: list, live: set) -> set:
        """Live names before ``stmts`` given those live after them."""
        live = set(live)
        for stmt in reversed(stmts):
            stmt.ag_live_out = frozenset(live | self.always)
            live = self.stmt(stmt, live)
        return live

    def stmt(self, node: Any, live: set) -> set:
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is not None:
            return method(node, live)
        info = act.activity(node)
        return (live - info.modified - act.walrus_targets(node)) | info.read

    def stmt_If(self, node: Any, live: set) -> set:
        branches = self.block(node.body, live) | self.block(node.orelse, live)
        return (branches - act.walrus_targets(node.test)) | act.reads(node.test)

    def stmt_While(self, node: Any, live: set) -> set:
        # `head`: live before each test, which binds its walrus targets (Note [Walrus in a
        # loop test] in control_flow.py)
        after = self.block(node.orelse, live) | live
        bound = act.walrus_targets(node.test)
        head = (after - bound) | act.reads(node.test)
        while True:
            new = head | (self.block(node.body, head) - bound)
            if new == head:
                break
            head = new
        node.ag_live_head = frozenset(head | self.always)
        return head

    def stmt_For(self, node: Any, live: set) -> set:
        after = self.block(node.orelse, live) | live
        extra = getattr(node, "ag_extra_test", None)
        head = after | act.reads(extra)
        targets = act.modified(node.target)
        while True:
            new = head | (self.block(node.body, head) - targets) | act.reads(node.target)
            if new == head:
                break
            head = new
        node.ag_live_head = frozenset(head | self.always)
        return head | act.reads(node.iter)

    stmt_AsyncFor = stmt_For

    def stmt_Try(self, node: Any, live: set) -> set:
        final = self.block(node.finalbody, live)
        normal = self.block(node.orelse, final)
        handlers: set = set()
        for handler in node.handlers:
            handlers |= self.block(handler.body, final) | act.reads(handler.type)
        # An exception can leave the body anywhere, so what handlers read is live all along;
        # one no handler catches runs `finally` and leaves the function, needing only what
        # `finally` reads.
        escaping = act.reads(node.finalbody)
        body = self.block(node.body, normal | handlers | escaping)
        for stmt in act.own_nodes(node.body):
            if isinstance(stmt, gast.stmt):
                stmt.ag_live_out = stmt.ag_live_out | handlers | escaping
        return body | handlers | escaping

    stmt_TryStar = stmt_Try

    def stmt_With(self, node: Any, live: set) -> set:
        body = self.block(node.body, live)
        for item in reversed(node.items):
            body = (body - act.modified(item.optional_vars)) | act.reads(item)
        return body

    stmt_AsyncWith = stmt_With

    def stmt_Return(self, node: Any, live: set) -> set:
        return act.reads(node.value)

    def stmt_Raise(self, node: Any, live: set) -> set:
        return act.reads([node.exc, node.cause])

    def stmt_Match(self, node: Any, live: set) -> set:
        result = set() if any(map(act.catch_all, node.cases)) else set(live)  # none matches
        for case in node.cases:  # the pattern binds its names, then the guard reads
            body = self.block(case.body, live) | act.reads(case.guard)
            result |= (body - act.modified(case.pattern)) | act.reads(case.pattern)
        return result | act.reads(node.subject)
