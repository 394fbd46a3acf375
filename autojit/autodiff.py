"""``GradientTape``: reverse-mode autodiff over the ops a thread runs, eager or traced.

The tape keeps, for each op that touched a watched value, the op, its inputs, outputs and
attributes. ``gradient`` walks them backwards calling each op's VJP. VJPs are autojit ops,
so under an outer tape they are recorded too (higher derivatives), and inside a traced
function they become graph nodes (the backward pass is part of the graph).

Note [Tape keys]: a value is known to the tape by the identity of the object the user
passed to the op. That is the tensor itself eagerly, and the ``Variable`` (not the
symbolic read of it) while tracing, so ``tape.gradient(loss, model.trainable_variables)``
finds variables in both modes. Entries hold those objects, so ids stay unique while the
tape lives.

Note [Tapes and assigns]: a VJP must see a Variable's value as it was when the op ran
(``r = v * w; v.assign(...); tape.gradient(r, w)`` is the old ``v``, as in TF). Entries
hold the Variable itself (no copy, nothing extra per op). A tape holding entries is listed
in ``core.holding_tapes`` until it releases them (after ``gradient`` unless persistent).
An eager ``assign`` checks that list: when a holding tape read the Variable, the assign is
copy-on-write: the Variable moves to a fresh copy of its buffer and those tapes swap it in
their entries for a ``_Snapshot`` of the old buffer (ops on a snapshot are still recorded
as ops on the Variable, so higher-order gradients find it). The usual ``gradient`` then
``apply_gradients`` finds no holding tape and updates weights in place.
"""

from __future__ import annotations

import enum
import functools
from typing import Any, Callable

import numpy as np

from autojit import dtypes, nest
from autojit.errors import GradientError, ShapeError
from autojit.ops import core, shapes
from autojit.ops.array import constant, reshape, stack
from autojit.ops.math import add, broadcast_like, ones_like_value, zeros_like_value
from autojit.tensor import _EAGER, Tensor, to_device

