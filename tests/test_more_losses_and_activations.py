"""Keras's other losses (KL divergence, cosine similarity, hinge, log-cosh, Poisson) and
metrics (precision, recall, MSE, MAE, top-k accuracy), and the activations and ``aj.nn``
helpers (relu6, crelu, softsign, hard_sigmoid, bias_add, weighted cross-entropy,
compute_average_loss, depth_to_space/space_to_depth): values against NumPy written here,
gradients against central differences, eagerly and inside ``@aj.function``."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from tests.numeric import numeric_grad

RNG = np.random.default_rng(41)


def _softplus(x):
    return np.logaddexp(0.0, x)


LOSSES = {
    "kl_divergence": (aj.keras.losses.kl_divergence, aj.keras.losses.KLDivergence,
                      lambda t, p: np.sum(np.clip(t, 1e-7, 1) * np.log(np.clip(t, 1e-7, 1)
                                                                       / np.clip(p, 1e-7, 1)),
                                          -1), "prob"),
    "cosine_similarity": (aj.keras.losses.cosine_similarity, aj.keras.losses.CosineSimilarity,
                          lambda t, p: -np.sum(t / np.linalg.norm(t, axis=-1, keepdims=True)
                                               * p / np.linalg.norm(p, axis=-1, keepdims=True),
                                               -1), "normal"),
    "hinge": (aj.keras.losses.hinge, aj.keras.losses.Hinge,
              lambda t, p: np.mean(np.maximum(1 - (2 * t - 1) * p, 0), -1), "binary"),
    "log_cosh": (aj.keras.losses.log_cosh, aj.keras.losses.LogCosh,
                 lambda t, p: np.mean(np.log(np.cosh(p - t)), -1), "normal"),
    "poisson": (aj.keras.losses.poisson, aj.keras.losses.Poisson,
                lambda t, p: np.mean(p - t * np.log(p + 1e-7), -1), "rate"),
}


def _pair(kind):
    if kind == "prob":
        t, p = RNG.uniform(0.1, 1, (4, 3)), RNG.uniform(0.1, 1, (4, 3))
        return t / t.sum(-1, keepdims=True), p / p.sum(-1, keepdims=True)
    if kind == "binary":
        return RNG.integers(0, 2, (4, 3)).astype(np.float64), RNG.normal(size=(4, 3)) * 0.3
    if kind == "rate":
        return RNG.poisson(2.0, (4, 3)).astype(np.float64), RNG.uniform(0.5, 3, (4, 3))
    return RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_match_numpy_and_differentiate(name):
    fn, cls, ref, kind = LOSSES[name]
    t, p = _pair(kind)
    np.testing.assert_allclose(fn(aj.constant(t), aj.constant(p)).numpy(), ref(t, p),
                               rtol=1e-10)
    traced = aj.function(lambda a, b: cls()(a, b))
    np.testing.assert_allclose(float(traced(aj.constant(t), aj.constant(p))),
                               np.mean(ref(t, p)), rtol=1e-10)
    x = aj.constant(p)
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(fn(aj.constant(t), x))
    np.testing.assert_allclose(tape.gradient(total, x).numpy(),
                               numeric_grad(lambda v: float(np.sum(ref(t, v))), p),
                               rtol=1e-5, atol=1e-8)


def test_log_cosh_does_not_overflow():
    big = aj.constant(np.array([[1000.0, -1000.0]]))
    np.testing.assert_allclose(aj.keras.losses.log_cosh(aj.zeros([1, 2], aj.float64),
                                                        big).numpy(), [1000 - np.log(2)])


def test_precision_recall_and_regression_metrics_match_numpy():
    labels = RNG.integers(0, 2, 50)
    probs = RNG.uniform(size=50)
    weights = RNG.uniform(size=50)
    predicted = probs > 0.5
    tp = np.sum(weights * (predicted & (labels == 1)))
    fp = np.sum(weights * (predicted & (labels == 0)))
    fn = np.sum(weights * (~predicted & (labels == 1)))
    precision, recall = aj.keras.metrics.Precision(), aj.keras.metrics.Recall()
    for start in (0, 25):  # two updates accumulate
        sl = slice(start, start + 25)
        precision.update_state(labels[sl], probs[sl], sample_weight=weights[sl])
        recall.update_state(labels[sl], probs[sl], sample_weight=weights[sl])
    np.testing.assert_allclose(float(precision.result()), tp / (tp + fp), rtol=1e-5)
    np.testing.assert_allclose(float(recall.result()), tp / (tp + fn), rtol=1e-5)
    precision.reset_state()
    assert float(precision.result()) == 0.0
    y, p = RNG.normal(size=(6, 2)), RNG.normal(size=(6, 2))
    np.testing.assert_allclose(float(aj.keras.metrics.MeanSquaredError()(y, p)),
                               np.mean((y - p) ** 2), rtol=1e-6)
    np.testing.assert_allclose(float(aj.keras.metrics.MeanAbsoluteError()(y, p)),
                               np.mean(np.abs(y - p)), rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracy_matches_numpy(k):
    scores = RNG.normal(size=(40, 5))
    labels = RNG.integers(0, 5, 40)
    rank = (scores > scores[np.arange(40), labels][:, None]).sum(axis=1)
    want = float(np.mean(rank < k))
    got = aj.keras.metrics.SparseTopKCategoricalAccuracy(k=k)(labels, scores)
    np.testing.assert_allclose(float(got), want)
    one_hot = np.eye(5)[labels]
    traced = aj.function(lambda a, b: aj.metrics.top_k_categorical_accuracy(a, b, k=k))
    np.testing.assert_allclose(float(aj.reduce_mean(traced(aj.constant(one_hot),
                                                           aj.constant(scores)))), want)


ACTIVATIONS = {
    "relu6": (aj.nn.relu6, lambda x: np.clip(x, 0, 6)),
    "softsign": (aj.nn.softsign, lambda x: x / (1 + np.abs(x))),
    "hard_sigmoid": (aj.nn.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "crelu": (aj.nn.crelu, lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], -1)),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_numpy_and_differentiate(name):
    fn, ref = ACTIVATIONS[name]
    x0 = RNG.uniform(-8, 8, (3, 4))
    kinks = np.array([-6.0, -2.5, 0.0, 2.5, 6.0])  # relu6's, hard_sigmoid's, relu's
    near = np.min(np.abs(x0[..., None] - kinks), axis=-1) < 0.1
    x0 = np.where(near, x0 + 0.3, x0)
    np.testing.assert_allclose(fn(aj.constant(x0)).numpy(), ref(x0), rtol=1e-12)
    x = aj.constant(x0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(fn(x) ** 2)
    np.testing.assert_allclose(tape.gradient(total, x).numpy(),
                               numeric_grad(lambda v: float(np.sum(ref(v) ** 2)), x0),
                               rtol=1e-6, atol=1e-8)
    layer = aj.layers.Dense(3, activation=name if name != "crelu" else "relu6")
    assert layer(aj.ones((1, 2))).shape == (1, 3)


def test_nn_helpers_match_numpy():
    x = RNG.normal(size=(2, 3, 4, 5))
    b = RNG.normal(size=5)
    np.testing.assert_allclose(aj.nn.bias_add(aj.constant(x), aj.constant(b)).numpy(), x + b)
    bc = RNG.normal(size=3)
    np.testing.assert_allclose(aj.nn.bias_add(aj.constant(x), aj.constant(bc),
                                              data_format="NCHW").numpy(),
                               x + bc[:, None, None])
    z, logits = RNG.integers(0, 2, (6, 2)).astype(np.float64), RNG.normal(size=(6, 2)) * 30
    q = 2.5
    want = (1 - z) * logits + (1 + (q - 1) * z) * np.logaddexp(0, -logits)
    got = aj.nn.weighted_cross_entropy_with_logits(aj.constant(z), aj.constant(logits), q)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    small = RNG.normal(size=(6, 2))
    lg = aj.constant(small)
    with aj.GradientTape() as tape:
        tape.watch(lg)
        total = aj.reduce_sum(aj.nn.weighted_cross_entropy_with_logits(aj.constant(z), lg, q))
    ref = lambda v: float(np.sum((1 - z) * v + (1 + (q - 1) * z) * np.logaddexp(0, -v)))  # noqa
    np.testing.assert_allclose(tape.gradient(total, lg).numpy(), numeric_grad(ref, small),
                               rtol=1e-6)
    per = aj.constant(np.array([1.0, 2.0, 3.0, 6.0]))
    assert float(aj.nn.compute_average_loss(per)) == 3.0
    assert float(aj.nn.compute_average_loss(per, global_batch_size=8)) == 1.5
    assert float(aj.nn.compute_average_loss(per, sample_weight=[1.0, 0.0, 0.0, 0.5])) == 1.0


def _depth_to_space_ref(x, s):
    b, h, w, c = x.shape
    out = np.zeros((b, h * s, w * s, c // (s * s)))
    for i in range(h * s):
        for j in range(w * s):
            block = ((i % s) * s + (j % s)) * (c // (s * s))
            out[:, i, j] = x[:, i // s, j // s, block:block + c // (s * s)]
    return out


def test_depth_to_space_and_back():
    x = RNG.normal(size=(2, 3, 4, 8))
    y = aj.nn.depth_to_space(aj.constant(x), 2)
    np.testing.assert_array_equal(y.numpy(), _depth_to_space_ref(x, 2))
    np.testing.assert_array_equal(aj.nn.space_to_depth(y, 2).numpy(), x)


def _auc_ref(labels, scores, weights, num_thresholds=200):
    """Keras's thresholded ROC AUC, in NumPy: counts at each threshold, then trapezoids."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-1e-7, *inner, 1 + 1e-7])
    above = (scores[:, None] > thresholds[None, :]).astype(float)
    pos = (labels > 0.5)[:, None].astype(float)
    w = weights[:, None]
    tp, fp = (above * pos * w).sum(0), (above * (1 - pos) * w).sum(0)
    fn, tn = ((1 - above) * pos * w).sum(0), ((1 - above) * (1 - pos) * w).sum(0)
    tpr = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    fpr = np.divide(fp, fp + tn, out=np.zeros_like(fp), where=fp + tn > 0)
    return np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def test_auc_matches_the_thresholded_roc_area_and_the_exact_one():
    labels = RNG.integers(0, 2, 300)
    scores = np.clip(labels * 0.3 + RNG.uniform(size=300) * 0.7, 0, 1)
    weights = RNG.uniform(size=300)
    auc = aj.keras.metrics.AUC()
    for start in (0, 150):  # two updates accumulate
        sl = slice(start, start + 150)
        auc.update_state(labels[sl], scores[sl], sample_weight=weights[sl])
    np.testing.assert_allclose(float(auc.result()), _auc_ref(labels, scores, weights),
                               rtol=1e-5)
    plain = aj.keras.metrics.AUC()
    pos, neg = scores[labels == 1], scores[labels == 0]
    exact = np.mean(pos[:, None] > neg[None, :])  # Mann-Whitney
    assert abs(float(plain(labels, scores)) - exact) < 0.01
    plain.reset_state()
    assert float(plain.result()) == 0.0
    with pytest.raises(aj.errors.InvalidArgumentError, match="expected curve 'ROC' or 'PR'"):
        aj.keras.metrics.AUC(curve="DET")
    with pytest.raises(aj.errors.InvalidArgumentError, match="expected summation_method"):
        aj.keras.metrics.AUC(summation_method="careful")


