"""Control flow in graphs: the lecture's loop and conditional (eager vs graph vs hand-written
NumPy), and autograph's costs: converting a function, tracing it the first time, and
replaying the graph it makes against running the same Python eagerly.

Part 1, the lecture's examples, each with its gradient:
  loop         ``y_t = (y_{t-1} + x_t) * w`` over T=100 steps of D=64, gradient w.r.t. ``w``
  conditional  ``y = w1 * x if z > 0 else w2 * x`` for x of 256, gradients w.r.t. ``w1, w2``
  rnn append   ``h = tanh(h @ W + x[t]); out.append(h)`` in a tensor loop, T=100, D=64 (batch
               16), then ``aj.stack(out)``: the list becomes a TensorArray; gradient w.r.t. ``W``

Part 2:
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

try:  # python -m bench
    from bench.timing import median_us  # noqa: E402
except ImportError:  # python bench/<script>.py: this folder is sys.path[0]
    from timing import median_us  # noqa: E402

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


def lecture_loop(repeat: int) -> dict:
    rng = np.random.default_rng(0)
    t_steps, d = 100, 64
    xs_np = rng.standard_normal((t_steps, d)).astype(np.float32)
    w_np = (rng.standard_normal(d) * 0.5).astype(np.float32)

    def numpy_by_hand():
        ys = [np.zeros(d, np.float32)]
        for t in range(t_steps):
            ys.append((ys[-1] + xs_np[t]) * w_np)
        dy = np.ones(d, np.float32)
        dw = np.zeros(d, np.float32)
        for t in range(t_steps - 1, -1, -1):
            dw += dy * (ys[t] + xs_np[t])
            dy = dy * w_np
        return ys[-1].sum(), dw

    xs, w = aj.constant(xs_np), aj.Variable(w_np)

    def rnn(xs):
        with aj.GradientTape() as tape:
            y = aj.zeros_like(xs[0])
            for t in aj.range(aj.shape(xs)[0]):
                y = (y + xs[t]) * w
            loss = aj.reduce_sum(y)
        return loss, tape.gradient(loss, w)

    graph = aj.function(rnn)
    loss, grad = graph(xs)
    reference = numpy_by_hand()
    np.testing.assert_allclose(grad.numpy(), reference[1], rtol=1e-4, atol=1e-5)
    times = {"numpy by hand": median_us(numpy_by_hand, repeat),
             "autojit eager": median_us(lambda: rnn(xs), max(5, repeat // 10)),
             "autojit @function": median_us(lambda: graph(xs), repeat)}
    for name, fn in _loop_peers(xs_np, w_np).items():
        times[name] = median_us(fn, max(5, repeat // 5))
    return times


def _loop_peers(xs_np, w_np) -> dict:
    peers = {}
    try:
        import torch

        xt, wt = torch.tensor(xs_np), torch.tensor(w_np, requires_grad=True)

        def torch_eager():
            y = torch.zeros_like(xt[0])
            for t in range(xt.shape[0]):
                y = (y + xt[t]) * wt
            return torch.autograd.grad(y.sum(), wt)

        peers["PyTorch eager"] = torch_eager
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        def loss(w, xs):
            return jax.lax.fori_loop(0, xs.shape[0], lambda t, y: (y + xs[t]) * w,
                                     jnp.zeros(xs.shape[1])).sum()

        step = jax.jit(jax.value_and_grad(loss))
        xj, wj = jnp.asarray(xs_np), jnp.asarray(w_np)
        peers["JAX jit (fori_loop)"] = lambda: jax.block_until_ready(step(wj, xj))
    except ImportError:
        pass
    return peers


def lecture_conditional(repeat: int) -> dict:
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal(256).astype(np.float32)
    w1_np, w2_np = (rng.standard_normal(256).astype(np.float32) for _ in range(2))
    z_values = [np.float32(1.0), np.float32(-1.0)]
    state = {"i": 0}

    def next_z():
        state["i"] += 1
        return z_values[state["i"] % 2]  # alternate branches, as real data would

    def numpy_by_hand():
        z = next_z()
        y = w1_np * x_np if z > 0 else w2_np * x_np
        dw1 = x_np if z > 0 else np.zeros_like(x_np)
        dw2 = np.zeros_like(x_np) if z > 0 else x_np
        return y.sum(), dw1, dw2

    x, w1, w2 = aj.constant(x_np), aj.Variable(w1_np), aj.Variable(w2_np)
    zs = [aj.constant(z) for z in z_values]

    def step(x, z):
        with aj.GradientTape() as tape:
            y = w1 * x if z > 0 else w2 * x
            loss = aj.reduce_sum(y)
        return loss, tape.gradient(loss, [w1, w2], unconnected_gradients="zero")

    graph = aj.function(step)
    for z in zs:
        _, (g1, g2) = graph(x, z)
        np.testing.assert_allclose(g1.numpy() + g2.numpy(), x_np)
    assert graph.tracing_count == 1
    def next_tensor():
        return zs[0] if next_z() > 0 else zs[1]

    times = {"numpy by hand": median_us(numpy_by_hand, repeat),
             "autojit eager": median_us(lambda: step(x, next_tensor()), repeat),
             "autojit @function": median_us(lambda: graph(x, next_tensor()), repeat)}
    try:
        import jax
        import jax.numpy as jnp

        def loss(w1, w2, x, z):
            return jax.lax.cond(z > 0, lambda: w1 * x, lambda: w2 * x).sum()

        jstep = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        args = [jnp.asarray(v) for v in (w1_np, w2_np, x_np)]
        jz = [jnp.asarray(z) for z in z_values]
        times["JAX jit (lax.cond)"] = median_us(
            lambda: jax.block_until_ready(jstep(*args, jz[0] if next_z() > 0 else jz[1])),
            repeat)
    except ImportError:
        pass
    return times


def rnn_append(repeat: int) -> dict:
    rng = np.random.default_rng(2)
    t_steps, batch, d = 100, 16, 64
    xs_np = rng.standard_normal((t_steps, batch, d)).astype(np.float32)
    w_np = (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32)

    def numpy_by_hand():
        hs = [np.zeros((batch, d), np.float32)]
        for t in range(t_steps):
            hs.append(np.tanh(hs[-1] @ w_np + xs_np[t]))
        loss = np.stack(hs[1:]).sum()
        dh = np.zeros((batch, d), np.float32)
        dw = np.zeros((d, d), np.float32)
        for t in range(t_steps, 0, -1):
            da = (dh + 1.0) * (1.0 - hs[t] * hs[t])  # d loss / d h_t is 1 + what flows back
            dw += hs[t - 1].T @ da
            dh = da @ w_np.T
        return loss, dw

    xs, w = aj.constant(xs_np), aj.Variable(w_np)

    def rnn(xs):
        with aj.GradientTape() as tape:
            h = aj.zeros((batch, d))
            out = []
            for t in aj.range(aj.shape(xs)[0]):
                h = aj.tanh(aj.matmul(h, w) + xs[t])
                out.append(h)
            loss = aj.reduce_sum(aj.stack(out))
        return loss, tape.gradient(loss, w)

    graph = aj.function(rnn)
    _, grad = graph(xs)
    np.testing.assert_allclose(grad.numpy(), numpy_by_hand()[1], rtol=1e-3, atol=1e-3)
    return {"numpy by hand": median_us(numpy_by_hand, repeat),
            "autojit eager": median_us(lambda: rnn(xs), max(5, repeat // 10)),
            "autojit @function": median_us(lambda: graph(xs), repeat)}


def report(title: str, times: dict) -> None:
    base = times["numpy by hand"]
    print(title)
    for name, t in times.items():
        print(f"  {name:26s} {t:10.1f} us   {t / base:6.2f}x NumPy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    report("loop: y_t = (y_{t-1} + x_t) * w, T=100, D=64, + gradient w.r.t. w",
           lecture_loop(repeats * 20))
    report("conditional: y = w1*x if z > 0 else w2*x, x of 256, + gradients w.r.t. w1, w2",
           lecture_conditional(repeats * 200))
    report("rnn append: h = tanh(h @ W + x[t]); out.append(h), T=100, D=64, batch 16, "
           "then aj.stack(out), + gradient w.r.t. W", rnn_append(repeats * 5))
    print()
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
