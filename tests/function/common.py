"""Shared by the @function tests: whether to trace with autograph.

Until ``autojit.autograph.convert`` exists, ``@aj.function`` needs ``autograph=False``;
once it does, these tests run with the default (``autograph=True``). Set
``AUTOJIT_TEST_AUTOGRAPH=0`` (or ``1``) to force one or the other.
"""

from __future__ import annotations

import importlib
import os


def _autograph_available() -> bool:
    forced = os.environ.get("AUTOJIT_TEST_AUTOGRAPH")
    if forced is not None:
        return forced == "1"
    try:
        module = importlib.import_module("autojit.autograph")
    except ImportError:
        return False
    return hasattr(module, "convert")


AUTOGRAPH = _autograph_available()
