"""Chained comparisons ``lo < x < hi``, ``a == b == c`` → ``ag__.compare_chain(lo, ('<', '<'),
(lambda: x, lambda: hi))``: the pairwise comparisons joined by ``and_`` (``logical_and`` or a
``cond`` on tensors), each operand evaluated once, and, as in Python, the later operands only
when the earlier comparisons held (Python values short-circuit as before)."""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter
from autojit.autograph.converters.conditional_expressions import safe_in_lambda
from autojit.autograph.converters.logical_expressions import _cheap

OPERATORS = {gast.Eq: "==", gast.NotEq: "!=", gast.Lt: "<", gast.LtE: "<=", gast.Gt: ">",
             gast.GtE: ">=", gast.Is: "is", gast.IsNot: "is not", gast.In: "in",
             gast.NotIn: "not in"}


class ChainedComparisonConverter(Converter):
    def visit_Compare(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if len(node.ops) < 2 or not all(safe_in_lambda(c) for c in node.comparators):
            return node
        cheap = all(_cheap(c) for c in node.comparators)
        ops = templates.constant(tuple(OPERATORS[type(op)] for op in node.ops))
        rights = gast.Tuple(elts=[templates.replace_as_expression("lambda: VALUE", VALUE=c)
                                  for c in node.comparators], ctx=gast.Load())
        new = templates.replace_as_expression("ag__.compare_chain(LEFT, OPS, RIGHTS, CHEAP)",
                                              LEFT=node.left, OPS=ops, RIGHTS=rights,
                                              CHEAP=templates.constant(cheap))
        return origin.set_location(new, node)
