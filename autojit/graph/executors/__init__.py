"""Executors: what turns an optimized graph into a replay function for one device.
The CPU's is the code generator (``autojit.graph.codegen``); the GPU's lives in ``cupy.py``.
"""
