"""Devices: names, ``aj.device`` scopes, placement, copies, mixing errors, and GPU agreement.

Most rules are checked on every machine with a stand-in second device (``fake_gpu``: a
``Device`` whose arrays are NumPy arrays and whose transfers are counted copies). The tests
at the end need a real GPU and skip, saying why, without one.
"""

import pathlib
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import autojit as aj
from autojit import backend
from autojit.errors import DeviceError

requires_gpu = pytest.mark.skipif(not aj.gpu_available(),
                                  reason="needs CuPy and a CUDA GPU (aj.gpu_available() is False)")


@pytest.fixture
def fake_gpu(monkeypatch):
    """A second device without a GPU: NumPy arrays, and transfers that copy and are logged."""
    device = backend.Device("GPU", 7, np)
    moves = []

    def transfer(array, target):
        moves.append(target.name)
        return np.array(array, copy=True)

    monkeypatch.setattr(backend, "transfer", transfer)
    return device, moves


def on(device, array):
    return aj.Tensor(np.asarray(array, dtype=np.float32), device)


# --------------------------------------------------------------------------- names


def test_list_devices_starts_with_the_cpu():
    devices = aj.list_devices()
    assert devices[0].name == "CPU:0" and devices[0].xp is np
    assert all(isinstance(d, aj.Device) for d in devices)
    assert len(devices) > 1 or not aj.gpu_available()


@pytest.mark.parametrize("spec", ["CPU:0", "cpu", "CPU", " cpu:0 ", "/device:CPU:0",
                                  "/job:localhost/replica:0/task:0/device:CPU:0"])
def test_device_names(spec):
    assert aj.get_device(spec) is aj.get_device("CPU:0")
    assert aj.Device.parse(spec) is aj.get_device("CPU:0")


@pytest.mark.parametrize("spec, message", [
    ("TPU:0", "expected a device name such as 'CPU:0' or 'GPU:0', got 'TPU:0'"),
    ("GPU:x", "expected a device name such as 'CPU:0' or 'GPU:0', got 'GPU:x'"),
    (3, "expected a device name such as 'CPU:0' or 'GPU:0', got 3"),
    ("CPU:1", "there is one CPU device, CPU:0; got 'CPU:1'"),
])
def test_bad_device_names(spec, message):
    with pytest.raises(DeviceError, match=re.escape(message)):
        aj.device(spec)


