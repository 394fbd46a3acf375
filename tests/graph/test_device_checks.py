"""Index checks on the GPU replay run on the device (Note [Deferred checks] in
graph/executors/device_checks.py): tested on the CPU with the counting fake CuPy of
test_device_loops.py, whose arrays count every read of device memory on the host."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.backend import Device
from autojit.errors import InvalidArgumentError
from autojit.graph.executors.capture import host_reads, plan_capture
from autojit.graph.executors.cupy import compile_gpu
from autojit.graph.executors.device_checks import DEFERRED_CHECKS, DeviceChecks
from autojit.ops.core import registry

from .test_device_loops import DeviceArray, _device, fake_cupy


@pytest.fixture(autouse=True)
def fused_nodes_op_by_op(monkeypatch):
    """The fake CuPy compiles no kernels: fused nodes (the deferred checks' range tests too)
    run op by op on its arrays, so what they read is counted."""
    from autojit.graph.executors import cupy as gpu_executor

    monkeypatch.setattr(gpu_executor, "_compiled", lambda xp, expr, inputs: (None, None))


def fake_checks(xp):
    """DeviceChecks whose host copy is a plain array copied at once (the fake has no
    streams, so "asynchronous" is immediate)."""
    def make(capacity):
        return DeviceChecks(xp, capacity, host=np.zeros(max(capacity, 1), np.int32),
                            copy_to_host=lambda flags, host: np.copyto(
                                host, flags.view(np.ndarray)))
    return make


def gpu_replay(fn, *args, fusion=False):
    """With ``fusion``, the sparse cross-entropy is lowered first (its label check kept as a
    ``label_check`` node, graph/passes/lower.py) and fused nodes run op by op."""
    graph = aj.function(fn).get_concrete_function(*args).graph
    xp = fake_cupy()
    replay, source = compile_gpu(graph, Device("GPU", 0, xp), "step", [], fusion=fusion,
                                 cuda_graphs=False, checks=fake_checks(xp))
    return replay, source


def run(replay, *arrays):
    before = DeviceArray.reads
    out = replay(*[_device(np.asarray(a)) for a in arrays])
    return DeviceArray.reads - before, [np.asarray(o.view(np.ndarray)) for o in out]


def loss(labels, logits, table, rows):
    picked = aj.gather(table, rows)  # gather's check and the cross-entropy's: both deferred
    xent = aj.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    return aj.reduce_mean(xent) + aj.reduce_sum(picked)


def inputs(labels=(0, 2, 1), rows=(1, 0)):
    rng = np.random.default_rng(0)
    return [np.array(labels, np.int32), rng.normal(size=(3, 3)),
            rng.normal(size=(4, 2)), np.array(rows, np.int32)]


def reference(labels, logits, table, rows):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean() + table[rows].sum()


def test_every_deferred_op_has_a_range_check():
    ops = registry()
    assert all(ops[name].check is not None for name in DEFERRED_CHECKS)


def test_checked_indices_no_longer_stop_a_capture():
    args = [aj.constant(a) for a in inputs()]
    graph = aj.function(loss).get_concrete_function(*args).graph
    assert not [n.op.name for n, what, _ in host_reads(graph)]
    assert plan_capture(graph, capturable_blas=True).capturable

    def segments(data, ids):  # a check that reads more than a range stays on the host
        return aj.math.segment_sum(data, ids)

    graph = aj.function(segments).get_concrete_function(
        aj.constant(np.ones(3)), aj.constant(np.array([0, 0, 1], np.int32))).graph
    assert "checks index values on the host" in str(plan_capture(graph, True))


@pytest.mark.parametrize("fusion", [False, True])
def test_good_indices_replay_without_reading_anything_back(fusion):
    replay, source = gpu_replay(loss, *[aj.constant(a) for a in inputs()], fusion=fusion)
    assert "deferred_gather" in source or "check_gather" in source
    assert ("check_label_check" in source) == fusion  # lowered: the check is its own node
    for k in range(3):
        args = inputs(labels=(k % 3, 2, 1))
        reads, (out,) = run(replay, *args)
        assert reads == 0, source
        np.testing.assert_allclose(out, reference(*args), rtol=1e-12)


@pytest.mark.parametrize("fusion", [False, True])
def test_a_bad_index_is_reported_by_the_next_call_naming_the_op_and_line(fusion):
    replay, _ = gpu_replay(loss, *[aj.constant(a) for a in inputs()], fusion=fusion)
    # label -1: out of range for the op (NumPy, like CuPy, would wrap it): no wait here
    reads, _ = run(replay, *inputs(labels=(0, -1, 1)))
    assert reads == 0
    with pytest.raises(InvalidArgumentError) as caught:
        run(replay, *inputs())
    message = str(caught.value)
    assert "sparse_softmax_cross_entropy_with_logits: label out of range" in message
    assert "expected 0 <= label < 3" in message
    assert "test_device_checks.py" in message and "a call late" in message
    reads, (out,) = run(replay, *inputs())  # the flags were cleared: good calls go on
    np.testing.assert_allclose(out, reference(*inputs()), rtol=1e-12)

    run(replay, *inputs(rows=(1, -4)))  # a gather row before the table's first
    with pytest.raises(InvalidArgumentError, match=r"gather: index out of range for axis 0 "
                       r"of size 4 \(params shape \[4, 2\]\)"):
        replay.check_values()  # waits for the device: the error comes now
    replay.check_values()  # and only once


def test_the_cpu_replay_still_checks_every_call_at_once():
    fn = aj.function(loss)
    fn(*[aj.constant(a) for a in inputs()])
    with pytest.raises(InvalidArgumentError, match="label 3 is out of range"):
        fn(*[aj.constant(a) for a in inputs(labels=(0, 3, 1))])


def test_concrete_functions_check_values_waits_on_a_gpu_and_is_nothing_on_the_cpu():
    fn = aj.function(loss)
    concrete = fn.get_concrete_function(*[aj.constant(a) for a in inputs()])
    assert concrete.check_values() is None  # the CPU checked at the call already

    class Replay:  # the GPU replay's method is what it calls
        calls = 0

        def check_values(self):
            Replay.calls += 1

    concrete._fn = Replay()
    concrete.check_values()
    assert Replay.calls == 1
