"""``MultiHeadAttention`` against attention written in NumPy from the layer's own weights
(masks, causal masks, cross-attention, scores), its gradients against central differences,
a transformer block trained eagerly and in ``@aj.function`` step for step; the merging
layers, ``Reshape``, ``Activation`` and the global poolings against NumPy; their errors."""

from __future__ import annotations

import numpy as np
import pytest

import autojit as aj
from autojit.errors import InvalidArgumentError, ShapeError
from tests.numeric import numeric_grad

RNG = np.random.default_rng(12)


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def reference(layer, q, v, k=None, mask=None, causal=False):
    """Attention in NumPy with the layer's weights (Note [Attention])."""
    w = {name: getattr(layer, name).numpy() for name in (
        "query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias",
        "output_kernel", "output_bias")}
    k = v if k is None else k
    qh = np.einsum("btf,fhd->bthd", q, w["query_kernel"]) + w["query_bias"]
    kh = np.einsum("bsf,fhd->bshd", k, w["key_kernel"]) + w["key_bias"]
    vh = np.einsum("bsf,fhd->bshd", v, w["value_kernel"]) + w["value_bias"]
    scores = np.einsum("bthd,bshd->bhts", qh, kh) / np.sqrt(layer.key_dim)
    allowed = np.ones(scores.shape, bool)
    if mask is not None:
        allowed &= mask[:, None]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = softmax(np.where(allowed, scores, scores - 1e9))
    heads = np.einsum("bhts,bshd->bthd", weights, vh)
    return np.einsum("bthd,hdo->bto", heads, w["output_kernel"]) + w["output_bias"], weights


def tensors(*arrays):
    return [aj.constant(a) for a in arrays]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("mode", ["eager", "function"])
def test_self_attention_matches_numpy(causal, masked, mode):
    layer = aj.layers.MultiHeadAttention(num_heads=3, key_dim=4, dtype=aj.float64)
    x = RNG.normal(size=(2, 5, 6))
    mask = RNG.random((2, 5, 5)) > 0.3 if masked else None

    def run(x_, m_):
        return layer(x_, x_, attention_mask=m_, use_causal_mask=causal,
                     return_attention_scores=True)

    call = aj.function(run) if mode == "function" else run
    out, weights = call(aj.constant(x), None if mask is None else aj.constant(mask))
    want, want_weights = reference(layer, x, x, mask=mask, causal=causal)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), want_weights, rtol=1e-10, atol=1e-12)


def test_cross_attention_with_a_separate_key_value_dim_and_output_size():
    layer = aj.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, output_shape=7,
                                         dtype=aj.float64)
    q, v, k = RNG.normal(size=(2, 4, 6)), RNG.normal(size=(2, 3, 8)), RNG.normal(size=(2, 3, 2))
    out = layer(*tensors(q, v), key=aj.constant(k))
    assert out.shape == (2, 4, 7) and layer.value_kernel.shape == (8, 2, 5)
    np.testing.assert_allclose(out.numpy(), reference(layer, q, v, k)[0], rtol=1e-10)
    # unknown batch and steps inside a function
    traced = aj.function(lambda a, b, c: layer(a, b, key=c), input_signature=[
        aj.TensorSpec([None, None, 6], aj.float64), aj.TensorSpec([None, None, 8], aj.float64),
        aj.TensorSpec([None, None, 2], aj.float64)])
    q2, v2, k2 = RNG.normal(size=(1, 2, 6)), RNG.normal(size=(1, 5, 8)), RNG.normal(size=(1, 5, 2))
    np.testing.assert_allclose(traced(*tensors(q2, v2, k2)).numpy(),
                               reference(layer, q2, v2, k2)[0], rtol=1e-10)


