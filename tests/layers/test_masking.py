"""Tests for Keras masking (Note [Masks] in layers/masking.py): recurrent layers over padded
sequences with a mask against NumPy runs of each sequence truncated to its true length,
``Embedding(mask_zero=True)`` and ``Masking`` in a ``Sequential``, ``GlobalAveragePooling1D``'s
masked mean, ``Bidirectional``, gradients against finite differences (float64), one trace
under ``@aj.function``, and ``fit``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from tests.numeric import check_directional_derivatives
from autojit.errors import ShapeError
from autojit.layers.masking import Masking  # not in aj.layers yet: see test_functional's table

RNG = np.random.default_rng(23)
LENGTHS = [5, 3, 1]


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _np_step(cell, x_t, states):
    """One step of ``cell``'s Keras equations in NumPy (its own weights)."""
    k, rk = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    b, u = cell.bias.numpy(), cell.units
    if isinstance(cell, aj.layers.LSTMCell):
        h, c = states
        z = x_t @ k + h @ rk + b
        i, f, g, o = (z[:, j * u:(j + 1) * u] for j in range(4))
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        return [h, c]
    (h,) = states
    if isinstance(cell, aj.layers.GRUCell):
        mx, inner = x_t @ k + b[0], h @ rk + b[1]
        z = _sig(mx[:, :u] + inner[:, :u])
        r = _sig(mx[:, u:2 * u] + inner[:, u:2 * u])
        return [z * h + (1 - z) * np.tanh(mx[:, 2 * u:] + r * inner[:, 2 * u:])]
    return [np.tanh(x_t @ k + h @ rk + b)]


def _np_run(cell, x, backwards=False):
    """All outputs [b, t, units] (in the order run) and the final states."""
    states = [np.zeros((x.shape[0], cell.units)) for _ in cell.state_size]
    seq = []
    for t in range(x.shape[1]):
        states = _np_step(cell, x[:, x.shape[1] - 1 - t if backwards else t], states)
        seq.append(states[0])
    return np.stack(seq, 1), states


def _mask(lengths, steps):
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def _perturb(layer):
    for var in layer.cell.variables:
        var.assign(var + aj.constant(RNG.standard_normal(var.shape) * 0.3, dtype=var.dtype))


