"""``print(...)`` → ``ag__.print_(...)``: ``aj.print`` (printing at every call of the traced
function) when an argument is a tensor, Python's ``print`` otherwise."""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter


class PrintConverter(Converter):
    def visit_Call(self, node: Any) -> Any:
        node = self.generic_visit(node)
        if isinstance(node.func, gast.Name) and node.func.id == "print":
            node.func = origin.set_location(
                templates.replace_as_expression("ag__.print_"), node.func)
        return node
