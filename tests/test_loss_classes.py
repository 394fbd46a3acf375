"""Tests for the ``aj.losses`` classes (``Loss`` and its Keras subclasses): values against
independent NumPy formulas for every reduction, with and without ``sample_weight``;
gradients against central differences in float64; ``@aj.function``; a training loop with
``aj.keras.Sequential``; configs; and the error messages."""

import re

import numpy as np
import pytest

import autojit as aj
from autojit.errors import DTypeError, InvalidArgumentError, ShapeError
from tests.numeric import numeric_grad

L = aj.losses
EPS = 1e-7
RNG = np.random.default_rng(7)
B, C = 5, 4  # batch, classes / features


# ----------------------------------------------------------------------------- NumPy refs
# Written from the formulas (Keras' docs), not from autojit's code.


def log_softmax(z, axis=-1):
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def np_bce(y, p, from_logits, axis=-1):
    if from_logits:  # -z log s(x) - (1-z) log(1-s(x)) = z log(1+e^-x) + (1-z) log(1+e^x)
        per = y * np.logaddexp(0, -p) + (1 - y) * np.logaddexp(0, p)
    else:
        q = np.clip(p, EPS, 1 - EPS)
        per = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return per.mean(axis)


def np_cce(y, p, from_logits, axis=-1):
    if from_logits:
        return -(y * log_softmax(p, axis)).sum(axis)
    q = np.clip(p / p.sum(axis, keepdims=True), EPS, 1 - EPS)
    return -(y * np.log(q)).sum(axis)


def np_scce(labels, p, from_logits):
    logp = log_softmax(p) if from_logits else np.log(np.clip(p, EPS, 1 - EPS) /
                                                     np.clip(p, EPS, 1 - EPS).sum(-1,
                                                                                  keepdims=True))
    return -np.take_along_axis(logp, labels[..., None], -1)[..., 0]


def np_huber(y, p, delta=1.0):
    e = np.abs(p - y)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(-1)


def np_reduce(per_sample, weight, reduction):
    weighted = per_sample if weight is None else per_sample * np.asarray(weight)
    assert weighted.shape == per_sample.shape
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / per_sample.size  # sum_over_batch_size (and auto)


# ----------------------------------------------------------------------------- the cases

LOGITS = RNG.normal(size=(B, C)) * 2
PROBS = softmax(RNG.normal(size=(B, C)))
REGRESSION_T = RNG.normal(size=(B, C))
REGRESSION_P = REGRESSION_T + RNG.normal(size=(B, C)) * 1.5  # both Huber branches
BINARY_T = RNG.integers(0, 2, size=(B, C)).astype(np.float64)
ONE_HOT = np.eye(C)[RNG.integers(0, C, size=B)]
LABELS = RNG.integers(0, C, size=B)


def _case(name, from_logits):
    """(loss object, y_true, y_pred, per-sample NumPy reference) for one class."""
    pred = LOGITS if from_logits else PROBS
    if name == "MeanSquaredError":
        return L.MeanSquaredError, {}, REGRESSION_T, REGRESSION_P, \
            ((REGRESSION_P - REGRESSION_T) ** 2).mean(-1)
    if name == "MeanAbsoluteError":
        return L.MeanAbsoluteError, {}, REGRESSION_T, REGRESSION_P, \
            np.abs(REGRESSION_P - REGRESSION_T).mean(-1)
    if name == "Huber":
        return L.Huber, {}, REGRESSION_T, REGRESSION_P, np_huber(REGRESSION_T, REGRESSION_P)
    kwargs = {"from_logits": from_logits}
    if name == "BinaryCrossentropy":
        pred = LOGITS if from_logits else RNG.uniform(0.05, 0.95, size=(B, C))
        return L.BinaryCrossentropy, kwargs, BINARY_T, pred, np_bce(BINARY_T, pred, from_logits)
    if name == "CategoricalCrossentropy":
        return L.CategoricalCrossentropy, kwargs, ONE_HOT, pred, np_cce(ONE_HOT, pred,
                                                                        from_logits)
    return L.SparseCategoricalCrossentropy, kwargs, LABELS, pred, np_scce(LABELS, pred,
                                                                           from_logits)