def test_attention_gradients_match_finite_differences():
    layer = aj.layers.MultiHeadAttention(num_heads=2, key_dim=3, dtype=aj.float64)
    x0 = RNG.normal(size=(1, 4, 5))
    layer(aj.constant(x0), aj.constant(x0))  # build
    kernel0 = layer.query_kernel.numpy().copy()
    weights = RNG.normal(size=(1, 4, 5))
    x = aj.constant(x0)
    with aj.GradientTape() as tape:
        tape.watch(x)
        total = aj.reduce_sum(layer(x, x, use_causal_mask=True) * weights)
    gx, gk = tape.gradient(total, [x, layer.query_kernel])

    def loss_x(a):
        return float(np.sum(reference(layer, a, a, causal=True)[0] * weights))

    def loss_k(kernel):
        layer.query_kernel.assign(kernel)
        try:
            return float(np.sum(reference(layer, x0, x0, causal=True)[0] * weights))
        finally:
            layer.query_kernel.assign(kernel0)

    np.testing.assert_allclose(gx.numpy(), numeric_grad(loss_x, x0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gk.numpy(), numeric_grad(loss_k, kernel0), rtol=1e-6, atol=1e-9)


class Block(aj.Module):
    """A transformer block: causal self-attention and an MLP, each with a residual."""

    def __init__(self):
        super().__init__()
        self.attention = aj.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.0)
        self.norm1 = aj.layers.LayerNormalization()
        self.norm2 = aj.layers.LayerNormalization()
        self.mlp = aj.layers.Sequential([aj.layers.Dense(16, activation="relu"),
                                         aj.layers.Dense(8)])
        self.head = aj.layers.Dense(3)

    def __call__(self, x, training=False):
        h = aj.layers.Add()([x, self.attention(self.norm1(x), self.norm1(x),
                                               use_causal_mask=True, training=training)])
        h = h + self.mlp(self.norm2(h))
        return self.head(aj.layers.GlobalAveragePooling1D()(h))


