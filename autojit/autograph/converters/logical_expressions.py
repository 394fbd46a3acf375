"""``a and b`` → ``ag__.and_(a, lambda: b)``, ``a or b`` → ``ag__.or_(a, lambda: b)``,
``not a`` → ``ag__.not_(a)``: short-circuit semantics kept with the lambda.

A right operand built only from names, constants and comparisons of them is marked cheap
(third argument ``True``): with a tensor left operand the operator may then compute it
unconditionally and use ``logical_and``/``logical_or`` instead of an ``aj.cond``.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter
from autojit.autograph.converters.conditional_expressions import safe_in_lambda

_CHEAP = (gast.Name, gast.Constant, gast.Compare, gast.UnaryOp, gast.BoolOp, gast.Load,
          gast.cmpop, gast.unaryop, gast.boolop)


def _cheap(node: Any) -> bool:
    return all(isinstance(n, _CHEAP) for n in gast.walk(node))


class LogicalConverter(Converter):
    def visit_BoolOp(self, node: Any) -> Any:
        cheap = [_cheap(v) for v in node.values]
        node = self.generic_visit(node)
        if not all(safe_in_lambda(v) for v in node.values[1:]):
            # left as Python; a tensor deciding operand is an error that says why
            kind = "`and`" if isinstance(node.op, gast.And) else "`or`"
            if getattr(node, "ag_jump_flag", False):
                kind = "loop test"  # a loop's test guarded by its `break`/`return` flag
            node.values[:-1] = [origin.set_location(templates.replace_as_expression(
                "ag__.python_operand(VALUE, KIND)", VALUE=v, KIND=templates.constant(kind)), v)
                for v in node.values[:-1]]
            return node
        name = "ag__.and_" if isinstance(node.op, gast.And) else "ag__.or_"
        result = node.values[-1]
        for index in reversed(range(len(node.values) - 1)):
            is_cheap = all(cheap[index + 1:])
            template = f"{name}(LEFT, lambda: RIGHT{', True' if is_cheap else ''})"
            result = templates.replace_as_expression(template, LEFT=node.values[index],
                                                     RIGHT=result)
        return origin.set_location(result, node)

    def visit_UnaryOp(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if not isinstance(node.op, gast.Not):
            return node
        new = templates.replace_as_expression("ag__.not_(OPERAND)", OPERAND=node.operand)
        return origin.set_location(new, node)
