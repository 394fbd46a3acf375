"""``assert test, message`` → ``ag__.assert_stmt(test, lambda: message)``: checked at every
run, also under ``python -O``; a tensor ``test`` is checked by the graph (see
``operators.assert_stmt``)."""

from __future__ import annotations

from typing import Any

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter
from autojit.autograph.converters.conditional_expressions import safe_in_lambda


class AssertConverter(Converter):
    statements_only = True

    def visit_Assert(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if node.msg is None:
            new = templates.replace("ag__.assert_stmt(TEST)", TEST=node.test)
        elif safe_in_lambda(node.msg):
            new = templates.replace("ag__.assert_stmt(TEST, lambda: MSG)", TEST=node.test,
                                    MSG=node.msg)
        else:
            return node
        return origin.set_location(new, node)
