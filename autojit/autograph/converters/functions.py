"""The converted function itself: its decorators are dropped (the function object being
converted is the one they were applied to), everything else stays: signature, docstring,
nested functions and lambdas (converted along with it by the other converters)."""

from __future__ import annotations

from typing import Any

from autojit.autograph.converters import Converter


class FunctionConverter(Converter):
    statements_only = True

    def visit_FunctionDef(self, node: Any) -> Any:
        if node is self.ctx.top:
            node.decorator_list = []
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef
