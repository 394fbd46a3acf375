"""aj.train: Checkpoint round trips (bit-identical weights and optimizer slots), structural
paths, all-or-nothing restore with an error per kind of mismatch, refusal of pickled data,
atomic writes under SIGKILL, CheckpointManager pruning, and the progress bar fallback."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autojit as aj
from autojit.errors import CheckpointError
from autojit.train import archive

ROOT = Path(__file__).resolve().parents[1]


class MLP(aj.Module):
    # Named explicitly, so the messages pinned below read "mlp/dense/w:0" whatever was built
    # before (default names are numbered: Note [Default module names]).
    def __init__(self, sizes=(4, 8, 3), dtype=np.float32, name="mlp", layer_name="dense"):
        super().__init__(name=name)
        self.layers = []
        with self.name_scope:
            for n_in, n_out in zip(sizes, sizes[1:]):
                self.layers.append(aj.layers.Dense(n_in, n_out, activation=aj.nn.relu,
                                                   name=layer_name))
        if dtype != np.float32:
            for layer in self.layers:
                layer.w = aj.Variable(layer.w.numpy().astype(dtype), name="w")
                layer.b = aj.Variable(layer.b.numpy().astype(dtype), name="b")

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def train(model, optimizer, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    n_in = model.layers[0].w.shape[0]
    dtype = model.layers[0].w.dtype
    for _ in range(steps):
        x = aj.constant(rng.normal(size=(5, n_in)).astype(dtype))
        optimizer.minimize(lambda x=x: aj.reduce_sum(aj.square(model(x))),
                           model.trainable_variables)


def snapshot(*objects):
    """Every Variable's value (and how many an optimizer has), to check nothing changed."""
    values = []
    for obj in objects:
        for var in obj.variables:
            values.append((var.name, var.numpy()))
    return values


def assert_unchanged(before, *objects):
    after = snapshot(*objects)
    assert [name for name, _ in after] == [name for name, _ in before]
    for (name, old), (_, new) in zip(before, after):
        assert np.array_equal(old, new), f"{name} changed"


def trained(optimizer_factory=lambda: aj.optimizers.Adam(learning_rate=0.01), seed=0):
    aj.random.set_seed(seed)
    model = MLP()
    optimizer = optimizer_factory()
    train(model, optimizer, seed=seed)
    return model, optimizer


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("factory", [
    lambda: aj.optimizers.Adam(learning_rate=0.01),
    lambda: aj.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    lambda: aj.optimizers.RMSprop(learning_rate=0.01, momentum=0.5),
    lambda: aj.optimizers.SGD(learning_rate=0.05),
], ids=["adam", "sgd-nesterov", "rmsprop-momentum", "sgd-plain"])
def test_round_trip_is_bit_identical_and_training_continues_identically(tmp_path, factory):
    model, optimizer = trained(factory)
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).save(tmp_path / "ckpt")
    assert path == str(tmp_path / "ckpt-1.npz")

    fresh_model, fresh_optimizer = trained(factory, seed=1)  # different values, same build
    aj.train.Checkpoint(model=fresh_model, optimizer=fresh_optimizer).restore(path)
    for a, b in zip(model.variables, fresh_model.variables):
        assert np.array_equal(a.numpy(), b.numpy()) and a.numpy().dtype == b.numpy().dtype
    assert int(fresh_optimizer.iterations) == int(optimizer.iterations) == 3
    for var, fresh_var in zip(model.trainable_variables, fresh_model.trainable_variables):
        for name in optimizer.slot_names:
            assert np.array_equal(optimizer.get_slot(var, name).numpy(),
                                  fresh_optimizer.get_slot(fresh_var, name).numpy())
    # Both continue to the same weights, bit for bit.
    train(model, optimizer, seed=7)
    train(fresh_model, fresh_optimizer, seed=7)
    for a, b in zip(model.variables, fresh_model.variables):
        assert np.array_equal(a.numpy(), b.numpy())