_FLOATS = dtypes._FLOATS


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on.

    Usage: ``tape.gradient(y, x, unconnected_gradients=aj.UnconnectedGradients.ZERO)``
    """

    NONE = "none"
    ZERO = "zero"


def _zeros_for_unconnected(value: Any) -> bool:
    if value is UnconnectedGradients.NONE:
        return False
    if value is UnconnectedGradients.ZERO:
        return True
    try:
        return UnconnectedGradients(value.lower() if isinstance(value, str) else value) \
            is UnconnectedGradients.ZERO
    except ValueError:
        raise GradientError(f"gradient: unconnected_gradients must be "
                            f"aj.UnconnectedGradients.NONE or .ZERO (or 'none' / 'zero'), "
                            f"got {value!r}") from None


class GradientTape:
    """Record ops on watched values, then compute gradients of a target with respect to them.

    Usage::

        with aj.GradientTape() as tape:
            c = aj.reduce_sum(x * y + z)
        grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])

    Trainable floating-point ``aj.Variable``s are watched automatically (unless
    ``watch_accessed_variables=False``); other tensors need ``tape.watch(t)``. A tape
    computes gradients once unless ``persistent=True``; entering it again with ``with``
    starts a fresh recording. Tapes nest: an outer tape records the gradient computation
    of an inner one, which gives higher derivatives.

    VJPs read the values that ops saw when they ran, Variables included: assigning to a
    Variable between the forward pass and ``gradient`` does not change the gradients, as in
    TF (Note [Tapes and assigns]).
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._entries: list = []
        self._watched: set = set()
        self._keep: list = []  # objects whose ids are in _watched (Note [Tape keys])
        self._variables: list = []  # watched Variables, in the order they were first watched
        self._used = False
        self._active = False

    # --- recording ---------------------------------------------------------------------
    def __enter__(self) -> "GradientTape":
        if self._active:
            raise GradientError("GradientTape: this tape is already recording; a tape can be "
                                "entered once at a time (nest a second tape instead)")
        if self._used and not self.persistent:
            self._used = False  # a fresh recording, as TF: the old one was released
            self._variables.clear()
        self._active = True
        core.push_tape(self)
        return self

    def __exit__(self, *exc) -> None:
        self._active = False
        core.pop_tape(self)

    def watch(self, tensor: Any) -> None:
        """Record ops on ``tensor`` (or every tensor in a nested structure). Integer and
        bool tensors are ignored: they have no gradient.

        Usage: ``tape.watch(x)``
        """
        for leaf in nest.flatten(tensor):
            if not isinstance(leaf, Tensor):
                raise GradientError(f"watch: expected tensors or Variables, got "
                                    f"{type(leaf).__name__} {leaf!r:.40}; convert it with "
                                    "aj.constant first")
            if leaf.dtype in _FLOATS and id(leaf) not in self._watched:
                self._watched.add(id(leaf))
                self._keep.append(leaf)
                if leaf._is_variable:
                    self._variables.append(leaf)

    def watched_variables(self) -> list:
        """The Variables this tape has watched, in order (still known after a non-persistent
        tape computed its gradient). Usage: ``tape.watched_variables()``
        """
        return list(self._variables)

    def record(self, op: core.Op, keys, inputs, outputs, attrs: dict) -> None:
        """Called by the traces after each op (see ``autojit.ops.core.record``)."""
        watched = self._watched
        hit = False
        for key in keys:
            if id(key) in watched:
                hit = True
            elif (isinstance(key, Tensor) and key._trainable and self.watch_accessed_variables
                  and key.dtype in _FLOATS):
                watched.add(id(key))
                self._keep.append(key)
                self._variables.append(key)
                hit = True
        if not hit or op.vjp is None:
            return
        if op.multiple:
            outs = outputs
            for out in outs:
                if out.dtype in _FLOATS:
                    watched.add(id(out))
        else:
            outs = (outputs,)
            if outputs.dtype in _FLOATS:
                watched.add(id(outputs))
        if not self._entries:
            core.holding_tapes.add(self)  # Note [Tapes and assigns]
        self._entries.append((op, keys, inputs, outs, attrs))

    class _Pause:
        def __init__(self, tape):
            self.tape = tape

        def __enter__(self):
            core.pop_tape(self.tape)

        def __exit__(self, *exc):
            core.push_tape(self.tape)

    def stop_recording(self) -> "GradientTape._Pause":
        """A context in which this tape records nothing. Usage: ``with tape.stop_recording():``"""
        if not self._active:
            raise GradientError("stop_recording: the tape is not recording; call it inside "
                                "`with tape:`")
        return GradientTape._Pause(self)

    def reset(self) -> None:
        """Forget everything recorded and watched so far. Usage: ``tape.reset()``"""
        self._release()
        self._variables.clear()

    def reads(self, var: Any) -> bool:
        """Whether a recorded op takes ``var`` as an input (Note [Tapes and assigns])."""
        return any(x is var for entry in self._entries for x in entry[2])

    def detach(self, var: Any, snapshot: Any) -> None:
        """``var`` is about to change in place: entries that read it get ``snapshot``."""
        for i, (op, keys, inputs, outs, attrs) in enumerate(self._entries):
            if any(x is var for x in inputs):
                inputs = tuple(snapshot if x is var else x for x in inputs)
                self._entries[i] = (op, keys, inputs, outs, attrs)

    def _release(self) -> None:
        self._entries.clear()
        self._watched.clear()
        self._keep.clear()
        core.holding_tapes.discard(self)

    # --- gradients ---------------------------------------------------------------------
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: Any = UnconnectedGradients.NONE) -> Any:
        """d(sum of ``target``)/d(each source), in the structure of ``sources``.

        Usage: ``dx, dw = tape.gradient(loss, [x, w])``. ``output_gradients`` weights the
        targets (a vector-Jacobian product); unconnected sources give None (or zeros with
        ``unconnected_gradients="zero"``); integer and bool sources always give None.
        """
        if self._used and not self.persistent:
            raise GradientError(
                "gradient: a non-persistent GradientTape can compute gradients only once; "
                "create it with aj.GradientTape(persistent=True) to call gradient() again")
        zeros = _zeros_for_unconnected(unconnected_gradients)
        targets = nest.flatten(target)
        flat_sources = nest.flatten(sources)
        for t in targets:
            if not isinstance(t, Tensor):
                raise GradientError(f"gradient: expected tensor targets, got "
                                    f"{type(t).__name__} {t!r:.40}")
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise GradientError(f"gradient: expected tensors or Variables as sources, "
                                    f"got {type(s).__name__} {s!r:.40}")
        seeds = _seeds(targets, output_gradients)
        self._used = True
        paused = self._active
        if paused:
            core.pop_tape(self)
        try:
            grads = self._backward(targets, seeds, flat_sources)
        finally:
            if paused:
                core.push_tape(self)
            if not self.persistent:
                self._release()
        # Only floating-point values are ever watched, so integer and bool sources (and
        # sources the tape never saw) come back None here.
        if zeros:
            grads = [zeros_like_value(s) if g is None and s.dtype in _FLOATS else g
                     for s, g in zip(flat_sources, grads)]
        return nest.pack_as(sources, grads)

    # --- Jacobians (Note [Jacobians by rows]) ------------------------------------------
    def jacobian(self, target: Any, sources: Any,
                 unconnected_gradients: Any = UnconnectedGradients.NONE,
                 parallel_iterations: int | None = None,
                 experimental_use_pfor: bool = True) -> Any:
        """d target / d source for each source: shape ``target.shape + source.shape``, in the
        structure of ``sources`` (None for unconnected ones, or zeros with
        ``unconnected_gradients="zero"``), as ``tf.GradientTape.jacobian``.

        Usage: ``j = tape.jacobian(y, x)``. As in TF, a non-persistent tape computes one
        Jacobian (or gradient); ``persistent=True`` allows more. Second derivatives come from
        nested tapes, e.g. a Hessian (``tf.hessians``-style)::

            with aj.GradientTape() as outer:
                with aj.GradientTape() as inner:
                    y = f(x)
                g = inner.gradient(y, x)
            hessian = outer.jacobian(g, x)  # shape x.shape + x.shape

        ``parallel_iterations`` and ``experimental_use_pfor`` are accepted for TF
        compatibility; each row is its own backward pass. Inside ``@aj.function`` the
        target's shape must be known.
        """
        self._check_jacobian_target("jacobian", target)
        flat_sources = self._checked_sources("jacobian", sources)
        shape = tuple(target.shape)
        if None in shape:
            raise ShapeError(f"jacobian: the target's shape must be known, got "
                             f"{shapes.fmt(shape)}; use batch_jacobian for an unknown batch dim")
        n = shapes.size(shape)
        unit = np.eye(n, dtype=target.dtype)
        seeds = [to_device(constant(unit[i].reshape(shape)), target._device) for i in range(n)]
        rows = self._seeded_backward("jacobian", target, seeds, flat_sources,
                                     unconnected_gradients)
        out = []
        for source, grads in zip(flat_sources, rows):
            if grads is None:
                out.append(None)
                continue
            if grads:
                full = stack(grads, axis=0)
            else:  # an empty target: a Jacobian with no rows
                full = zeros_like_value(source)[None][:0]
            out.append(full if len(shape) == 1 else _reshaped(full, shape + tuple(source.shape)))
        return nest.pack_as(sources, out)

    def batch_jacobian(self, target: Any, source: Any,
                       unconnected_gradients: Any = UnconnectedGradients.NONE,
                       parallel_iterations: int | None = None,
                       experimental_use_pfor: bool = True) -> Any:
        """The Jacobian of each batch row of ``target`` ``[b, y1, ...]`` with respect to the
        same row of ``source`` ``[b, x1, ...]``: shape ``[b, y1, ..., x1, ...]``, assuming
        row ``i`` of the target depends only on row ``i`` of the source (as TF).

        Usage: ``j = tape.batch_jacobian(model(x), x)``. One backward pass per entry of a
        target row; the batch dim may be unknown inside ``@aj.function``. A non-persistent
        tape computes it once, as ``jacobian``.
        """
        self._check_jacobian_target("batch_jacobian", target)
        (flat_source,) = self._checked_sources("batch_jacobian", [source])
        t_shape, s_shape = tuple(target.shape), tuple(flat_source.shape)
        if len(t_shape) < 2 or len(s_shape) < 2 or (
                None not in (t_shape[0], s_shape[0]) and t_shape[0] != s_shape[0]):
            raise ShapeError(f"batch_jacobian: expected a target and a source of rank >= 2 with "
                             f"the same first (batch) dim, got target {shapes.fmt(t_shape)} and "
                             f"source {shapes.fmt(s_shape)}")
        rest = t_shape[1:]
        if None in rest:
            raise ShapeError(f"batch_jacobian: the target's dims after the batch dim must be "
                             f"known, got {shapes.fmt(t_shape)}")
        m = shapes.size(rest)
        unit = np.eye(m, dtype=target.dtype)
        seeds = [broadcast_like(to_device(constant(unit[j].reshape((1,) + rest)),
                                          target._device), target) for j in range(m)]
        (grads,) = self._seeded_backward("batch_jacobian", target, seeds, [flat_source],
                                         unconnected_gradients)
        if grads is None:
            return None
        full = stack(grads, axis=1)  # [b, m, x1, ...]
        if len(rest) == 1:
            return full
        batch = t_shape[0] if t_shape[0] is not None else s_shape[0]
        return _reshaped(full, (batch,) + rest + s_shape[1:])

    def _check_jacobian_target(self, name: str, target: Any) -> None:
        if self._used and not self.persistent:
            raise GradientError(
                f"{name}: a non-persistent GradientTape can compute gradients (or a Jacobian) "
                "only once; create it with aj.GradientTape(persistent=True) to call it again")
        if not isinstance(target, Tensor):
            raise GradientError(f"{name}: expected a tensor target, got "
                                f"{type(target).__name__} {target!r:.40}")
        if target.dtype not in _FLOATS:
            raise GradientError(f"{name}: expected a floating-point target, got "
                                f"{target.dtype.name}")

    @staticmethod
    def _checked_sources(name: str, sources: Any) -> list:
        flat = nest.flatten(sources)
        for s in flat:
            if not isinstance(s, Tensor):
                raise GradientError(f"{name}: expected tensors or Variables as sources, got "
                                    f"{type(s).__name__} {s!r:.40}")
        return flat

    def _seeded_backward(self, name: str, target: Any, seeds: list, sources: list,
                         unconnected_gradients: Any) -> list:
        """Per source: the list of its gradients, one per seed (zeros where one row is not
        connected), or None (zeros of the Jacobian's shape are the caller's) when no row is."""
        zeros = _zeros_for_unconnected(unconnected_gradients)
        self._used = True
        paused = self._active
        if paused:
            core.pop_tape(self)
        try:
            rows = [self._backward([target], [seed], sources) for seed in seeds]
        finally:
            if paused:
                core.push_tape(self)
            if not self.persistent:
                self._release()
        out = []
        for k, source in enumerate(sources):
            grads = [row[k] for row in rows]
            connected = any(g is not None for g in grads)
            if source.dtype not in _FLOATS or (not connected and not zeros):
                out.append(None)
            else:
                out.append([zeros_like_value(source) if g is None else g for g in grads])
        return out

    def _backward(self, targets: list, seeds: list, sources: list) -> list:
        # Forward sweep: the entries on a path from a watched source (the rest cannot
        # matter; a source the tape never watched gets no gradient, as in TF).
        watched = self._watched
        reach = {id(s) for s in sources if id(s) in watched}
        live = []
        for entry in self._entries:
            for key in entry[1]:
                if id(key) in reach:
                    live.append(entry)
                    for out in entry[3]:
                        reach.add(id(out))
                    break
        cts: dict = {}
        for t, seed in zip(targets, seeds):
            if id(t) in reach:
                _accumulate(cts, id(t), _ones_like(t) if seed is None else seed)
        if not cts:
            return [None] * len(sources)
        # Backward sweep: each live entry's VJP, in reverse order.
        get = cts.get
        for op, keys, inputs, outs, attrs in reversed(live):
            if op.multiple:
                gs = tuple([get(id(o)) for o in outs])
                if all(g is None for g in gs):
                    continue
                if op.vjp_needs:
                    needs = tuple(id(k) in reach for k in keys)
                    in_cts = op.vjp(gs, outs, *inputs, needs=needs, **attrs)
                else:
                    in_cts = op.vjp(gs, outs, *inputs, **attrs)
            else:
                g = get(id(outs[0]))
                if g is None:
                    continue
                in_cts = op.vjp(g, outs[0], *inputs, **attrs)
            for key, ct in zip(keys, in_cts):
                if ct is None:
                    continue
                k = id(key)
                if k not in reach:
                    continue
                if callable(ct):  # a deferred cotangent (see Note [Deferred cotangents])
                    ct = ct()
                previous = get(k)
                cts[k] = ct if previous is None else add(previous, ct)
        return [get(id(s)) for s in sources]


