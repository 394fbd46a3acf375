"""``continue`` → a flag: ``continue_ = True``, reset at the top of each iteration; the rest
of the body runs under ``if not continue_``. Inner loops are converted first.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter, contains, rewrite_jumps


class ContinueConverter(Converter):
    statements_only = True

    def _loop(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if not contains(node.body, gast.Continue, skip_loops=True):
            return node
        flag = self.ctx.namer.new("continue_")
        body = rewrite_jumps(
            node.body, lambda s: isinstance(s, gast.Continue),
            lambda s: templates.replace("FLAG = True", FLAG=flag),
            lambda s: contains(s, gast.Continue, skip_loops=True), flag)
        reset = origin.set_location(templates.replace("FLAG = False", FLAG=flag), node.body[0])
        node.body = reset + body
        return node

    visit_While = visit_For = _loop