def test_restore_matches_by_path_not_by_the_numbered_layer_names(tmp_path):
    # Note [Default module names]: a second build in one process gets new layer names
    # (dense_2/w:0 ...); the checkpoint keys by object path, so it restores all the same,
    # here and in a fresh process whose counter starts again at "dense".
    def build(seed):
        aj.random.set_seed(seed)
        model, optimizer = MLP(name=None, layer_name=None), aj.optimizers.Adam(0.01)
        train(model, optimizer, seed=seed)
        return model, optimizer

    model, optimizer = build(0)
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c.npz")
    again, again_optimizer = build(1)
    assert [v.name for v in again.variables] != [v.name for v in model.variables]
    aj.train.Checkpoint(model=again, optimizer=again_optimizer).read(path)
    for a, b in zip([*model.variables, *optimizer.variables],
                    [*again.variables, *again_optimizer.variables]):
        assert np.array_equal(a.numpy(), b.numpy())
    np.save(tmp_path / "w0.npy", model.layers[0].w.numpy())
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, autojit as aj
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_checkpoint import MLP
        model = MLP(name=None, layer_name=None)
        assert model.layers[0].w.name == "mlp/dense/w:0", model.layers[0].w.name
        assert model.layers[1].w.name == "mlp/dense_1/w:0", model.layers[1].w.name
        aj.train.Checkpoint(model=model, optimizer=aj.optimizers.Adam(0.01)).read(
            {str(path)!r})
        assert np.array_equal(model.layers[0].w.numpy(), np.load({str(tmp_path / "w0.npy")!r}))
        print("restored")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "restored"


def test_restore_creates_the_slots_of_a_fresh_optimizer(tmp_path):
    # Note [Restoring slots]: created at restore, not deferred to the first apply_gradients.
    model, optimizer = trained()
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c.npz")
    aj.random.set_seed(3)
    fresh_model, fresh_optimizer = MLP(), aj.optimizers.Adam(learning_rate=0.01)
    assert len(fresh_optimizer.variables) == 1  # iterations only
    aj.train.Checkpoint(model=fresh_model, optimizer=fresh_optimizer).read(path)
    assert len(fresh_optimizer.variables) == 1 + 2 * len(fresh_model.trainable_variables)
    w = fresh_model.layers[0].w
    assert np.array_equal(fresh_optimizer.get_slot(w, "v").numpy(),
                          optimizer.get_slot(model.layers[0].w, "v").numpy())


def test_restore_without_optimizer_slots_in_the_file_leaves_a_fresh_optimizer_fresh(tmp_path):
    aj.random.set_seed(0)
    model, optimizer = MLP(), aj.optimizers.Adam()
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c.npz")
    other = aj.optimizers.Adam()
    aj.train.Checkpoint(model=MLP(), optimizer=other).read(path)
    assert len(other.variables) == 1


def test_optimizer_build_and_slot_variables():
    # The two accessors restore uses: build creates zero slots once; slot_variables lists them.
    w = aj.Variable(np.ones((2, 3), np.float32), name="w")
    optimizer = aj.optimizers.Adam()
    assert optimizer.slot_variables() == []
    optimizer.build([w])
    optimizer.build([w])  # a second build keeps the slots it made
    [(var, slots)] = optimizer.slot_variables()
    assert var is w and sorted(slots) == ["m", "v"]
    assert slots["m"] is optimizer.get_slot(w, "m")
    assert np.array_equal(slots["v"].numpy(), np.zeros((2, 3), np.float32))
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="Adam.build: expected aj.Variables, got ndarray"):
        optimizer.build([np.zeros(3)])


def test_paths_follow_the_objects_and_the_file_is_a_plain_npz(tmp_path):
    model, optimizer = trained()
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c.npz")
    stored = np.load(path, allow_pickle=False)
    layers = [f"model/layers/{i}/{v}" for i in range(2) for v in ("b", "w")]
    slots = [f"optimizer/slots/{p}/{s}" for p in layers for s in ("m", "v")]
    assert sorted(stored.files) == sorted(["index.json", *layers, "optimizer/iterations",
                                           *slots])
    assert np.array_equal(stored["model/layers/1/w"], model.layers[1].w.numpy())
    assert stored["optimizer/iterations"] == 3
    index = json.loads(zipfile.ZipFile(path).read("index.json"))
    assert index["format"] == "autojit.checkpoint" and index["version"] == 1
    assert {"path": "model/layers/0/w", "shape": [4, 8], "dtype": "float32"} in \
        index["variables"]