@pytest.mark.skipif(aj.gpu_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_a_device_error():
    with pytest.raises(DeviceError) as info:
        aj.device("GPU:0")
    text = str(info.value)
    assert text.startswith("GPU:0 requested, but no GPU is available: ")
    assert "aj.list_devices() shows the devices here (CPU:0 only)" in text
    assert "aj.gpu_available()" in text
    assert not isinstance(info.value, ImportError)
    assert aj.gpu_available() is False
    with pytest.raises(DeviceError, match=re.escape("GPU:0 requested, but no GPU")):
        aj.constant(1.0).to("GPU:0")
    with pytest.raises(DeviceError, match=re.escape("GPU:1 requested, but no GPU")):
        aj.get_device("/device:GPU:1")


def test_cupy_is_imported_only_when_a_gpu_is_asked_for():
    code = ("import sys, autojit as aj; t = aj.constant([1.0]) * 2.0; aj.get_device('CPU:0'); "
            "print('cupy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=pathlib.Path(aj.__file__).parent.parent)
    assert result.stdout.strip() == "False"


def test_cpu_scope_places_on_cpu():
    with aj.device("CPU:0") as dev:
        assert dev is aj.get_device("CPU:0")
        assert aj.constant([1.0]).device == "CPU:0"
    with aj.get_device("CPU:0"):  # a Device is a scope too
        assert aj.ones((2,)).device == "CPU:0"


# --------------------------------------------------------------------------- placement rules


def test_scope_places_new_tensors_and_ops(fake_gpu):
    gpu, _ = fake_gpu
    with aj.device(gpu):
        a = aj.constant([1.0, 2.0])
        b = aj.zeros((2,))
        c = a * 2.0 + b
    assert a.device == b.device == c.device == "GPU:7"
    np.testing.assert_array_equal(c.numpy(), [2.0, 4.0])
    d = aj.constant([1.0])
    assert d.device == "CPU:0"  # the scope ended


def test_scopes_nest_and_restore(fake_gpu):
    gpu, _ = fake_gpu
    with aj.device(gpu):
        with aj.device("CPU:0"):
            assert aj.constant(1.0).device == "CPU:0"
        assert aj.constant(1.0).device == "GPU:7"
        with pytest.raises(RuntimeError):
            with aj.device("CPU:0"):
                raise RuntimeError("boom")
        assert backend.scope_device() is gpu
    assert backend.scope_device() is None


def test_scopes_are_per_thread(fake_gpu):
    gpu, _ = fake_gpu
    seen = []
    with aj.device(gpu):
        worker = threading.Thread(target=lambda: seen.append(aj.constant(1.0).device))
        worker.start()
        worker.join()
    assert seen == ["CPU:0"]


def test_outside_a_scope_ops_run_where_inputs_are(fake_gpu):
    gpu, moves = fake_gpu
    x = on(gpu, [1.0, 2.0])
    y = x * x + 1.0
    assert y.device == "GPU:7"
    np.testing.assert_array_equal(y.numpy(), [2.0, 5.0])


def test_mixing_devices_outside_a_scope_names_both(fake_gpu):
    gpu, _ = fake_gpu
    cpu_t = aj.constant([1.0, 2.0])
    gpu_t = on(gpu, [3.0, 4.0])
    message = ("add: inputs live on different devices (CPU:0 and GPU:7); move one with "
               "x.to('CPU:0') or x.to('GPU:7'), or run the op inside `with aj.device(...)`, "
               "which copies inputs to that device")
    with pytest.raises(DeviceError, match=re.escape(message)):
        cpu_t + gpu_t
    with pytest.raises(DeviceError, match=re.escape(
            "multiply: inputs live on different devices (GPU:7 and CPU:0)")):
        gpu_t * cpu_t


def test_cpu_scalars_join_ops_on_another_device(fake_gpu):
    gpu, moves = fake_gpu
    x = on(gpu, [1.0, 2.0])
    two = aj.constant(2.0)  # 0-d, on the CPU
    for result in (x * two, two * x):
        assert result.device == "GPU:7"
        np.testing.assert_array_equal(result.numpy(), [2.0, 4.0])
    # ... which is what the gradient of x ** 2.0 needs: its VJP builds `2.0 - 1` on the CPU.
    v = on(gpu, [3.0, 4.0])
    with aj.GradientTape() as tape:
        tape.watch(v)
        y = aj.reduce_sum(v ** 2.0)
    g = tape.gradient(y, v)
    assert g.device == "GPU:7"
    np.testing.assert_allclose(g.numpy(), [6.0, 8.0])
    with pytest.raises(DeviceError, match=re.escape(
            "multiply: inputs live on different devices (GPU:7 and CPU:0)")):
        x * aj.constant([2.0, 2.0])  # not a scalar: moving it is the user's call


def test_inside_a_scope_inputs_from_elsewhere_are_copied(fake_gpu):
    gpu, moves = fake_gpu
    cpu_t = aj.constant([1.0, 2.0])
    gpu_t = on(gpu, [3.0, 4.0])
    with aj.device(gpu):
        s = cpu_t + gpu_t
    assert s.device == "GPU:7" and "GPU:7" in moves
    np.testing.assert_array_equal(s.numpy(), [4.0, 6.0])
    with aj.device("CPU:0"):
        t = gpu_t * cpu_t
    assert t.device == "CPU:0"
    np.testing.assert_array_equal(t.numpy(), [3.0, 8.0])


def test_to_moves_and_returns_self_when_already_there(fake_gpu):
    gpu, moves = fake_gpu
    x = aj.constant([1.0, 2.0])
    assert x.to("CPU:0") is x
    y = x.to(gpu)
    assert y.device == "GPU:7" and moves == ["GPU:7"]
    assert not np.shares_memory(y._array, x._array)
    back = y.to("CPU:0")
    assert back.device == "CPU:0"
    np.testing.assert_array_equal(back.numpy(), [1.0, 2.0])


def test_gradients_flow_back_across_devices(fake_gpu):
    gpu, _ = fake_gpu
    x = aj.Variable([1.0, 2.0])
    with aj.GradientTape() as tape:
        with aj.device(gpu):
            y = x * x  # x is copied to GPU:7; the tape records the copy
        loss = aj.reduce_sum(y)
    grad = tape.gradient(loss, x)
    assert loss.device == "GPU:7"
    assert grad.device == "CPU:0"  # the gradient lives where the variable does
    np.testing.assert_allclose(grad.numpy(), [2.0, 4.0])
    w = aj.constant([3.0, 4.0])
    with aj.GradientTape() as tape:
        tape.watch(w)
        z = aj.reduce_sum(w.to(gpu) * 2.0)
    g = tape.gradient(z, w)
    assert g.device == "CPU:0"
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])


