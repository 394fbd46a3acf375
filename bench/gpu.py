"""GPU replay against the peers (issue 11's table): median µs per training step for autojit
eager, graph without fusion or capture, graph fused + captured, hand-written CuPy, and, when
installed, PyTorch (eager and CUDA graph) and JAX ``jit``, all in one run on one card.

Workloads: ``toy`` (reduce_sum(x*y+z) and its 3 gradients, 1000 elements), ``mlp`` (784-256-
256-10, batch 128, SGD), ``mlp_large`` (1024-2048-2048-10, batch 512), ``loop``
(``y = (y + x[t]) * w``, T=100, D=64, d/dw; a loop over ``aj.range`` in the graph, which
the capture records unrolled, its counter a Python int). FP32, TF32 off.

    python bench/gpu.py                 # on a GPU machine (bench/gpu_check.sh runs it)
    python bench/gpu.py --device CPU:0  # the same code paths on NumPy, to check the script

Timing: each sample runs the step ``inner`` times and synchronises the device once, so
asynchronous launches are counted in full; the median of the samples is reported.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench.timing import measure  # noqa: E402  (sets one BLAS thread before NumPy loads)

import numpy as np  # noqa: E402

import autojit as aj  # noqa: E402

WORKLOADS = ("toy", "mlp", "mlp_large", "loop")


def timed(step, sync, repeat, inner):
    """Median µs per step, from samples of ``inner`` steps and one device sync each."""

    def batch():
        for _ in range(inner):
            step()

    return measure(batch, repeat, sync=sync).median_us / inner


def data(name, rng):
    if name == "toy":
        return {k: rng.normal(size=1000).astype(np.float32) for k in "xyz"}
    if name == "loop":
        return {"x": rng.normal(size=(100, 64)).astype(np.float32) * 0.1,
                "w": np.float32(0.9)}
    sizes = (784, 256, 256, 10, 128) if name == "mlp" else (1024, 2048, 2048, 10, 512)
    *dims, batch = sizes
    ws = [(rng.normal(size=(a, b)) * np.sqrt(2 / a)).astype(np.float32)
          for a, b in zip(dims, dims[1:])]
    return {"x": rng.normal(size=(batch, dims[0])).astype(np.float32),
            "y": rng.integers(0, dims[-1], batch).astype(np.int32), "ws": ws}


# ----------------------------------------------------------------------------- autojit


def mlp_step(ws, opt):
    """One SGD step of a ReLU MLP with weights ``ws`` (no biases) and a sparse softmax
    cross-entropy loss; returns the loss. Also used by tests/graph/test_gpu_replay.py."""

    def mlp(x, y):
        with aj.GradientTape() as tape:
            h = x
            for i, w in enumerate(ws):
                h = h @ w
                if i < len(ws) - 1:
                    h = aj.nn.relu(h)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(y, h))
        opt.apply_gradients(zip(tape.gradient(loss, ws), ws))
        return loss

    return mlp


def loop_step(steps=100, width=64):
    """d/dw of ``sum(y)`` after ``steps`` iterations of ``y = (y + x[t]) * w`` from zeros of
    ``width``; returns the gradient. Also used by tests/graph/test_gpu_fake_fuzz.py."""

    def loop(x, w):
        with aj.GradientTape() as tape:
            tape.watch(w)
            y = aj.zeros((width,))
            for t in aj.range(steps):
                y = (y + x[t]) * w
            loss = aj.reduce_sum(y)
        return tape.gradient(loss, w)

    return loop


def autojit_step(name, d, graph):
    if name == "toy":
        x, y, z = (aj.constant(d[k]) for k in "xyz")

        def toy(x, y, z):
            with aj.GradientTape() as tape:
                tape.watch([x, y, z])
                loss = aj.reduce_sum(x * y + z)
            return tape.gradient(loss, [x, y, z])

        fn, args = (aj.function(toy) if graph else toy), (x, y, z)
    elif name == "loop":
        loop = loop_step(*d["x"].shape)
        fn, args = (aj.function(loop) if graph else loop), (aj.constant(d["x"]),
                                                           aj.constant(d["w"]))
    else:
        mlp = mlp_step([aj.Variable(w) for w in d["ws"]], aj.optimizers.SGD(0.01))
        fn, args = (aj.function(mlp) if graph else mlp), (aj.constant(d["x"]),
                                                         aj.constant(d["y"]))

    def step():
        return fn(*args)

    step.report = lambda: replay_report(fn, args) if graph else ""
    return step


def replay_report(fn, args):
    """What the GPU replay of ``fn`` on ``args`` does: captured or not (and why), with the
    captured graph's kernel count where CUDA can dump it."""
    replay = fn.get_concrete_function(*args)._fn
    return replay.report() if hasattr(replay, "report") else "the CPU code generator"


