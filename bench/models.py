"""One training step of a small CNN and of an LSTM: autojit eager vs ``@aj.function`` vs the
same step in PyTorch (CPU, eager) and JAX (``jax.jit``) when they are installed (issue 9).

Run: ``python bench/models.py`` (``--quick`` for fewer repetitions). Prints the median
milliseconds per step measured in this one run, and each as a ratio to autojit's
``@aj.function`` step, to PyTorch's eager step and to JAX's jitted step (the first step's
loss is printed too: every row starts from the same weights and data). Written against
autojit's public API only; a model whose ops are not there yet (``aj.nn.conv2d``,
``aj.layers.LSTM``) is reported as skipped.

The steps (float32, batch 32, SGD with learning rate 0.01, gradients of every weight):

- CNN, 28x28x1 input: conv 3x3 1->16 SAME, relu, max-pool 2x2, conv 3x3 16->32 SAME,
  relu, global average pool, dense 32->10, sparse softmax cross-entropy.
- LSTM, T steps of D=64 features, hidden 64, the last hidden state through dense 64->1,
  mean squared error. Two forms: a hand-written cell unrolled by a Python loop over time
  (the same cell written in PyTorch; ``lax.scan`` in JAX), and ``aj.layers.LSTM`` (a tensor
  loop) against ``torch.nn.LSTM`` when both exist; plus ``aj.layers.LSTM(32)`` with a
  dense 32->1 head as a user writes it (default initializers), eager and ``@aj.function``.
"""

from __future__ import annotations

import argparse
import os

# One BLAS/OpenMP thread for every framework unless told otherwise (BLAS_THREADS=n), so the
# rows compare like with like on a shared machine. Set before NumPy/PyTorch/JAX load.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, os.environ.get("BLAS_THREADS", "1"))
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")

try:  # python -m bench
    from bench.timing import median_ms  # noqa: E402
except ImportError:  # python bench/<script>.py: this folder is sys.path[0]
    from timing import median_ms  # noqa: E402

import numpy as np  # noqa: E402

import autojit as aj  # noqa: E402

BATCH, CLASSES, LR = 32, 10, 0.01
D, H = 64, 64


def glorot(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


# ----------------------------------------------------------------------------- the CNN


def cnn_weights(rng):
    return {"k1": glorot(rng, (3, 3, 1, 16), 9, 9 * 16), "b1": np.zeros(16, np.float32),
            "k2": glorot(rng, (3, 3, 16, 32), 9 * 16, 9 * 32), "b2": np.zeros(32, np.float32),
            "w": glorot(rng, (32, CLASSES), 32, CLASSES), "b": np.zeros(CLASSES, np.float32)}


def cnn_cases():
    rng = np.random.default_rng(0)
    host = cnn_weights(rng)
    x_host = rng.standard_normal((BATCH, 28, 28, 1)).astype(np.float32)
    y_host = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    cases = {}
    if not hasattr(aj.nn, "conv2d") or not hasattr(aj.nn, "max_pool2d"):
        print("  CNN: autojit rows skipped (aj.nn.conv2d / aj.nn.max_pool2d not available)")
    else:
        x, y = aj.constant(x_host), aj.constant(y_host)
        eager, traced = cnn_step(host), aj.function(cnn_step(host))
        cases["autojit eager"] = lambda: eager(x, y).numpy()
        cases["autojit @function"] = lambda: traced(x, y).numpy()
    cases.update(cnn_torch(host, x_host, y_host))
    cases.update(cnn_jax(host, x_host, y_host.astype(np.int32)))
    return cases


def cnn_step(host):
    """The autojit CNN step, on Variables of its own (each row trains its own copy)."""
    params = {k: aj.Variable(v, name=k) for k, v in host.items()}
    variables = [params[k] for k in sorted(params)]
    opt = aj.optimizers.SGD(LR)

    def step(inputs, labels):
        with aj.GradientTape() as tape:
            h = aj.nn.relu(aj.nn.conv2d(inputs, params["k1"], 1, "SAME") + params["b1"])
            h = aj.nn.max_pool2d(h, 2, 2, "VALID")
            h = aj.nn.relu(aj.nn.conv2d(h, params["k2"], 1, "SAME") + params["b2"])
            h = aj.reduce_mean(h, axis=[1, 2])
            logits = aj.matmul(h, params["w"]) + params["b"]
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def cnn_torch(host, x_host, y_host):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return {}
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    # NCHW with OIHW filters: PyTorch's native layout (converting per step would be unfair)
    p = {"k1": host["k1"].transpose(3, 2, 0, 1), "k2": host["k2"].transpose(3, 2, 0, 1),
         "b1": host["b1"], "b2": host["b2"], "w": host["w"], "b": host["b"]}
    p = {k: torch.tensor(np.ascontiguousarray(v), requires_grad=True) for k, v in p.items()}
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    x = torch.tensor(x_host.transpose(0, 3, 1, 2).copy())
    y = torch.tensor(y_host)

    def step():
        opt.zero_grad(set_to_none=True)
        h = F.relu(F.conv2d(x, p["k1"], p["b1"], padding=1))
        h = F.max_pool2d(h, 2)
        h = F.relu(F.conv2d(h, p["k2"], p["b2"], padding=1))
        logits = h.mean(dim=(2, 3)) @ p["w"] + p["b"]
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        return loss.item()

    return {"PyTorch eager": step}


def cnn_jax(host, x_host, y_host):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}

    def loss_fn(p, x, y):
        dn = ("NHWC", "HWIO", "NHWC")
        h = jax.lax.conv_general_dilated(x, p["k1"], (1, 1), "SAME", dimension_numbers=dn)
        h = jax.nn.relu(h + p["b1"])
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                  "VALID")
        h = jax.lax.conv_general_dilated(h, p["k2"], (1, 1), "SAME", dimension_numbers=dn)
        h = jax.nn.relu(h + p["b2"]).mean(axis=(1, 2))
        logits = h @ p["w"] + p["b"]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    return _jax_sgd(jax, loss_fn, host, x_host, y_host)


