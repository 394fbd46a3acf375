"""Compatibility front ends: ``autojit.compat.v1`` (TF1's Graph, placeholder, Session.run).

Usage: ``import autojit.compat.v1 as tf``
"""

from autojit.compat import v1

__all__ = ["v1"]