# ----------------------------------------------------------------------------- by hand


def by_hand_step(name, d, xp):
    if name == "toy":
        x, y, z = (xp.asarray(d[k]) for k in "xyz")
        return lambda: (y.copy(), x.copy(), xp.ones_like(z))
    if name == "loop":
        x, w = xp.asarray(d["x"]), float(d["w"])

        def loop():
            ys = [xp.zeros(64, xp.float32)]
            for t in range(100):
                ys.append((ys[-1] + x[t]) * w)
            g, dw = xp.ones(64, xp.float32), xp.zeros((), xp.float32)
            for t in range(99, -1, -1):
                dw = dw + (g * (ys[t] + x[t])).sum()
                g = g * w
            return dw

        return loop
    ws = [xp.asarray(w) for w in d["ws"]]
    x, y = xp.asarray(d["x"]), xp.asarray(d["y"])
    n = x.shape[0]

    def mlp():
        hs, h = [x], x
        for i, w in enumerate(ws):
            h = h @ w
            if i < len(ws) - 1:
                h = xp.maximum(h, 0)
            hs.append(h)
        p = xp.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[xp.arange(n), y] -= 1
        g = p / n
        for i in range(len(ws) - 1, -1, -1):
            gw = hs[i].T @ g
            if i:
                g = (g @ ws[i].T) * (hs[i] > 0)
            ws[i] -= 0.01 * gw

    return mlp


# ----------------------------------------------------------------------------- peers


def torch_steps(name, d):
    try:
        import torch
    except ImportError:
        return {}
    if not torch.cuda.is_available():
        return {}
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda"
    if name == "toy":
        x, y, z = (torch.tensor(d[k], device=dev, requires_grad=True) for k in "xyz")

        def step():
            return torch.autograd.grad((x * y + z).sum(), [x, y, z])
    elif name == "loop":
        x = torch.tensor(d["x"], device=dev)
        w = torch.tensor(float(d["w"]), device=dev, requires_grad=True)

        def step():
            yv = torch.zeros(64, device=dev)
            for t in range(100):
                yv = (yv + x[t]) * w
            return torch.autograd.grad(yv.sum(), w)
    else:
        ws = [torch.tensor(w, device=dev, requires_grad=True) for w in d["ws"]]
        x, y = torch.tensor(d["x"], device=dev), torch.tensor(d["y"], device=dev).long()
        opt = torch.optim.SGD(ws, lr=0.01)

        def step():
            h = x
            for i, w in enumerate(ws):
                h = h @ w
                if i < len(ws) - 1:
                    h = torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, y)
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
    steps = {"PyTorch eager": step}
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        steps["PyTorch CUDA graph"] = graph.replay
    except Exception as exc:  # noqa: BLE001  (a step torch cannot capture)
        print(f"  ({name}: PyTorch CUDA graph capture failed: {exc})")
    return steps