def test_nested_structures_tied_variables_and_a_variable_learning_rate(tmp_path):
    a = aj.Variable(np.arange(3.0, dtype=np.float32), name="a")
    b = aj.Variable(np.int32(7), name="b")
    lr = aj.Variable(0.5, name="lr")
    optimizer = aj.optimizers.SGD(learning_rate=lr)
    ckpt = aj.train.Checkpoint(items=[a, {"x/y": b, "again": a}], optimizer=optimizer)
    path = ckpt.write(tmp_path / "c.npz")
    assert sorted(np.load(path).files) == ["index.json", "items/0", "items/1/x%2Fy",
                                           "optimizer/iterations", "optimizer/learning_rate"]
    a.assign([9.0, 9.0, 9.0])
    b.assign(0)
    lr.assign(0.1)
    ckpt.read(path)
    assert a.numpy().tolist() == [0.0, 1.0, 2.0] and int(b) == 7 and float(lr) == 0.5
    assert ckpt.items[0] is a


def test_restore_reaches_a_graph_that_captured_the_variables(tmp_path):
    model, _ = trained()
    x = aj.constant(np.ones((2, 4), np.float32))
    expected = model(x).numpy()
    path = aj.train.Checkpoint(model=model).write(tmp_path / "c.npz")
    aj.random.set_seed(5)
    other = MLP()
    forward = aj.function(lambda inputs: other(inputs))
    forward(x)  # traced with the old values
    aj.train.Checkpoint(model=other).read(path)
    np.testing.assert_array_equal(forward(x).numpy(), expected)


def test_save_counter_numbers_saves_and_is_restored(tmp_path):
    v = aj.Variable(1.0)
    ckpt = aj.train.Checkpoint(v=v)
    first, second = ckpt.save(tmp_path / "c"), ckpt.save(tmp_path / "c")
    assert [os.path.basename(first), os.path.basename(second)] == ["c-1.npz", "c-2.npz"]
    other = aj.train.Checkpoint(v=aj.Variable(0.0))
    other.restore(first)
    assert other.save_counter == 1
    other.read(second)
    assert other.save_counter == 1  # read() leaves the counter alone
    assert ckpt.write(tmp_path / "sub" / "dir" / "x.npz").endswith("x.npz")  # makes dirs


@pytest.mark.skipif(not aj.gpu_available(), reason="needs CuPy and a CUDA GPU")
def test_gpu_variables_round_trip_through_host_memory(tmp_path):
    with aj.device("GPU:0"):
        model, optimizer = trained()
        other_model, other_optimizer = trained(seed=1)
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "g.npz")
    aj.train.Checkpoint(model=other_model, optimizer=other_optimizer).read(path)
    for a, b in zip(model.variables, other_model.variables):
        assert b.device.endswith("GPU:0") and np.array_equal(a.numpy(), b.numpy())


# ----------------------------------------------------------------------------- bad calls


def test_untrackable_objects_and_untracked_slots_are_errors(tmp_path):
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match=re.escape("Checkpoint: cannot track 'stuff/1', a str")):
        aj.train.Checkpoint(stuff=[aj.Variable(1.0), "hello"])
    with pytest.raises(aj.errors.InvalidArgumentError, match="nothing to track"):
        aj.train.Checkpoint()
    model, optimizer = trained()
    with pytest.raises(CheckpointError, match=re.escape(
            "Checkpoint.write: optimizer 'opt' has slots for variable 'mlp/dense/b:0', which "
            "no object of this Checkpoint holds; track the model")):
        aj.train.Checkpoint(opt=optimizer).write(tmp_path / "c.npz")
    assert not os.listdir(tmp_path)
    with pytest.raises(AttributeError, match="Checkpoint has no object 'modle'"):
        _ = aj.train.Checkpoint(model=model).modle