def _jax_sgd(jax, loss_fn, host, x_host, y_host):
    import jax.numpy as jnp

    @jax.jit
    def step(p, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
        return loss, jax.tree_util.tree_map(lambda w, g: w - LR * g, p, grads)

    state = {"p": {k: jnp.asarray(v) for k, v in host.items()}}
    x, y = jnp.asarray(x_host), jnp.asarray(y_host)

    def run():
        loss, state["p"] = step(state["p"], x, y)
        return float(loss)

    return {"JAX jit": run}


# ----------------------------------------------------------------------------- the LSTM


def lstm_weights(rng):
    return {"kernel": glorot(rng, (D, 4 * H), D, 4 * H),
            "recurrent": glorot(rng, (H, 4 * H), H, 4 * H),
            "bias": np.zeros(4 * H, np.float32),
            "w": glorot(rng, (H, 1), H, 1), "b": np.zeros(1, np.float32)}


def lstm_cases(steps):
    rng = np.random.default_rng(1)
    host = lstm_weights(rng)
    x_host = rng.standard_normal((BATCH, steps, D)).astype(np.float32)
    y_host = rng.standard_normal((BATCH, 1)).astype(np.float32)
    x, y = aj.constant(x_host), aj.constant(y_host)
    eager, traced = lstm_cell_step(host, steps), aj.function(lstm_cell_step(host, steps))
    cases = {"autojit eager (cell)": lambda: eager(x, y).numpy(),
             "autojit @function (cell)": lambda: traced(x, y).numpy()}
    cases.update(lstm_layer_cases(host, x, y))
    cases.update(lstm_torch(host, x_host, y_host))
    cases.update(lstm_jax(host, x_host, y_host))
    return cases


def lstm_cell_step(host, steps):
    """The hand-written autojit LSTM step, on Variables of its own."""
    params = {k: aj.Variable(v, name=k) for k, v in host.items()}
    variables = [params[k] for k in sorted(params)]
    opt = aj.optimizers.SGD(LR)

    def cell_step(inputs, targets):
        with aj.GradientTape() as tape:
            h = aj.zeros((BATCH, H))
            c = aj.zeros((BATCH, H))
            # Keras gate order i, f, c, o; x @ kernel for all steps at once, as Keras does
            xs = aj.unstack(aj.reshape(aj.matmul(aj.reshape(inputs, (-1, D)),
                                                 params["kernel"]), (BATCH, steps, 4 * H)),
                            axis=1)
            for xt in xs:  # a Python list: unrolled while tracing
                z = xt + aj.matmul(h, params["recurrent"]) + params["bias"]
                i, f, g, o = aj.split(z, 4, axis=1)
                c = aj.sigmoid(f) * c + aj.sigmoid(i) * aj.tanh(g)
                h = aj.sigmoid(o) * aj.tanh(c)
            pred = aj.matmul(h, params["w"]) + params["b"]
            loss = aj.reduce_mean(aj.square(pred - targets))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return cell_step


def lstm_layer_cases(host, x, y):
    if not hasattr(aj.layers, "LSTM"):
        print("  LSTM: aj.layers.LSTM rows skipped (not available)")
        return {}
    eager, traced = lstm_layer_step(host, x), aj.function(lstm_layer_step(host, x))
    small_eager, small_traced = lstm32_step(x), aj.function(lstm32_step(x))
    return {"autojit eager (aj.layers.LSTM)": lambda: eager(x, y).numpy(),
            "autojit @function (aj.layers.LSTM)": lambda: traced(x, y).numpy(),
            "autojit eager (aj.layers.LSTM(32))": lambda: small_eager(x, y).numpy(),
            "autojit @function (aj.layers.LSTM(32))": lambda: small_traced(x, y).numpy()}


def lstm32_step(x):
    """A step with ``aj.layers.LSTM(32)`` as a user writes it (Keras initializers), then a
    dense 32->1 head: the layer API at another width, no peer row to match."""
    aj.random.set_seed(2)
    layer = aj.layers.LSTM(32)
    layer(x)  # build
    head = aj.layers.Dense(1)
    head(aj.zeros((BATCH, 32)))
    variables = list(layer.trainable_variables) + list(head.trainable_variables)
    opt = aj.optimizers.SGD(LR)

    def step(inputs, targets):
        with aj.GradientTape() as tape:
            loss = aj.reduce_mean(aj.square(head(layer(inputs)) - targets))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def lstm_layer_step(host, x):
    """A step with ``aj.layers.LSTM(H)``, its weights set to the hand-written cell's."""
    layer = aj.layers.LSTM(H)
    layer(x)  # build (Keras layers build on their first call)
    for var in layer.trainable_variables:
        if "recurrent" in var.name:
            var.assign(host["recurrent"])
        elif tuple(var.shape) == (4 * H,):
            var.assign(host["bias"])
        elif tuple(var.shape) == (D, 4 * H):
            var.assign(host["kernel"])
    head_w, head_b = aj.Variable(host["w"], name="w"), aj.Variable(host["b"], name="b")
    variables = list(layer.trainable_variables) + [head_w, head_b]
    opt = aj.optimizers.SGD(LR)

    def step(inputs, targets):
        with aj.GradientTape() as tape:
            pred = aj.matmul(layer(inputs), head_w) + head_b
            loss = aj.reduce_mean(aj.square(pred - targets))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def lstm_torch(host, x_host, y_host):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    p = {k: torch.tensor(v, requires_grad=True) for k, v in host.items()}
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    x, y = torch.tensor(x_host), torch.tensor(y_host)

    def cell_step():
        opt.zero_grad(set_to_none=True)
        h = torch.zeros(BATCH, H)
        c = torch.zeros(BATCH, H)
        xs = (x.reshape(-1, D) @ p["kernel"]).reshape(BATCH, -1, 4 * H).unbind(1)
        for xt in xs:
            i, f, g, o = (xt + h @ p["recurrent"] + p["bias"]).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        loss = ((h @ p["w"] + p["b"] - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    lstm = torch.nn.LSTM(D, H, batch_first=True)
    head = torch.nn.Linear(H, 1)
    with torch.no_grad():  # the cell's weights (PyTorch's gate order i, f, g, o is Keras's)
        lstm.weight_ih_l0.copy_(torch.tensor(host["kernel"].T))
        lstm.weight_hh_l0.copy_(torch.tensor(host["recurrent"].T))
        lstm.bias_ih_l0.copy_(torch.tensor(host["bias"]))
        lstm.bias_hh_l0.zero_()
        head.weight.copy_(torch.tensor(host["w"].T))
        head.bias.copy_(torch.tensor(host["b"]))
    opt2 = torch.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=LR)

    def module_step():
        opt2.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        loss = ((head(out[:, -1]) - y) ** 2).mean()
        loss.backward()
        opt2.step()
        return loss.item()

    return {"PyTorch eager (cell)": cell_step, "PyTorch eager (nn.LSTM)": module_step}


def lstm_jax(host, x_host, y_host):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}

    def loss_fn(p, x, y):
        xs = jnp.swapaxes(x @ p["kernel"], 0, 1)  # time-major for scan

        def cell(carry, xt):
            h, c = carry
            i, f, g, o = jnp.split(xt + h @ p["recurrent"] + p["bias"], 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None

        zeros = jnp.zeros((x.shape[0], H), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), xs)
        return jnp.mean((h @ p["w"] + p["b"] - y) ** 2)

    cases = _jax_sgd(jax, loss_fn, host, x_host, y_host)
    return {"JAX jit (lax.scan cell)": cases["JAX jit"]}


# ----------------------------------------------------------------------------- report


def report(title, build, repeat):
    print(f"\n{title}")
    cases = build()
    times, first = {}, {}
    for name, fn in cases.items():
        try:
            first[name] = float(fn())  # the first step's loss: every row computes the same
            times[name] = median_ms(fn, repeat, warmup=1)
        except Exception as exc:  # a row that cannot run is reported, not fatal
            print(f"  {name:<38} failed: {type(exc).__name__}: {str(exc)[:120]}")
    bases = {label: next((v for k, v in times.items() if k.startswith(prefix)), None)
             for label, prefix in (("x @function", "autojit @function"),
                                   ("x PyTorch", "PyTorch eager"), ("x JAX", "JAX jit"))}
    print(f"  {'':<38} {'loss 1':>8} {'ms/step':>8}" + "".join(f"{k:>12}" for k in bases))
    for name, ms in times.items():
        ratios = "".join(f"{ms / b:12.2f}" if b else f"{'-':>12}" for b in bases.values())
        print(f"  {name:<38} {first[name]:8.4f} {ms:8.2f}{ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--steps", type=int, default=32, help="LSTM sequence length")
    args = parser.parse_args()
    repeat = 5 if args.quick else 25
    print(f"threads: {os.environ['OMP_NUM_THREADS']}; batch {BATCH}; medians of {repeat} "
          f"steps after 2 warm-up steps (the first traces); one run")
    report("CNN step (28x28x1, conv16-pool-conv32-gap-dense10)", cnn_cases, repeat)
    report(f"LSTM step (T={args.steps}, D={D}, H={H})", lambda: lstm_cases(args.steps), repeat)


if __name__ == "__main__":
    main()
