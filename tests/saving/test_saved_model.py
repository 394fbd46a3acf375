"""``aj.saved_model``: a trained model saved and loaded without its class gives the same
predictions, gradients and training steps as the original; calls dispatch on the traced
signatures; what cannot be saved or called is a clear error."""

from __future__ import annotations

import collections
import json
import warnings
import zipfile

import numpy as np
import pytest

import autojit as aj
from autojit.errors import CheckpointError, SavedModelError
from autojit.train import archive

RNG = np.random.default_rng(7)


def data(*shape, dtype=np.float32):
    return aj.constant(RNG.normal(size=shape).astype(dtype))


def same(got, want):
    got, want = aj.nest.flatten(got), aj.nest.flatten(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if isinstance(w, aj.Tensor):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
        else:
            assert g == w


class Classifier(aj.Module):
    """A conv net with batch norm and dropout: training changes what __call__ does."""

    def __init__(self):
        super().__init__()
        self.net = aj.layers.Sequential([
            aj.layers.Conv2D(4, 3, padding="same", activation="relu"),
            aj.layers.BatchNormalization(),
            aj.layers.Flatten(),
            aj.layers.Dropout(0.25),
            aj.layers.Dense(3),
        ])

    @aj.function
    def __call__(self, x, training=False):
        return self.net(x, training=training)


class Trainer(aj.Module):
    """A model, its optimizer and a traced train step: all saved together."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.optimizer = aj.optimizers.Adam(1e-2)

    @aj.function
    def train_step(self, x, labels):
        with aj.GradientTape() as tape:
            logits = self.model(x, training=True)
            loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss


def images(n=6):
    return data(n, 5, 5, 2), aj.constant(RNG.integers(0, 3, n).astype(np.int64))


def test_a_trained_model_predicts_and_differentiates_the_same_after_loading(tmp_path):
    aj.random.set_seed(1)
    trainer = Trainer(Classifier())
    x, y = images()
    for _ in range(3):
        trainer.train_step(x, y)
    model = trainer.model
    want = model(x)
    aj.saved_model.save(model, tmp_path / "model")
    assert aj.saved_model.contains_saved_model(tmp_path / "model")
    loaded = aj.saved_model.load(tmp_path / "model")
    same(loaded(x), want)
    same(loaded(x, training=False), want)
    same(loaded(x, False), want)  # positional and keyword calls take the same graph
    assert [v.name for v in loaded.variables] == [v.name for v in model.variables]
    assert [v.name for v in loaded.trainable_variables] == \
        [v.name for v in model.trainable_variables]
    assert len(loaded.non_trainable_variables) == 2  # the batch norm's moving statistics
    for a, b in zip(loaded.variables, model.variables):
        assert a is not b and a.trainable == b.trainable
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert isinstance(loaded.net.layers[0].kernel, aj.Variable)

    def grads(m):
        with aj.GradientTape() as tape:
            total = aj.reduce_sum(aj.square(m(x)))
        return tape.gradient(total, m.trainable_variables)

    for g, w in zip(grads(loaded), grads(model)):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-7)


def test_a_loaded_train_step_keeps_training_as_the_original(tmp_path):
    aj.random.set_seed(3)
    trainer = Trainer(Classifier())
    x, y = images()
    trainer.model(x)  # the predict graph too
    for _ in range(2):
        trainer.train_step(x, y)
    aj.saved_model.save(trainer, tmp_path / "trainer")
    loaded = aj.saved_model.load(tmp_path / "trainer")
    assert int(loaded.optimizer.iterations) == 2
    aj.random.set_seed(11)
    want = [float(trainer.train_step(x, y)) for _ in range(3)]
    aj.random.set_seed(11)
    got = [float(loaded.train_step(x, y)) for _ in range(3)]
    assert got == want
    assert int(loaded.optimizer.iterations) == 5
    for a, b in zip(loaded.model.variables, trainer.model.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # the slots were saved and are trained in place: Adam's moments match too
    assert len(loaded.variables) == len(trainer.variables)


def test_an_rnn_and_an_embedding_round_trip(tmp_path):
    model = aj.layers.Sequential([aj.layers.Embedding(20, 6), aj.layers.LSTM(5),
                                  aj.layers.Dense(2)])
    tokens = aj.constant(RNG.integers(0, 20, (3, 7)).astype(np.int32))
    holder = aj.Module()
    holder.model = model
    holder.predict = aj.function(lambda t: model(t))
    want = holder.predict(tokens)
    aj.saved_model.save(holder, tmp_path / "rnn")
    loaded = aj.saved_model.load(tmp_path / "rnn")
    same(loaded.predict(tokens), want)
    other = aj.constant(RNG.integers(0, 20, (3, 7)).astype(np.int32))
    same(loaded.predict(other), holder.predict(other))


def test_input_signature_functions_are_traced_at_save_and_take_any_batch(tmp_path):
    class Scaler(aj.Module):
        def __init__(self):
            super().__init__()
            self.w = aj.Variable(np.array([1.0, 2.0, 3.0], np.float32), name="w")

        @aj.function(input_signature=[aj.TensorSpec([None, 3], aj.float32)])
        def scale(self, x):
            return x * self.w

    aj.saved_model.save(Scaler(), tmp_path / "s")  # never called: traced for its signature
    loaded = aj.saved_model.load(tmp_path / "s")
    for n in (1, 4):
        x = data(n, 3)
        np.testing.assert_array_equal(loaded.scale(x).numpy(),
                                      x.numpy() * np.float32([1.0, 2.0, 3.0]))
    assert len(loaded.scale.concrete_functions) == 1
    concrete = loaded.scale.get_concrete_function(aj.TensorSpec([None, 3], aj.float32))
    assert concrete.structured_input_signature[0].shape == (None, 3)


def test_every_traced_signature_is_kept_and_chosen_by_the_call(tmp_path):
    holder = aj.Module()

    @aj.function
    def f(x, mode="add", k=1):
        return x + k if mode == "add" else x * k

    holder.f = f
    x32, x64 = data(2), data(3, dtype=np.float64)
    calls = [((x32,), {}), ((x64,), {"mode": "mul", "k": 3}), ((x32, "mul"), {"k": 2.5})]
    wants = [f(*a, **k) for a, k in calls]
    aj.saved_model.save(holder, tmp_path / "f")
    loaded = aj.saved_model.load(tmp_path / "f")
    assert len(loaded.f.concrete_functions) == 3
    for (args, kwargs), want in zip(calls, wants):
        same(loaded.f(*args, **kwargs), want)
    same(loaded.f(x=x64, k=3, mode="mul"), wants[1])
    same(loaded.f(x32.numpy()), wants[0])  # a NumPy array where a tensor was traced
    with pytest.raises(SavedModelError, match=r"was called with \(float32\[2\], mode='mul'\)"
                                              r".*saved with graphs for \(x=float32\[2\], "
                                              r"mode='add', k=1; .*cannot trace again"):
        loaded.f(x32, mode="mul")
    with pytest.raises(SavedModelError, match="float32\\[5\\]"):
        loaded.f(data(5))
    with pytest.raises(SavedModelError, match="asked for"):
        loaded.f.get_concrete_function(aj.TensorSpec([7], aj.float32))


def test_structured_outputs_and_python_values_come_back(tmp_path):
    Pair = collections.namedtuple("Pair", "low high")
    holder = aj.Module()
    holder.split = aj.function(lambda x: {"pair": Pair(aj.reduce_min(x), aj.reduce_max(x)),
                                          "rows": [x[0], x[-1]], "tag": "minmax", "n": 2})
    x = data(4, 2)
    want = holder.split(x)
    aj.saved_model.save(holder, tmp_path / "o")
    got = aj.saved_model.load(tmp_path / "o").split(x)
    assert set(got) == {"pair", "rows", "tag", "n"} and got["tag"] == "minmax" and got["n"] == 2
    assert type(got["pair"]).__name__ == "Pair" and got["pair"]._fields == ("low", "high")
    same(got, want)


def test_loaded_functions_run_inside_another_function_and_save_again(tmp_path):
    model = aj.layers.Dense(3, 2)
    holder = aj.Module()
    holder.model = model
    holder.apply = aj.function(lambda x: aj.nn.relu(model(x)))
    x = data(4, 3)
    want = holder.apply(x)
    aj.saved_model.save(holder, tmp_path / "a")
    loaded = aj.saved_model.load(tmp_path / "a")

    @aj.function
    def doubled(x):
        return loaded.apply(x) * 2.0

    np.testing.assert_array_equal(doubled(x).numpy(), want.numpy() * 2.0)
    loaded.model.w.assign(loaded.model.w * 0.0)  # the inlined graph reads the live Variable
    np.testing.assert_array_equal(doubled(data(4, 3)).numpy(),
                                  np.maximum(loaded.model.b.numpy(), 0) * 2.0 + np.zeros((4, 2)))
    aj.saved_model.save(loaded, tmp_path / "again")
    again = aj.saved_model.load(tmp_path / "again")
    same(again.apply(x), loaded.apply(x))
    assert [v.name for v in again.variables] == [v.name for v in model.variables]


def test_a_variable_or_module_held_twice_is_one_object_after_loading(tmp_path):
    shared = aj.layers.Dense(3, 3)
    holder = aj.Module()
    holder.blocks = {"a": shared, "b": aj.layers.Dense(3, 3)}
    holder.again = [shared]
    holder.tied = shared.w
    holder.f = aj.function(lambda x: holder.blocks["b"](shared(x)) * holder.tied[0, 0])
    x = data(2, 3)
    want = holder.f(x)
    aj.saved_model.save(holder, tmp_path / "tied")
    loaded = aj.saved_model.load(tmp_path / "tied")
    assert loaded.again[0] is loaded.blocks["a"] and loaded.tied is loaded.blocks["a"].w
    assert [v.name for v in loaded.variables] == [v.name for v in holder.variables]
    same(loaded.f(x), want)
    loaded.tied.assign(loaded.tied * 2.0)  # one Variable: the function reads the new value
    assert not np.allclose(loaded.f(x).numpy(), want.numpy())


def test_signatures_are_found_under_their_names(tmp_path):
    model = aj.layers.Dense(3, 2)
    serve = aj.function(lambda x: aj.nn.softmax(model(x)))
    concrete = serve.get_concrete_function(aj.TensorSpec([None, 3], aj.float32))
    aj.saved_model.save(model, tmp_path / "sig", signatures=concrete)
    loaded = aj.saved_model.load(tmp_path / "sig")
    x = data(5, 3)
    same(loaded.signatures["serving_default"](x), serve(x))
    with pytest.raises(SavedModelError, match="signatures\\['serve'\\] is a function"):
        aj.saved_model.save(model, tmp_path / "bad", signatures={"serve": lambda x: x})


def test_loading_on_a_device_scope_puts_the_variables_there(tmp_path):
    model = aj.layers.Dense(3, 2)
    holder = aj.Module()
    holder.model = model
    holder.f = aj.function(lambda x: model(x))
    x = data(2, 3)
    holder.f(x)
    aj.saved_model.save(holder, tmp_path / "d")
    with aj.device("CPU:0"):
        loaded = aj.saved_model.load(tmp_path / "d")
    assert all(v.device == "CPU:0" for v in loaded.variables)
    same(loaded.f(x), holder.f(x))


def test_the_file_holds_no_code_and_numpy_reads_the_weights(tmp_path):
    model = aj.layers.Dense(3, 2)
    holder = aj.Module()
    holder.model = model
    holder.f = aj.function(lambda x: model(x) + np.arange(2.0, dtype=np.float32))
    holder.f(data(1, 3))
    path = aj.saved_model.save(holder, tmp_path / "n")
    with np.load(path, allow_pickle=False) as arrays:
        np.testing.assert_array_equal(arrays["variables/root/model/w"], model.w.numpy())
        assert any(name.startswith("constants/") for name in arrays.files)


# ----------------------------------------------------------------------------- errors


def test_saving_what_is_not_a_module_is_an_error(tmp_path):
    with pytest.raises(SavedModelError, match="expected an aj.Module .* got a function"):
        aj.saved_model.save(lambda x: x, tmp_path / "x")


def test_a_function_reading_a_variable_the_object_does_not_hold_is_an_error(tmp_path):
    outside = aj.Variable(2.0, name="outside")
    holder = aj.Module()
    holder.f = aj.function(lambda x: x * outside)
    holder.f(data(2))
    with pytest.raises(SavedModelError, match=r"`read_variable` \(at .*test_saved_model.py:\d+\)"
                                              r".*Variable 'outside:0', which the saved object "
                                              "does not hold; make it an attribute"):
        aj.saved_model.save(holder, tmp_path / "v")
    assert not (tmp_path / "v" / "saved_model.npz").exists()


def test_a_variable_or_an_object_argument_is_an_error(tmp_path):
    v = aj.Variable(np.ones(2, np.float32))
    holder = aj.Module()
    holder.v = v
    holder.f = aj.function(lambda x, w: x * w)
    holder.f(data(2), v)
    with pytest.raises(SavedModelError, match="argument `w` is the Variable"):
        aj.saved_model.save(holder, tmp_path / "a")
    holder.f = aj.function(lambda x, how: x * 2.0)
    holder.f(data(2), object())
    with pytest.raises(SavedModelError, match="argument `how` is a object"):
        aj.saved_model.save(holder, tmp_path / "b")


def test_a_returned_tensor_array_or_an_unsaveable_python_result_is_an_error(tmp_path):
    holder = aj.Module()
    holder.f = aj.function(lambda x: aj.TensorArray(aj.float32, size=2).write(0, x),
                           autograph=False)
    holder.f(data(3))
    with pytest.raises(SavedModelError, match=r"returns an aj.TensorArray; return ta.stack\(\)"):
        aj.saved_model.save(holder, tmp_path / "ta")
    marker = object()
    holder.f = aj.function(lambda x: (x * 2.0, marker), autograph=False)
    holder.f(data(3))
    with pytest.raises(SavedModelError, match="a Python value it returns is a object .*a saved "
                                              "function holds only numbers"):
        aj.saved_model.save(holder, tmp_path / "py")


def test_a_function_never_called_is_left_out_with_a_warning(tmp_path):
    holder = aj.Module()
    holder.f = aj.function(lambda x: x + 1.0)
    with pytest.warns(UserWarning, match=r"root.f was never called.*not saved"):
        aj.saved_model.save(holder, tmp_path / "w")
    loaded = aj.saved_model.load(tmp_path / "w")
    assert not hasattr(loaded, "f")
    with pytest.raises(SavedModelError, match="not callable"):
        loaded(data(2))


def test_loading_what_is_not_a_saved_model_is_an_error(tmp_path):
    with pytest.raises(SavedModelError, match="holds no saved model"):
        aj.saved_model.load(tmp_path / "missing")
    assert not aj.saved_model.contains_saved_model(tmp_path / "missing")
    (tmp_path / "ck").mkdir()
    aj.train.Checkpoint(m=aj.layers.Dense(2, 2)).write(tmp_path / "ck" / "saved_model.npz")
    with pytest.raises(SavedModelError, match="not a saved model"):
        aj.saved_model.load(tmp_path / "ck")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError):
        aj.saved_model.load(tmp_path / "junk")


def test_a_graph_naming_an_unknown_op_is_refused_by_name(tmp_path):
    holder = aj.Module()
    holder.f = aj.function(lambda x: aj.exp(x))
    holder.f(data(2))
    path = aj.saved_model.save(holder, tmp_path / "u")
    index, arrays = archive.read_archive(path, "test")
    program = index["saved_model"]
    node = program["modules"][0]["functions"][0]["concretes"][0]["graph"]["nodes"][0]
    assert node["op"] == "exp"
    node["op"] = "exp_from_the_future"
    with open(path, "wb") as file:
        archive.write_archive(file, list(arrays.items()), {"saved_model": program})
    with pytest.raises(SavedModelError, match="'exp_from_the_future', which this autojit does "
                                              "not define"):
        aj.saved_model.load(tmp_path / "u")


def test_the_index_is_json_a_person_can_read(tmp_path):
    holder = aj.Module()
    holder.f = aj.function(lambda x: aj.reduce_sum(x[1:, ::-1], axis=0))
    holder.f(data(3, 2))
    path = aj.saved_model.save(holder, tmp_path / "j")
    with zipfile.ZipFile(path) as z:
        index = json.loads(z.read("index.json"))
    nodes = index["saved_model"]["modules"][0]["functions"][0]["concretes"][0]["graph"]["nodes"]
    assert [n["op"] for n in nodes] == ["getitem", "reduce_sum"]
    assert nodes[0]["attrs"]["key"] == {"index_key": [{"slice": [1, None, None]},
                                                      {"slice": [None, None, -1]}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aj.saved_model.load(tmp_path / "j")


@pytest.mark.skipif(not aj.gpu_available(),
                    reason="needs CuPy and a CUDA device (run bench/gpu_check.sh on a GPU machine)")
def test_a_model_saved_on_the_cpu_loads_and_trains_on_the_gpu(tmp_path):
    aj.random.set_seed(5)
    trainer = Trainer(Classifier())
    x, y = images()
    trainer.model(x)
    trainer.train_step(x, y)
    aj.saved_model.save(trainer, tmp_path / "t")
    with aj.device("GPU:0"):
        loaded = aj.saved_model.load(tmp_path / "t")
        gx, gy = x.to("GPU:0"), y.to("GPU:0")
        assert all(v.device == "GPU:0" for v in loaded.variables)
        np.testing.assert_allclose(loaded.model(gx).numpy(), trainer.model(x).numpy(),
                                   rtol=1e-4, atol=1e-5)
        losses = [float(loaded.train_step(gx, gy)) for _ in range(3)]
    want = [float(trainer.train_step(x, y)) for _ in range(3)]
    np.testing.assert_allclose(losses, want, rtol=1e-3)  # dropout masks differ by device
