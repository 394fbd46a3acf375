"""Keras's multi-output training (autojit/layers/training.py, Note [Multi-output training]):
per-output losses given once, as a list or a dict, ``loss_weights``, per-output metrics and
their log names, ``y`` and ``sample_weight`` as lists or dicts, Datasets, validation, and the
errors, all checked against NumPy computations from the model's predictions."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError

K = aj.keras
RNG = np.random.default_rng(11)
N = 10
X = RNG.normal(size=(N, 4)).astype(np.float32)
YA = RNG.normal(size=(N, 1)).astype(np.float32)  # output "a": regression
YB = RNG.integers(0, 3, size=N)  # output "b": three classes (logits)
YC = RNG.normal(size=(N, 2)).astype(np.float32)  # output "c": regression
WA = RNG.uniform(0.0, 2.0, size=N).astype(np.float32)
WB = np.where(np.arange(N) % 3 == 0, 0.0, 1.5).astype(np.float32)
SCE = K.losses.SparseCategoricalCrossentropy(from_logits=True)


def classifier_and_regressor(dict_outputs: bool = False, regularized: bool = False):
    """Outputs ``a`` (Dense(1)) and ``b`` (Dense(3), logits) on a shared hidden layer."""
    aj.random.set_seed(0)
    inputs = K.Input(shape=(4,))
    hidden = K.layers.Dense(5, activation="tanh", name="hidden")(inputs)
    regularizer = K.regularizers.L2(0.5) if regularized else None
    a = K.layers.Dense(1, name="a", kernel_regularizer=regularizer)(hidden)
    b = K.layers.Dense(3, name="b")(hidden)
    return K.Model(inputs, {"reg": a, "cls": b} if dict_outputs else [a, b])


def two_regressors():
    """Outputs ``a`` (Dense(1)) and ``c`` (Dense(2)), each linear in the input."""
    aj.random.set_seed(0)
    inputs = K.Input(shape=(4,))
    return K.Model(inputs, [K.layers.Dense(1, name="a")(inputs),
                            K.layers.Dense(2, name="c")(inputs)])


def sgd(lr: float = 0.0):
    return K.optimizers.SGD(learning_rate=lr)


def squared(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean((pred - y) ** 2, axis=-1)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def per_sample(model) -> tuple:
    """The per-sample losses of outputs ``a`` (MSE) and ``b`` (cross-entropy), in NumPy."""
    pred_a, pred_b = model.predict(X)
    return squared(pred_a, YA), cross_entropy(pred_b, YB)


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# --- losses --------------------------------------------------------------------------------------

@pytest.mark.parametrize("run_eagerly", [False, True])
def test_a_list_of_losses_sums_them_and_logs_each_outputs_loss(run_eagerly):
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE], run_eagerly=run_eagerly)
    la, lb = per_sample(model)
    values = model.evaluate(X, [YA, YB], batch_size=4, verbose=0, return_dict=True)
    assert list(values) == ["loss", "a_loss", "b_loss"]  # Keras 3's names
    close([values["loss"], values["a_loss"], values["b_loss"]],
          [la.mean() + lb.mean(), la.mean(), lb.mean()])
    history = model.fit(X, (YA, YB), batch_size=4, epochs=2, verbose=0)  # a tuple too
    assert set(history.history) == {"loss", "a_loss", "b_loss"}
    close(history.history["loss"], [la.mean() + lb.mean()] * 2)
    close(history.history["b_loss"], [lb.mean()] * 2)


def test_a_dict_of_losses_is_keyed_by_the_output_layers_names():
    model = classifier_and_regressor()
    model.compile(sgd(), loss={"b": SCE, "a": "mse"})
    la, lb = per_sample(model)
    for y in ([YA, YB], {"b": YB, "a": YA}):
        close(model.evaluate(X, y, verbose=0), [la.mean() + lb.mean(), la.mean(), lb.mean()])


def test_one_loss_serves_every_output():
    model = two_regressors()
    model.compile(sgd(), loss="mse")
    pa, pc = model.predict(X)
    values = model.evaluate(X, [YA, YC], verbose=0, return_dict=True)
    close([values["loss"], values["a_loss"], values["c_loss"]],
          [squared(pa, YA).mean() + squared(pc, YC).mean(), squared(pa, YA).mean(),
           squared(pc, YC).mean()])


@pytest.mark.parametrize("loss_weights, wa, wb", [([0.5, 2.0], 0.5, 2.0),
                                                  ({"b": 3.0}, 1.0, 3.0),  # missing: 1
                                                  (0.25, 0.25, 0.25)])
def test_loss_weights_scale_the_total_not_the_logged_output_losses(loss_weights, wa, wb):
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE], loss_weights=loss_weights)
    la, lb = per_sample(model)
    values = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    close([values["loss"], values["a_loss"], values["b_loss"]],
          [wa * la.mean() + wb * lb.mean(), la.mean(), lb.mean()])


def test_the_total_loss_adds_the_regularizers_penalties_once():
    model = classifier_and_regressor(regularized=True)
    model.compile(sgd(), loss=["mse", SCE], loss_weights=[2.0, 1.0])
    la, lb = per_sample(model)
    penalty = 0.5 * np.sum(model.get_layer("a").w.numpy() ** 2)
    values = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    close([values["loss"], values["a_loss"]], [2.0 * la.mean() + lb.mean() + penalty,
                                               la.mean()])


def test_a_none_loss_leaves_its_output_untrained_and_its_targets_optional():
    model = classifier_and_regressor()
    model.compile(sgd(0.1), loss=["mse", None])
    la, _ = per_sample(model)
    head_b = model.get_layer("b").w.numpy().copy()
    head_a = model.get_layer("a").w.numpy().copy()
    # one loss: only the total is logged (Keras 3 logs each output's loss for two or more)
    assert model.evaluate(X, [YA, None], verbose=0, return_dict=True) == pytest.approx(
        {"loss": la.mean()}, rel=1e-5)
    with pytest.warns(UserWarning, match=r"gradients do not exist for variables \['b/b:0', "
                                         r"'b/w:0'\]"):  # as Keras's warning
        history = model.fit(X, {"a": YA}, batch_size=N, epochs=1, verbose=0)
    close(history.history["loss"], [la.mean()])
    np.testing.assert_array_equal(model.get_layer("b").w.numpy(), head_b)
    assert not np.allclose(model.get_layer("a").w.numpy(), head_a)


def test_fit_takes_the_steps_numpy_takes_with_loss_and_sample_weights():
    model = two_regressors()
    model.compile(sgd(0.1), loss="mse", loss_weights=[0.5, 2.0])
    heads = [[model.get_layer(n).w.numpy().astype(np.float64), model.get_layer(n).b.numpy()]
             for n in ("a", "c")]
    for _ in range(3):  # full batch: d/dpred of lw * sum(sw * mean_j (pred - y)^2) / n
        for (w, b), y, sw, lw in zip(heads, (YA, YC), (WA, WB), (0.5, 2.0)):
            grad = lw * sw[:, None] * 2 * (X @ w + b - y) / (N * y.shape[1])
            w -= 0.1 * X.T @ grad
            b -= 0.1 * grad.sum(axis=0)
    model.fit(X, [YA, YC], sample_weight=[WA, WB], batch_size=N, epochs=3, shuffle=False,
              verbose=0)
    for name, (w, b) in zip(("a", "c"), heads):
        close(model.get_layer(name).w.numpy(), w)
        close(model.get_layer(name).b.numpy(), b)


# --- metrics -------------------------------------------------------------------------------------

def test_a_flat_metrics_list_applies_to_every_output_named_output_metric():
    model = two_regressors()
    model.compile(sgd(), loss="mse", metrics=["mae"])
    pa, pc = model.predict(X)
    values = model.evaluate(X, [YA, YC], batch_size=3, verbose=0, return_dict=True)
    assert list(values) == ["loss", "a_mae", "c_mae", "a_loss", "c_loss"]  # Keras 3's order
    close([values["a_mae"], values["c_mae"]],
          [np.abs(pa - YA).mean(), np.abs(pc - YC).mean()])
    # evaluate's list: loss, each output's loss, then the rest by name (Keras 3's order)
    listed = model.evaluate(X, [YA, YC], verbose=0)
    close(listed, [values[k] for k in ("loss", "a_loss", "c_loss", "a_mae", "c_mae")])


@pytest.mark.parametrize("metrics", [[["mae", "mse"], ["accuracy"]],
                                     {"b": "accuracy", "a": ["mae", "mse"]}])
def test_metrics_per_output_as_a_list_of_lists_or_a_dict(metrics):
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE], metrics=metrics)
    pa, pb = model.predict(X)
    values = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    assert list(values) == ["loss", "a_mae", "a_mse", "b_accuracy", "a_loss", "b_loss"]
    close([values["a_mae"], values["a_mse"], values["b_accuracy"]],
          [np.abs(pa - YA).mean(), squared(pa, YA).mean(), (pb.argmax(1) == YB).mean()])
    # "accuracy" for b follows b's loss: sparse categorical
    assert isinstance(model.metrics[-1], aj.metrics.SparseCategoricalAccuracy)


def test_weighted_metrics_per_output_take_that_outputs_weights():
    model = two_regressors()
    model.compile(sgd(), loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    pa, pc = model.predict(X)
    ea, ec = np.abs(pa - YA).mean(axis=1), np.abs(pc - YC).mean(axis=1)
    values = model.evaluate(X, [YA, YC], sample_weight={"a": WA, "c": WB}, verbose=0,
                            return_dict=True)
    assert list(values) == ["loss", "a_mae", "c_mae", "a_weighted_mae", "c_weighted_mae",
                            "a_loss", "c_loss"]
    close([values["a_mae"], values["a_weighted_mae"], values["c_weighted_mae"]],
          [ea.mean(), np.sum(WA * ea) / WA.sum(), np.sum(WB * ec) / WB.sum()])


# --- sample_weight -------------------------------------------------------------------------------

def test_sample_weight_for_all_outputs_or_per_output():
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE])
    la, lb = per_sample(model)
    values = model.evaluate(X, [YA, YB], sample_weight=WA, verbose=0)  # one for all
    close(values, [(np.sum(WA * la) + np.sum(WA * lb)) / N, np.sum(WA * la) / N,
                   np.sum(WA * lb) / N])
    want = [(np.sum(WA * la) + np.sum(WB * lb)) / N, np.sum(WA * la) / N, np.sum(WB * lb) / N]
    close(model.evaluate(X, [YA, YB], sample_weight=[WA, WB], batch_size=3, verbose=0), want)
    close(model.evaluate(X, [YA, YB], sample_weight={"b": WB, "a": WA}, verbose=0), want)
    # an output left out (or None) is unweighted
    close(model.evaluate(X, [YA, YB], sample_weight={"b": WB}, verbose=0),
          [la.mean() + np.sum(WB * lb) / N, la.mean(), np.sum(WB * lb) / N])
    history = model.fit(X, [YA, YB], sample_weight=[None, WB], batch_size=4, epochs=1,
                        verbose=0)
    close(history.history["loss"], [la.mean() + np.sum(WB * lb) / N])


def test_the_step_traces_once_per_batch_shape():
    model = classifier_and_regressor()
    model.compile(sgd(0.01), loss=["mse", SCE], metrics=[["mae"], ["accuracy"]])
    for _ in range(2):
        model.fit(X, [YA, YB], sample_weight=[WA, WB], batch_size=4, epochs=2, verbose=0)
    assert model._compiled.train_step.tracing_count <= 2  # full batches, then the last
    model.evaluate(X, [YA, YB], batch_size=4, verbose=0)
    model.evaluate(X, [YA, YB], batch_size=4, verbose=0)
    assert model._compiled.test_step.tracing_count <= 2


# --- Datasets and validation ---------------------------------------------------------------------

@pytest.mark.parametrize("targets", [(YA, YB), {"a": YA, "b": YB}])
def test_a_dataset_with_structured_targets_trains_as_the_arrays_do(targets):
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE])
    la, lb = per_sample(model)
    data = aj.data.Dataset.from_tensor_slices((X, targets)).batch(4)
    close(model.evaluate(data, verbose=0), [la.mean() + lb.mean(), la.mean(), lb.mean()])
    weighted = aj.data.Dataset.from_tensor_slices((X, targets, (WA, WB))).batch(4)
    close(model.evaluate(weighted, verbose=0)[0], (np.sum(WA * la) + np.sum(WB * lb)) / N)
    history = model.fit(data, epochs=1, verbose=0)
    close(history.history["b_loss"], [lb.mean()])

    trained = classifier_and_regressor()
    trained.compile(sgd(0.1), loss=["mse", SCE])
    reference = classifier_and_regressor()
    reference.compile(sgd(0.1), loss=["mse", SCE])
    trained.fit(data, epochs=2, verbose=0)
    reference.fit(X, [YA, YB], batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(trained.variables, reference.variables):
        close(a.numpy(), b.numpy())


def test_validation_data_and_validation_split_with_structured_targets():
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE], metrics={"b": ["accuracy"]})
    la, lb = per_sample(model)
    history = model.fit(X, [YA, YB], epochs=1, verbose=0,
                        validation_data=(X, {"a": YA, "b": YB}, [WA, WB]))
    assert set(history.history) == {"loss", "a_loss", "b_loss", "b_accuracy", "val_loss",
                                    "val_a_loss", "val_b_loss", "val_b_accuracy"}
    close(history.history["val_a_loss"], [np.sum(WA * la) / N])
    history = model.fit(X, {"a": YA, "b": YB}, sample_weight=[WA, WB], validation_split=0.3,
                        epochs=1, verbose=0)
    close(history.history["val_b_loss"], [np.sum(WB[7:] * lb[7:]) / 3])
    close(history.history["a_loss"], [np.sum(WA[:7] * la[:7]) / 7])


# --- names and structures ------------------------------------------------------------------------

def test_dict_outputs_are_named_by_their_keys():
    model = classifier_and_regressor(dict_outputs=True)
    model.compile(sgd(), loss={"reg": "mse", "cls": SCE}, loss_weights={"cls": 0.5},
                  metrics={"cls": "accuracy"})
    pred = model.predict(X)
    assert sorted(pred) == ["cls", "reg"]
    la, lb = squared(pred["reg"], YA), cross_entropy(pred["cls"], YB)
    values = model.evaluate(X, {"reg": YA, "cls": YB}, verbose=0, return_dict=True)
    assert list(values) == ["loss", "cls_accuracy", "cls_loss", "reg_loss"]  # sorted keys
    close([values["loss"], values["reg_loss"], values["cls_loss"]],
          [la.mean() + 0.5 * lb.mean(), la.mean(), lb.mean()])


def test_output_names_come_from_the_layers_and_are_made_unique():
    aj.random.set_seed(0)
    inputs = K.Input(shape=(4,))
    head = K.layers.Dense(1)
    out = head(inputs)
    model = K.Model(inputs, [out, out * 2.0, out])  # the same output twice: made unique
    names = [head.name, "mul", f"{head.name}_1"]
    model.compile(sgd(), loss=dict(zip(names, ["mse", "mae", "mse"])))
    pred = model.predict(X)
    values = model.evaluate(X, [YA, YA, YA], verbose=0, return_dict=True)
    assert list(values) == ["loss", *(f"{n}_loss" for n in names)]
    close(values[f"{head.name}_loss"], squared(pred[0], YA).mean())
    close(values["mul_loss"], np.abs(pred[1] - YA).mean())


def test_one_output_in_a_list_trains_as_a_single_output():
    aj.random.set_seed(0)
    inputs = K.Input(shape=(4,))
    model = K.Model(inputs, [K.layers.Dense(1, name="a")(inputs)])
    model.compile(sgd(), loss={"a": "mse"}, metrics=["mae"])
    (pred,) = model.predict(X)
    for y in (YA, [YA], {"a": YA}):
        values = model.evaluate(X, y, verbose=0, return_dict=True)
        assert list(values) == ["loss", "mae"]  # one output: no prefix, as Keras
        close([values["loss"], values["mae"]], [squared(pred, YA).mean(),
                                                np.abs(pred - YA).mean()])


# --- errors --------------------------------------------------------------------------------------

def compiled_pair():
    model = classifier_and_regressor()
    model.compile(sgd(), loss=["mse", SCE])
    return model


def test_targets_that_do_not_match_the_outputs_are_errors():
    model = compiled_pair()
    with pytest.raises(InvalidArgumentError, match=r"fit: the model has 2 outputs \['a', "
                                                   r"'b'\]: expected y as a list of 2 targets "
                                                   r"in that order or a dict keyed by output "
                                                   r"name, got a list of 3"):
        model.fit(X, [YA, YB, YB], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"evaluate: the model has 2 outputs "
                                                   r"\['a', 'b'\]: expected y as a list .* "
                                                   r"got an array of shape \(10, 1\)"):
        model.evaluate(X, YA, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: y has key 'c', which is not one of "
                                                   r"the model's outputs \['a', 'b'\]"):
        model.fit(X, {"a": YA, "b": YB, "c": YA}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: y has no targets for output 'b', "
                                                   r"which has a loss or metrics"):
        model.fit(X, {"a": YA}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: y has no targets for output 'b'"):
        model.fit(X, [YA, None], verbose=0)
    data = aj.data.Dataset.from_tensor_slices((X, YA)).batch(5)
    with pytest.raises(InvalidArgumentError, match=r"fit: the model has 2 outputs"):
        model.fit(data, verbose=0)


def test_sample_weights_that_do_not_match_the_outputs_are_errors():
    model = compiled_pair()
    with pytest.raises(InvalidArgumentError, match=r"fit: expected sample_weight as one array "
                                                   r"for every output, or a list of 2 \(one "
                                                   r"per output \['a', 'b'\]\) or a dict keyed "
                                                   r"by output name, got a list of 3"):
        model.fit(X, [YA, YB], sample_weight=[WA, WB, WB], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"evaluate: sample_weight has key 'x', "
                                                   r"which is not one of the model's outputs"):
        model.evaluate(X, [YA, YB], sample_weight={"x": WA}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: expected sample_weight with one "
                                                   r"weight per example \(10\), got shape "
                                                   r"\(9,\)"):
        model.fit(X, [YA, YB], sample_weight=[WA, WB[:9]], verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"fit: class_weight is only supported for "
                                                   r"a model with one output"):
        model.fit(X, [YA, YB], class_weight={0: 1.0}, verbose=0)


def test_compile_arguments_that_do_not_match_the_outputs_are_errors():
    model = classifier_and_regressor()
    with pytest.raises(InvalidArgumentError, match=r"compile: loss has key 'c', which is not "
                                                   r"one of the model's outputs \['a', 'b'\]"):
        model.compile("sgd", loss={"a": "mse", "c": "mse"})
    with pytest.raises(InvalidArgumentError, match=r"compile: expected loss as one value for "
                                                   r"every output, a list of 2 \(one per "
                                                   r"output \['a', 'b'\]\) or a dict keyed by "
                                                   r"output name, got a list of 3"):
        model.compile("sgd", loss=["mse", "mse", "mse"])
    with pytest.raises(InvalidArgumentError, match=r"compile: every output's loss is None"):
        model.compile("sgd", loss=[None, None])
    with pytest.raises(InvalidArgumentError, match=r"compile: loss_weights has key 'z'"):
        model.compile("sgd", loss="mse", loss_weights={"z": 1.0})
    with pytest.raises(InvalidArgumentError, match=r"compile: expected loss_weights' entries "
                                                   r"to be numbers, got 'heavy' for output "
                                                   r"'b'"):
        model.compile("sgd", loss="mse", loss_weights=[1.0, "heavy"])
    with pytest.raises(InvalidArgumentError, match=r"compile: expected metrics as one value "
                                                   r"for every output, a list of 2"):
        model.compile("sgd", loss="mse", metrics=[["mae"], ["mae"], ["mae"]])
    with pytest.raises(InvalidArgumentError, match=r"compile: weighted_metrics has key 'q'"):
        model.compile("sgd", loss="mse", weighted_metrics={"q": ["mae"]})
    with pytest.raises(InvalidArgumentError, match=r"compile: the metric 'mean_absolute_error' "
                                                   r"\(MeanAbsoluteError\) is given more than "
                                                   r"once"):
        model.compile("sgd", loss="mse", metrics=[aj.metrics.MeanAbsoluteError()])
    with pytest.raises(InvalidArgumentError, match="unknown loss 'hinge'"):
        model.compile("sgd", loss=["mse", "hinge"])


def test_dict_outputs_take_dicts_not_lists():
    model = classifier_and_regressor(dict_outputs=True)
    with pytest.raises(InvalidArgumentError, match=r"compile: the model's outputs are a dict "
                                                   r"\['cls', 'reg'\], so loss must be a dict "
                                                   r"keyed by output name or one value for "
                                                   r"every output, not a list"):
        model.compile("sgd", loss=["mse", SCE])
    model.compile("sgd", loss={"reg": "mse", "cls": SCE})
    with pytest.raises(InvalidArgumentError, match=r"fit: the model's outputs are a dict "
                                                   r"\['cls', 'reg'\], so y must be a dict "
                                                   r"keyed by output name, got a list of 2"):
        model.fit(X, [YA, YB], verbose=0)


def test_a_subclassed_model_returning_two_outputs_with_one_loss_is_an_error():
    class Two(aj.keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = aj.keras.layers.Dense(1), aj.keras.layers.Dense(1)

        def call(self, x):
            return self.a(x), self.b(x)

    model = Two()
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), np.float32), np.ones((4, 1), np.float32)
    with pytest.raises(aj.errors.InvalidArgumentError,
                       match="returned 2 outputs \\(a tuple\\), but compile gave one loss"):
        model.fit(x, y, verbose=0)
