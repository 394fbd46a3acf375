"""Autograph: Python control flow over tensors → graph control flow.

``convert(fn)`` rewrites a function's ``if``/``while``/``for``, ``break``/``continue``/
``return``, ``and``/``or``/``not``, ``a if c else b``, ``assert``, ``print`` and calls into
calls of runtime operators (``autojit.autograph.operators``), which run plain Python on Python
values and build ``aj.cond``/``aj.while_loop`` nodes on symbolic tensors. ``@aj.function``
converts functions this way unless ``autograph=False``.

Usage: ``print(aj.autograph.to_code(f))``
"""

from autojit.autograph.operators import AutographWarning
from autojit.autograph.transpiler import convert, do_not_convert, is_converted, to_code

__all__ = ["convert", "to_code", "do_not_convert", "is_converted", "AutographWarning"]
