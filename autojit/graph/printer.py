"""Deterministic text form of a graph: one typed node per line, subgraphs indented, the
user's source line as a trailing comment::

    %3: f32[32,10] = matmul %1, %2   # train.py:14

Value numbers are renumbered from 0 per printed graph, so equal graphs print equally.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from autojit.graph.ir import Graph, Node


def format_graph(graph: Graph) -> str:
    """The text form of ``graph``. Usage: ``print(format_graph(g))`` or ``print(g)``"""
    names: dict[int, str] = {}
    lines: list[str] = []
    _format(graph, names, lines, "", graph.name)
    return "\n".join(lines)


def _name(names: dict, value) -> str:
    if value.id not in names:
        names[value.id] = f"%{len(names)}"
    return names[value.id]


def _format(graph: Graph, names: dict, lines: list, indent: str, title: str) -> None:
    params = ", ".join(f"{_name(names, v)}: {v.spec.short()}" for v in graph.inputs)
    lines.append(f"{indent}{title}({params}) {{")
    for node in graph.nodes:
        _format_node(node, names, lines, indent + "  ")
    outs = ", ".join(_name(names, v) for v in graph.outputs)
    lines.append(f"{indent}  return {outs}")
    lines.append(f"{indent}}}")


def _format_node(node: Node, names: dict, lines: list, indent: str) -> None:
    args = ", ".join(_name(names, v) for v in node.inputs)
    attrs = [f"{k}={_attr(v)}" for k, v in node.attrs.items()
             if not _is_graphs(v) and not hasattr(v, "format_lines")]
    text = node.op.name
    if args:
        text += " " + args
    if attrs:
        text += " {" + ", ".join(attrs) + "}"
    if node.outputs:
        lhs = ", ".join(f"{_name(names, v)}: {v.spec.short()}" for v in node.outputs)
        text = f"{lhs} = {text}"
    if node.where:
        text += f"   # {os.path.basename(node.where[0])}:{node.where[1]}"
    lines.append(indent + text)
    for key, value in node.attrs.items():
        if hasattr(value, "format_lines"):  # a fused node's expression, one step per line
            lines.extend(f"{indent}    {line}" for line in value.format_lines())
        if _is_graphs(value):
            graphs = value if isinstance(value, tuple) else (value,)
            for i, sub in enumerate(graphs):
                label = key if len(graphs) == 1 else f"{key}[{i}]"
                _format(sub, names, lines, indent + "  ", label)


def _is_graphs(value: Any) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, tuple) and bool(value) and isinstance(value[0], Graph))


def _attr(value: Any) -> str:
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "__cuda_array_interface__"):
        if value.size <= 4:
            return np.array2string(np.asarray(getattr(value, "get", lambda: value)()),
                                   separator=",")
        return f"<{value.dtype.name}{list(value.shape)}>"
    if getattr(value, "_is_variable", False):
        return f"<var {value.name}>"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
