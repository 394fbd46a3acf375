"""Fresh names for generated code that never collide with the user's names."""

from __future__ import annotations

from typing import Any

import gast


class Namer:
    """Hands out names not used anywhere in a function: ``if_body``, ``if_body_1``, ...

    Usage: ``namer = Namer.for_tree(fn_node); namer.new("get_state")``
    """

    def __init__(self, taken: set):
        self.taken = set(taken)

    @classmethod
    def for_tree(cls, tree: Any) -> "Namer":
        """A namer avoiding every identifier that appears in ``tree``."""
        taken: set = set()
        for node in gast.walk(tree):
            if isinstance(node, gast.Name):
                taken.add(node.id)
            elif isinstance(node, (gast.FunctionDef, gast.ClassDef, gast.AsyncFunctionDef)):
                taken.add(node.name)
            elif isinstance(node, (gast.Global, gast.Nonlocal)):
                taken.update(node.names)
            elif isinstance(node, gast.alias):
                taken.add((node.asname or node.name).split(".")[0])
        return cls(taken)

    def new(self, base: str) -> str:
        """A name starting with ``base`` that is not yet taken (and is now)."""
        candidate = base
        index = 0
        while candidate in self.taken:
            index += 1
            candidate = f"{base}{index}" if base.endswith("_") else f"{base}_{index}"
        self.taken.add(candidate)
        return candidate