def test_a_transformer_block_trains_the_same_eagerly_and_as_a_graph():
    x = aj.constant(RNG.normal(size=(4, 6, 8)).astype(np.float32))
    y = aj.constant(RNG.integers(0, 3, 4))
    losses = {}
    for mode in ("eager", "function"):
        aj.random.set_seed(0)
        model = Block()
        opt = aj.optimizers.Adam(1e-2)

        def step(xb, yb, model=model, opt=opt):
            with aj.GradientTape() as tape:
                loss = aj.reduce_mean(aj.nn.sparse_softmax_cross_entropy_with_logits(
                    yb, model(xb, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        run = aj.function(step) if mode == "function" else step
        losses[mode] = [float(run(x, y)) for _ in range(15)]
    np.testing.assert_allclose(losses["function"], losses["eager"], rtol=1e-5)
    assert losses["eager"][-1] < 0.5 * losses["eager"][0]  # it learns


def test_attention_dropout_applies_only_when_training():
    layer = aj.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5)
    x = aj.constant(RNG.normal(size=(2, 6, 4)).astype(np.float32))
    np.testing.assert_array_equal(layer(x, x).numpy(), layer(x, x, training=False).numpy())
    assert not np.allclose(layer(x, x, training=True).numpy(), layer(x, x).numpy())


def test_attention_errors():
    with pytest.raises(InvalidArgumentError, match="num_heads to be a positive int, got 0"):
        aj.layers.MultiHeadAttention(num_heads=0, key_dim=4)
    with pytest.raises(InvalidArgumentError, match=r"dropout must be in \[0, 1\)"):
        aj.layers.MultiHeadAttention(2, 4, dropout=1.0)
    with pytest.raises(InvalidArgumentError, match=r"output_shape must be one size \(the "
                                                   r"output features\), got \(3, 4\)"):
        aj.layers.MultiHeadAttention(2, 4, output_shape=(3, 4))
    layer = aj.layers.MultiHeadAttention(2, 4)
    with pytest.raises(ShapeError, match=r"expected query of shape \[batch, steps, features\]"):
        layer(aj.ones((3, 4)), aj.ones((3, 4)))
    layer(aj.ones((1, 3, 4)), aj.ones((1, 3, 4)))
    with pytest.raises(ShapeError, match=r"expected query of shape \[batch, steps, 4\], got "
                                         r"\[1, 3, 5\]"):
        layer(aj.ones((1, 3, 5)), aj.ones((1, 3, 4)))
    with pytest.raises(ShapeError, match=r"attention_mask of shape \[batch, T, S\], got \[3, 3\]"):
        layer(aj.ones((1, 3, 4)), aj.ones((1, 3, 4)), attention_mask=aj.ones((3, 3), aj.bool))


# ----------------------------------------------------------------------- merging, reshaping


@pytest.mark.parametrize("layer, ref", [
    (aj.layers.Add, lambda xs: xs[0] + xs[1] + xs[2]),
    (aj.layers.Multiply, lambda xs: xs[0] * xs[1] * xs[2]),
    (aj.layers.Maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    (aj.layers.Minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
    (aj.layers.Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
    (aj.layers.Concatenate, lambda xs: np.concatenate(xs, axis=-1)),
])
def test_merging_layers_match_numpy(layer, ref):
    xs = [RNG.normal(size=(2, 3)) for _ in range(3)]
    np.testing.assert_allclose(layer()(tensors(*xs)).numpy(), ref(xs), rtol=1e-12)
    traced = aj.function(lambda a, b, c: layer()([a, b, c]))
    np.testing.assert_allclose(traced(*tensors(*xs)).numpy(), ref(xs), rtol=1e-12)


def test_subtract_concatenate_axis_and_merge_errors():
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    np.testing.assert_allclose(aj.layers.Subtract()(tensors(a, b)).numpy(), a - b)
    np.testing.assert_allclose(aj.layers.Concatenate(axis=0)(tensors(a, b)).numpy(),
                               np.concatenate([a, b]))
    with pytest.raises(InvalidArgumentError, match="expected a list of at least 2 tensors, got "
                                                   "a Tensor"):
        aj.layers.Add()(aj.constant(a))
    with pytest.raises(InvalidArgumentError, match="expected exactly 2 tensors, got 3"):
        aj.layers.Subtract()(tensors(a, b, a))


def test_reshape_activation_and_global_poolings_match_numpy():
    x = RNG.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(aj.layers.Reshape((4, 3))(aj.constant(x)).numpy(),
                                  x.reshape(2, 4, 3))
    np.testing.assert_array_equal(aj.layers.Reshape((-1,))(aj.constant(x)).numpy(),
                                  x.reshape(2, 12))
    traced = aj.function(lambda v: aj.layers.Reshape((6, 2))(v),
                         input_signature=[aj.TensorSpec([None, 3, 4], aj.float64)])
    assert traced(aj.constant(x)).shape == (2, 6, 2)
    np.testing.assert_allclose(aj.layers.Activation("relu")(aj.constant(x)).numpy(),
                               np.maximum(x, 0))
    np.testing.assert_array_equal(aj.layers.Activation("linear")(aj.constant(x)).numpy(), x)
    np.testing.assert_allclose(aj.layers.GlobalAveragePooling1D()(aj.constant(x)).numpy(),
                               x.mean(axis=1))
    np.testing.assert_allclose(aj.layers.GlobalMaxPooling1D()(aj.constant(x)).numpy(),
                               x.max(axis=1))
    images = RNG.normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(aj.layers.GlobalMaxPooling2D()(aj.constant(images)).numpy(),
                               images.max(axis=(1, 2)))
    np.testing.assert_allclose(
        aj.layers.GlobalMaxPooling2D(data_format="channels_first", keepdims=True)(
            aj.constant(images)).numpy(), images.max(axis=(2, 3), keepdims=True))
    with pytest.raises(ShapeError, match=r"cannot reshape examples of shape \[3, 4\] \(12 "
                                         r"values\) to \[5, 2\]"):
        aj.layers.Reshape((5, 2))(aj.constant(x))
    with pytest.raises(InvalidArgumentError, match="at most one -1"):
        aj.layers.Reshape((-1, -1))
    with pytest.raises(ShapeError, match="GlobalMaxPooling1D .* expected input of rank 3"):
        aj.layers.GlobalMaxPooling1D()(aj.constant(images))
