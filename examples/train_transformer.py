"""Train a small causal transformer with ``@aj.function``, save it with ``aj.saved_model`` and
load it back without its class.

The task: read a sequence of digits and, at every position, output the largest digit seen so
far (a causal model can: position t attends to positions <= t). A token embedding plus a
learned position embedding, one pre-norm block (causal multi-head self-attention and an MLP,
each with a residual), and a linear head over the 10 digits.

    python examples/train_transformer.py            # about 8 s on two CPU cores
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

import autojit as aj

DIGITS, STEPS = 10, 8


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    tokens = rng.integers(0, DIGITS, (n, STEPS))
    return tokens.astype(np.int32), np.maximum.accumulate(tokens, axis=1).astype(np.int64)


class Transformer(aj.Module):
    def __init__(self, width: int = 32, heads: int = 4):
        super().__init__()
        self.embed = aj.layers.Embedding(DIGITS, width)
        self.position = aj.Variable(aj.random.normal([STEPS, width], stddev=0.1),
                                    name="position")
        self.norm1 = aj.layers.LayerNormalization()
        self.attention = aj.layers.MultiHeadAttention(num_heads=heads, key_dim=width // heads)
        self.norm2 = aj.layers.LayerNormalization()
        self.mlp = aj.layers.Sequential([aj.layers.Dense(2 * width, activation="relu"),
                                         aj.layers.Dense(width)])
        self.head = aj.layers.Dense(DIGITS)

    @aj.function(input_signature=[aj.TensorSpec([None, STEPS], aj.int32)])
    def __call__(self, tokens):
        h = self.embed(tokens) + self.position
        a = self.norm1(h)
        h = h + self.attention(a, a, use_causal_mask=True)
        h = h + self.mlp(self.norm2(h))
        return self.head(h)  # [batch, steps, digits]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    args = parser.parse_args()

    aj.random.set_seed(0)
    rng = np.random.default_rng(0)
    train_x, train_y = make_data(4096, rng)
    test_x, test_y = make_data(512, rng)
    model = Transformer()
    optimizer = aj.optimizers.Adam(3e-3)

    @aj.function
    def step(tokens, targets):
        with aj.GradientTape() as tape:
            logits = model(tokens)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(targets,
                                                                                  logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    batch = 64
    for epoch in range(1, args.epochs + 1):
        began = time.perf_counter()
        order = rng.permutation(len(train_x))
        losses = [float(step(aj.constant(train_x[i]), aj.constant(train_y[i])))
                  for i in np.split(order, len(order) // batch)]
        print(f"epoch {epoch:3d}/{args.epochs}  loss {np.mean(losses):.4f}  "
              f"({time.perf_counter() - began:.2f} s)")

    predicted = np.argmax(model(aj.constant(test_x)).numpy(), axis=-1)
    accuracy = float(np.mean(predicted == test_y))
    print(f"test accuracy (every position): {accuracy:.2%}  "
          f"(the step was traced {step.tracing_count} time(s))")

    with tempfile.TemporaryDirectory(prefix="autojit-transformer-") as export:
        path = aj.saved_model.save(model, export)
        loaded = aj.saved_model.load(export)
    same = np.array_equal(loaded(aj.constant(test_x)).numpy(), model(aj.constant(test_x)).numpy())
    print(f"saved {path} and loaded it: the loaded model (no Transformer class needed) "
          f"predicts the same: {same}")

    xb, yb = aj.constant(train_x[:batch]), aj.constant(train_y[:batch])
    timings = {}
    for label, eager in (("eager", True), ("@aj.function", False)):
        aj.config.run_functions_eagerly(eager)  # eager: model.__call__ runs op by op too
        step(xb, yb)
        times = []
        for _ in range(20):
            began = time.perf_counter()
            step(xb, yb)
            times.append(time.perf_counter() - began)
        timings[label] = float(np.median(times)) * 1e6
    aj.config.run_functions_eagerly(False)
    print(f"step time (batch {batch}, median of 20): eager {timings['eager']:.0f} µs, "
          f"@aj.function {timings['@aj.function']:.0f} µs "
          f"({timings['eager'] / timings['@aj.function']:.1f}x faster)")
    if not same:
        print("FAILED: the loaded model predicts differently", file=sys.stderr)
        return 1
    if accuracy < args.min_accuracy:
        print(f"FAILED: test accuracy {accuracy:.2%} is below {args.min_accuracy:.0%}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