def jax_step(name, d):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    if not any(dev.platform == "gpu" for dev in jax.devices()):
        return {}
    jax.config.update("jax_default_matmul_precision", "highest")
    if name == "toy":
        x, y, z = (jnp.asarray(d[k]) for k in "xyz")
        grad = jax.jit(jax.grad(lambda x, y, z: jnp.sum(x * y + z), argnums=(0, 1, 2)))
        return {"JAX jit": lambda: grad(x, y, z)[0].block_until_ready()}
    if name == "loop":
        x = jnp.asarray(d["x"])

        def loss(w):
            def body(t, yv):
                return (yv + x[t]) * w
            return jnp.sum(jax.lax.fori_loop(0, 100, body, jnp.zeros(64)))

        grad = jax.jit(jax.grad(loss))
        w = jnp.float32(d["w"])
        return {"JAX jit": lambda: grad(w).block_until_ready()}
    ws = [jnp.asarray(w) for w in d["ws"]]
    x, y = jnp.asarray(d["x"]), jnp.asarray(d["y"])

    def loss(ws):
        h = x
        for i, w in enumerate(ws):
            h = h @ w
            if i < len(ws) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(logp[jnp.arange(x.shape[0]), y])

    @jax.jit
    def step(ws):
        grads = jax.grad(loss)(ws)
        return [w - 0.01 * g for w, g in zip(ws, grads)]

    state = {"ws": ws}

    def run():
        state["ws"] = step(state["ws"])
        state["ws"][0].block_until_ready()

    return {"JAX jit": run}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="GPU:0")
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.inner = 5, 5
    gpu = args.device.upper().startswith("GPU")
    if gpu and not aj.gpu_available():
        print("bench/gpu.py: no GPU here (needs CuPy and a CUDA device); try --device CPU:0")
        return
    device = aj.get_device(args.device)
    xp = device.xp
    sync = xp.cuda.Device().synchronize if gpu else (lambda: None)
    card = xp.cuda.runtime.getDeviceProperties(0)["name"].decode() if gpu else "CPU"
    print(f"device: {card}; median µs per step ({args.repeat} samples x {args.inner} calls)")
    rng = np.random.default_rng(0)
    rows = []
    for name in args.only:
        d = data(name, rng)
        results = {}
        with aj.device(args.device):
            attempt(results, name, "autojit eager", lambda: timed(
                autojit_step(name, d, False), sync, args.repeat, args.inner))
            for label, fusion, graphs in (("autojit graph", False, False),
                                          ("autojit fused+captured", True, True)):
                aj.config.set_fusion(fusion)
                aj.config.set_cuda_graphs(graphs)
                try:
                    step = autojit_step(name, d, True)
                    attempt(results, name, label,
                            lambda: timed(step, sync, args.repeat, args.inner))
                    if graphs and isinstance(results[label], float):  # it ran
                        print(f"  {name}, {label}: {step.report()}")
                finally:
                    aj.config.set_fusion(None)
                    aj.config.set_cuda_graphs(None)
        attempt(results, name, f"{'CuPy' if gpu else 'NumPy'} by hand", lambda: timed(
            by_hand_step(name, d, xp), sync, args.repeat, args.inner))
        if gpu:
            for label, step in {**torch_steps(name, d), **jax_step(name, d)}.items():
                attempt(results, name, label,
                        lambda step=step: timed(step, sync, args.repeat, args.inner))
        rows.append((name, results))
    columns = list(dict.fromkeys(k for _, r in rows for k in r))
    print("\n| workload | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, results in rows:
        cells = [f"{results[c]:.1f}" if isinstance(results.get(c), float) else
                 results.get(c, "-") for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")


def attempt(results, name, label, run):
    """``results[label] = run()``; a failure is printed (one line, with its type) and its
    cell says so, so one broken path on a lent card leaves the rest of the table."""
    try:
        results[label] = run()
    except Exception as exc:  # noqa: BLE001  (any failure of one path)
        results[label] = "failed"
        first = (str(exc).splitlines() or [""])[0]
        print(f"  {name}, {label} FAILED: {type(exc).__name__}: {first}")


if __name__ == "__main__":
    main()