REGRESSION = ["MeanSquaredError", "MeanAbsoluteError", "Huber"]
CROSS_ENTROPY = ["BinaryCrossentropy", "CategoricalCrossentropy",
                 "SparseCategoricalCrossentropy"]
CASES = [(n, False) for n in REGRESSION] + [(n, f) for n in CROSS_ENTROPY for f in (True, False)]
WEIGHTS = {"none": None, "scalar": 0.7, "batch": RNG.uniform(0.0, 2.0, size=B),
           "batch_1": RNG.uniform(0.0, 2.0, size=(B, 1)), "list": [1, 0, 2, 1, 3]}


def _ref_weight(weight):
    if weight is None:
        return None
    w = np.asarray(weight, np.float64)
    return w[:, 0] if w.ndim == 2 else w


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "auto"])
@pytest.mark.parametrize("weight", list(WEIGHTS))
@pytest.mark.parametrize("name,from_logits", CASES)
def test_values_against_numpy(name, from_logits, weight, reduction):
    cls, kwargs, y_true, y_pred, per_sample = _case(name, from_logits)
    loss = cls(reduction=reduction, **kwargs)
    out = loss(y_true, aj.constant(y_pred, dtype=aj.float64), sample_weight=WEIGHTS[weight])
    expected = np_reduce(per_sample, _ref_weight(WEIGHTS[weight]), reduction)
    assert out.dtype == aj.float64 and out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6 if from_logits else 1e-9)


@pytest.mark.parametrize("name,from_logits", CASES)
def test_float32_keeps_dtype(name, from_logits):
    cls, kwargs, y_true, y_pred, per_sample = _case(name, from_logits)
    out = cls(**kwargs)(y_true, aj.constant(y_pred, dtype=aj.float32))
    assert out.dtype == aj.float32 and out.shape == ()
    np.testing.assert_allclose(out.numpy(), per_sample.mean(), rtol=1e-5)


