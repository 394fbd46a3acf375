"""Calls → ``ag__.converted_call(f, (args...), {kwargs...})``, which converts user functions
recursively at call time (library functions and builtins run as they are).

Left alone: decorators, calls of ``ag__`` operators, ``print`` (the print converter handles
it) and the builtins that look at the calling frame (``locals()``, ``eval``, ...). A zero-argument
``super()`` becomes ``super(__class__, self)``, since the converted method is no longer
compiled inside its class.
"""

from __future__ import annotations

from typing import Any

import gast

from autojit.autograph import origin, templates
from autojit.autograph.converters import Converter

_LEAVE = {"print", "locals", "globals", "vars", "eval", "exec", "dir", "super"}


class CallTreeConverter(Converter):
    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.functions: list = []

    def visit_FunctionDef(self, node: Any) -> Any:
        # Decorators are left alone: they run once, at definition, and are library
        # wrappers far more often than user code that needs converting.
        decorators, node.decorator_list = node.decorator_list, []
        self.functions.append(node)
        node = self.generic_visit(node)
        self.functions.pop()
        node.decorator_list = decorators
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: Any) -> Any:
        self.functions.append(node)
        node = self.generic_visit(node)
        self.functions.pop()
        return node

    def visit_Call(self, node: Any) -> Any:
        node = self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Name) and func.id in _LEAVE:
            if func.id == "super" and not node.args and not node.keywords:
                return self._super(node)
            return node
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and func.value.id == "ag__":
            return node
        args = gast.Tuple(elts=list(node.args), ctx=gast.Load())
        if node.keywords:
            kwargs = gast.Dict(keys=[None if k.arg is None else templates.constant(k.arg)
                                     for k in node.keywords],
                               values=[k.value for k in node.keywords])
            new = templates.replace_as_expression("ag__.converted_call(FUNC, ARGS, KWARGS)",
                                                  FUNC=func, ARGS=args, KWARGS=kwargs)
        else:
            new = templates.replace_as_expression("ag__.converted_call(FUNC, ARGS)",
                                                  FUNC=func, ARGS=args)
        return origin.set_location(new, node)

    def _super(self, node: Any) -> Any:
        function = self.functions[-1] if self.functions else None
        params = function.args.posonlyargs + function.args.args if function else []
        if isinstance(function, gast.Lambda) or not params:
            return node
        new = templates.replace_as_expression("super(__class__, SELF)", SELF=params[0].id)
        return origin.set_location(new, node)
