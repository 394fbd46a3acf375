"""Saving a loaded object again (``aj.saved_model.save(aj.saved_model.load(d), d2)``): the
object loaded a second (or third) time has the first one's signatures, functions, Variables
and trainable split, and computes what the original model computed."""

from __future__ import annotations

import numpy as np

import autojit as aj

L = aj.keras.layers
RNG = np.random.default_rng(11)


def data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def resaved(obj, tmp_path, times):
    """``obj`` saved and loaded ``times`` times, each load saved again."""
    for i in range(times):
        aj.saved_model.save(obj, tmp_path / f"round{i}")
        obj = aj.saved_model.load(tmp_path / f"round{i}")
    return obj


def keras_model():
    inputs = aj.keras.Input(shape=(4,))
    h = L.Dense(5, activation="relu")(inputs)
    h = L.Dropout(0.5)(L.BatchNormalization()(h))
    model = aj.keras.Model(inputs, L.Dense(2)(h))
    model.compile("adam", "mse")
    model.fit(data(16, 4), data(16, 2), epochs=2, batch_size=8, verbose=0)
    return model


def test_a_keras_model_loaded_and_saved_again_keeps_its_serving_signature(tmp_path):
    x = data(6, 4)
    model = aj.keras.Sequential([L.Dense(3), L.Dense(1)])
    want = model.predict(x)
    model.save(tmp_path / "model")
    loaded = aj.keras.models.load_model(tmp_path / "model")
    aj.saved_model.save(loaded, tmp_path / "again")
    again = aj.saved_model.load(tmp_path / "again")
    assert list(again.signatures) == ["serving_default"]
    np.testing.assert_array_equal(again.predict(x), want)
    np.testing.assert_array_equal(again(x).numpy(), want)
    np.testing.assert_array_equal(again.signatures["serving_default"](x).numpy(), want)


def test_three_rounds_give_the_original_outputs_variables_and_split(tmp_path):
    x = data(7, 4)
    model = keras_model()
    want = model.predict(x, batch_size=3)  # the same batches: the same BLAS calls
    model.save(tmp_path / "model")
    third = resaved(aj.keras.models.load_model(tmp_path / "model"), tmp_path, 3)
    np.testing.assert_array_equal(third.predict(x, batch_size=3), want)
    assert [v.name for v in third.variables] == [v.name for v in model.variables]
    assert [v.name for v in third.trainable_variables] == \
        [v.name for v in model.trainable_variables]
    assert len(third.non_trainable_variables) == 2  # the moving statistics
    for got, original in zip(third.variables, model.variables):
        np.testing.assert_array_equal(got.numpy(), original.numpy())


def test_a_module_with_traced_methods_is_callable_after_two_rounds(tmp_path):
    class ResavedNet(aj.Module):
        def __init__(self):
            super().__init__()
            self.dense = aj.layers.Dense(3, 2)

        @aj.function(input_signature=[aj.TensorSpec([None, 3], aj.float32)])
        def __call__(self, x):
            return aj.nn.relu(self.dense(x))

        @aj.function
        def scaled(self, x, factor=2.0):
            return self.dense(x) * factor

    net, x = ResavedNet(), data(5, 3)
    net.scaled(x)
    twice = resaved(net, tmp_path, 2)
    np.testing.assert_array_equal(twice(x).numpy(), net(x).numpy())
    np.testing.assert_array_equal(twice.scaled(x).numpy(), net.scaled(x).numpy())
    assert twice.signatures == {}  # none were given: none appear


def test_signatures_given_when_saving_a_loaded_object_replace_its_own(tmp_path):
    x = data(4, 4)
    model = aj.keras.Sequential([L.Dense(2)])
    want = model.predict(x)
    model.save(tmp_path / "model")
    loaded = aj.saved_model.load(tmp_path / "model")
    serve = loaded.signatures["serving_default"]
    aj.saved_model.save(loaded, tmp_path / "renamed", signatures={"predict": serve})
    renamed = aj.saved_model.load(tmp_path / "renamed")
    assert list(renamed.signatures) == ["predict"]
    np.testing.assert_array_equal(renamed.signatures["predict"](x).numpy(), want)


def test_a_frozen_layer_stays_frozen_through_save_and_load(tmp_path):
    x = data(5, 4)
    model = aj.keras.Sequential([L.Dense(3), L.Dense(1)])
    model(x)
    model.layers[0].trainable = False
    model.predict(x)
    model.save(tmp_path / "model")
    twice = resaved(aj.saved_model.load(tmp_path / "model"), tmp_path, 1)
    for loaded in (aj.saved_model.load(tmp_path / "model"), twice):
        assert [v.name for v in loaded.trainable_variables] == \
            [v.name for v in model.trainable_variables]
        assert [v.name for v in loaded.non_trainable_variables] == \
            [v.name for v in model.non_trainable_variables]
        assert not loaded.layers[0].trainable and loaded.layers[1].trainable
    np.testing.assert_array_equal(twice.predict(x), model.predict(x))


def test_a_loaded_object_freezes_as_a_module_does(tmp_path):
    x = data(3, 4)
    model = aj.keras.Sequential([L.Dense(3), L.Dense(1)])
    model.predict(x)
    model.save(tmp_path / "model")
    loaded = aj.saved_model.load(tmp_path / "model")
    first = [id(v) for v in loaded.layers[0].variables]
    loaded.layers[0].trainable = False
    assert [id(v) for v in loaded.non_trainable_variables] == first
    assert len(loaded.trainable_variables) == 2 and len(loaded.weights) == 4
    loaded.trainable = False
    assert loaded.trainable_variables == () and len(loaded.non_trainable_variables) == 4
    loaded.trainable = True
    assert len(loaded.trainable_variables) == 4 and loaded.non_trainable_variables == ()
