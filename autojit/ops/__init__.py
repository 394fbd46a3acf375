"""The op library by theme; ``core`` holds the op record and ``bind``."""
