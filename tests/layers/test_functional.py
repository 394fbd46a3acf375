"""Keras's functional API (autojit/layers/functional.py, base.Functional): ``aj.keras.Input``,
layers and operators on KerasTensors, ``aj.keras.Model(inputs, outputs)``, checked against the
same layers called directly on tensors and against NumPy."""

import inspect
import operator

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from autojit.layers.functional import KerasTensor

K = aj.keras
rng = np.random.default_rng(7)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _dense(layer, x):
    return x @ layer.w.numpy() + layer.b.numpy()


def test_mlp_matches_numpy_and_builds_at_once():
    inputs = K.Input(shape=(8,), name="x")
    first = K.layers.Dense(16, activation="relu")
    hidden = first(inputs)
    assert isinstance(hidden, KerasTensor) and tuple(hidden.shape) == (None, 16)
    assert first.w is not None and tuple(first.w.shape) == (8, 16)  # built by the call
    second, last = K.layers.Dense(16), K.layers.Dense(3)
    outputs = last(second(hidden) + hidden)
    model = K.Model(inputs, outputs)
    assert model.input_shape == (None, 8) and model.output_shape == (None, 3)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense",
                                                                "Dense"]
    assert [v.name for v in model.trainable_variables] == [
        v.name for layer in (first, second, last) for v in layer.trainable_variables]
    x = _x(5, 8)
    h = np.maximum(_dense(first, x), 0)
    want = _dense(last, _dense(second, h) + h)
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(aj.function(model)(aj.constant(x)).numpy(), want, rtol=1e-5,
                               atol=1e-6)


OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
             operator.floordiv, operator.mod, operator.lt, operator.ge]


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("reflected", [False, True])
def test_operators_record_and_replay(op, reflected):
    inputs = K.Input((3,))
    out = op(2.5, inputs) if reflected else op(inputs, 2.5)
    assert isinstance(out, KerasTensor)
    model = K.Model(inputs, out)
    x = np.abs(_x(4, 3)) + 0.5
    want = op(np.float32(2.5), x) if reflected else op(x, np.float32(2.5))
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-5)


def test_unary_operators_matmul_and_slices():
    a, b = K.Input((3,)), K.Input((3, 2))
    out = abs(-(a[:, None, :] @ b)[:, 0, ::-1])
    model = K.Model([a, b], out)
    assert model.output_shape == (None, 2)
    xa, xb = _x(4, 3), _x(4, 3, 2)
    want = np.abs(-(xa[:, None, :] @ xb)[:, 0, ::-1])
    np.testing.assert_allclose(model([xa, xb]).numpy(), want, rtol=1e-5)