def _reshaped(x: Any, shape: tuple) -> Any:
    """``reshape`` to ``shape``, whose one unknown dim (at most) is inferred."""
    unknown = [i for i, d in enumerate(shape) if d is None]
    if len(unknown) > 1:
        raise ShapeError(f"jacobian: a Jacobian of shape {shapes.fmt(shape)} has more than one "
                         "unknown dim; give the source a known shape")
    return reshape(x, [-1 if d is None else d for d in shape])


# Note [Jacobians by rows]: ``jacobian`` runs one backward pass per target entry, seeded with
# that entry's unit vector as ``output_gradients`` (no ops are added to the forward record,
# so a non-persistent tape can serve all the rows before it is released, as TF's pfor does).
# ``batch_jacobian`` seeds entry j of every batch row at once: under its assumption (row i
# of the target depends only on row i of the source) one pass gives all rows' derivatives.
# Vectorising the rows (one batched backward pass) is the later step.


def _seeds(targets: list, output_gradients: Any) -> list:
    """One seed per target: None (ones) or the matching ``output_gradients`` leaf."""
    if output_gradients is None:
        return [None] * len(targets)
    seeds = nest.flatten(output_gradients)
    if len(seeds) != len(targets):
        raise GradientError(f"gradient: got {len(seeds)} output_gradients for "
                            f"{len(targets)} targets; pass one per target, in its structure")
    out = []
    for i, (t, seed) in enumerate(zip(targets, seeds)):
        if seed is not None:
            if not isinstance(seed, Tensor):
                seed = constant(seed, dtype=t.dtype)
            if seed.dtype != t.dtype:
                raise GradientError(f"gradient: output_gradients[{i}] is {seed.dtype.name} but "
                                    f"its target is {t.dtype.name}; aj.cast it to "
                                    f"aj.{t.dtype.name}")
            seed = to_device(seed, t._device)  # VJPs run where the target lives
            if len(seed.shape) != len(t.shape) or any(
                    a is not None and b is not None and a != b
                    for a, b in zip(seed.shape, t.shape)):
                raise GradientError(f"gradient: output_gradients[{i}] has shape "
                                    f"{tuple(seed.shape)} but its target has shape "
                                    f"{tuple(t.shape)}; they must match")
        out.append(seed)
    return out


