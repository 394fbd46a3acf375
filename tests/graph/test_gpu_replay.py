"""The GPU replay on a real device (issue 11's checks): fused, captured graphs equal the CPU's
on random programs, control flow, reductions and training steps; captured replays equal
uncaptured ones across calls with changing inputs; Variables a captured step updates are
visible eagerly; memory does not grow over 10,000 replays; a bad label is reported by the
next call. Skipped without CuPy and a CUDA device (``bash bench/gpu_check.sh`` runs them on a
lent card)."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit import nest
from autojit.errors import InvalidArgumentError

from bench.gpu import mlp_step, replay_report  # the benchmark's own step and report

from .programs import grad_program, random_program

pytestmark = pytest.mark.skipif(
    not aj.gpu_available(),
    reason="needs CuPy and a CUDA device (run bench/gpu_check.sh on a GPU machine)")

TOL = {"rtol": 1e-9, "atol": 1e-9}  # float64 programs; GPU sums in another order


def on_gpu(arrays):
    with aj.device("GPU:0"):
        return [aj.constant(a) for a in arrays]


def numpy_of(out):
    return [o.numpy() for o in nest.flatten(out)]


def report(fn, *args):
    return replay_report(fn, args)


@pytest.mark.parametrize("control", [False, True], ids=["pure", "control"])
def test_random_programs_on_the_gpu_match_the_cpu_across_calls(control):
    captured = 0
    for seed in range(40):
        program = random_program(seed, control=control)
        fns = [grad_program(program)] if seed % 3 == 0 else []

        def run(*xs, _p=program):
            return _p.run(*xs)

        for body in [run, *fns]:
            cpu, gpu = aj.function(body), None
            with aj.device("GPU:0"):
                gpu = aj.function(body)
            for k in range(4):  # warm-up, capture, launches, each with new inputs
                arrays = [x * (1.0 + 0.25 * k) for x in program.inputs]
                expected = numpy_of(cpu(*[aj.constant(a) for a in arrays]))
                actual = numpy_of(gpu(*on_gpu(arrays)))
                for a, e in zip(actual, expected):
                    np.testing.assert_allclose(a, e, err_msg=f"seed {seed} call {k}", **TOL)
            captured += report(gpu, *on_gpu(program.inputs)).startswith("capturable")
    assert captured > 0


def losses(a, b, labels):
    return (0.5 * aj.reduce_mean(aj.square(a - b)),
            aj.sqrt(aj.reduce_max(aj.abs(a), axis=1, keepdims=True) + 1.0),
            aj.reduce_min(a * b, axis=0),
            aj.reduce_prod(aj.tanh(a) * 0.5 + 1.0, axis=[1]),
            aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(labels, a)))


def test_fused_reductions_on_the_gpu_match_the_cpu():
    rng = np.random.default_rng(0)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        a, b = (rng.normal(size=(64, 10)).astype(dtype) for _ in range(2))
        labels = rng.integers(0, 10, 64).astype(np.int32)
        expected = numpy_of(aj.function(losses)(*map(aj.constant, (a, b, labels))))
        with aj.device("GPU:0"):
            fn = aj.function(losses)
        for _ in range(3):
            actual = numpy_of(fn(*on_gpu([a, b, labels])))
            for x, e in zip(actual, expected):
                np.testing.assert_allclose(x, e, rtol=tol, atol=tol)
        source = fn.get_concrete_function(*on_gpu([a, b, labels])).code
        assert "fused" in source


def doubling(v):
    while aj.reduce_sum(v) < 100.0:
        v = v * 2.0
    return v


def counted(x, n):
    for _ in aj.range(n):
        x = aj.sin(x) + 1.0
    return x


def test_tensor_loops_on_the_gpu_match_the_cpu():
    for fn, arrays in ((doubling, [np.array([1.0, 2.0, 0.5])]),
                       (counted, [np.array([0.1, 0.2]), np.int32(5)])):
        expected = numpy_of(aj.function(fn)(*map(aj.constant, arrays)))
        with aj.device("GPU:0"):
            gpu = aj.function(fn)
        for _ in range(4):
            actual = numpy_of(gpu(*on_gpu(arrays)))
            np.testing.assert_allclose(actual[0], expected[0], **TOL)
        print(fn.__name__, report(gpu, *on_gpu(arrays)))


def biased_step(params, opt):
    """``mlp_step`` with a bias per layer (``params``: weights, then biases): each bias
    gradient is a side output of a kernel (Note [Side outputs] in fuse.py)."""
    half = len(params) // 2

    def step(x, y):
        with aj.GradientTape() as tape:
            h = x
            for i, (w, b) in enumerate(zip(params[:half], params[half:])):
                h = h @ w + b
                if i < half - 1:
                    h = aj.nn.relu(h)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(y, h))
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    return step


def train(cuda_graphs, steps=20, device="GPU:0", biases=False):
    rng = np.random.default_rng(1)
    shapes = ((32, 16), (16, 4))
    init = [(rng.normal(size=s) * 0.1).astype(np.float32) for s in shapes]
    if biases:
        init += [(rng.normal(size=s[1]) * 0.1).astype(np.float32) for s in shapes]
    aj.config.set_cuda_graphs(cuda_graphs)
    try:
        with aj.device(device):
            ws = [aj.Variable(w) for w in init]
            make = biased_step if biases else mlp_step
            fn = aj.function(make(ws, aj.optimizers.SGD(0.1)))
            pairs = [(rng.normal(size=(8, 32)).astype(np.float32),
                      rng.integers(0, 4, 8).astype(np.int32)) for _ in range(2)]
            batches = [pairs[k % 2] for k in range(steps)]  # inputs change at every call
            losses = [float(fn(*map(aj.constant, (x, y))).numpy()) for x, y in batches]
            plan = report(fn, *map(aj.constant, batches[0]))
    finally:
        aj.config.set_cuda_graphs(None)
    return losses, [w.numpy() for w in ws], plan


@pytest.mark.parametrize("biases", [False, True], ids=["weights", "biases"])
def test_captured_training_equals_uncaptured_and_the_cpu_and_its_variables_are_visible(biases):
    losses, weights, plan = train(cuda_graphs=True, biases=biases)
    plain_losses, plain_weights, plain_plan = train(cuda_graphs=False, biases=biases)
    cpu_losses, cpu_weights, _ = train(cuda_graphs=None, device="CPU:0", biases=biases)
    print("captured:", plan, "| uncaptured:", plain_plan)
    assert "CUDA graphs are off" in plain_plan
    assert plan.startswith("capturable"), plan  # the sparse labels' check stays on the device
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-5)
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-4)  # float32, other sum orders
    for w, p, c in zip(weights, plain_weights, cpu_weights):  # read eagerly, after the last
        np.testing.assert_allclose(w, p, rtol=1e-5, atol=1e-6)  # launch
        np.testing.assert_allclose(w, c, rtol=1e-4, atol=1e-5)
    assert losses[-2] < losses[0] and losses[-1] < losses[1]  # it learns both batches


def test_a_bad_label_on_the_gpu_is_reported_by_a_later_call():
    with aj.device("GPU:0"):
        ws = [aj.Variable(np.full((4, 3), 0.1, np.float32))]
        fn = aj.function(mlp_step(ws, aj.optimizers.SGD(0.1)))
    x = np.ones((2, 4), np.float32)
    for _ in range(3):
        fn(*on_gpu([x, np.array([0, 2], np.int32)]))
    fn(*on_gpu([x, np.array([0, 7], np.int32)]))  # 7 of 3 classes
    with pytest.raises(InvalidArgumentError, match="label out of range"):
        fn.get_concrete_function(*on_gpu([x, np.array([0, 1], np.int32)])).check_values()
    fn(*on_gpu([x, np.array([0, 1], np.int32)]))  # reported once; good calls go on


def test_no_memory_growth_over_10000_replays():
    import cupy

    with aj.device("GPU:0"):
        x, y, z = on_gpu([np.linspace(-1, 1, 1000, dtype=np.float32)] * 3)

        @aj.function
        def toy(x, y, z):
            with aj.GradientTape() as tape:
                tape.watch([x, y, z])
                loss = aj.reduce_sum(aj.tanh(x * y + z))
            return loss, tape.gradient(loss, [x, y, z])

    pool = cupy.get_default_memory_pool()
    for _ in range(100):
        toy(x, y, z)
    cupy.cuda.Device().synchronize()
    before = pool.used_bytes()
    for _ in range(10_000):
        toy(x, y, z)
    cupy.cuda.Device().synchronize()
    grown = pool.used_bytes() - before
    print("pool bytes in use before/after 10,000 replays:", before, before + grown,
          "|", report(toy, x, y, z))
    assert grown <= 64 * 1024, grown
