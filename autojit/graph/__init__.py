"""The graph IR, tracer, passes, interpreter and replay code generation."""
