"""conv2d forward + backward at a ResNet-like shape: autojit eager and ``@aj.function`` vs
hand-written NumPy im2col (the floor for this runtime) and PyTorch CPU when installed.

Run: ``python bench/conv.py`` (``--quick`` for fewer repetitions; ``--batch``/``--size``/
``--channels`` to change the shape). Shape by default: x [32, 32, 32, 64] NHWC, filters
[3, 3, 64, 64], stride 1, SAME, float32; "forward + backward" is y = conv2d(x, w) and both
gradients for a given upstream gradient of y. Prints the median milliseconds per step in
this one run and each as a ratio to the hand-written NumPy code. One BLAS thread unless
``BLAS_THREADS=n`` (the machine is shared; every row uses the same thread count).
"""

from __future__ import annotations

import argparse
import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, os.environ.get("BLAS_THREADS", "1"))

try:  # python -m bench
    from bench.timing import median_ms  # noqa: E402
except ImportError:  # python bench/<script>.py: this folder is sys.path[0]
    from timing import median_ms  # noqa: E402

import numpy as np  # noqa: E402

import autojit as aj  # noqa: E402

# ----------------------------------------------------------------------------- NumPy by hand


def _im2col(x, kh, kw):
    """SAME, stride 1: the [n*h*w, kh*kw*c] patch matrix of ``x`` (one copy)."""
    n, h, wd, c = x.shape
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
    s = xp.strides
    cols = np.lib.stride_tricks.as_strided(xp, (n, h, wd, kh, kw, c),
                                           (s[0], s[1], s[2], s[1], s[2], s[3]))
    return cols.reshape(n * h * wd, kh * kw * c)


def numpy_step(x, w, g):
    """The best we know by hand: im2col + one matmul forward; the filter gradient from the
    same patches; the input gradient as the convolution of g with the flipped filter (odd
    kernel, SAME, stride 1: the padding is symmetric)."""
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    cols = _im2col(x, kh, kw)
    y = (cols @ w.reshape(-1, o)).reshape(n, h, wd, o)
    dw = (cols.T @ g.reshape(-1, o)).reshape(w.shape)
    flipped = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(-1, c)
    dx = (_im2col(g, kh, kw) @ flipped).reshape(n, h, wd, c)
    return y, dx, dw


# ----------------------------------------------------------------------------- autojit


def autojit_step(x, w, g):
    with aj.GradientTape() as tape:
        tape.watch([x, w])
        y = aj.nn.conv2d(x, w, strides=1, padding="SAME")
    dx, dw = tape.gradient(y, [x, w], output_gradients=g)
    return y, dx, dw


# ----------------------------------------------------------------------------- PyTorch


def torch_rows(x, w, g, repeat):
    try:
        import torch
    except ImportError:
        print("pytorch: not installed, skipped")
        return {}
    torch.set_num_threads(int(os.environ.get("BLAS_THREADS", "1")))
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
    wt = torch.from_numpy(w.transpose(3, 2, 0, 1).copy()).requires_grad_()
    gt = torch.from_numpy(g.transpose(0, 3, 1, 2).copy())

    def step():
        xt.grad = wt.grad = None
        y = torch.nn.functional.conv2d(xt, wt, padding="same")
        y.backward(gt)
        return y

    y = step()
    check = y.detach().numpy().transpose(0, 2, 3, 1)
    rows = {"pytorch CPU eager (NCHW)": median_ms(step, repeat)}
    return rows, check


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=64)
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    rng = np.random.default_rng(0)
    n, s, c = args.batch, args.size, args.channels
    x = rng.standard_normal((n, s, s, c)).astype(np.float32)
    w = (rng.standard_normal((3, 3, c, c)) * 0.05).astype(np.float32)
    g = rng.standard_normal((n, s, s, c)).astype(np.float32)

    reference = numpy_step(x, w, g)
    xa, wa, ga = aj.constant(x), aj.constant(w), aj.constant(g)
    graph = aj.function(autojit_step)
    for name, out in (("eager", autojit_step(xa, wa, ga)), ("graph", graph(xa, wa, ga))):
        for a, b in zip(out, reference):
            np.testing.assert_allclose(a.numpy(), b, rtol=2e-3, atol=2e-3, err_msg=name)

    print(f"conv2d forward+backward, x [{n}, {s}, {s}, {c}] NHWC, w [3, 3, {c}, {c}], "
          f"SAME, float32, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}, "
          f"median of {repeat}")
    rows = {"numpy im2col by hand": median_ms(lambda: numpy_step(x, w, g), repeat),
            "autojit eager": median_ms(lambda: autojit_step(xa, wa, ga), repeat),
            "autojit @function": median_ms(lambda: graph(xa, wa, ga), repeat)}
    torch_result = torch_rows(x, w, g, repeat)
    if torch_result:
        torch_times, check = torch_result
        np.testing.assert_allclose(check, reference[0], rtol=2e-3, atol=2e-3)
        rows.update(torch_times)
    floor = rows["numpy im2col by hand"]
    for name, ms in rows.items():
        print(f"  {name:28s} {ms:9.1f} ms   {ms / floor:5.2f}x numpy")


if __name__ == "__main__":
    main()
