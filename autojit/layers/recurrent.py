"""Recurrent layers (Keras names and equations): the cells ``SimpleRNNCell``, ``LSTMCell``,
``GRUCell`` and the layers ``SimpleRNN``, ``LSTM``, ``GRU`` that run them over time.

Usage: ``outputs, h, c = aj.layers.LSTM(32, return_sequences=True, return_state=True)(x)``

Note [Recurrent loops]: a layer steps its cell with one ``aj.while_loop`` over the time axis
(outputs collected in a ``TensorArray``), so a traced step holds a single ``while_loop``
node however long the sequence, and eagerly the same code runs as a Python loop. Weights
follow Keras: ``kernel`` [features, k * units] from ``glorot_uniform``, ``recurrent_kernel``
[units, k * units] from ``orthogonal``, ``bias`` zeros (LSTM: the forget gate's part ones,
``unit_forget_bias``; GRU with ``reset_after=True``: shape [2, 3 * units], input and
recurrent biases). Gate order: LSTM ``i, f, c, o``; GRU ``z, r, h``. Cells build lazily on
the first call from the input's feature size.

Masks (Note [Masks] in layers/masking.py): ``layer(x, mask=m)``, ``m`` [batch, time] bool,
as Keras 3's ``backend.rnn``: inside the same loop each step selects with ``aj.where``, so a
masked step carries every state unchanged and gives its input a zero gradient; its output is
the previous step's (Keras's ``zero_output_for_mask=False``, the default of a plain layer) or
zeros (``zero_output_for_mask=True``, which ``Bidirectional`` sets to ``return_sequences``,
as Keras). Without ``return_sequences`` the result is the last unmasked output. With
``go_backwards`` the mask is read backwards with the inputs, so right padding comes first and
is skipped: the final state is that of the reversed true sequence.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autojit import dtypes, initializers
from autojit.errors import InvalidArgumentError, ShapeError
from autojit.graph.control import while_loop
from autojit.layers.core import as_positive_int, get_activation
from autojit.layers.functional import accepts_keras_tensors, takes_training
from autojit.layers.masking import as_mask
from autojit.module import Module
from autojit.ops import core, shapes
from autojit.ops.array import ensure_shape, expand_dims, transpose, zeros
from autojit.ops.array import shape as shape_of
from autojit.ops.creation import constant, ones_like, zeros_like
from autojit.ops.dropout import dropout
from autojit.ops.indexing import gather
from autojit.ops.linalg import matmul
from autojit.ops.math import where
from autojit.tensor import Tensor, convert_to_tensor
from autojit.tensor_array import TensorArray
from autojit.variables import Variable


def _units(owner: str, units: Any) -> int:
    number = as_positive_int(units)
    if number is None:
        raise InvalidArgumentError(f"{owner}: expected units to be a positive int, got "
                                   f"{units!r}")
    return number


class _Cell(Module):
    """Shared by the cells: arguments and the lazy build of the three weights."""

    gates = 1

    def __init__(self, units: int, activation: Any, use_bias: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, name: str | None,
                 dtype: Any, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0):
        super().__init__(name=name)
        owner = type(self).__name__
        self.units = _units(owner, units)
        self.dropout = _rate(owner, "dropout", dropout)
        self.recurrent_dropout = _rate(owner, "recurrent_dropout", recurrent_dropout)
        self._add_regularizer(kernel_regularizer, "kernel")
        self._add_regularizer(recurrent_regularizer, "recurrent_kernel")
        self._add_regularizer(bias_regularizer, "bias")
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(self.dtype):
            raise InvalidArgumentError(f"{owner}: expected a floating-point dtype, got "
                                       f"{self.dtype.name}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.recurrent_kernel = self.bias = None
        self.features: int | None = None

    @property
    def state_size(self) -> list:
        """The sizes of the states. Usage: ``cell.state_size == [units]``"""
        return [self.units]

    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_value(self) -> Any:
        return self.bias_initializer(self._bias_shape(), self.dtype)

    def build(self, features: int) -> None:
        """Create ``kernel``, ``recurrent_kernel`` and ``bias``. Usage: ``cell.build(8)``
        (done by the first call)"""
        k = self.gates * self.units
        with self.name_scope:
            self.kernel = Variable(self.kernel_initializer((features, k), self.dtype),
                                   name="kernel")
            self.recurrent_kernel = Variable(
                self.recurrent_initializer((self.units, k), self.dtype), name="recurrent_kernel")
            if self.use_bias:
                self.bias = Variable(self._bias_value(), name="bias")
        self.features = features

    def _check(self, x: Tensor) -> None:
        if len(x.shape) != 2:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: expected inputs of shape "
                             f"[batch, features], got {shapes.fmt(x.shape)}")
        features = x.shape[-1]
        if features is None:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: the feature dim must be "
                             f"known to build the layer, got {shapes.fmt(x.shape)}")
        if self.features is None:
            self.build(features)
        elif features != self.features:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: the layer was built for "
                             f"{self.features} features, got {features} (input shape "
                             f"{shapes.fmt(x.shape)}); use a new layer for other inputs")

    def _input(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=self.dtype)
        self._check(x)
        return x

    def count_params(self) -> int:
        """Number of weights (the cell must be built). Usage: ``cell.count_params()``"""
        if self.features is None:
            raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: the layer is not "
                                       "built yet; call it on an input first")
        return sum(math.prod(v.shape) for v in self.variables)


def _rate(owner: str, what: str, rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise InvalidArgumentError(f"{owner}: expected {what} to be a fraction in [0, 1), got "
                                   f"{rate!r}")
    return float(rate)


def _split(z: Any, n: int, units: int) -> list:
    return [z[:, i * units:(i + 1) * units] for i in range(n)]


class SimpleRNNCell(_Cell):
    """``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``.

    Usage: ``out, [h] = aj.layers.SimpleRNNCell(16)(x_t, [h_prev])``
    """

    gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 name: str | None = None, dtype: Any = dtypes.float32,
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, name, dtype,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                         recurrent_dropout)

    def __call__(self, x: Any, states: list, recurrent_mask: Any = None) -> tuple:
        """One step: ``(output, [h])``; ``recurrent_mask`` multiplies ``h_prev`` in its matmul
        (recurrent dropout). Usage: ``out, states = cell(x_t, states)``"""
        x = self._input(x)
        h_prev = states[0] if recurrent_mask is None else states[0] * recurrent_mask
        z = matmul(x, self.kernel) + matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z) if self.activation is not None else z
        return h, [h]


class LSTMCell(_Cell):
    """Keras's LSTM step, gates ``i, f, c, o``: ``z = x @ kernel + h @ recurrent_kernel +
    bias``; ``c = f * c_prev + i * activation(z_c)``; ``h = o * activation(c)`` (``i, f, o``
    through ``recurrent_activation``, sigmoid).

    Usage: ``out, [h, c] = aj.layers.LSTMCell(16)(x_t, [h_prev, c_prev])``
    """

    gates = 4

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, name: str | None = None,
                 dtype: Any = dtypes.float32,
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, name, dtype,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                         recurrent_dropout)
        self.recurrent_activation = get_activation(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list:
        """``[units, units]`` (h and c). Usage: ``cell.state_size``"""
        return [self.units, self.units]

    def _bias_value(self) -> Any:
        value = self.bias_initializer(self._bias_shape(), self.dtype)
        if not self.unit_forget_bias:
            return value
        ones = np.zeros(self._bias_shape(), self.dtype)
        ones[self.units:2 * self.units] = 1.0
        return value + constant(ones)

    def __call__(self, x: Any, states: list, recurrent_mask: Any = None) -> tuple:
        """One step: ``(h, [h, c])``; ``recurrent_mask`` multiplies ``h_prev`` in its matmul
        (recurrent dropout). Usage: ``out, states = cell(x_t, states)``"""
        x = self._input(x)
        h_prev, c_prev = states
        if recurrent_mask is not None:
            h_prev = h_prev * recurrent_mask
        z = matmul(x, self.kernel) + matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        zi, zf, zc, zo = _split(z, 4, self.units)
        sig, act = self.recurrent_activation, self.activation
        c = sig(zf) * c_prev + sig(zi) * act(zc)
        h = sig(zo) * act(c)
        return h, [h, c]


class GRUCell(_Cell):
    """Keras's GRU step, gates ``z, r, h``; with ``reset_after=True`` (the default) the reset
    gate multiplies the recurrent part after the matmul and ``bias`` is [2, 3 * units]
    (input, recurrent): ``h = z * h_prev + (1 - z) * activation(xh + r * (h_prev @ Uh + bh))``.

    Usage: ``out, [h] = aj.layers.GRUCell(16)(x_t, [h_prev])``
    """

    gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 reset_after: bool = True, name: str | None = None,
                 dtype: Any = dtypes.float32,
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, name, dtype,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, dropout,
                         recurrent_dropout)
        self.recurrent_activation = get_activation(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def __call__(self, x: Any, states: list, recurrent_mask: Any = None) -> tuple:
        """One step: ``(h, [h])``; ``recurrent_mask`` multiplies ``h_prev`` in its matmuls
        (recurrent dropout), not in the update. Usage: ``out, states = cell(x_t, states)``"""
        x = self._input(x)
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        u, sig, act = self.units, self.recurrent_activation, self.activation
        mx = matmul(x, self.kernel)
        if self.reset_after:
            inner = matmul(h_in, self.recurrent_kernel)
            if self.bias is not None:
                mx, inner = mx + self.bias[0], inner + self.bias[1]
            xz, xr, xh = _split(mx, 3, u)
            iz, ir, ih = _split(inner, 3, u)
            z, r = sig(xz + iz), sig(xr + ir)
            hh = act(xh + r * ih)
        else:
            if self.bias is not None:
                mx = mx + self.bias
            xz, xr, xh = _split(mx, 3, u)
            rk = self.recurrent_kernel
            z = sig(xz + matmul(h_in, rk[:, :u]))
            r = sig(xr + matmul(h_in, rk[:, u:2 * u]))
            hh = act(xh + matmul(r * h_in, rk[:, 2 * u:]))
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]


@accepts_keras_tensors
class _RNN(Module):
    """Runs a cell over the time axis of ``[batch, time, features]`` (Note [Recurrent
    loops])."""

    cell_class: type = SimpleRNNCell

    def __init__(self, units: int, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, name: str | None = None,
                 zero_output_for_mask: bool = False, **cell_kwargs: Any):
        super().__init__(name=name)
        self._cell_kwargs = tuple(cell_kwargs.items())  # Bidirectional makes its twin from them
        self.cell = self.cell_class(units, dtype=cell_kwargs.pop("dtype", dtypes.float32),
                                    **cell_kwargs)
        self.units = self.cell.units
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    def _time_masks(self, mask: Any, x: Tensor) -> Tensor:
        """``mask`` [batch, time] checked, as [time, batch, 1]."""
        owner = f"{type(self).__name__} {self.name!r}"
        mask = as_mask(owner, mask)
        if len(mask.shape) != 2 or any(
                a is not None and b is not None and a != b
                for a, b in zip(mask.shape, x.shape[:2])):
            raise ShapeError(f"{owner}: expected a mask of shape [batch, time] = "
                             f"{shapes.fmt(x.shape[:2])}, got {shapes.fmt(mask.shape)}")
        return expand_dims(transpose(mask, (1, 0)), -1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output's mask, as Keras: ``mask`` with ``return_sequences``, else None (and None
        for each state with ``return_state``). Usage: ``m = layer.compute_mask(x, mask)``"""
        out = mask if self.return_sequences else None
        return [out] + [None] * len(self.cell.state_size) if self.return_state else out

    def __call__(self, x: Any, initial_state: list | None = None,
                 training: bool | None = None, mask: Any = None) -> Any:
        """Run over ``x`` [batch, time, features]: the last output (or all of them with
        ``return_sequences``), followed by the final states with ``return_state``. With
        ``training=True`` the cell's ``dropout``/``recurrent_dropout`` drop inputs / ``h``
        with one mask for all time steps (Keras's). ``mask`` [batch, time] (True: a real
        step) skips the masked steps (see the module docstring). Usage: ``y = layer(x)``"""
        cell = self.cell
        x = x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=cell.dtype)
        if len(x.shape) != 3:
            raise ShapeError(f"{type(self).__name__} {self.name!r}: expected inputs of shape "
                             f"[batch, time, features], got {shapes.fmt(x.shape)}")
        xs = transpose(x, (1, 0, 2))  # time-major
        steps = x.shape[1] if x.shape[1] is not None else shape_of(x)[1]
        cell._check(gather(xs, 0))  # builds it on the first call; the feature size after
        masks = None if mask is None else self._time_masks(mask, x)
        zero = None
        if initial_state is None or masks is not None:  # [batch, units]
            zero = matmul(zeros_like(gather(xs, 0)), zeros((cell.features, self.units),
                                                           dtype=cell.dtype))
        if initial_state is None:
            states = [zero for _ in cell.state_size]
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            if len(states) != len(cell.state_size):
                raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: expected "
                                           f"{len(cell.state_size)} initial states, got "
                                           f"{len(states)}")
        outputs = TensorArray(cell.dtype, size=0, dynamic_size=True)
        n = len(states)
        in_mask = rec_mask = None
        if training and cell.dropout:
            in_mask = dropout(ones_like(gather(xs, 0)), cell.dropout)
        if training and cell.recurrent_dropout:
            rec_mask = dropout(ones_like(states[0]), cell.recurrent_dropout)

        def cond(t, *rest):
            return t < steps

        def body(t, *rest):
            index = steps - 1 - t if self.go_backwards else t
            x_t = gather(xs, index) if in_mask is None else gather(xs, index) * in_mask
            old = list(rest[:n])
            out, new_states = cell(x_t, old, rec_mask)
            last = ()
            if masks is not None:  # Keras's backend.rnn: select, never branch, per step
                keep = gather(masks, index)
                new_states = [where(keep, new, prev) for new, prev in zip(new_states, old)]
                out = where(keep, out, zeros_like(out) if self.zero_output_for_mask
                            else rest[n + 1])
                last = (out,)
            ta = rest[n].write(t, out) if self.return_sequences else rest[n]
            return (t + 1, *new_states, ta, *last)

        last = () if masks is None else (zero,)  # the last output (Keras's prev_output)
        result = while_loop(cond, body, (constant(0), *states, outputs, *last))
        states, outputs = list(result[1:1 + n]), result[1 + n]
        if self.return_sequences:
            seq = transpose(outputs.stack(), (1, 0, 2))
            if x.shape[1] is not None:  # the stack's length is a run-time value: restore it
                seq = ensure_shape(seq, (None, x.shape[1], self.units))
        else:
            seq = states[0] if masks is None else result[2 + n]
        return [seq, *states] if self.return_state else seq

    def count_params(self) -> int:
        """Number of weights (the layer must be built). Usage: ``layer.count_params()``"""
        return self.cell.count_params()

    def __repr__(self) -> str:
        return f"<aj.layers.{type(self).__name__} {self.name!r} units={self.units}>"


