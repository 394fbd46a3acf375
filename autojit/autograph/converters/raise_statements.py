"""``raise E`` → ``raise ag__.raised(E)``: the exception is tagged with the user's line, so a
tensor ``if`` whose branch raises while it is traced can turn that branch into a graph
assert of the other branch's condition (``conditionals.if_stmt``). A bare ``raise``
(re-raising in a handler) stays as it is."""

from __future__ import annotations

from typing import Any

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter


class RaiseConverter(Converter):
    statements_only = True

    def visit_Raise(self, node: Any) -> Any:
        if node.exc is None:
            return node
        node.exc = origin.set_location(
            templates.replace_as_expression("ag__.raised(EXC)", EXC=node.exc), node.exc)
        return node