def _ones_like(t: Any) -> Any:
    array = t._array
    if array is not None and core._state.trace is _EAGER:
        # The seed depends on nothing a tape watches, so it needs no op (Note [Eager fast
        # path] in tensor.py). A scalar loss is a NumPy scalar: np.ones_like is slow on those.
        one = array.dtype.type(1) if isinstance(array, np.generic) \
            else t._device.xp.ones_like(array)
        return Tensor(one, t._device)
    return ones_like_value(t)


def _accumulate(cts: dict, key: int, value: Any) -> None:
    previous = cts.get(key)
    cts[key] = value if previous is None else add(previous, value)


# Note [Deferred cotangents]: a VJP may return a zero-argument callable in place of a
# cotangent whose computation is expensive (matmul). The tape calls it only when the input
# leads back to a source, so eager code never computes, say, the gradient of the input
# batch of a network's first layer.


# ---------------------------------------------------------------------------------------
# Note [Custom gradients]: ``custom_gradient(f)`` runs ``f``'s forward with no tape
# recording (a probe tape only notes the trainable Variables it reads), then binds one
# ``custom_gradient`` op: inputs the tensor arguments, those Variables and ``f``'s outputs;
# outputs the same outputs (an identity), attributes the ``grad_fn`` ``f`` returned. A tape
# records that one entry, whose VJP is ``grad_fn``: no gradient reaches the forward's own
# ops. Inside ``@aj.function`` the op is a graph node, so a function called under an eager
# tape (its VJP recomputes the graph under a tape, Note [Gradients across functions]) meets
# same gradient: there the node is evaluated again on new values, and ``grad_fn`` closes over
# the values of the first run (`e = aj.exp(x)` in its forward), so the VJP runs ``f`` again on
# the node's inputs, with no tape, for a ``grad_fn`` of those values (the node's ``made``
# attribute holds the outputs it made first, which tell the two cases apart). ``grad_fn``'s
# ops are recorded by outer tapes, so higher derivatives are the derivatives of ``grad_fn``.


