"""Source maps: generated nodes take the user's line, and runtime errors name it.

Converted code is compiled with the user's filename and every generated node carries the line
of the user statement it stands for, so tracebacks, debuggers and ``user_location`` all point
at the user's own file. The runtime operators find "where am I" from their caller's frame.
"""

from __future__ import annotations

import linecache
import sys
from typing import Any

import gast

_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def set_location(nodes: Any, origin: Any, deep: bool = False) -> Any:
    """Give every node of ``nodes`` (a node or a list) that has no line the line of ``origin``.

    Nodes that have a line (the user's, or generated ones already placed) keep it, and their
    subtrees are not entered unless ``deep``: converters place what they generate as they
    go; the transpiler makes one ``deep`` pass at the end for anything left (generated parts
    inside user nodes then take that node's line). Returns ``nodes``.
    """
    lineno = getattr(origin, "lineno", None)
    if lineno is None:
        return nodes
    col = getattr(origin, "col_offset", 0) or 0
    for root in nodes if isinstance(nodes, list) else [nodes]:
        _fill(root, lineno, col, deep)
    return nodes


def _fill(node: Any, lineno: int, col: int, deep: bool) -> None:
    if not isinstance(node, (gast.expr, gast.stmt, gast.excepthandler, gast.keyword,
                             gast.alias, gast.pattern)):
        for child in gast.iter_child_nodes(node):
            _fill(child, lineno, col, deep)
        return
    if getattr(node, "lineno", None) is not None:
        if not deep:
            return
        lineno, col = node.lineno, node.col_offset or 0
    else:
        # No end position: tracebacks then show the user's line without a caret range.
        node.lineno, node.col_offset = lineno, col
        node.end_lineno, node.end_col_offset = None, None
    for child in gast.iter_child_nodes(node):
        _fill(child, lineno, col, deep)


def close_locations(tree: Any, filename: str) -> None:
    """Give generated nodes (no end position yet) the end of their line, so a traceback
    shows the user's line as a whole instead of an empty caret range."""
    for node in gast.walk(tree):
        lineno = getattr(node, "lineno", None)
        if lineno is not None and getattr(node, "end_lineno", None) is None:
            text = linecache.getline(filename, lineno).rstrip("\r\n")
            node.end_lineno = lineno
            node.end_col_offset = max(len(text.encode()), node.col_offset or 0)


def caller(depth: int = 2) -> tuple:
    """(filename, line) of the frame ``depth`` levels up: the converted user code that called
    an operator (its line is the user's statement, see the module docstring)."""
    frame = sys._getframe(depth)
    return frame.f_code.co_filename, frame.f_lineno


def where(location: tuple | None) -> str:
    """``file.py:12`` for a (filename, line) pair."""
    if not location:
        return "an unknown line"
    return f"{location[0]}:{location[1]}"


def source_line(location: tuple | None) -> str:
    """The stripped text of the user's line, or ``""``."""
    if not location:
        return ""
    return linecache.getline(location[0], location[1]).strip()