def test_shared_layers_lists_dicts_lambda_and_nesting():
    a, b = K.Input((4,), name="a"), K.Input((3,), name="b")
    pa, pb, shared = K.layers.Dense(5), K.layers.Dense(5), K.layers.Dense(2)
    joined = K.layers.Concatenate()([shared(pa(a)), shared(pb(b))])
    out = K.layers.Lambda(lambda t, k: aj.nn.relu(t) * k, arguments={"k": 2.0})(joined)
    model = K.Model(inputs={"a": a, "b": b}, outputs=out)
    assert len(model.trainable_variables) == 6  # the shared layer once
    xa, xb = _x(6, 4), _x(6, 3)
    want = np.concatenate([_dense(shared, _dense(pa, xa)), _dense(shared, _dense(pb, xb))], 1)
    want = np.maximum(want, 0) * 2.0
    np.testing.assert_allclose(model({"a": xa, "b": xb}).numpy(), want, rtol=1e-5, atol=1e-6)
    # a functional model is a layer of another
    x = K.Input((3,))
    outer = K.Model(x, model({"a": K.layers.Dense(4)(x), "b": x}) * 3.0)
    assert outer.output_shape == (None, 4)
    inner_in = _dense(outer.layers[1], xb)
    np.testing.assert_allclose(outer(xb).numpy(), 3.0 * model({"a": inner_in, "b": xb}).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_training_reaches_dropout_and_batch_norm():
    inputs = K.Input((6,))
    norm = K.layers.BatchNormalization(momentum=0.5)
    out = K.layers.Dropout(0.5, seed=1)(norm(inputs))
    model = K.Model(inputs, out)
    x = _x(64, 6) * 3.0 + 1.0
    np.testing.assert_allclose(model(x).numpy(), model(x, training=False).numpy())
    assert not np.any(model(x).numpy() == 0)  # inference: no dropout
    model(x, training=True)
    np.testing.assert_allclose(norm.moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-4, atol=1e-5)
    assert np.mean(model(x, training=True).numpy() == 0) > 0.3  # training: dropout


def _copies():
    """A functional and a Sequential model with the same starting weights."""
    aj.random.set_seed(3)
    inputs = K.Input((4,))
    functional = K.Model(inputs, K.layers.Dense(2)(K.layers.Dense(8, activation="tanh")(inputs)))
    sequential = K.Sequential([K.layers.Dense(8, activation="tanh"), K.layers.Dense(2)])
    sequential(np.zeros((1, 4), np.float32))
    for mine, theirs in zip(sequential.trainable_variables, functional.trainable_variables):
        mine.assign(theirs)
    return functional, sequential


def test_fit_evaluate_predict_match_a_sequential_model():
    functional, sequential = _copies()
    x, y = _x(40, 4), _x(40, 2)
    for model in (functional, sequential):
        model.compile(K.optimizers.SGD(0.1), "mse")
    h1 = functional.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    h2 = sequential.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(functional.predict(x), sequential.predict(x), rtol=1e-5)
    assert functional.evaluate(x, y, verbose=0) == pytest.approx(
        sequential.evaluate(x, y, verbose=0), rel=1e-5)


def test_fit_takes_several_inputs():
    a, b = K.Input((3,)), K.Input((2,))
    model = K.Model([a, b], K.layers.Dense(1)(K.layers.Concatenate()([a, b])))
    model.compile(K.optimizers.SGD(0.05), "mse")
    xa, xb = _x(50, 3), _x(50, 2)
    y = xa[:, :1] - 2.0 * xb[:, 1:]
    history = model.fit([xa, xb], y, epochs=30, batch_size=10, verbose=0,
                        validation_split=0.2)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert "val_loss" in history.history
    assert model.predict([xa, xb]).shape == (50, 1)
    with pytest.raises(InvalidArgumentError, match="same number of examples, got 50 and 49"):
        model.fit([xa, xb[:49]], y, verbose=0)


def test_save_and_load_without_calling_first(tmp_path):
    inputs = K.Input((5,), name="features")
    model = K.Model(inputs, K.layers.Dense(3, activation="relu")(inputs))
    model.save(str(tmp_path / "m"))  # the Input gives the type: no fit or predict needed
    loaded = K.models.load_model(str(tmp_path / "m"))
    x = _x(7, 5)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_summary_lists_each_call_with_shapes_and_counts():
    inputs = K.Input((28, 28, 1), name="image")
    x = K.layers.Conv2D(4, 3, padding="same")(inputs)
    x = K.layers.BatchNormalization()(x)
    x = K.layers.Flatten()(K.layers.MaxPooling2D()(x))
    model = K.Model(inputs, K.layers.Dense(10)(x), name="cnn")
    lines: list = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "cnn"'
    for row in [("image (InputLayer)", "(None, 28, 28, 1)", "0"), ("(None, 28, 28, 4)", "40"),
                ("(None, 28, 28, 4)", "16"), ("(None, 14, 14, 4)",), ("(None, 784)",),
                ("(None, 10)", "7,850")]:
        assert any(all(cell in line for cell in row) for line in lines), (row, text)
    assert "Total params: 7,906" in text and "Non-trainable params: 8" in text


def test_sequential_from_an_input_builds_at_once_and_summarises():
    model = K.Sequential([K.Input((4,)), K.layers.Dense(3), K.layers.Dense(2)])
    assert [tuple(v.shape) for v in model.trainable_variables] == [(3,), (4, 3), (2,), (3, 2)]
    lines: list = []
    model.summary(print_fn=lines.append)
    assert any("(None, 2)" in line and "8" in line for line in lines)
    assert "Total params: 23" in "\n".join(lines)
    with pytest.raises(InvalidArgumentError, match="an aj.keras.Input may only come first"):
        model.add(K.Input((2,)))
    with pytest.raises(InvalidArgumentError, match="summary needs the input shape"):
        K.Sequential([K.layers.Dense(3)]).summary()


def test_subclassed_model_summary_after_a_call():
    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = K.layers.Dense(4), K.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    net = Net()
    with pytest.raises(InvalidArgumentError, match="summary needs the input shape"):
        net.summary()
    net.compile("sgd", "mse")
    net.predict(_x(3, 2))
    lines: list = []
    net.summary(print_fn=lines.append)
    assert "Total params: 17" in "\n".join(lines)
    assert any("(None, 1)" in line for line in lines)


def test_errors_say_what_was_expected():
    a, b = K.Input((3,), name="a"), K.Input((2,), name="b")
    model = K.Model([a, b], K.layers.Concatenate()([a, b]))
    with pytest.raises(ShapeError, match=r"input 'b' has shape \(None, 2\), got a tensor of "
                       r"shape \(4, 3\)"):
        model([_x(4, 3), _x(4, 3)])
    with pytest.raises(InvalidArgumentError, match="expected 2 inputs, got 1"):
        model([_x(4, 3)])
    with pytest.raises(InvalidArgumentError, match="an Input that is not in the model's inputs"):
        K.Model(a, K.layers.Concatenate()([a, b]))
    with pytest.raises(InvalidArgumentError, match="outputs must be KerasTensors"):
        K.Model(a, aj.constant([1.0]))
    with pytest.raises(InvalidArgumentError, match="an Input appears twice"):
        K.Model([a, a], a)
    with pytest.raises(InvalidArgumentError, match="expected a dict of inputs with keys"):
        K.Model({"a": a}, a)([_x(1, 3)])
    with pytest.raises(DTypeError, match="wrap the function in aj.keras.layers.Lambda"):
        aj.nn.relu(a)
    with pytest.raises(TypeError, match="a KerasTensor has no value"):
        bool(a > 0)
    with pytest.raises(TypeError, match="cannot be iterated: it has no value"):
        list(a)
    with pytest.raises(ShapeError, match=r"known feature dim(.|\n)*while calling Dense"):
        K.layers.Dense(3)(K.Input((None,)))
    with pytest.raises(InvalidArgumentError, match="expected shape="):
        K.Input()
    with pytest.raises(InvalidArgumentError, match="expected shape as a tuple of ints"):
        K.Input(("x",))
    with pytest.raises(InvalidArgumentError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(InvalidArgumentError, match="Lambda: expected a function"):
        K.layers.Lambda(3)


# Every layer class aj.keras.layers exports takes KerasTensors (accepts_keras_tensors): the
# types it records must be those of the same layer called on real tensors.
LAYERS = {
    "Activation": (lambda: K.layers.Activation("relu"), [(5, 3)]),
    "Add": (lambda: K.layers.Add(), [(5, 3), (5, 3)]),
    "Average": (lambda: K.layers.Average(), [(5, 3), (5, 3)]),
    "AveragePooling1D": (lambda: K.layers.AveragePooling1D(), [(5, 6, 2)]),
    "AveragePooling2D": (lambda: K.layers.AveragePooling2D(), [(5, 6, 6, 2)]),
    "BatchNormalization": (lambda: K.layers.BatchNormalization(), [(5, 3)]),
    "Bidirectional": (lambda: K.layers.Bidirectional(K.layers.LSTM(2)), [(5, 4, 3)]),
    "Concatenate": (lambda: K.layers.Concatenate(), [(5, 3), (5, 2)]),
    "Conv1D": (lambda: K.layers.Conv1D(2, 3), [(5, 7, 2)]),
    "Conv2D": (lambda: K.layers.Conv2D(2, 3, strides=2), [(5, 7, 7, 2)]),
    "Conv2DTranspose": (lambda: K.layers.Conv2DTranspose(2, 3, strides=2), [(5, 4, 4, 2)]),
    "Masking": (lambda: K.layers.Masking(), [(5, 4, 3)]),
    "DepthwiseConv2D": (lambda: K.layers.DepthwiseConv2D(3, depth_multiplier=2),
                        [(5, 6, 6, 2)]),
    "SeparableConv2D": (lambda: K.layers.SeparableConv2D(3, 3, padding="same"),
                        [(5, 6, 6, 2)]),
    "Dense": (lambda: K.layers.Dense(4), [(5, 3)]),
    "Dropout": (lambda: K.layers.Dropout(0.5), [(5, 3)]),
    "Embedding": (lambda: K.layers.Embedding(10, 4), [((5, 6), "int32")]),
    "Flatten": (lambda: K.layers.Flatten(), [(5, 3, 2)]),
    "GRU": (lambda: K.layers.GRU(3, return_sequences=True), [(5, 4, 2)]),
    "GlobalAveragePooling1D": (lambda: K.layers.GlobalAveragePooling1D(), [(5, 4, 2)]),
    "GlobalAveragePooling2D": (lambda: K.layers.GlobalAveragePooling2D(), [(5, 4, 4, 2)]),
    "GlobalMaxPooling1D": (lambda: K.layers.GlobalMaxPooling1D(), [(5, 4, 2)]),
    "GlobalMaxPooling2D": (lambda: K.layers.GlobalMaxPooling2D(), [(5, 4, 4, 2)]),
    "LSTM": (lambda: K.layers.LSTM(3, return_state=True), [(5, 4, 2)]),
    "Lambda": (lambda: K.layers.Lambda(lambda t: aj.reduce_sum(t, -1)), [(5, 3)]),
    "LayerNormalization": (lambda: K.layers.LayerNormalization(), [(5, 3)]),
    "MaxPooling1D": (lambda: K.layers.MaxPooling1D(), [(5, 6, 2)]),
    "MaxPooling2D": (lambda: K.layers.MaxPooling2D(), [(5, 6, 6, 2)]),
    "Maximum": (lambda: K.layers.Maximum(), [(5, 3), (5, 3)]),
    "Minimum": (lambda: K.layers.Minimum(), [(5, 3), (5, 3)]),
    "MultiHeadAttention": (lambda: K.layers.MultiHeadAttention(2, 4), [(5, 3, 6), (5, 4, 6)]),
    "Multiply": (lambda: K.layers.Multiply(), [(5, 3), (5, 3)]),
    "Reshape": (lambda: K.layers.Reshape((3, 2)), [(5, 6)]),
    "Sequential": (lambda: K.Sequential([K.layers.Dense(3), K.layers.Dense(1)]), [(5, 2)]),
    "SimpleRNN": (lambda: K.layers.SimpleRNN(3), [(5, 4, 2)]),
    "Subtract": (lambda: K.layers.Subtract(), [(5, 3), (5, 3)]),
    "TimeDistributed": (lambda: K.layers.TimeDistributed(K.layers.Dense(2)), [(5, 4, 3)]),
    "UpSampling2D": (lambda: K.layers.UpSampling2D(), [(5, 3, 3, 2)]),
    "ZeroPadding2D": (lambda: K.layers.ZeroPadding2D(), [(5, 3, 3, 2)]),
}
ALIASES = {"AvgPool1D", "AvgPool2D", "Convolution1D", "Convolution2D", "Convolution2DTranspose",
           "MaxPool1D", "MaxPool2D"}
NOT_LAYERS_OF_A_MODEL = {"GRUCell", "LSTMCell", "SimpleRNNCell",  # RNN's cells: (x, states)
                         "InputLayer", "Layer"}  # made by Model; the base class, tested above


def test_every_exported_layer_has_a_functional_case():
    exported = {name for name, value in vars(K.layers).items()
                if inspect.isclass(value) and issubclass(value, aj.Module)}
    assert exported - ALIASES - NOT_LAYERS_OF_A_MODEL == set(LAYERS)


def _inputs(specs):
    return [K.Input(shape[1:], dtype=dtype) for shape, dtype in
            ((s, "float32") if isinstance(s[0], int) else s for s in specs)]


def _values(specs):
    out = []
    for spec in specs:
        shape, dtype = (spec, "float32") if isinstance(spec[0], int) else spec
        out.append(rng.integers(0, 10, shape).astype(dtype) if dtype == "int32"
                   else _x(*shape))
    return out


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_records_the_types_it_computes(name):
    make, specs = LAYERS[name]
    layer = make()
    symbols, values = _inputs(specs), _values(specs)
    merging = name in {"Add", "Average", "Concatenate", "Maximum", "Minimum", "Multiply",
                       "Subtract"}

    def call(args):
        return layer(args) if merging else layer(*args)

    recorded = call(symbols)
    model = K.Model(symbols, recorded)
    eager = call([aj.constant(v) for v in values])
    for keras, real in zip(aj.nest.flatten(recorded), aj.nest.flatten(eager)):
        assert keras.dtype == real.dtype
        assert keras.shape[0] is None
        assert tuple(keras.shape)[1:] == tuple(real.shape)[1:]
    replayed = model(values)
    for got, want in zip(aj.nest.flatten(replayed), aj.nest.flatten(eager)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
