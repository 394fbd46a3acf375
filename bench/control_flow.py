"""Autograph's costs: converting a function, tracing it the first time, and replaying the
graph it makes against running the same Python eagerly.

The workload is a 30-line function with nested tensor loops, ``if``/``elif``, ``break``,
``continue`` and an early ``return`` (``SOURCE`` below). Each conversion is measured on a
fresh code object (conversions are cached by code object), so nothing is reused.

Prints medians in milliseconds (conversion, conversion + first trace) and microseconds
(one call: replayed graph vs eager), and their ratio. The claim: conversion + first trace
well under 50 ms.
Run: ``python bench/control_flow.py [--quick]``
"""

from __future__ import annotations

import argparse
import linecache
import os
import statistics
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

import autojit as aj  # noqa: E402
from autojit import autograph  # noqa: E402

SOURCE = '''
def step(x, w, n):
    acc = aj.zeros_like(x)
    total = 0.0
    i = 0
    while i < n:
        i += 1
        h = aj.tanh(x * w + acc)
        if aj.reduce_sum(h) > 100.0:
            break
        for j in range(n):
            if j % 2 == 0:
                continue
            g = h * 0.5
            if aj.reduce_max(g) > 10.0:
                acc = acc - g
            elif aj.reduce_min(g) < -10.0:
                acc = acc + g
            else:
                acc = acc * 0.9 + g * 0.1
            k = 0
            while k < 2 and total < 1000.0:
                total += aj.reduce_sum(acc) * 0.01
                k += 1
        if total > 500.0:
            return acc * 0.0, total
        acc = acc + h
    y = acc if total > 0.0 else -acc
    return y, total
'''


def fresh_function(index: int):
    """``step`` compiled again under a new file name: a new code object, so a new conversion."""
    filename = f"<bench-control-flow-{index}>"
    linecache.cache[filename] = (len(SOURCE), None, SOURCE.splitlines(True), filename)
    namespace = {"aj": aj}
    exec(compile(SOURCE, filename, "exec"), namespace)  # noqa: S102
    return namespace["step"]


def median_ms(samples: list) -> float:
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    x = aj.constant(np.linspace(-1, 1, 64).astype(np.float32))
    w = aj.constant(0.5)
    n = aj.constant(4)

    convert, first_call = [], []
    for index in range(repeats):
        fn = fresh_function(index)
        start = time.perf_counter()
        autograph.convert(fn)
        convert.append(time.perf_counter() - start)
        fn = fresh_function(repeats + index)
        traced = aj.function(fn)
        start = time.perf_counter()
        traced(x, w, n)
        first_call.append(time.perf_counter() - start)

    traced = aj.function(fresh_function(-1))
    eager = fresh_function(-2)
    replay, plain = [], []
    for _ in range(repeats * 10):
        start = time.perf_counter()
        traced(x, w, n)
        replay.append(time.perf_counter() - start)
        start = time.perf_counter()
        eager(x, w, n)
        plain.append(time.perf_counter() - start)

    lines = len(SOURCE.strip().splitlines())
    print(f"{lines}-line function, {repeats} fresh conversions")
    print(f"  conversion only            {median_ms(convert):8.2f} ms")
    print(f"  conversion + first trace   {median_ms(first_call):8.2f} ms   (claim: < 50 ms)")
    print(f"  one call, eager Python     {median_ms(plain) * 1e3:8.1f} us")
    print(f"  one call, replayed graph   {median_ms(replay) * 1e3:8.1f} us   "
          f"({median_ms(plain) / median_ms(replay):.1f}x faster than eager)")


if __name__ == "__main__":
    main()
