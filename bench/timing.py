"""The timing helper every benchmark in ``bench/`` shares: warm-up, repeats, medians, spread.

Importing this module sets one BLAS/OpenMP thread (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) unless those are set already or ``BLAS_THREADS=n``
says otherwise, so import it before NumPy: on a small shared machine multithreaded BLAS swings
matmul timings by 5-30x between runs, and every row of a table must use the same BLAS.

Usage::

    from bench.timing import measure          # (scripts run directly: from timing import ...)
    t = measure(step, repeat=50)               # Timing(median_us=..., q1_us=..., q3_us=..., ...)
    print(t.median_us, t.spread)

``recording()`` collects every ``Timing`` that ``median_us``/``median_ms``/``measure`` make
inside it, in order, so ``python -m bench`` gets the spread of timings that a script's own
functions take and return as plain medians.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, os.environ.get("BLAS_THREADS", "1"))

import contextlib  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from typing import Callable, Iterator  # noqa: E402


@dataclass(frozen=True)
class Timing:
    """Per-call times of one function, in microseconds: median, quartiles, minimum, and how
    many samples (``repeats``) of how many calls each (``inner``) they came from."""

    median_us: float
    q1_us: float
    q3_us: float
    min_us: float
    repeats: int
    inner: int = 1

    @property
    def spread(self) -> float:
        """The interquartile range relative to the median (0.05: the middle half of the
        samples lies within 5% of the median's size)."""
        return (self.q3_us - self.q1_us) / self.median_us if self.median_us else 0.0

    def as_dict(self) -> dict:
        return dict(asdict(self), spread=self.spread)


_recorded: list | None = None


@contextlib.contextmanager
def recording() -> Iterator[list]:
    """Collect every ``Timing`` measured inside the block (``with recording() as timings:``)."""
    global _recorded
    outer, _recorded = _recorded, []
    try:
        yield _recorded
    finally:
        inner, _recorded = _recorded, outer
        if outer is not None:
            outer.extend(inner)


def summarize(samples_us: list, inner: int = 1) -> Timing:
    """A ``Timing`` from per-call samples in microseconds."""
    if len(samples_us) >= 2:
        q1, _, q3 = statistics.quantiles(samples_us, n=4, method="inclusive")
    else:
        q1 = q3 = samples_us[0]
    return Timing(statistics.median(samples_us), q1, q3, min(samples_us), len(samples_us),
                  inner)


def measure(fn: Callable[[], object], repeat: int, warmup: int = 3,
            sync: Callable[[], object] | None = None, min_sample_s: float = 0.0) -> Timing:
    """Time ``fn()``: ``warmup`` calls (traces, caches, lazy setup), a garbage collection, then
    ``repeat`` samples. Each sample times one call, or, with ``min_sample_s``, enough calls to
    last that long (so the timer's own cost vanishes for microsecond functions). ``sync`` runs
    after each call inside the timed region (a GPU synchronize). Usage: ``measure(step, 50)``
    """
    call = fn if sync is None else (lambda: (fn(), sync()))
    for _ in range(warmup):
        call()
    inner = 1
    if min_sample_s > 0:
        start = time.perf_counter_ns()
        call()
        once = max(time.perf_counter_ns() - start, 1)
        inner = max(1, int(min_sample_s * 1e9 / once))
    gc.collect()
    samples = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter_ns()
        for _ in range(inner):
            call()
        samples.append((time.perf_counter_ns() - start) / inner / 1e3)
    timing = summarize(samples, inner)
    if _recorded is not None:
        _recorded.append(timing)
    return timing


def median_us(fn: Callable[[], object], repeat: int, warmup: int = 3,
              sync: Callable[[], object] | None = None) -> float:
    """The median microseconds per call of ``fn`` (``measure``'s median). Usage: see module."""
    return measure(fn, repeat, warmup, sync).median_us


def median_ms(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    """The median milliseconds per call of ``fn``."""
    return measure(fn, repeat, warmup).median_us / 1e3


def compare_us(baseline: Callable[[], object], candidate: Callable[[], object], repeats: int,
               min_batch_s: float = 2e-3) -> tuple[float, float]:
    """Median per-call microseconds of two functions over ``repeats`` alternating batches.

    Each batch runs a function long enough (about ``min_batch_s``) for the timer's own cost
    to vanish, and batches of the two alternate, so a noisy machine (other processes, BLAS
    threads competing for cores) slows both sides alike.
    """
    inner_a = _batch_size(baseline, min_batch_s)
    inner_b = _batch_size(candidate, min_batch_s)
    a, b = [], []
    for _ in range(repeats):
        a.append(_time_batch(baseline, inner_a))
        b.append(_time_batch(candidate, inner_b))
    ta, tb = summarize(a, inner_a), summarize(b, inner_b)
    if _recorded is not None:
        _recorded.extend([ta, tb])
    return ta.median_us, tb.median_us


def _batch_size(fn: Callable[[], object], min_batch_s: float) -> int:
    for _ in range(3):
        fn()  # warm up caches and lazy initialization
    start = time.perf_counter_ns()
    fn()
    once = max(time.perf_counter_ns() - start, 1)
    return max(1, int(min_batch_s * 1e9 / once))


def _time_batch(fn: Callable[[], object], inner: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - start) / inner / 1e3
