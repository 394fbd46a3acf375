"""Source of a Python function as a gast tree with the user's file line numbers, and back.

``parse_function(fn)`` finds the source of a ``def`` (via ``inspect``) or of a ``lambda`` (via
the code object's positions), parses it with gast and shifts every node to the line it has in
the user's file, so code compiled from the converted tree reports the user's lines.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
from typing import Any

import gast

from autojit.errors import AutographError


class Source:
    """A parsed function: its gast node (``FunctionDef`` or ``Lambda``) and where it came from.

    Usage: ``src = parse_function(f); src.node.name, src.filename``
    """

    __slots__ = ("node", "filename", "text")

    def __init__(self, node: Any, filename: str, text: str):
        self.node = node
        self.filename = filename
        self.text = text


def parse_function(fn: Any) -> Source:
    """The gast tree of ``fn``'s source, lines numbered as in its file.

    Raises ``AutographError`` when the source is not available (a function made by ``exec``
    or typed at an interactive prompt without a file).
    """
    code = fn.__code__
    filename = code.co_filename
    if code.co_name == "<lambda>":
        return _parse_lambda(fn, filename)
    try:  # the code object's own source: a functools.wraps wrapper is not what it wraps
        lines, first = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        raise AutographError(f"autograph: cannot read the source of {fn.__qualname__} "
                             f"({exc}); define it in a file") from None
    text = "".join(lines)
    tree = _parse_block(text, filename)
    node = next((n for n in tree if isinstance(n, (gast.FunctionDef, gast.AsyncFunctionDef))),
                None)
    if node is None or node.name != code.co_name and not code.co_name.startswith("<"):
        raise AutographError(f"autograph: the source found for {fn.__qualname__} at "
                             f"{filename}:{first} is not its `def`")
    ast.increment_lineno(node, first - 1)
    return Source(node, filename, text)


def _parse_block(text: str, filename: str) -> list:
    """Parse a possibly indented block (a method, a nested function) into statements."""
    if text[:1] in " \t":
        # Wrapping in `if 1:` parses any indentation, even with multi-line strings that
        # textwrap.dedent would mangle; the wrapper adds one line, removed below.
        module = gast.parse("if 1:\n" + text)
        body = module.body[0].body
        for node in body:
            ast.increment_lineno(node, -1)
        return body
    return gast.parse(textwrap.dedent(text)).body


def _parse_lambda(fn: Any, filename: str) -> Source:
    """Rebuild ``lambda <params>: <body>`` from the body's span in the file.

    The span comes from the code object's instruction positions (Python 3.11+), so several
    lambdas on one line are told apart without guessing.
    """
    code = fn.__code__
    spans = [p for p in code.co_positions()
             if p[0] is not None and p[2] is not None and p[3] is not None
             and (p[2], p[3]) != (0, 0)]
    if not spans:
        raise AutographError(f"autograph: cannot locate the source of the lambda at "
                             f"{filename}:{code.co_firstlineno}")
    start = min((p[0], p[2]) for p in spans)
    end = max((p[1], p[3]) for p in spans)
    lines = linecache.getlines(filename)
    if not lines or end[0] > len(lines):
        raise AutographError(f"autograph: cannot read the source of the lambda at "
                             f"{filename}:{code.co_firstlineno}; define it in a file")
    chunk = [line.encode() for line in lines[start[0] - 1:end[0]]]
    chunk[-1] = chunk[-1][:end[1]]
    chunk[0] = chunk[0][start[1]:]
    body_text = b"".join(chunk).decode()
    params = _lambda_params(code)
    text = f"lambda {params}: (\n{body_text})"
    try:
        expr = gast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise AutographError(f"autograph: cannot parse the lambda at {filename}:{start[0]} "
                             f"({exc.msg})") from None
    # The body was parsed on line 2 of `text`; shift it to its line in the file. The lambda
    # node itself gets the body's first line.
    ast.increment_lineno(expr.body, start[0] - 2)
    for node in gast.walk(expr.args):
        if hasattr(node, "lineno"):
            node.lineno = node.end_lineno = start[0]
    expr.lineno = expr.end_lineno = start[0]
    return Source(expr, filename, text)


def _lambda_params(code: Any) -> str:
    """``a, b, *args, c, **kw`` from a code object (defaults are set on the new function)."""
    names = code.co_varnames
    n_pos, n_kw = code.co_argcount, code.co_kwonlyargcount
    params = list(names[:n_pos])
    if code.co_posonlyargcount:
        params.insert(code.co_posonlyargcount, "/")
    index = n_pos + n_kw
    if code.co_flags & inspect.CO_VARARGS:
        params.append("*" + names[index])
        index += 1
    elif n_kw:
        params.append("*")
    params.extend(names[n_pos:n_pos + n_kw])
    if code.co_flags & inspect.CO_VARKEYWORDS:
        params.append("**" + names[index])
    return ", ".join(params)


def to_ast(node: Any) -> Any:
    """The standard-library ``ast`` form of a gast tree (locations kept)."""
    return gast.gast_to_ast(node)


def unparse(node: Any) -> str:
    """Python source for a gast node or list of nodes. Usage: ``unparse(tree)``"""
    if isinstance(node, list):
        return "\n".join(unparse(n) for n in node)
    return ast.unparse(ast.fix_missing_locations(to_ast(node)))
