"""``break`` → a flag: ``break_ = True``; the rest of the body runs under ``if not break_``,
and the loop's test (``while``) or extra test (``for``) checks ``not break_``.

A loop's ``else:`` block moves after the loop, under ``if not break_:`` when the loop breaks
(it runs when the loop ends without ``break``). Inner loops are converted first.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter, and_not, contains, rewrite_jumps


class BreakConverter(Converter):
    statements_only = True

    def _loop(self, node: Any) -> Any:
        node = self.generic_visit(node)
        orelse, node.orelse = node.orelse, []
        if not contains(node.body, gast.Break, skip_loops=True):
            return [node] + orelse
        flag = self.ctx.namer.new("break_")
        node.body = rewrite_jumps(
            node.body, lambda s: isinstance(s, gast.Break),
            lambda s: templates.replace("FLAG = True", FLAG=flag),
            lambda s: contains(s, gast.Break, skip_loops=True), flag)
        if isinstance(node, gast.While):
            node.test = and_not(flag, node.test)
        else:
            node.ag_extra_test = and_not(flag, getattr(node, "ag_extra_test", None))
        out = templates.replace("FLAG = False", FLAG=flag) + [node]
        if orelse:
            out += templates.replace("if not FLAG:\n    ORELSE", FLAG=flag, ORELSE=orelse)
        return origin.set_location(out, node)

    visit_While = visit_For = _loop