def _custom_kernel(xp, *arrays, grad_fn, forward, made, variables, n_args, n_vars):
    return tuple(arrays[n_args + n_vars:])


def _custom_rule(name, *specs, grad_fn, forward, made, variables, n_args, n_vars):
    return [(s.shape, s.dtype) for s in specs[n_args + n_vars:]]


def _custom_vjp(gs, outs, *inputs, grad_fn, forward, made, variables, n_args, n_vars):
    if not (made and made[0] is outs[0]):  # evaluated again: a grad_fn of these values
        saved = core._state.tapes
        core._state.tapes = []
        try:
            grad_fn = forward(*inputs[:n_args])[1]
        finally:
            core._state.tapes = saved
    dys = [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]
    arg_grads, var_grads = custom_gradients_of(grad_fn, dys, variables, n_args, n_vars)
    return tuple(arg_grads) + tuple(var_grads) + (None,) * (len(inputs) - n_args - n_vars)


def custom_gradients_of(grad_fn: Callable, dys: list, variables: Any, n_args: int,
                        n_vars: int) -> tuple[list, list]:
    """``grad_fn(*dys)`` (with ``variables=`` when ``f`` read Variables, as TF) as two lists:
    the gradients of ``f``'s tensor arguments and of those Variables, checked against
    ``n_args`` and ``n_vars`` (Note [Custom gradients]; saved_model.py traces it too).

    Usage: ``arg_grads, var_grads = custom_gradients_of(grad_fn, dys, (), 1, 0)``
    """
    if n_vars:
        result = grad_fn(*dys, variables=list(variables))  # the Variables, as TF
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise GradientError(
                "custom_gradient: f reads Variables, so its grad_fn(*dy, variables=...) must "
                f"return (gradients of the inputs, gradients of the variables), got {result!r}")
        arg_grads, var_grads = result
    else:
        arg_grads, var_grads = grad_fn(*dys), []
    arg_grads = list(arg_grads) if isinstance(arg_grads, (tuple, list)) else [arg_grads]
    var_grads = list(var_grads) if isinstance(var_grads, (tuple, list)) else [var_grads]
    if len(arg_grads) != n_args or len(var_grads) != n_vars:
        raise GradientError(
            f"custom_gradient: grad_fn returned {len(arg_grads)} input gradient(s) and "
            f"{len(var_grads)} variable gradient(s); expected {n_args} (one per tensor "
            f"argument of f) and {n_vars} (one per Variable f reads)")
    return arg_grads, var_grads


