"""``a if c else b`` → ``ag__.if_exp(c, lambda: a, lambda: b)`` (a tensor ``c`` makes an
``aj.cond``). Expressions whose branches yield, await or bind names (``:=``) stay as they are,
since a lambda would change what those mean.

The ``if`` of a comprehension (``[v for v in xs if c]``) stays Python, as in TF: which items
the list keeps decides its length. It is wrapped in ``ag__.python_operand`` so that a tensor
``c`` is an error that says so and what to write instead."""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter

UNSAFE_IN_LAMBDA = (gast.Yield, gast.YieldFrom, gast.Await, gast.NamedExpr)


def safe_in_lambda(node: Any) -> bool:
    """True when ``node`` means the same inside ``lambda: node``."""
    return not any(isinstance(n, UNSAFE_IN_LAMBDA) for n in gast.walk(node))


class IfExpConverter(Converter):
    def visit_IfExp(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if not (safe_in_lambda(node.body) and safe_in_lambda(node.orelse)):
            # left as Python; a tensor condition is an error that says why
            node.test = origin.set_location(templates.replace_as_expression(
                "ag__.python_operand(TEST, KIND)", TEST=node.test,
                KIND=templates.constant("`a if c else b`")), node.test)
            return node
        new = templates.replace_as_expression("ag__.if_exp(TEST, lambda: BODY, lambda: ORELSE)",
                                              TEST=node.test, BODY=node.body,
                                              ORELSE=node.orelse)
        return origin.set_location(new, node)

    def visit_comprehension(self, node: Any) -> Any:
        node = self.generic_visit(node)
        node.ifs = [origin.set_location(templates.replace_as_expression(
            "ag__.python_operand(TEST, KIND)", TEST=test,
            KIND=templates.constant("comprehension")), test) for test in node.ifs]
        return node