def test_default_reduction_is_sum_over_batch_size_and_names_are_tfs():
    names = {L.MeanSquaredError: "mean_squared_error", L.MeanAbsoluteError: "mean_absolute_error",
             L.Huber: "huber_loss", L.BinaryCrossentropy: "binary_crossentropy",
             L.CategoricalCrossentropy: "categorical_crossentropy",
             L.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy"}
    for cls, name in names.items():
        loss = cls()
        assert loss.reduction == "sum_over_batch_size" == L.Reduction.SUM_OVER_BATCH_SIZE
        assert loss.name == name
    assert L.MeanSquaredError(name="mse_2").name == "mse_2"


def test_sum_over_batch_size_divides_by_elements_not_weights():
    out = L.MeanSquaredError()([[0.0], [0.0], [0.0], [0.0]], aj.constant([[1.0], [2.0], [3.0],
                                                                          [4.0]]),
                               sample_weight=[1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(out.numpy(), 1.0 / 4)


def test_weight_of_batch_rank_expands_over_a_time_axis():
    logits = RNG.normal(size=(3, 6, C))
    labels = RNG.integers(0, C, size=(3, 6))
    weight = np.array([1.0, 0.5, 0.0])
    loss = L.SparseCategoricalCrossentropy(from_logits=True)
    out = loss(labels, aj.constant(logits, dtype=aj.float64), sample_weight=weight)
    per = -np.take_along_axis(log_softmax(logits), labels[..., None], -1)[..., 0]
    np.testing.assert_allclose(out.numpy(), (per * weight[:, None]).sum() / per.size, rtol=1e-9)
    full = RNG.uniform(size=(3, 6))  # a weight per time step too
    out = L.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(
        labels, aj.constant(logits, dtype=aj.float64), sample_weight=full)
    np.testing.assert_allclose(out.numpy(), (per * full).sum(), rtol=1e-9)


def test_integer_numpy_and_tensor_weights_are_cast():
    y_pred = aj.constant(REGRESSION_P, dtype=aj.float64)
    base = L.MeanSquaredError()(REGRESSION_T, y_pred, sample_weight=np.arange(B))
    cast = L.MeanSquaredError()(REGRESSION_T, y_pred, sample_weight=aj.constant(
        np.arange(B), dtype=aj.int32))
    expected = (((REGRESSION_P - REGRESSION_T) ** 2).mean(-1) * np.arange(B)).mean()
    np.testing.assert_allclose(base.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(cast.numpy(), expected, rtol=1e-12)


def test_empty_batch_gives_zero():
    out = L.MeanSquaredError()(np.zeros((0, 3)), aj.zeros((0, 3)))
    assert float(out) == 0.0


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_label_smoothing_and_axis(from_logits):
    pred = LOGITS if from_logits else RNG.uniform(0.05, 0.95, size=(B, C))
    smoothed = BINARY_T * (1 - 0.2) + 0.5 * 0.2
    loss = L.BinaryCrossentropy(from_logits=from_logits, label_smoothing=0.2)
    out = loss(BINARY_T, aj.constant(pred, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np_bce(smoothed, pred, from_logits).mean(),
                               rtol=1e-9)
    loss = L.BinaryCrossentropy(from_logits=from_logits, axis=0, reduction="none")
    out = loss(BINARY_T, aj.constant(pred, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np_bce(BINARY_T, pred, from_logits, axis=0),
                               rtol=1e-9)


@pytest.mark.parametrize("from_logits", [True, False])
def test_categorical_label_smoothing_and_axis(from_logits):
    pred = LOGITS if from_logits else PROBS
    smoothed = ONE_HOT * (1 - 0.1) + 0.1 / C
    loss = L.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=0.1)
    out = loss(ONE_HOT, aj.constant(pred, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np_cce(smoothed, pred, from_logits).mean(),
                               rtol=1e-9)
    # classes on axis 0: [classes, batch]
    loss = L.CategoricalCrossentropy(from_logits=from_logits, axis=0, reduction="none")
    out = loss(ONE_HOT.T, aj.constant(pred.T, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np_cce(ONE_HOT.T, pred.T, from_logits, axis=0),
                               rtol=1e-9)


def test_huber_delta():
    out = L.Huber(delta=0.5, reduction="none")(REGRESSION_T, aj.constant(REGRESSION_P,
                                                                         dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np_huber(REGRESSION_T, REGRESSION_P, 0.5),
                               rtol=1e-12)
    np.testing.assert_allclose(L.huber(REGRESSION_T, aj.constant(REGRESSION_P, dtype=aj.float64),
                                       delta=0.5).numpy(), out.numpy())


def test_new_functions_and_aliases():
    out = L.mean_absolute_error(REGRESSION_T, aj.constant(REGRESSION_P, dtype=aj.float64))
    np.testing.assert_allclose(out.numpy(), np.abs(REGRESSION_P - REGRESSION_T).mean(-1))
    assert L.mae is L.MAE is L.mean_absolute_error
    assert aj.keras.losses.huber is L.huber


def test_huge_logits_stay_finite():
    logits = aj.constant([[1000.0, -1000.0, 0.0]])
    assert np.isfinite(float(L.SparseCategoricalCrossentropy(from_logits=True)([1], logits)))
    assert np.isfinite(float(L.BinaryCrossentropy(from_logits=True)([[0.0, 1.0, 1.0]],
                                                                      logits)))


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("name,from_logits", CASES)
def test_gradients_against_finite_differences(name, from_logits):
    cls, kwargs, y_true, y_pred, _ = _case(name, from_logits)
    for reduction, weight in (("sum_over_batch_size", WEIGHTS["batch"]), ("sum", None)):
        loss = cls(reduction=reduction, **kwargs)
        pred = aj.constant(y_pred, dtype=aj.float64)
        with aj.GradientTape() as tape:
            tape.watch(pred)
            value = loss(y_true, pred, sample_weight=weight)
        auto = tape.gradient(value, pred).numpy()
        numeric = numeric_grad(
            lambda p: float(loss(y_true, aj.constant(p), sample_weight=weight)), y_pred)
        np.testing.assert_allclose(auto, numeric, rtol=1e-5, atol=1e-8)


def test_label_smoothing_gradient():
    loss = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3)
    pred = aj.constant(LOGITS, dtype=aj.float64)
    with aj.GradientTape() as tape:
        tape.watch(pred)
        value = loss(ONE_HOT, pred)
    numeric = numeric_grad(lambda p: float(loss(ONE_HOT, aj.constant(p))), LOGITS)
    np.testing.assert_allclose(tape.gradient(value, pred).numpy(), numeric, rtol=1e-5,
                               atol=1e-8)


# ----------------------------------------------------------------------------- aj.function


@pytest.mark.parametrize("name,from_logits", CASES)
def test_inside_function_traces_once_and_matches_eager(name, from_logits):
    cls, kwargs, y_true, y_pred, _ = _case(name, from_logits)
    loss = cls(**kwargs)
    weight = aj.constant(WEIGHTS["batch"], dtype=aj.float32)

    @aj.function
    def step(t, p, w):
        return loss(t, p, sample_weight=w)

    t = aj.constant(y_true) if y_true.dtype.kind == "i" else aj.constant(y_true, aj.float32)
    p = aj.constant(y_pred, dtype=aj.float32)
    eager = loss(t, p, sample_weight=weight).numpy()
    for _ in range(3):
        np.testing.assert_allclose(step(t, p, weight).numpy(), eager, rtol=1e-6)
    assert step.experimental_get_tracing_count() == 1


def test_inside_function_with_an_unknown_batch_counts_at_run_time():
    loss = L.SparseCategoricalCrossentropy(from_logits=True)
    step = aj.function(lambda t, p: loss(t, p)).get_concrete_function(
        aj.TensorSpec([None], aj.int64), aj.TensorSpec([None, C], aj.float64))
    for n in (2, 5):
        out = step(aj.constant(LABELS[:n], dtype=aj.int64), aj.constant(LOGITS[:n]))
        np.testing.assert_allclose(out.numpy(), np_scce(LABELS[:n], LOGITS[:n], True).mean(),
                                   rtol=1e-9)


def test_label_smoothing_with_an_unknown_class_count():
    loss = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    step = aj.function(lambda t, p: loss(t, p)).get_concrete_function(
        aj.TensorSpec([None, None], aj.float64), aj.TensorSpec([None, None], aj.float64))
    out = step(aj.constant(ONE_HOT), aj.constant(LOGITS))
    smoothed = ONE_HOT * 0.9 + 0.1 / C
    np.testing.assert_allclose(out.numpy(), np_cce(smoothed, LOGITS, True).mean(), rtol=1e-9)


# ----------------------------------------------------------------------------- training


def test_training_loop_with_keras_sequential_and_sparse_crossentropy():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(3, 2)) * 3
    labels = rng.integers(0, 3, size=96)
    x = (centers[labels] + rng.normal(size=(96, 2)) * 0.5).astype(np.float32)
    model = aj.keras.Sequential([aj.keras.layers.Dense(16, activation="relu"),
                                 aj.keras.layers.Dense(3)])
    loss_fn = aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = aj.keras.optimizers.Adam(0.05)

    @aj.function
    def train_step(x, y):
        with aj.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    xs, ys = aj.constant(x), aj.constant(labels)
    losses = [float(train_step(xs, ys)) for _ in range(60)]
    assert losses[-1] < 0.3 * losses[0], losses[::10]
    assert train_step.experimental_get_tracing_count() == 1


def test_keras_namespace():
    assert aj.keras.Sequential is aj.keras.layers.Sequential is aj.layers.Sequential
    for name in ("Loss", "Reduction", "MeanSquaredError", "MeanAbsoluteError",
                 "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
                 "Huber", "LossFunctionWrapper"):
        assert getattr(aj.keras.losses, name) is getattr(aj.losses, name)
        assert name in aj.losses.__all__


# ----------------------------------------------------------------------------- configs


def test_get_config_round_trips():
    loss = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, axis=0,
                                     reduction="sum", name="cce")
    config = loss.get_config()
    assert config == {"reduction": "sum", "name": "cce", "from_logits": True,
                      "label_smoothing": 0.1, "axis": 0}
    again = L.CategoricalCrossentropy.from_config(config)
    assert again.get_config() == config
    assert L.Huber(delta=2.0).get_config() == {"reduction": "sum_over_batch_size",
                                               "name": "huber_loss", "delta": 2.0}
    assert L.SparseCategoricalCrossentropy().get_config()["from_logits"] is False


def test_custom_loss_subclass_and_wrapper():
    class MeanCubicError(L.Loss):
        def call(self, y_true, y_pred):
            return aj.reduce_mean(aj.abs(y_pred - y_true) ** 3, axis=-1)

    loss = MeanCubicError(reduction="sum")
    assert loss.name == "mean_cubic_error"
    out = loss(REGRESSION_T, aj.constant(REGRESSION_P, dtype=aj.float64), sample_weight=0.5)
    np.testing.assert_allclose(out.numpy(),
                               0.5 * (np.abs(REGRESSION_P - REGRESSION_T) ** 3).mean(-1).sum())
    wrapped = L.LossFunctionWrapper(L.huber, name="h", delta=0.5)
    np.testing.assert_allclose(
        wrapped(REGRESSION_T, aj.constant(REGRESSION_P, dtype=aj.float64)).numpy(),
        np_huber(REGRESSION_T, REGRESSION_P, 0.5).mean())
    assert wrapped.get_config() == {"reduction": "sum_over_batch_size", "name": "h", "delta": 0.5}


# ----------------------------------------------------------------------------- errors


def test_bad_reduction():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "MeanSquaredError 'mean_squared_error': expected reduction to be one of "
            "'sum_over_batch_size' (the default), 'sum', 'none' or 'auto', got 'mean'")):
        L.MeanSquaredError(reduction="mean")
    with pytest.raises(InvalidArgumentError, match=re.escape("got None")):
        L.Huber(reduction=None)


def test_sample_weight_that_does_not_broadcast():
    with pytest.raises(ShapeError, match=re.escape(
            "SparseCategoricalCrossentropy 'sparse_categorical_crossentropy': expected "
            "sample_weight of the per-sample loss's shape [5] (one weight per sample, or one "
            "that broadcasts to it, or a scalar), got [3]")):
        L.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS, sample_weight=[1, 2, 3])
    with pytest.raises(ShapeError, match=re.escape("shape [5] (one weight per sample, or one "
                                                   "that broadcasts to it, or a scalar), got "
                                                   "[5, 2]")):
        L.MeanSquaredError()(REGRESSION_T, REGRESSION_P, sample_weight=np.ones((B, 2)))


def test_bad_options():
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "BinaryCrossentropy 'binary_crossentropy': expected label_smoothing in [0, 1], "
            "got 1.5")):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "categorical_crossentropy: expected label_smoothing in [0, 1], got -0.1")):
        L.categorical_crossentropy(ONE_HOT, PROBS, label_smoothing=-0.1)
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Huber 'huber_loss': expected delta > 0, got 0")):
        L.Huber(delta=0)
    with pytest.raises(InvalidArgumentError, match=re.escape("huber: expected delta > 0, got -1")):
        L.huber(REGRESSION_T, REGRESSION_P, delta=-1)


def test_bad_inputs():
    with pytest.raises(DTypeError, match=re.escape(
            "binary_crossentropy: expected floating-point predictions, got int32")):
        L.BinaryCrossentropy()([[1, 0]], aj.constant([[1, 0]]))
    with pytest.raises(DTypeError, match=re.escape(
            "huber: expected floating-point predictions, got int32")):
        L.Huber()([[1, 0]], aj.constant([[1, 0]]))
    with pytest.raises(ShapeError, match=re.escape(
            "categorical_crossentropy: expected targets of the predictions' shape [5, 4], "
            "got [5, 3]")):
        L.CategoricalCrossentropy()(np.zeros((B, 3)), PROBS)
    with pytest.raises(NotImplementedError, match="must implement call"):
        L.Loss()(1.0, 2.0)
