"""The converted function itself: its decorators are dropped (the function object being
converted is the one they were applied to), everything else stays: signature, docstring,
nested functions and lambdas (converted along with it by the other converters).

Annotated assignments in function bodies become plain ones (``n: int = 0`` → ``n = 0``; a
bare ``n: int`` becomes ``pass``): Python never evaluates a local's annotation, and the control
flow converters move statements into branch and loop functions that declare the names they
share ``nonlocal``, which an annotated name cannot be (a ``SyntaxError``)."""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin
from autojit.autograph.converters import Converter


class FunctionConverter(Converter):
    statements_only = True

    def visit_FunctionDef(self, node: Any) -> Any:
        if node is self.ctx.top:
            node.decorator_list = []
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_AnnAssign(self, node: Any) -> Any:
        if node.value is None:  # a declaration only: nothing runs
            return origin.set_location(gast.Pass(), node)
        return origin.set_location(gast.Assign(targets=[node.target], value=node.value,
                                               type_comment=None), node)
