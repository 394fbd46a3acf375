"""Tests for ``SimpleRNN``, ``LSTM``, ``GRU`` and their cells: shapes, parameter counts,
values against a NumPy reimplementation of the Keras equations, one ``while_loop`` when
traced, gradients against finite differences (float64), and the error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autojit as aj
from tests.numeric import check_directional_derivatives
from autojit.errors import InvalidArgumentError, ShapeError

RNG = np.random.default_rng(11)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _np_rnn(x, k, rk, b):
    h, seq = np.zeros((x.shape[0], rk.shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ k + h @ rk + b)
        seq.append(h)
    return np.stack(seq, 1), h


def _np_lstm(x, k, rk, b):
    u = rk.shape[0]
    h = c = np.zeros((x.shape[0], u))
    seq = []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ rk + b
        i, f, g, o = (z[:, j * u:(j + 1) * u] for j in range(4))
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        seq.append(h)
    return np.stack(seq, 1), h, c


def _np_gru(x, k, rk, b):
    u = rk.shape[0]
    h, seq = np.zeros((x.shape[0], u)), []
    for t in range(x.shape[1]):
        mx, inner = x[:, t] @ k + b[0], h @ rk + b[1]
        z = _sig(mx[:, :u] + inner[:, :u])
        r = _sig(mx[:, u:2 * u] + inner[:, u:2 * u])
        hh = np.tanh(mx[:, 2 * u:] + r * inner[:, 2 * u:])
        h = z * h + (1 - z) * hh
        seq.append(h)
    return np.stack(seq, 1), h


def _perturb_bias(cell):
    cell.bias.assign(cell.bias + aj.constant(RNG.standard_normal(cell.bias.shape) * 0.3,
                                             dtype=cell.bias.dtype))


@pytest.mark.parametrize("cls, reference, params", [
    (aj.layers.SimpleRNN, _np_rnn, 3 * 4 + 4 * 4 + 4),
    (aj.layers.LSTM, _np_lstm, 4 * (3 * 4 + 4 * 4 + 4)),
    (aj.layers.GRU, _np_gru, 3 * (3 * 4 + 4 * 4) + 2 * 3 * 4),
])
def test_sequences_states_and_counts_vs_numpy(cls, reference, params):
    x = RNG.standard_normal((2, 6, 3)).astype(np.float32)
    layer = cls(4, return_sequences=True, return_state=True)
    layer(x)
    _perturb_bias(layer.cell)
    got = layer(x)
    cell = layer.cell
    ref = reference(x.astype(np.float64), cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                    cell.bias.numpy())
    assert len(got) == len(ref) and layer.count_params() == params
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g.numpy(), r, rtol=1e-4, atol=1e-5)
    last = cls(4)
    last(x)
    assert last(x).shape == (2, 4)


def test_keras_default_weights():
    lstm = aj.layers.LSTM(5)
    lstm(np.zeros((1, 2, 3), np.float32))
    b = lstm.cell.bias.numpy()
    np.testing.assert_array_equal(b, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    rk = lstm.cell.recurrent_kernel.numpy().astype(np.float64)
    np.testing.assert_allclose(rk @ rk.T, np.eye(5), atol=1e-5)  # orthogonal
    assert lstm.cell.kernel.shape == (3, 20)
    gru = aj.layers.GRU(5)
    gru(np.zeros((1, 2, 3), np.float32))
    assert gru.cell.bias.shape == (2, 15) and gru.cell.reset_after
    no_ufb = aj.layers.LSTM(2, unit_forget_bias=False)
    no_ufb(np.zeros((1, 2, 3), np.float32))
    np.testing.assert_array_equal(no_ufb.cell.bias.numpy(), np.zeros(8))


def test_gru_reset_before_vs_numpy():
    layer = aj.layers.GRU(3, reset_after=False)
    x = RNG.standard_normal((2, 4, 2)).astype(np.float32)
    layer(x)
    _perturb_bias(layer.cell)
    c = layer.cell
    k, rk, b = c.kernel.numpy(), c.recurrent_kernel.numpy(), c.bias.numpy()
    h = np.zeros((2, 3))
    for t in range(4):
        mx = x[:, t] @ k + b
        z = _sig(mx[:, :3] + h @ rk[:, :3])
        r = _sig(mx[:, 3:6] + h @ rk[:, 3:6])
        h = z * h + (1 - z) * np.tanh(mx[:, 6:] + (r * h) @ rk[:, 6:])
    np.testing.assert_allclose(layer(x).numpy(), h, rtol=1e-4, atol=1e-5)


def test_traced_layer_is_one_while_loop_and_builds_on_first_trace():
    layer = aj.layers.LSTM(4, return_sequences=True)

    @aj.function
    def f(x):
        return layer(x)

    x = RNG.standard_normal((3, 7, 2)).astype(np.float32)
    y = f(aj.constant(x))
    assert y.shape == (3, 7, 4) and len(layer.variables) == 3
    f(aj.constant(x[:, :5]))  # another length: a retrace, no new variables
    assert len(layer.variables) == 3
    text = str(f.get_concrete_function(aj.constant(x)).graph)
    assert text.count("= while_loop") == 1
    np.testing.assert_allclose(y.numpy(), layer(x).numpy(), rtol=1e-5, atol=1e-6)


def test_initial_state_and_go_backwards():
    x = RNG.standard_normal((2, 3, 2)).astype(np.float32)
    layer = aj.layers.SimpleRNN(2)
    layer(x)
    c = layer.cell
    h0 = RNG.standard_normal((2, 2)).astype(np.float32)
    h = h0.astype(np.float64)
    for t in range(3):
        h = np.tanh(x[:, t] @ c.kernel.numpy() + h @ c.recurrent_kernel.numpy())
    np.testing.assert_allclose(layer(x, initial_state=[h0]).numpy(), h, rtol=1e-5, atol=1e-6)
    back = aj.layers.SimpleRNN(2, go_backwards=True)
    back(x)
    back.cell.kernel.assign(c.kernel)
    back.cell.recurrent_kernel.assign(c.recurrent_kernel)
    np.testing.assert_allclose(back(x).numpy(), layer(x[:, ::-1].copy()).numpy(), rtol=1e-6)


@pytest.mark.parametrize("cls", [aj.layers.SimpleRNN, aj.layers.LSTM, aj.layers.GRU])
def test_gradients_vs_finite_differences_float64(cls):
    layer = cls(2, dtype=aj.float64)
    x = RNG.standard_normal((2, 3, 2))
    layer(x)
    _perturb_bias(layer.cell)
    weights = [layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias]

    @aj.function
    def loss_and_grads(x):
        with aj.GradientTape() as tape:
            loss = aj.reduce_sum(aj.square(layer(x)))
        return loss, tape.gradient(loss, weights)

    _, grads = loss_and_grads(aj.constant(x))
    check_directional_derivatives(lambda: loss_and_grads(aj.constant(x))[0], weights,
                                  [g.numpy() for g in grads], RNG)


def test_recurrent_errors():
    layer = aj.layers.LSTM(3, name="lstm")  # pinned: default names are numbered
    with pytest.raises(ShapeError, match=re.escape(
            "LSTM 'lstm': expected inputs of shape [batch, time, features], got [2, 3]")):
        layer(np.ones((2, 3), np.float32))
    layer(np.ones((2, 4, 5), np.float32))
    with pytest.raises(ShapeError, match=re.escape("the layer was built for 5 features, got 6")):
        layer(np.ones((2, 4, 6), np.float32))
    with pytest.raises(InvalidArgumentError, match="LSTM 'lstm': expected 2 initial states, "
                                                   "got 1"):
        layer(np.ones((2, 4, 5), np.float32), initial_state=[np.zeros((2, 3), np.float32)])
    with pytest.raises(InvalidArgumentError, match="GRUCell: expected units to be a positive "
                                                   "int, got 0"):
        aj.layers.GRU(0)
    with pytest.raises(ShapeError, match=re.escape(
            "SimpleRNNCell 'simple_rnn_cell': expected inputs of shape [batch, features]")):
        cell = aj.layers.SimpleRNNCell(2, name="simple_rnn_cell")
        cell(np.ones(3, np.float32), [np.zeros((1, 2), np.float32)])


# ----------------------------------------------------------------------------- bidirectional


def _copy_weights(target, source, x):
    target(x)  # build
    for a, b in zip(target.cell.variables, source.cell.variables):
        a.assign(b)


@pytest.mark.parametrize("kind", [aj.layers.LSTM, aj.layers.GRU, aj.layers.SimpleRNN])
def test_bidirectional_runs_a_twin_over_reversed_time(kind):
    x = aj.constant(np.random.default_rng(6).normal(size=(2, 5, 3)))
    layer = aj.layers.Bidirectional(kind(4, return_sequences=True, dtype=aj.float64))
    out = layer(x).numpy()
    assert out.shape == (2, 5, 8)
    assert layer.backward_layer.go_backwards and layer.backward_layer is not layer.forward_layer
    np.testing.assert_allclose(out[..., :4], layer.forward_layer(x).numpy(), rtol=1e-12)
    # the backward half: a forward layer with the backward weights over the reversed input
    twin = kind(4, return_sequences=True, dtype=aj.float64)
    _copy_weights(twin, layer.backward_layer, x)
    reversed_run = twin(aj.reverse(x, [1])).numpy()[:, ::-1]
    np.testing.assert_allclose(out[..., 4:], reversed_run, rtol=1e-10, atol=1e-12)


def test_bidirectional_merge_modes_and_states():
    x = aj.constant(np.random.default_rng(7).normal(size=(3, 4, 2)).astype(np.float32))
    parts = aj.layers.Bidirectional(aj.layers.GRU(5), merge_mode=None)
    f, b = parts(x)
    for mode, combine in (("sum", f + b), ("mul", f * b), ("ave", (f + b) * 0.5),
                          ("concat", aj.concat([f, b], -1))):
        layer = aj.layers.Bidirectional(aj.layers.GRU(5), merge_mode=mode,
                                        backward_layer=parts.backward_layer)
        layer.forward_layer = parts.forward_layer
        np.testing.assert_allclose(layer(x).numpy(), combine.numpy(), rtol=1e-6)
    out, hf, hb = aj.layers.Bidirectional(aj.layers.GRU(5, return_state=True))(x)
    assert out.shape == (3, 10) and hf.shape == hb.shape == (3, 5)
    with pytest.raises(InvalidArgumentError, match="merge_mode must be"):
        aj.layers.Bidirectional(aj.layers.GRU(2), merge_mode="max")
    with pytest.raises(InvalidArgumentError, match="expected a recurrent layer"):
        aj.layers.Bidirectional(aj.layers.Dense(2))


def test_a_bidirectional_tagger_trains_the_same_eagerly_and_as_a_graph():
    rng = np.random.default_rng(9)
    x = aj.constant(rng.normal(size=(4, 6, 3)).astype(np.float32))
    y = aj.constant(rng.integers(0, 2, (4, 6)))
    losses = {}
    for mode in ("eager", "function"):
        aj.random.set_seed(2)
        model = aj.layers.Sequential([
            aj.layers.Bidirectional(aj.layers.LSTM(8, return_sequences=True)),
            aj.layers.TimeDistributed(aj.layers.Dense(2))])
        model.compile(aj.keras.optimizers.Adam(1e-2),
                      aj.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      run_eagerly=mode == "eager")
        losses[mode] = model.fit(x, y, epochs=8, batch_size=4, shuffle=False,
                                 verbose=0).history["loss"]
    np.testing.assert_allclose(losses["function"], losses["eager"], rtol=1e-5)
    assert losses["eager"][-1] < losses["eager"][0]


def test_time_distributed_applies_the_layer_at_every_step():
    clips = aj.constant(np.random.default_rng(3).normal(size=(2, 3, 5, 5, 1)))
    conv = aj.layers.Conv2D(4, 3, dtype=aj.float64)
    wrapped = aj.layers.TimeDistributed(conv)
    out = wrapped(clips)
    want = np.stack([conv(clips[:, t]).numpy() for t in range(3)], axis=1)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
    traced = aj.function(lambda c: wrapped(c),
                         input_signature=[aj.TensorSpec([None, None, 5, 5, 1], aj.float64)])
    np.testing.assert_allclose(traced(clips[:1, :2]).numpy(), want[:1, :2], rtol=1e-12)
    with pytest.raises(ShapeError, match=r"expected inputs \[batch, time, \.\.\.\]"):
        wrapped(aj.ones((2, 3)))