# ----------------------------------------------------------------------------- restore errors


@pytest.fixture
def saved(tmp_path):
    """A trained MLP + Adam saved to a file; a differently initialised pair to restore into."""
    model, optimizer = trained()
    path = aj.train.Checkpoint(model=model, optimizer=optimizer).write(tmp_path / "c.npz")
    target_model, target_optimizer = trained(seed=1)
    return path, target_model, target_optimizer


def restore_fails(path, match, model, optimizer, objects=None):
    objects = objects or {"model": model, "optimizer": optimizer}
    before = snapshot(model, optimizer)
    with pytest.raises(CheckpointError, match=match):
        aj.train.Checkpoint(**objects).restore(path)
    assert_unchanged(before, model, optimizer)


def test_a_missing_variable_is_named_and_nothing_changes(saved):
    path, _, _ = saved
    aj.random.set_seed(2)
    model, optimizer = MLP(sizes=(4, 8, 3, 3)), aj.optimizers.Adam(learning_rate=0.01)
    train(model, optimizer)
    restore_fails(path, re.escape("it has no value for 'model/layers/2/b' (variable "
                                  "'mlp/dense/b:0', float32[3]), 'model/layers/2/w' (variable "
                                  "'mlp/dense/w:0', float32[3, 3]), "
                                  "'optimizer/slots/model/layers/2/b/m'") + "[^;]*"
                  + re.escape("Nothing was restored"),
                  model, optimizer)
    restore_fails(path, re.escape("Nothing was restored"), model, optimizer)


def test_an_unexpected_variable_is_named_and_nothing_changes(saved):
    path, model, optimizer = saved
    restore_fails(path, re.escape("it holds values no object of this Checkpoint takes: "
                                  "'optimizer/iterations' (int64[])"),
                  model, optimizer, objects={"model": model})


def test_a_shape_mismatch_is_named_and_nothing_changes(saved):
    path, _, _ = saved
    aj.random.set_seed(2)
    model, optimizer = MLP(sizes=(4, 6, 3)), aj.optimizers.Adam(learning_rate=0.01)
    train(model, optimizer)
    restore_fails(path, re.escape("'model/layers/0/w' is float32[4, 8] in the file but "
                                  "variable 'mlp/dense/w:0' expects float32[4, 6]"),
                  model, optimizer)


def test_a_dtype_mismatch_is_named_and_nothing_changes(saved):
    path, _, _ = saved
    aj.random.set_seed(2)
    model, optimizer = MLP(dtype=np.float64), aj.optimizers.Adam(learning_rate=0.01)
    train(model, optimizer)
    restore_fails(path, re.escape("'model/layers/0/b' is float32[8] in the file but "
                                  "variable 'b:0' expects float64[8]") + ".* and 4 more",
                  model, optimizer)


def test_slots_for_a_fresh_optimizer_are_checked_before_any_are_created(saved, tmp_path):
    path, model, _ = saved
    arrays = archive.read_archive(path, "test")[1]
    del arrays["optimizer/slots/model/layers/1/w/v"]  # m without v
    partial = tmp_path / "partial.npz"
    with open(partial, "wb") as file:
        archive.write_archive(file, list(arrays.items()), {"save_counter": 0})
    fresh = aj.optimizers.Adam()
    restore_fails(partial, re.escape("it has no value for 'optimizer/slots/model/layers/1/w/v'"),
                  model, fresh)
    assert len(fresh.variables) == 1  # no slot was created


def test_a_path_that_does_not_exist_none_or_a_directory(saved, tmp_path):
    _, model, optimizer = saved
    restore_fails(tmp_path / "nope.npz",
                  re.escape(f"Checkpoint.restore: no checkpoint file at "
                            f"'{tmp_path / 'nope.npz'}'"), model, optimizer)
    restore_fails(None, re.escape("Checkpoint.restore: no checkpoint to restore: the path is "
                                  "None"), model, optimizer)
    restore_fails(tmp_path, "is a directory; pass a checkpoint file", model, optimizer)


