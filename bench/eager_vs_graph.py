"""Eager vs @aj.function replay vs hand-written NumPy (issue 3's benchmark).

Run: ``python bench/eager_vs_graph.py`` (``--quick`` for fewer repetitions; ``--device GPU:0``
to run autojit on CuPy against hand-written CuPy, synchronizing after every call). Prints
median microseconds per call measured in this one run, and each time as a ratio to the
hand-written NumPy/CuPy code doing the same math. TensorFlow, JAX and PyTorch rows appear
when they are installed (on the same device).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# One BLAS thread unless told otherwise (BLAS_THREADS=n): on a shared 2-core machine
# multithreaded BLAS swings matmul timings by 5-30x between runs. Every row uses the same
# BLAS, so the ratios compare like with like. Set before NumPy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, os.environ.get("BLAS_THREADS", "1"))

try:  # python -m bench
    from bench import timing  # noqa: E402
except ImportError:  # python bench/eager_vs_graph.py: this folder is sys.path[0]
    import timing  # noqa: E402

import numpy as np  # noqa: E402

import autojit as aj  # noqa: E402

XP = np  # the array module of the hand-written baseline (cupy with --device GPU:0)
SYNC = lambda: None  # noqa: E731  waits for the device (a no-op on the CPU)
ON_GPU = False


def median_us(fn, repeat: int, warmup: int = 3) -> float:
    """Median microseconds per call (bench/timing.py), synchronizing after each on a GPU."""
    return timing.median_us(fn, repeat, warmup, sync=SYNC if ON_GPU else None)


# ----------------------------------------------------------------------------- the toy


def toy_cases():
    rng = np.random.default_rng(0)
    n, d = 3, 4
    host = [rng.standard_normal((n, d)).astype(np.float32) for _ in range(3)]
    xn, yn, zn = (XP.asarray(v) for v in host)
    xp = XP

    def numpy_by_hand():
        a = xn * yn
        b = a + zn
        c = xp.sum(b)
        grad_b = xp.ones((n, d), xp.float32)
        grad_a = grad_b.copy()
        grad_z = grad_b.copy()
        return c, grad_a * yn, grad_a * xn, grad_z

    x, y, z = (aj.Variable(v) for v in host)

    def eager():
        with aj.GradientTape() as tape:
            c = aj.reduce_sum(x * y + z)
        return c, tape.gradient(c, [x, y, z])

    graph = aj.function(eager)
    cases = {"numpy by hand": numpy_by_hand, "autojit eager": eager, "autojit @function": graph}
    cases.update(peer_toys(*host))
    return cases


def peer_toys(xn, yn, zn):
    cases = {}
    try:
        import torch

        dev = "cuda" if ON_GPU else "cpu"
        xt, yt, zt = (torch.tensor(v, requires_grad=True, device=dev) for v in (xn, yn, zn))

        def torch_eager():
            c = (xt * yt + zt).sum()
            return torch.autograd.grad(c, [xt, yt, zt])

        cases["PyTorch eager"] = _torch_synced(torch_eager)
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        f = jax.jit(jax.value_and_grad(lambda x, y, z: jnp.sum(x * y + z), argnums=(0, 1, 2)))
        xj, yj, zj = (jnp.asarray(v) for v in (xn, yn, zn))
        cases["JAX jit"] = lambda: jax.block_until_ready(f(xj, yj, zj))
    except ImportError:
        pass
    try:
        import tensorflow as tf

        xv, yv, zv = (tf.Variable(v) for v in (xn, yn, zn))

        @tf.function
        def tf_step():
            with tf.GradientTape() as tape:
                c = tf.reduce_sum(xv * yv + zv)
            return c, tape.gradient(c, [xv, yv, zv])

        cases["TensorFlow tf.function"] = tf_step
    except ImportError:
        pass
    return cases


# ----------------------------------------------------------------------------- the MLP step


class Dense(aj.Module):
    def __init__(self, n_in, n_out, relu, rng, name=None):
        super().__init__(name=name)
        scale = np.sqrt(2.0 / n_in)
        self.w = aj.Variable((rng.standard_normal((n_in, n_out)) * scale).astype(np.float32),
                             name="w")
        self.b = aj.Variable(np.zeros(n_out, np.float32), name="b")
        self.relu = relu

    def __call__(self, x):
        y = aj.matmul(x, self.w) + self.b
        return aj.nn.relu(y) if self.relu else y


class MLP(aj.Module):
    def __init__(self, sizes, rng):
        super().__init__()
        self.layers = [Dense(a, b, i < len(sizes) - 2, rng)
                       for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def mlp_cases(sizes, batch, lr=0.001):
    rng = np.random.default_rng(1)
    host_x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    host_y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    xp = XP
    xn, yn = xp.asarray(host_x), xp.asarray(host_y)

    model = MLP(sizes, rng)
    params = [(xp.array(layer.w.numpy()), xp.array(layer.b.numpy())) for layer in model.layers]
    optimizer = aj.optimizers.SGD(lr)
    rows = xp.arange(batch)

    def numpy_by_hand():
        acts, pre = [xn], []
        h = xn
        for i, (w, b) in enumerate(params):
            p = h @ w + b
            pre.append(p)
            h = xp.maximum(p, 0) if i < len(params) - 1 else p
            acts.append(h)
        logits = h
        m = logits.max(axis=1, keepdims=True)
        e = xp.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        loss = xp.mean(xp.log(s[:, 0]) + m[:, 0] - logits[rows, yn])
        d = e / s
        d[rows, yn] -= 1
        d /= batch
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            dw = acts[i].T @ d
            db = d.sum(axis=0)
            if i:
                d = d @ w.T
                d *= pre[i - 1] > 0
            w -= lr * dw
            b -= lr * db
        return loss

    x, y = aj.constant(host_x), aj.constant(host_y)

    def train_step(inputs, targets):
        with aj.GradientTape() as tape:
            predictions = model(inputs)
            loss = aj.reduce_mean(aj.losses.sparse_categorical_crossentropy(
                targets, predictions, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    graph_step = aj.function(train_step)

    def first_call():
        fresh = aj.function(train_step)
        start = time.perf_counter()
        fresh(x, y)
        return (time.perf_counter() - start) * 1e6

    cases = {"numpy by hand": numpy_by_hand, "autojit eager": lambda: train_step(x, y),
             "autojit @function": lambda: graph_step(x, y)}
    cases.update(peer_mlps(sizes, batch, host_x, host_y, lr))
    return cases, first_call, graph_step.get_concrete_function(x, y)


def peer_mlps(sizes, batch, xn, yn, lr):
    cases = {}
    try:
        import torch

        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(torch.nn.ReLU())
        dev = "cuda" if ON_GPU else "cpu"
        net = torch.nn.Sequential(*layers).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=lr)
        xt, yt = torch.tensor(xn, device=dev), torch.tensor(yn, dtype=torch.long, device=dev)

        def torch_step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt), yt)
            loss.backward()
            opt.step()
            return loss

        cases["PyTorch eager"] = _torch_synced(torch_step)
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        key = jax.random.PRNGKey(0)
        ps = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            key, sub = jax.random.split(key)
            ps.append((jax.random.normal(sub, (a, b)) * np.sqrt(2 / a), jnp.zeros(b)))

        def loss_fn(ps, x, y):
            h = x
            for i, (w, b) in enumerate(ps):
                h = h @ w + b
                if i < len(ps) - 1:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h)
            return -jnp.mean(logp[jnp.arange(x.shape[0]), y])

        @jax.jit
        def jstep(ps, x, y):
            loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
            return loss, jax.tree_util.tree_map(lambda p, d: p - lr * d, ps, g)

        state = {"ps": ps}
        xj, yj = jnp.asarray(xn), jnp.asarray(yn)

        def jax_step():
            loss, state["ps"] = jstep(state["ps"], xj, yj)
            return jax.block_until_ready(loss)

        cases["JAX jit"] = jax_step
    except ImportError:
        pass
    return cases


def _torch_synced(fn):
    if not ON_GPU:
        return fn
    import torch

    def synced():
        fn()
        torch.cuda.synchronize()
    return synced


# ----------------------------------------------------------------------------- report


def report(title, cases, repeat):
    times = {name: median_us(fn, repeat) for name, fn in cases.items()}
    base = times["numpy by hand"]  # CuPy by hand with --device GPU:0
    print(f"\n{title}")
    print(f"  {'':26s} {'median µs':>12s} {'x NumPy':>8s}")
    for name, t in times.items():
        print(f"  {name:26s} {t:12.1f} {t / base:8.2f}")
    eager, graph = times["autojit eager"], times["autojit @function"]
    print(f"  graph speed-up over eager: {eager / graph:.1f}x")
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--device", default="CPU:0", help="CPU:0 (default) or GPU:0")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    device = aj.get_device(args.device)
    print(f"autojit {aj.__version__}, NumPy {np.__version__}, Python {sys.version.split()[0]}, "
          f"device {device.name}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    if device.kind == "GPU":
        global XP, SYNC, ON_GPU
        XP, ON_GPU = device.xp, True
        SYNC = device.xp.cuda.Device(device.index).synchronize
        print(f"GPU: {device.xp.cuda.runtime.getDeviceProperties(device.index)['name'].decode()}")
    with aj.device(device):
        run_all(scale)


def run_all(scale):
    report("(1) lecture toy: reduce_sum(x*y+z) + gradients, N,D=3,4", toy_cases(),
           int(5000 * scale))
    cases, first_call, concrete = mlp_cases([784, 256, 256, 10], 128)
    report("(2a) MLP step 784-256-256-10, batch 128, SGD", cases, max(20, int(300 * scale)))
    firsts = [first_call() for _ in range(3)]
    print(f"  first call (trace + optimize + compile), median of 3: "
          f"{statistics.median(firsts) / 1000:.1f} ms; graph has {len(concrete.graph.nodes)} "
          f"nodes")
    cases, _, _ = mlp_cases([1024, 2048, 2048, 10], 512)
    report("(2b) MLP step 1024-2048-2048-10, batch 512, SGD", cases, max(5, int(30 * scale)))


if __name__ == "__main__":
    main()