def _pr_auc_ref(labels, scores, num_thresholds):
    """Keras's interpolated PR AUC (Davis & Goadrich) from the thresholded counts, in NumPy."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thresholds = np.array([-1e-7, *inner, 1 + 1e-7])
    above = scores[:, None] > thresholds[None, :]
    pos = (labels > 0.5)[:, None]
    tp, fp = (above & pos).sum(0).astype(float), (above & ~pos).sum(0).astype(float)
    fn = (~above & pos).sum(0).astype(float)
    total = 0.0
    for i in range(len(thresholds) - 1):
        dtp, p0, p1 = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
        slope = dtp / (p0 - p1) if p0 - p1 > 0 else 0.0
        intercept = tp[i + 1] - slope * p1
        ratio = p0 / p1 if p0 > 0 and p1 > 0 else 1.0
        if tp[i + 1] + fn[i + 1] > 0:
            total += slope * (dtp + intercept * np.log(ratio)) / (tp[i + 1] + fn[i + 1])
    return total


def test_pr_auc_matches_keras_interpolation_and_average_precision():
    from sklearn.metrics import average_precision_score

    labels = RNG.integers(0, 2, 400)
    scores = np.clip(labels * 0.3 + RNG.uniform(size=400) * 0.7, 0, 1)
    pr = aj.keras.metrics.AUC(curve="PR", num_thresholds=500)
    got = float(pr(labels, scores))
    np.testing.assert_allclose(got, _pr_auc_ref(labels, scores, 500), rtol=1e-4)
    assert abs(got - average_precision_score(labels, scores)) < 0.01
    areas = [float(aj.keras.metrics.AUC(curve=curve, summation_method=m)(labels, scores))
             for curve in ("ROC", "PR") for m in ("minoring", "interpolation", "majoring")]
    assert areas[0] <= areas[1] <= areas[2] and areas[3] <= areas[5]