def test_truncated_files_are_refused_at_every_length(saved, tmp_path):
    path, model, optimizer = saved
    data = Path(path).read_bytes()
    cut = tmp_path / "cut.npz"
    for length in sorted({0, 1, 10, 100, len(data) // 3, len(data) // 2, len(data) - 22,
                          len(data) - 1}):
        cut.write_bytes(data[:length])
        restore_fails(cut, re.escape(f"'{cut}'"), model, optimizer)


def test_garbage_and_flipped_bytes_are_refused(saved, tmp_path):
    path, model, optimizer = saved
    bad = tmp_path / "bad.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    restore_fails(bad, re.escape(f"'{bad}' is not a checkpoint: it is not a .npz"),
                  model, optimizer)
    data = bytearray(Path(path).read_bytes())
    with zipfile.ZipFile(path) as zf:  # flip a byte inside the last array's data
        info = zf.getinfo("optimizer/slots/model/layers/1/w/v.npy")
    data[info.header_offset + 30 + len(info.filename) + info.file_size - 3] ^= 0xFF
    bad.write_bytes(bytes(data))
    restore_fails(bad, "is corrupted or truncated .*CRC", model, optimizer)


def test_a_zip_that_is_not_a_checkpoint_is_refused(saved, tmp_path):
    _, model, optimizer = saved
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.zeros(3))
    restore_fails(plain, "has no index.json; it is a .npz archive but not a checkpoint",
                  model, optimizer)
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("index.json", "{not json")
    restore_fails(plain, "index.json of .* is not valid JSON", model, optimizer)
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("index.json", json.dumps({"format": "autojit.checkpoint", "version": 99,
                                               "variables": []}))
    restore_fails(plain, "is checkpoint format version 99; this autojit reads version 1",
                  model, optimizer)


def test_a_header_that_disagrees_with_the_index_is_refused(saved, tmp_path):
    _, model, optimizer = saved
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(lying, "w") as zf:
        zf.writestr("index.json", json.dumps({
            "format": "autojit.checkpoint", "version": 1,
            "variables": [{"path": "model/layers/0/b", "shape": [8], "dtype": "float32"}]}))
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(8, np.float64))
        zf.writestr("model/layers/0/b.npy", buffer.getvalue())
    restore_fails(lying, re.escape("member 'model/layers/0/b.npy' of") + ".*"
                  + re.escape("is float64[8] but the index says float32[8]"), model, optimizer)


# ----------------------------------------------------------------------------- no unpickling

UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append(True)
    return "boom"


class Payload:
    """Unpickling this runs ``_record_unpickling``: the test sees whether anything did."""

    def __reduce__(self):
        return (_record_unpickling, ())


def test_an_np_save_object_array_is_refused_without_unpickling(saved, tmp_path):
    _, model, optimizer = saved
    UNPICKLED.clear()
    single = tmp_path / "objects.npy"
    np.save(single, np.array([Payload()], dtype=object), allow_pickle=True)
    restore_fails(single, "is a single NumPy array \\(np.save\\), not a checkpoint",
                  model, optimizer)
    inside = tmp_path / "objects.npz"
    with zipfile.ZipFile(inside, "w") as zf:
        zf.writestr("index.json", json.dumps({
            "format": "autojit.checkpoint", "version": 1,
            "variables": [{"path": "model/layers/0/b", "shape": [1], "dtype": "object"}]}))
        buffer = io.BytesIO()
        np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
        zf.writestr("model/layers/0/b.npy", buffer.getvalue())
    restore_fails(inside, re.escape("holds Python objects (dtype object); refused"),
                  model, optimizer)
    assert UNPICKLED == []
    # The payload is live: loading it the unsafe way does run it.
    np.load(single, allow_pickle=True)
    assert UNPICKLED == [True]


# ----------------------------------------------------------------------------- SIGKILL

CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import autojit as aj
    mode, directory = sys.argv[1], sys.argv[2]
    big = aj.Variable(np.zeros((512, 1024), np.float32), name="big")   # 2 MiB per save
    step = aj.Variable(0, dtype=aj.int64, name="step")
    manager = aj.train.CheckpointManager(aj.train.Checkpoint(big=big, step=step), directory,
                                         max_to_keep=2)
    if mode == "block-before-replace":      # stop inside the first save, file complete
        real = os.replace
        def blocked(*args):
            print("blocked", flush=True); time.sleep(60)
        os.replace = blocked
    elif mode == "block-mid-write":          # stop inside the first save, half the data out
        real = np.lib.format.write_array
        def half(fp, array, *args, **kwargs):
            if array.size > 1:
                fp.write(b"\\x93NUMPY" + b"x" * 1000)
                fp.flush()
                print("blocked", flush=True); time.sleep(60)
            return real(fp, array, *args, **kwargs)
        np.lib.format.write_array = half
    else:
        manager.save()
        print("ready", flush=True)
    for k in range(1, 10**6):
        big.assign(np.full((512, 1024), k, np.float32))
        step.assign(k)
        manager.save()
""")


def start_child(mode, directory):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(directory)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = child.stdout.readline().decode()
    assert line.strip() in ("ready", "blocked"), child.stderr.read().decode()
    return child


def kill(child):
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    child.stderr.close()


def probe():
    big = aj.Variable(np.full((512, 1024), -1, np.float32))
    step = aj.Variable(-1, dtype=aj.int64)
    return big, step, aj.train.Checkpoint(big=big, step=step)


def test_sigkill_during_saves_leaves_a_loadable_checkpoint_and_no_torn_file(tmp_path):
    rng = np.random.default_rng(0)
    for trial in range(6):
        directory = tmp_path / f"run{trial}"
        child = start_child("loop", directory)
        time.sleep(float(rng.uniform(0.0, 0.3)))
        kill(child)
        big, step, ckpt = probe()
        latest = aj.train.latest_checkpoint(directory)
        assert latest is not None
        ckpt.restore(latest)
        values = big.numpy()
        assert (values == int(step)).all(), "the latest checkpoint is not one consistent save"
        # Every file the kill left: a complete, consistent checkpoint, or refused.
        for name in os.listdir(directory):
            if name == "checkpoint.json":
                json.loads((directory / name).read_text())
                continue
            big, step, ckpt = probe()
            try:
                ckpt.read(directory / name)
            except CheckpointError:
                assert name.endswith(".tmp"), f"{name} should be complete"
                assert (big.numpy() == -1).all() and int(step) == -1
                continue
            assert (big.numpy() == int(step)).all(), f"{name} loaded torn"


@pytest.mark.parametrize("mode", ["block-before-replace", "block-mid-write"])
def test_a_killed_first_save_leaves_nothing_loadable_and_a_clear_error(tmp_path, mode):
    child = start_child(mode, tmp_path)
    kill(child)
    assert aj.train.latest_checkpoint(tmp_path) is None
    manager = aj.train.CheckpointManager(probe()[2], tmp_path)
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    big, step, ckpt = probe()
    with pytest.raises(CheckpointError, match="no checkpoint to restore: the path is None"):
        ckpt.restore(aj.train.latest_checkpoint(tmp_path))
    with pytest.raises(CheckpointError, match="no checkpoint file at"):
        ckpt.restore(tmp_path / "ckpt-1.npz")
    leftovers = os.listdir(tmp_path)
    assert leftovers and all(n.startswith(".ckpt-1.npz.") and n.endswith(".tmp")
                             for n in leftovers)
    if mode == "block-mid-write":
        with pytest.raises(CheckpointError):
            ckpt.read(tmp_path / leftovers[0])
    assert (big.numpy() == -1).all() and int(step) == -1


# ----------------------------------------------------------------------------- manager


def test_manager_keeps_exactly_max_to_keep(tmp_path):
    v = aj.Variable(0.0)
    manager = aj.train.CheckpointManager(aj.train.Checkpoint(v=v), tmp_path, max_to_keep=3)
    assert manager.latest_checkpoint is None and manager.directory == str(tmp_path)
    for k in range(1, 8):
        v.assign(float(k))
        assert manager.save() == str(tmp_path / f"ckpt-{k}.npz")
        kept = min(k, 3)
        assert sorted(os.listdir(tmp_path)) == sorted(
            ["checkpoint.json", *[f"ckpt-{n}.npz" for n in range(k - kept + 1, k + 1)]])
    assert manager.checkpoints == [str(tmp_path / f"ckpt-{n}.npz") for n in (5, 6, 7)]
    assert manager.latest_checkpoint == aj.train.latest_checkpoint(tmp_path) == \
        str(tmp_path / "ckpt-7.npz")
    other = aj.Variable(-1.0)
    aj.train.Checkpoint(v=other).restore(manager.checkpoints[0])
    assert float(other) == 5.0
    reopened = aj.train.CheckpointManager(aj.train.Checkpoint(v=v), tmp_path, max_to_keep=3)
    assert reopened.checkpoints == manager.checkpoints
    assert reopened.save() == str(tmp_path / "ckpt-8.npz")
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".npz")]) == 3


def test_manager_orders_by_save_adopts_orphans_and_keeps_all_when_asked(tmp_path):
    v = aj.Variable(0.0)
    ckpt = aj.train.Checkpoint(v=v)
    manager = aj.train.CheckpointManager(ckpt, tmp_path, max_to_keep=2)
    for number in (5, 6, 1):  # a fresh run numbering by epoch over an old one
        manager.save(checkpoint_number=number)
    assert manager.checkpoints == [str(tmp_path / "ckpt-6.npz"), str(tmp_path / "ckpt-1.npz")]
    assert manager.latest_checkpoint == str(tmp_path / "ckpt-1.npz")
    ckpt.write(tmp_path / "ckpt-9.npz")  # as a save killed before the index was written
    reopened = aj.train.CheckpointManager(ckpt, tmp_path, max_to_keep=2)
    assert reopened.latest_checkpoint == str(tmp_path / "ckpt-1.npz")
    reopened.save(checkpoint_number=2)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.json", "ckpt-1.npz", "ckpt-2.npz"]
    everything = aj.train.CheckpointManager(ckpt, tmp_path / "all", max_to_keep=None)
    for _ in range(7):
        everything.save()
    assert len(everything.checkpoints) == 7


def test_manager_and_latest_checkpoint_errors(tmp_path):
    ckpt = aj.train.Checkpoint(v=aj.Variable(0.0))
    assert aj.train.latest_checkpoint(tmp_path / "missing") is None
    for bad in (0, -1, 2.5, True):
        with pytest.raises(aj.errors.InvalidArgumentError,
                           match="expected max_to_keep to be a positive int or None"):
            aj.train.CheckpointManager(ckpt, tmp_path, max_to_keep=bad)
    with pytest.raises(aj.errors.InvalidArgumentError, match="expected an aj.train.Checkpoint"):
        aj.train.CheckpointManager(object(), tmp_path)
    with pytest.raises(aj.errors.InvalidArgumentError, match="must be a plain file name"):
        aj.train.CheckpointManager(ckpt, tmp_path, checkpoint_name="a/b")
    (tmp_path / "checkpoint.json").write_text("{torn")
    with pytest.raises(CheckpointError, match=re.escape(
            f"latest_checkpoint: the checkpoint index '{tmp_path / 'checkpoint.json'}' is not "
            "valid JSON")):
        aj.train.latest_checkpoint(tmp_path)


# ----------------------------------------------------------------------------- progress


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_the_iterable_itself_off_a_terminal():
    items = [1, 2, 3]
    assert aj.train.progress(items, file=io.StringIO()) is items
    assert aj.train.progress(items, file=FakeTerminal(), disable=True) is items


def test_progress_falls_back_when_tqdm_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    items = [1, 2, 3]
    assert aj.train.progress(items, file=FakeTerminal()) is items


def test_progress_shows_a_tqdm_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = FakeTerminal()
    assert list(aj.train.progress(range(4), total=4, desc="epoch 1", file=stream)) == \
        [0, 1, 2, 3]
    assert "epoch 1:" in stream.getvalue() and "0/4" in stream.getvalue()
