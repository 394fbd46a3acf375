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
from autojit.autograph.converters import Converter, and_not, contains, rewrite_jumps

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


def _is_docstring(stmt: Any) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) \
        and isinstance(stmt.value.value, str)


def _always_returns(stmts: list) -> bool:
    """True when every path through ``stmts`` ends in ``return`` or ``raise`` (``assert
    False`` too), or stays in ``while True:``."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Raise)):
        return True
    if isinstance(last, gast.Assert):  # `assert False` raises
        return isinstance(last.test, gast.Constant) and not last.test.value
    if isinstance(last, gast.While):
        # `while True:` with no `break` (BreakConverter has made the test of a loop that
        # breaks non-constant) never ends normally: it is left only by `return` or `raise`
        return isinstance(last.test, gast.Constant) and bool(last.test.value)
    if isinstance(last, gast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    if isinstance(last, (gast.With, gast.AsyncWith)):
        return _always_returns(last.body)
    if isinstance(last, gast.Try):
        if _always_returns(last.finalbody):
            return True
        return _always_returns(last.orelse or last.body) and _always_returns(last.body) \
            and all(_always_returns(h.body) for h in last.handlers)
    return False
