"""Converters: one source-to-source rewrite per Python construct, applied in ``transpiler.CONVERTERS`` order."""