CLASSES = [aj.layers.SimpleRNN, aj.layers.LSTM, aj.layers.GRU]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("zero_output", [False, True])
def test_masked_layer_equals_runs_over_the_truncated_sequences(cls, zero_output):
    x = RNG.standard_normal((3, 5, 2))
    mask = _mask(LENGTHS, 5)
    layer = cls(4, return_sequences=True, return_state=True, dtype=aj.float64,
                zero_output_for_mask=zero_output)
    layer(x)
    _perturb(layer)
    seq, *states = (t.numpy() for t in layer(x, mask=aj.constant(mask)))
    for b, n in enumerate(LENGTHS):
        ref_seq, ref_states = _np_run(layer.cell, x[b:b + 1, :n])
        for got, want in zip(states, ref_states):
            np.testing.assert_allclose(got[b:b + 1], want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(seq[b, :n], ref_seq[0], rtol=1e-10, atol=1e-12)
        # Keras's backend.rnn: zeros, or the previous (last real) output, at padded steps
        pad = np.zeros_like(seq[b, n:]) if zero_output else np.broadcast_to(
            ref_seq[0, -1], seq[b, n:].shape)
        np.testing.assert_allclose(seq[b, n:], pad, rtol=1e-10, atol=1e-12)
        # the same aj layer on the truncated sequence
        short = layer(x[b:b + 1, :n])
        np.testing.assert_allclose(states[0][b:b + 1], short[1].numpy(), rtol=1e-10)
    last = cls(4, dtype=aj.float64, zero_output_for_mask=zero_output)
    last(x)
    for a, v in zip(last.cell.variables, layer.cell.variables):
        a.assign(v)
    # Keras: the last step's output (zeros where that step is padding)
    want = states[0] * mask[:, -1:] if zero_output else states[0]
    np.testing.assert_allclose(last(x, mask=mask).numpy(), want, rtol=1e-10, atol=1e-12)


def test_an_unmasked_mask_changes_nothing_and_go_backwards_skips_right_padding():
    x = RNG.standard_normal((3, 5, 2))
    layer = aj.layers.LSTM(3, return_sequences=True, dtype=aj.float64, go_backwards=True)
    plain = layer(x).numpy()
    np.testing.assert_allclose(layer(x, mask=np.ones((3, 5), bool)).numpy(), plain, rtol=1e-12)
    _, h, c = aj.layers.LSTM(3, return_state=True, dtype=aj.float64, go_backwards=True)(x)
    back = aj.layers.LSTM(3, return_state=True, dtype=aj.float64, go_backwards=True)
    back(x)
    _perturb(back)
    _, h, c = (t.numpy() for t in back(x, mask=_mask(LENGTHS, 5)))
    for b, n in enumerate(LENGTHS):  # the reversed true sequence
        _, (rh, rc) = _np_run(back.cell, x[b:b + 1, :n], backwards=True)
        np.testing.assert_allclose(h[b:b + 1], rh, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c[b:b + 1], rc, rtol=1e-10, atol=1e-12)


def test_embedding_mask_zero_and_lstm_in_a_sequential_equal_the_truncated_runs():
    ids = np.array([[3, 1, 4, 1, 5], [2, 7, 9, 0, 0], [6, 0, 0, 0, 0]])
    emb = aj.layers.Embedding(10, 3, mask_zero=True, dtype=aj.float64)
    lstm = aj.layers.LSTM(4, dtype=aj.float64)
    model = aj.layers.Sequential([emb, lstm])
    out = model(ids).numpy()
    np.testing.assert_array_equal(emb.compute_mask(ids).numpy(), ids != 0)
    assert aj.layers.Embedding(10, 3).compute_mask(ids) is None
    for b, n in enumerate(LENGTHS):
        _, (h, _) = _np_run(lstm.cell, emb(ids[b:b + 1, :n]).numpy())
        np.testing.assert_allclose(out[b:b + 1], h, rtol=1e-10, atol=1e-12)
    unmasked = aj.layers.Sequential([aj.layers.Embedding(10, 3), aj.layers.LSTM(4)])
    unmasked.layers[0].embeddings.assign(aj.cast(emb.embeddings, aj.float32))
    unmasked(ids)
    assert not np.allclose(unmasked(ids).numpy()[1], out[1], atol=1e-3)  # padding counted


def test_a_sequential_started_from_an_input_masks_when_called():
    ids = np.array([[3, 1, 4, 1, 5], [2, 7, 9, 0, 0], [6, 0, 0, 0, 0]])
    emb = aj.layers.Embedding(10, 3, mask_zero=True)
    lstm = aj.layers.LSTM(4)
    model = aj.layers.Sequential([aj.keras.Input((5,), dtype="int32"), emb, lstm])
    out = model(ids).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(out[b:b + 1], lstm(emb(ids[b:b + 1, :n])).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_the_mask_passes_dropout_and_a_sequence_lstm_then_ends_at_other_layers():
    ids = np.array([[3, 1, 4, 1, 5], [2, 7, 9, 0, 0], [6, 0, 0, 0, 0]])
    emb = aj.layers.Embedding(10, 3, mask_zero=True, dtype=aj.float64)
    first = aj.layers.LSTM(4, return_sequences=True, dtype=aj.float64)
    second = aj.layers.GRU(2, dtype=aj.float64)
    out = aj.layers.Sequential([emb, aj.layers.Dropout(0.5), first, second])(ids).numpy()
    for b, n in enumerate(LENGTHS):
        seq, _ = _np_run(first.cell, emb(ids[b:b + 1, :n]).numpy())
        _, (h,) = _np_run(second.cell, seq)
        np.testing.assert_allclose(out[b:b + 1], h, rtol=1e-10, atol=1e-12)
    # Flatten-like layers (here a Lambda) end the mask, as Keras 3 (no error)
    lam = aj.layers.Lambda(lambda t: t * 1.0)
    dropped = aj.layers.Sequential([emb, lam, aj.layers.LSTM(4, dtype=aj.float64)])(ids)
    assert dropped.shape == (3, 4)


def test_masking_layer():
    x = RNG.standard_normal((3, 5, 2))
    x[1, 3:] = 0.0
    x[2, 1:] = 0.0
    x[0, 2, 0] = 0.0  # one zero feature does not mask the step
    layer = Masking(0.0)
    np.testing.assert_array_equal(layer.compute_mask(x).numpy(), _mask([5, 3, 1], 5))
    np.testing.assert_allclose(layer(x).numpy(), x)
    y = x.copy()
    y[1, 4] = -1.0
    out = Masking(-1.0)(y).numpy()
    assert np.all(out[1, 4] == 0) and np.allclose(out[1, :4], y[1, :4])
    lstm = aj.layers.LSTM(3, return_state=True, dtype=aj.float64)
    _, h, c = (t.numpy() for t in aj.layers.Sequential([layer, lstm])(x))
    for b, n in enumerate([5, 3, 1]):
        _, (rh, rc) = _np_run(lstm.cell, x[b:b + 1, :n])
        np.testing.assert_allclose(h[b:b + 1], rh, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c[b:b + 1], rc, rtol=1e-10, atol=1e-12)


def test_global_average_pooling_1d_with_a_mask_is_the_masked_mean():
    x = RNG.standard_normal((3, 5, 4))
    mask = _mask(LENGTHS, 5)
    xt = aj.constant(x.transpose(0, 2, 1))
    x = aj.constant(x)  # float64 (a NumPy input is taken as float32)
    want = (x.numpy() * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pool = aj.layers.GlobalAveragePooling1D()
    np.testing.assert_allclose(pool(x, mask=mask).numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(pool(x).numpy(), x.numpy().mean(1), rtol=1e-12)
    keep = aj.layers.GlobalAveragePooling1D(keepdims=True)(x, mask=mask)
    np.testing.assert_allclose(keep.numpy(), want[:, None], rtol=1e-12)
    first = aj.layers.GlobalAveragePooling1D(data_format="channels_first")
    np.testing.assert_allclose(first(xt, mask=mask).numpy(), want, rtol=1e-12)
    ids = np.array([[3, 1, 4, 1, 5], [2, 7, 9, 0, 0], [6, 0, 0, 0, 0]])
    emb = aj.layers.Embedding(10, 3, mask_zero=True, dtype=aj.float64)
    vectors = emb(ids).numpy()
    got = aj.layers.Sequential([emb, aj.layers.GlobalAveragePooling1D()])(ids).numpy()
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(got[b], vectors[b, :n].mean(0), rtol=1e-12)
    # Keras 3's GlobalMaxPooling1D takes no mask: the padding's vectors count
    most = aj.layers.Sequential([emb, aj.layers.GlobalMaxPooling1D()])(ids).numpy()
    np.testing.assert_allclose(most, vectors.max(1), rtol=1e-12)


@pytest.mark.parametrize("cls", [aj.layers.LSTM, aj.layers.GRU])
def test_bidirectional_with_a_mask(cls):
    x = RNG.standard_normal((3, 5, 2))
    mask = _mask(LENGTHS, 5)
    layer = aj.layers.Bidirectional(cls(3, return_sequences=True, return_state=True,
                                        dtype=aj.float64))
    layer(x)
    _perturb(layer.forward_layer)
    _perturb(layer.backward_layer)
    seq, *states = (t.numpy() for t in layer(x, mask=mask))
    fwd, bwd = layer.forward_layer.cell, layer.backward_layer.cell
    for b, n in enumerate(LENGTHS):
        f_seq, f_states = _np_run(fwd, x[b:b + 1, :n])
        b_seq, b_states = _np_run(bwd, x[b:b + 1, :n], backwards=True)
        for got, want in zip(states, f_states + b_states):
            np.testing.assert_allclose(got[b:b + 1], want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(seq[b, :n, :3], f_seq[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(seq[b, :n, 3:], b_seq[0, ::-1], rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(seq[b, n:], 0.0)  # zero_output_for_mask, as Keras
    assert layer.compute_mask(x, mask) is not None
    flat = aj.layers.Bidirectional(cls(3, dtype=aj.float64))
    assert flat.compute_mask(x, mask) is None and flat(x, mask=mask).shape == (3, 6)


def test_masked_lstm_gradients_vs_finite_differences_float64():
    layer = aj.layers.LSTM(2, return_sequences=True, dtype=aj.float64)
    x = RNG.standard_normal((3, 4, 2))
    mask = aj.constant(_mask([4, 2, 1], 4))
    layer(x)
    _perturb(layer)
    weights = list(layer.cell.variables)

    @aj.function
    def loss_and_grads(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            loss = aj.reduce_sum(aj.square(layer(x, mask=mask)))
        return loss, tape.gradient(loss, [x, *weights])

    _, (gx, *grads) = loss_and_grads(aj.constant(x))
    gx = gx.numpy()
    assert np.all(gx[1, 2:] == 0) and np.all(gx[2, 1:] == 0)  # masked steps: zero gradients
    assert np.all(gx[0] != 0)
    check_directional_derivatives(lambda: loss_and_grads(aj.constant(x))[0], weights,
                                  [g.numpy() for g in grads], RNG)
    eps, direction = 1e-6, RNG.standard_normal(x.shape)
    up = float(loss_and_grads(aj.constant(x + eps * direction))[0])
    down = float(loss_and_grads(aj.constant(x - eps * direction))[0])
    np.testing.assert_allclose(np.sum(gx * direction), (up - down) / (2 * eps), rtol=1e-6,
                               atol=1e-8)


def test_inside_function_equals_eager_and_traces_once():
    traces = []
    emb = aj.layers.Embedding(10, 3, mask_zero=True)
    model = aj.layers.Sequential([emb, aj.layers.GRU(4, return_sequences=True),
                                  aj.layers.LSTM(3)])

    @aj.function
    def f(ids):
        traces.append(1)
        return model(ids)

    a = np.array([[3, 1, 4, 1, 5], [2, 7, 9, 0, 0], [6, 0, 0, 0, 0]])
    b = np.array([[3, 0, 0, 0, 0], [2, 7, 2, 0, 0], [6, 1, 1, 1, 0]])
    for ids in (a, b):
        np.testing.assert_allclose(f(aj.constant(ids)).numpy(), model(ids).numpy(),
                                   rtol=1e-5, atol=1e-6)
    assert len(traces) == 1
    text = str(f.get_concrete_function(aj.constant(a)).graph)
    assert text.count("= while_loop") == 2  # one loop per layer, masks or not


def test_fit_a_masked_sequential():
    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 7, 32)
    ids = rng.integers(1, 8, (32, 6)) * _mask(lengths, 6)
    y = (ids == 3).any(1).astype(np.int64)  # does a real step hold token 3?
    aj.random.set_seed(1)
    model = aj.layers.Sequential([aj.layers.Embedding(8, 8, mask_zero=True),
                                  aj.layers.LSTM(8), aj.layers.Dense(2)])
    model.compile(aj.keras.optimizers.Adam(2e-2),
                  aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = model.fit(ids, y, epochs=15, batch_size=16, verbose=0).history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0] * 0.8
    # padding does not change a prediction
    padded = np.concatenate([ids, np.zeros((32, 3), ids.dtype)], 1)
    np.testing.assert_allclose(model.predict(padded, verbose=0), model.predict(ids, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_mask_errors():
    layer = aj.layers.LSTM(2, name="lstm")
    x = np.ones((2, 4, 3), np.float32)
    with pytest.raises(ShapeError, match=re.escape(
            "LSTM 'lstm': expected a mask of shape [batch, time] = [2, 4], got [2, 3]")):
        layer(x, mask=np.ones((2, 3), bool))
    with pytest.raises(ShapeError, match=re.escape("got [2, 4, 1]")):
        layer(x, mask=np.ones((2, 4, 1), bool))