CUSTOM_GRADIENT = core.defop("custom_gradient", ["*values"], _custom_kernel, _custom_rule,
                             _custom_vjp,
                             attrs=("grad_fn", "forward", "made", "variables", "n_args",
                                    "n_vars"),
                             multiple=True)


# Note [Saved custom gradients]: a saved graph holds no Python, so ``aj.saved_model.save``
# writes a ``custom_gradient`` node as ``custom_gradient_saved`` (graph/serialize.py
# ``SAVE_AS``): the same inputs and outputs, with ``grad`` the graph of the node's VJP traced
# on its argument and output types: ``forward`` again on the arguments (for ``grad_fn``'s
# values), then ``grad_fn`` on the output gradients, giving the arguments' and the
# Variables' gradients (zeros for None; the Variables read by reference). Its VJP binds that
# graph's ops on the node's arguments and the incoming gradients, so tapes record them:
# higher derivatives of a loaded function are the derivatives of the traced ``grad_fn``.


def _saved_custom_kernel(xp, *arrays, grad, n_args, n_vars):
    return tuple(arrays[n_args + n_vars:])


def _saved_custom_rule(name, *specs, grad, n_args, n_vars):
    return [(s.shape, s.dtype) for s in specs[n_args + n_vars:]]


def _saved_custom_vjp(gs, outs, *inputs, grad, n_args, n_vars):
    from autojit.graph.interpret import evaluate  # the graph layer evaluates graphs

    dys = [g if g is not None else zeros_like_value(o) for g, o in zip(gs, outs)]
    grads = evaluate(grad, [*inputs[:n_args], *dys])
    return tuple(grads) + (None,) * (len(inputs) - n_args - n_vars)


