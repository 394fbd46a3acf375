"""The op table on ``GPU:0``: forward vs NumPy, gradients vs central differences and vs the
CPU, and the random ops' per-device generators. Skipped where no GPU is available.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_table import as_list, cases, to_tensors
from test_op_table import check_forward, check_gradient, float_inputs

import autojit as aj

GPU = "GPU:0"
pytestmark = pytest.mark.skipif(not aj.gpu_available(),
                                reason="no GPU: CuPy is missing or sees no CUDA device")

ALL = cases()
FORWARD = [pytest.param(e, c, d, id=f"{i}-{d.name}") for e, c, i in ALL for d in e.dtypes]
GRADIENT = [pytest.param(e, c, id=i) for e, c, i in ALL if e.grad >= 1 and float_inputs(c)]


@pytest.mark.parametrize("entry,case,dtype", FORWARD)
def test_forward_on_gpu_matches_numpy(entry, case, dtype, request):
    with aj.device(GPU):  # ops without tensor inputs (creation) run on the scope device
        check_forward(entry, case, dtype, request.node.callspec.id, device=GPU)


@pytest.mark.parametrize("entry,case", GRADIENT)
def test_gpu_gradient_matches_finite_differences_and_cpu(entry, case, request):
    key = request.node.callspec.id
    gpu = check_gradient(entry, case, key, device=GPU)
    cpu = check_gradient(entry, case, key)
    for g, c in zip(gpu, cpu):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-12)


def test_to_device_moves_values_and_gradients():
    x = aj.constant(np.arange(3.0))
    with aj.GradientTape() as tape:
        tape.watch(x)
        y = x.to(GPU)
        total = aj.reduce_sum(y * y)
    assert y.device == GPU and total.device == GPU
    grad = tape.gradient(total, x)
    assert grad.device == "CPU:0"
    np.testing.assert_array_equal(grad.numpy(), [0.0, 2.0, 4.0])


def test_mixing_devices_outside_a_scope_is_an_error():
    with pytest.raises(aj.errors.DeviceError, match="inputs live on different devices"):
        aj.add(aj.constant(1.0), aj.constant(2.0).to(GPU))


def test_gpu_random_is_reproducible_per_seed_and_stays_on_the_gpu():
    with aj.device(GPU):
        aj.random.set_seed(4)
        a = aj.random.normal((1000,))
        u = aj.random.uniform((1000,), 2, 7, dtype=aj.int32)
        aj.random.set_seed(4)
        b = aj.random.normal((1000,))
    aj.random.set_seed(None)
    assert a.device == GPU and u.device == GPU and a.dtype == aj.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(float(a.numpy().mean())) < 0.15
    assert set(np.unique(u.numpy())) <= {2, 3, 4, 5, 6}


def test_gpu_graph_replay_matches_cpu():
    def step(x, labels):
        with aj.GradientTape() as tape:
            tape.watch(x)
            logits = aj.concat([aj.nn.relu(x), x[:, ::-1]], axis=1)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits)) + aj.reduce_sum(aj.gather(logits, labels, axis=1))
        return loss, tape.gradient(loss, x)

    x = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([0, 5, 2, 3], np.int32)
    traced = aj.function(step, autograph=False)
    cpu = [t.numpy() for t in as_list(traced(*to_tensors([x, labels])))]
    gpu = [t.numpy() for t in as_list(traced(*to_tensors([x, labels], GPU)))]
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=1e-10)