def test_variables_live_on_the_scope_device(fake_gpu):
    gpu, _ = fake_gpu
    cpu_value = aj.constant([1.0, 2.0])
    with aj.device(gpu):
        v = aj.Variable(cpu_value)
        w = aj.Variable([3.0])
    assert v.device == "GPU:7" and w.device == "GPU:7"
    buffer = v._array
    v.assign(cpu_value * 3.0)  # a CPU value is copied to the variable's device
    v.assign_add([1.0, 1.0])
    assert v._array is buffer and v.device == "GPU:7"
    np.testing.assert_array_equal(v.numpy(), [4.0, 7.0])
    with aj.device("CPU:0"):
        v.assign_sub(aj.constant([1.0, 1.0]))  # even inside another device's scope
    assert v._array is buffer
    np.testing.assert_array_equal(v.numpy(), [3.0, 6.0])


# --------------------------------------------------------------------------- real GPU


@requires_gpu
def test_gpu_placement_and_transfers():
    import cupy  # noqa: PLC0415  (only with a GPU)

    with aj.device("GPU:0"):
        x = aj.constant([[1.0, 2.0], [3.0, 4.0]])
        y = x @ x + 1.0
    assert x.device == y.device == "GPU:0"
    assert isinstance(y._array, cupy.ndarray)
    assert "device=GPU:0" in repr(y)
    np.testing.assert_allclose(y.numpy(), np.array([[8.0, 11.0], [16.0, 23.0]]))
    back = y.to("CPU:0")
    assert back.device == "CPU:0" and isinstance(back._array, np.ndarray)
    again = back.to("GPU:0")
    assert again.device == "GPU:0"
    np.testing.assert_array_equal(np.asarray(again), back.numpy())
    with pytest.raises(DeviceError, match=re.escape(
            "add: inputs live on different devices (GPU:0 and CPU:0)")):
        y + back


@requires_gpu
def test_gpu_dlpack_round_trip():
    import cupy  # noqa: PLC0415

    with aj.device("GPU:0"):
        x = aj.constant([1.0, 2.0, 3.0])
    c = cupy.from_dlpack(x)
    assert int(c.data.ptr) == int(x._array.data.ptr)
    t = aj.from_dlpack(cupy.arange(3, dtype=cupy.float32))
    assert t.device == "GPU:0"
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])


@requires_gpu
@pytest.mark.parametrize("device", ["CPU:0", "GPU:0"])
def test_lecture_example_on_each_device_agrees(device):
    rng = np.random.default_rng(0)
    xs, ys, zs = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    with aj.device(device):
        x, y, z = aj.Variable(xs), aj.Variable(ys), aj.Variable(zs)
    with aj.GradientTape() as tape:
        a = x * y
        b = a + z
        c = aj.reduce_sum(b)
    grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])
    assert c.device == grad_x.device == device
    np.testing.assert_allclose(float(c), float(np.sum(xs * ys + zs)), rtol=1e-5)
    np.testing.assert_allclose(grad_x.numpy(), ys, rtol=1e-6)
    np.testing.assert_allclose(grad_y.numpy(), xs, rtol=1e-6)
    np.testing.assert_allclose(grad_z.numpy(), np.ones((3, 4)), rtol=1e-6)


@requires_gpu
def test_cpu_and_gpu_agree_on_ops_and_gradients():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    results = {}
    for device in ("CPU:0", "GPU:0"):
        with aj.device(device):
            x = aj.constant(a)
            v = aj.Variable(w)
            with aj.GradientTape() as tape:
                out = aj.reduce_mean(aj.tanh(x @ v) ** 2.0 + aj.exp(-abs(x @ v)))
            results[device] = (out.numpy(), tape.gradient(out, v).numpy())
    np.testing.assert_allclose(results["CPU:0"][0], results["GPU:0"][0], rtol=1e-5)
    np.testing.assert_allclose(results["CPU:0"][1], results["GPU:0"][1], rtol=1e-4, atol=1e-6)


@requires_gpu
def test_gpu_variable_updates_in_place():
    with aj.device("GPU:0"):
        v = aj.Variable([1.0, 2.0])
    buffer = v._array
    v.assign_add(1.0)
    v.assign(np.array([5.0, 6.0], np.float32))
    assert v._array is buffer
    np.testing.assert_array_equal(v.numpy(), [5.0, 6.0])