CUSTOM_GRADIENT_SAVED = core.defop(
    "custom_gradient_saved", ["*values"], _saved_custom_kernel, _saved_custom_rule,
    _saved_custom_vjp, attrs=("grad", "n_args", "n_vars"), multiple=True)


def custom_gradient(f: Callable) -> Callable:
    """Give ``f`` its own gradient: ``f(*x)`` returns ``(y, grad_fn)`` and ``grad_fn(dy)``
    returns the gradients of the tensor arguments (with ``variables=``, when ``f`` reads
    Variables: ``(input gradients, variable gradients)``), as ``tf.custom_gradient``.

    Usage::

        @aj.custom_gradient
        def clip_gradient(x):
            return aj.identity(x), lambda dy: aj.clip_by_value(dy, -1.0, 1.0)

    Eagerly and inside ``@aj.function`` (Note [Custom gradients]).
    """
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        saved = core._state.tapes
        core._state.tapes = []
        probe = GradientTape()
        try:
            with probe:  # f converted (Note [Library code calling user code])
                result = core.user_function(f)(*args, **kwargs)
        finally:
            core._state.tapes = saved
            variables = probe.watched_variables()
            probe._release()
        if not (isinstance(result, (tuple, list)) and len(result) == 2
                and callable(result[1])):
            raise GradientError(f"custom_gradient: {getattr(f, '__name__', 'f')} must "
                                f"return (outputs, grad_fn), got {result!r:.80}")
        ys, grad_fn = result
        tensors = [a for a in args if isinstance(a, Tensor)]
        if not saved and core.current_trace() is _EAGER:
            return ys  # eager, no tape: nothing to record
        flat = nest.flatten(ys)
        slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

        def forward(*values: Any) -> Any:  # f again on other tensors (Note [Custom gradients])
            again = list(args)
            for i, value in zip(slots, values):
                again[i] = value
            return core.user_function(f)(*again, **kwargs)

        made: list = []
        outs = core.bind(CUSTOM_GRADIENT, *tensors, *variables, *flat, grad_fn=grad_fn,
                         forward=forward, made=made, variables=tuple(variables),
                         n_args=len(tensors),
                         n_vars=len(variables))
        made.extend(outs)
        return nest.pack_as(ys, list(outs))

    return wrapper
