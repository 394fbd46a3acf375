"""How much eager autojit costs over hand-written NumPy doing the same math.

Two workloads, each forward + gradient (+ update), float32 on CPU:

* ``toy``: the lecture's ``c = reduce_sum(x * y + z)`` and its gradients, N, D = 3, 4.
  Tiny arrays, so this measures pure per-op overhead (dispatch, tape, wrappers).
* ``mlp``: one SGD training step of a 784-256-256-10 ReLU MLP on a batch of 128 with
  softmax cross-entropy; the NumPy version has its backward pass written by hand.

Prints the median time per step in microseconds and the ratio to NumPy.
Run: ``python bench/eager_overhead.py [--quick]``
"""

from __future__ import annotations

import argparse
import os
from typing import Callable

# One BLAS thread unless told otherwise: on a small shared machine, BLAS threads spinning
# against other processes make timings swing by 5x, which would drown the overhead this
# measures. Set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS to override.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

try:  # python -m bench
    from bench.timing import compare_us, measure  # noqa: E402
except ImportError:  # python bench/<script>.py: this folder is sys.path[0]
    from timing import compare_us, measure  # noqa: E402

import numpy as np  # noqa: E402  (after the thread settings, which BLAS reads at import)

import autojit as aj  # noqa: E402

# ----------------------------------------------------------------------------- toy


def toy_numpy(N: int = 3, D: int = 4) -> Callable[[], object]:
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal((N, D), dtype=np.float32) for _ in range(3))

    def step():
        a = x * y
        b = a + z
        c = np.sum(b)
        grad_c = 1.0
        grad_b = grad_c * np.ones((N, D), dtype=np.float32)
        grad_a = grad_b.copy()
        grad_z = grad_b.copy()
        grad_x = grad_a * y
        grad_y = grad_a * x
        return c, grad_x, grad_y, grad_z

    return step


def toy_autojit(N: int = 3, D: int = 4) -> Callable[[], object]:
    x = aj.Variable(aj.random.normal((N, D)))
    y = aj.Variable(aj.random.normal((N, D)))
    z = aj.Variable(aj.random.normal((N, D)))

    def step():
        with aj.GradientTape() as tape:
            a = x * y
            b = a + z
            c = aj.reduce_sum(b)
        grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])
        return c, grad_x, grad_y, grad_z

    return step


# ----------------------------------------------------------------------------- MLP step

SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01


def mlp_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], size=BATCH)
    return x, labels


def mlp_numpy() -> Callable[[], object]:
    rng = np.random.default_rng(1)
    ws = [(rng.standard_normal((i, o), dtype=np.float32) * np.sqrt(2.0 / (i + o))).astype(
        np.float32) for i, o in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(o, dtype=np.float32) for o in SIZES[1:]]
    x, labels = mlp_data()
    one_hot = np.eye(SIZES[-1], dtype=np.float32)[labels]

    def step():
        # forward
        h1_pre = x @ ws[0] + bs[0]
        h1 = np.maximum(h1_pre, 0)
        h2_pre = h1 @ ws[1] + bs[1]
        h2 = np.maximum(h2_pre, 0)
        logits = h2 @ ws[2] + bs[2]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -np.mean(np.sum(one_hot * log_probs, axis=1))
        # backward, by hand
        d_logits = (np.exp(log_probs) - one_hot) / np.float32(BATCH)
        d_w2 = h2.T @ d_logits
        d_b2 = d_logits.sum(axis=0)
        d_h2 = d_logits @ ws[2].T
        d_h2_pre = d_h2 * (h2_pre > 0)
        d_w1 = h1.T @ d_h2_pre
        d_b1 = d_h2_pre.sum(axis=0)
        d_h1 = d_h2_pre @ ws[1].T
        d_h1_pre = d_h1 * (h1_pre > 0)
        d_w0 = x.T @ d_h1_pre
        d_b0 = d_h1_pre.sum(axis=0)
        # SGD update, in place
        for param, grad in ((ws[0], d_w0), (bs[0], d_b0), (ws[1], d_w1), (bs[1], d_b1),
                            (ws[2], d_w2), (bs[2], d_b2)):
            param -= np.float32(LR) * grad
        return loss

    return step


class MLP(aj.Module):
    """The lecture's MLP (ReLU hidden layers, linear output)."""

    def __init__(self, input_size, sizes, name=None):
        super().__init__(name=name)
        self.layers = []
        with self.name_scope:
            for i, size in enumerate(sizes):
                activation = aj.nn.relu if i < len(sizes) - 1 else None
                self.layers.append(aj.layers.Dense(input_size, size, activation=activation))
                input_size = size

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def mlp_autojit() -> Callable[[], object]:
    model = MLP(SIZES[0], SIZES[1:])
    optimizer = aj.optimizers.SGD(learning_rate=LR)
    x, labels = mlp_data()
    inputs, targets = aj.constant(x), aj.constant(labels, dtype=aj.int64)

    def train_step(inputs, targets):
        with aj.GradientTape() as tape:
            predictions = model(inputs)
            loss = aj.reduce_mean(aj.keras.losses.sparse_categorical_crossentropy(
                targets, predictions, from_logits=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return lambda: train_step(inputs, targets)


def check_same_math() -> None:
    """The two MLP steps compute the same loss from the same weights (a sanity check that
    the benchmark compares like with like)."""
    model = MLP(SIZES[0], SIZES[1:])
    x, labels = mlp_data()
    logits = model(aj.constant(x)).numpy()
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -np.mean(log_probs[np.arange(BATCH), labels])
    loss = aj.reduce_mean(aj.losses.sparse_categorical_crossentropy(
        aj.constant(labels), aj.constant(logits), from_logits=True))
    assert abs(float(loss) - expected) < 1e-4 * max(1.0, abs(expected)), (float(loss), expected)


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description="eager autojit vs hand-written NumPy")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeats = 21 if args.quick else 201
    aj.random.set_seed(0)
    check_same_math()
    rows = [
        ("toy reduce_sum(x*y+z) + grads, 3x4", *compare_us(toy_numpy(), toy_autojit(), repeats)),
        ("MLP 784-256-256-10 SGD step, batch 128",
         *compare_us(mlp_numpy(), mlp_autojit(), repeats // 4 + 1)),
    ]
    print(f"eager autojit vs hand-written NumPy (median µs per step, float32, CPU, "
          f"{os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s), numpy {np.__version__})")
    print(f"{'workload':<40} {'NumPy':>10} {'autojit':>10} {'ratio':>7}")
    for name, numpy_us, autojit_us in rows:
        print(f"{name:<40} {numpy_us:>10.1f} {autojit_us:>10.1f} {autojit_us / numpy_us:>6.2f}x")
    model = MLP(SIZES[0], SIZES[1:])
    walk = measure(lambda: model.trainable_variables, repeats, min_sample_s=2e-3).median_us
    print(f"(model.trainable_variables of that MLP: {walk:.1f} µs per access)")


if __name__ == "__main__":
    main()
