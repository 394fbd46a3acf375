"""autojit's benchmarks: ``python -m bench`` runs them all and writes a report (see
``bench/README.md``); each script also runs on its own (``python bench/eager_vs_graph.py``).

Importing the package imports ``bench.timing`` first, which sets one BLAS thread before NumPy
loads (unless ``BLAS_THREADS`` or the BLAS variables say otherwise).
"""

from bench import timing  # noqa: F401  (first: thread settings before NumPy)