@accepts_keras_tensors
class Bidirectional(Module):
    """Runs a recurrent layer forwards and a twin of it (its own weights) backwards over time
    and merges the two, as Keras: ``merge_mode`` "concat" (the default, along features),
    "sum", "mul", "ave", or None (a list of both). With ``return_sequences`` the backward
    outputs are put back in time order first; with ``return_state`` the result is followed
    by the forward states, then the backward ones.

    Usage: ``y = aj.layers.Bidirectional(aj.layers.LSTM(16, return_sequences=True))(x)``
    """

    keras_name = "bidirectional"

    def __init__(self, layer: Any, merge_mode: str | None = "concat",
                 backward_layer: Any = None, name: str | None = None):
        super().__init__(name=name)
        if not isinstance(layer, _RNN):
            raise InvalidArgumentError(f"Bidirectional: expected a recurrent layer (SimpleRNN, "
                                       f"LSTM, GRU), got {layer!r}")
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise InvalidArgumentError(f"Bidirectional: merge_mode must be 'concat', 'sum', "
                                       f"'mul', 'ave' or None, got {merge_mode!r}")
        if backward_layer is None:
            backward_layer = type(layer)(layer.units, return_sequences=layer.return_sequences,
                                         return_state=layer.return_state,
                                         go_backwards=not layer.go_backwards,
                                         trainable=layer.trainable,  # frozen with it
                                         **dict(layer._cell_kwargs))
        elif not isinstance(backward_layer, _RNN) or backward_layer.go_backwards == \
                layer.go_backwards or backward_layer.return_sequences != layer.return_sequences:
            raise InvalidArgumentError("Bidirectional: backward_layer must be a recurrent layer "
                                       "running the other way (go_backwards) with the same "
                                       "return_sequences")
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.merge_mode = merge_mode
        for one in (layer, backward_layer):  # as Keras's force_zero_output_for_mask
            one.zero_output_for_mask = one.return_sequences

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output's mask, as Keras: ``mask`` with ``return_sequences``, else None.
        Usage: ``m = layer.compute_mask(x, mask)``"""
        out = mask if self.forward_layer.return_sequences else None
        if not self.forward_layer.return_state:
            return out
        n = len(self.forward_layer.cell.state_size) * 2
        return [out] * (2 if self.merge_mode is None else 1) + [None] * n

    def __call__(self, x: Any, initial_state: list | None = None,
                 training: bool | None = None, mask: Any = None) -> Any:
        """Run both directions over ``x`` [batch, time, features] and merge; ``mask``
        [batch, time] goes to both (the backward one reads it backwards, so right padding
        is skipped before its first real step, as Keras). Usage: ``y = layer(x)``
        """
        from autojit.ops.array import concat
        from autojit.ops.extra_array import reverse

        half = None
        if initial_state is not None:
            half = len(initial_state) // 2
        fwd = self.forward_layer(x, None if half is None else list(initial_state[:half]),
                                 training=training, mask=mask)
        bwd = self.backward_layer(x, None if half is None else list(initial_state[half:]),
                                  training=training, mask=mask)
        f_out, f_states = (fwd[0], fwd[1:]) if self.forward_layer.return_state else (fwd, [])
        b_out, b_states = (bwd[0], bwd[1:]) if self.backward_layer.return_state else (bwd, [])
        if self.forward_layer.return_sequences:
            b_out = reverse(b_out, [1])  # the backward outputs in time order
        if self.merge_mode == "concat":
            out = concat([f_out, b_out], axis=-1)
        elif self.merge_mode == "sum":
            out = f_out + b_out
        elif self.merge_mode == "mul":
            out = f_out * b_out
        elif self.merge_mode == "ave":
            out = (f_out + b_out) * 0.5
        else:
            out = [f_out, b_out]
        if not self.forward_layer.return_state:
            return out
        return [*(out if isinstance(out, list) else [out]), *f_states, *b_states]

    def __repr__(self) -> str:
        return f"<aj.layers.Bidirectional {self.name!r} {self.forward_layer!r}>"


@accepts_keras_tensors
class TimeDistributed(Module):
    """Applies ``layer`` to every time step of ``[batch, time, ...]`` (one call on
    ``[batch * time, ...]``), as Keras.

    Usage: ``frames = aj.layers.TimeDistributed(aj.layers.Conv2D(8, 3))(clips)``
    """

    keras_name = "time_distributed"
    supports_masking = True  # a Sequential passes a mask on past it (Note [Masks])

    def __init__(self, layer: Any, name: str | None = None):
        super().__init__(name=name)
        if not callable(layer):
            raise InvalidArgumentError(f"TimeDistributed: expected a layer, got {layer!r}")
        self.layer = layer

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """Apply the layer at each step of ``x``. Usage: ``y = layer(x)``"""
        from autojit.ops.array import reshape, shape

        x = x if isinstance(x, Tensor) else convert_to_tensor(x)
        if len(x.shape) < 3 or None in x.shape[2:]:
            raise ShapeError(f"TimeDistributed {self.name!r}: expected inputs [batch, time, "
                             f"...] with known dims after time, got {shapes.fmt(x.shape)}")
        batch = x.shape[0] if x.shape[0] is not None else shape(x)[0]
        steps = x.shape[1] if x.shape[1] is not None else shape(x)[1]
        flat = reshape(x, [-1, *x.shape[2:]])
        call = core.user_function(self.layer)
        y = call(flat, training=training) if takes_training(self.layer) else call(flat)
        return reshape(y, [batch, steps, *[d if d is not None else -1 for d in y.shape[1:]]])

    def __repr__(self) -> str:
        return f"<aj.layers.TimeDistributed {self.name!r} {self.layer!r}>"


class SimpleRNN(_RNN):
    """A ``SimpleRNNCell`` over time. Usage: ``y = aj.layers.SimpleRNN(16)(x)`` (x [b, t, f])
    """

    cell_class = SimpleRNNCell


class LSTM(_RNN):
    """An ``LSTMCell`` over time; ``return_state`` adds ``h, c``.

    Usage: ``seq, h, c = aj.layers.LSTM(32, return_sequences=True, return_state=True)(x)``
    """

    cell_class = LSTMCell


class GRU(_RNN):
    """A ``GRUCell`` over time (``reset_after=True`` by default); ``return_state`` adds ``h``.

    Usage: ``y = aj.layers.GRU(32)(x)``
    """

    cell_class = GRUCell


__all__ = ["GRU", "LSTM", "Bidirectional", "GRUCell", "LSTMCell", "SimpleRNN", "SimpleRNNCell",
           "TimeDistributed"]
