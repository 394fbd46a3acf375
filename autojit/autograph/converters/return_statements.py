"""``return`` inside control flow → ``do_return = True; retval_ = value``; what follows runs
under ``if not do_return``, loops also test ``not do_return``, and the function ends with
``return retval_`` (or ``return ag__.retval(do_return, retval_)`` when some path may end
without a ``return``, which a tensor condition makes an error, see ``operators.retval``).

Functions whose returns are all at the top level of their body are left as they are, and so
are generators (``return`` there ends iteration).
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.analysis import activity as act
from autojit.autograph.converters import FUNCTIONS, Converter, and_not, blocks, contains
from autojit.autograph.converters import rewrite_jumps

_COMPOUND = (gast.If, gast.For, gast.AsyncFor, gast.While, gast.With, gast.AsyncWith, gast.Try,
             gast.Match) + ((gast.TryStar,) if hasattr(gast, "TryStar") else ())


class ReturnConverter(Converter):
    statements_only = True

    def visit_FunctionDef(self, node: Any) -> Any:
        node = self.generic_visit(node)
        nested = [s for s in node.body if isinstance(s, _COMPOUND) and contains(s, gast.Return)]
        if not nested or contains(node.body, (gast.Yield, gast.YieldFrom)):
            return node
        do_return = self.ctx.namer.new("do_return")
        retval = self.ctx.namer.new("retval_")
        always = _always_returns(node.body)

        def replace(stmt):
            value = stmt.value if stmt.value is not None else templates.constant(None)
            return templates.replace("DO_RETURN = True\nRETVAL = VALUE", DO_RETURN=do_return,
                                     RETVAL=retval, VALUE=value)

        def on_loop(loop):
            if isinstance(loop, gast.While):
                loop.test = and_not(do_return, loop.test)
            else:
                loop.ag_extra_test = and_not(do_return, getattr(loop, "ag_extra_test", None))

        _mark_endless_loops(node.body, do_return)
        docstring = node.body[:1] if _is_docstring(node.body[0]) else []
        body = rewrite_jumps(node.body[len(docstring):], lambda s: isinstance(s, gast.Return),
                             replace, lambda s: contains(s, gast.Return), do_return, on_loop)
        start = templates.replace("DO_RETURN = False\nRETVAL = ag__.UndefinedReturnValue()",
                                  DO_RETURN=do_return, RETVAL=retval)
        end = templates.replace("return RETVAL" if always else
                                "return ag__.retval(DO_RETURN, RETVAL)",
                                DO_RETURN=do_return, RETVAL=retval)
        origin.set_location(start, node.body[len(docstring)] if len(node.body) > len(docstring)
                            else node)
        origin.set_location(end, node.body[-1])
        node.body = docstring + start + body + end
        return node


def _mark_endless_loops(stmts: list, do_return: str) -> None:
    """Put ``do_return = True`` after each ``while True:`` (no ``break``) that returns: it is
    left only by ``return``, which the flag then says in Python even where the loop is a
    graph loop (whose exit leaves a tensor flag, True on every path)."""
    index = 0
    while index < len(stmts):
        stmt = stmts[index]
        if not isinstance(stmt, FUNCTIONS):
            for owner, field in blocks(stmt):
                _mark_endless_loops(getattr(owner, field), do_return)
        if _ends(stmt) and isinstance(stmt, gast.While) and contains(stmt.body, gast.Return):
            mark = templates.replace("DO_RETURN = True", DO_RETURN=do_return)
            stmts[index + 1:index + 1] = origin.set_location(mark, stmt)
            index += 1
        index += 1


def _is_docstring(stmt: Any) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and isinstance(stmt.value.value, str)


def _always_returns(stmts: list) -> bool:
    """True when every path through ``stmts`` ends in ``return`` or ``raise`` (``assert
    False`` too), or stays in ``while True:``: when one of them does (what follows it is
    never reached)."""
    return any(_ends(stmt) for stmt in stmts)


def _ends(stmt: Any) -> bool:
    if isinstance(stmt, (gast.Return, gast.Raise)):
        return True
    if isinstance(stmt, gast.Assert):  # `assert False` raises
        return isinstance(stmt.test, gast.Constant) and not stmt.test.value
    if isinstance(stmt, gast.While):
        # `while True:` with no `break` (BreakConverter has made the test of a loop that
        # breaks non-constant) never ends normally: it is left only by `return` or `raise`
        return isinstance(stmt.test, gast.Constant) and bool(stmt.test.value)
    if isinstance(stmt, gast.If):
        return _always_returns(stmt.body) and _always_returns(stmt.orelse)
    if isinstance(stmt, gast.Match):  # with a catch-all case, the cases are every path
        return any(map(act.catch_all, stmt.cases)) \
            and all(_always_returns(case.body) for case in stmt.cases)
    if isinstance(stmt, (gast.With, gast.AsyncWith)):
        return _always_returns(stmt.body)
    if isinstance(stmt, gast.Try):  # a body that ends normally goes on into `else:`
        return _always_returns(stmt.finalbody) or (
            (_always_returns(stmt.body) or _always_returns(stmt.orelse))
            and all(_always_returns(handler.body) for handler in stmt.handlers))
    return False
