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
"""

from __future__ import annotations

import enum
from typing import Any

from autojit import dtypes, nest
from autojit.errors import GradientError
from autojit.ops import core
from autojit.ops.math import add, ones_like_value, zeros_like_value


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on.

    Usage: ``tape.gradient(y, x, unconnected_gradients=aj.UnconnectedGradients.ZERO)``
    """

    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """Record ops on watched values, then compute gradients of a target with respect to them.

    Usage::

        with aj.GradientTape() as tape:
            c = aj.reduce_sum(x * y + z)
        grad_x, grad_y, grad_z = tape.gradient(c, [x, y, z])

    Trainable ``aj.Variable``s are watched automatically (unless
    ``watch_accessed_variables=False``); other tensors need ``tape.watch(t)``.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._entries: list = []
        self._watched: set = set()
        self._keep: list = []  # objects whose ids are in _watched (Note [Tape keys])
        self._used = False
        self._active = False
        self._trace = None

    # --- recording ---------------------------------------------------------------------
    def __enter__(self) -> "GradientTape":
        self._trace = core.current_trace()
        self._active = True
        core.push_tape(self)
        return self

    def __exit__(self, *exc) -> None:
        self._active = False
        core.pop_tape(self)

    def watch(self, tensor: Any) -> None:
        """Record ops on ``tensor`` (or every tensor in a nested structure).

        Usage: ``tape.watch(x)``
        """
        for leaf in nest.flatten(tensor):
            if not hasattr(leaf, "dtype") or not hasattr(leaf, "shape"):
                raise GradientError(f"watch: expected tensors or Variables, got "
                                    f"{type(leaf).__name__}")
            if dtypes.is_floating(leaf.dtype) and id(leaf) not in self._watched:
                self._watched.add(id(leaf))
                self._keep.append(leaf)

    def watched_variables(self) -> list:
        """The Variables this tape has watched so far. Usage: ``tape.watched_variables()``"""
        return [v for v in self._keep if getattr(v, "_is_variable", False)]

    def record(self, op: core.Op, keys, inputs, outputs, attrs: dict) -> None:
        """Called by the traces after each op (see ``autojit.ops.core.record``)."""
        watched = self._watched
        hit = False
        for key in keys:
            if id(key) in watched:
                hit = True
            elif self.watch_accessed_variables and getattr(key, "_trainable", False):
                watched.add(id(key))
                self._keep.append(key)
                hit = True
        if not hit or op.vjp is None:
            return
        outs = outputs if op.multiple else (outputs,)
        for out in outs:
            if dtypes.is_floating(out.dtype):
                watched.add(id(out))
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
        """Forget everything recorded so far. Usage: ``tape.reset()``"""
        self._entries.clear()
        self._watched.clear()
        self._keep.clear()

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
        self._used = True
        zero = UnconnectedGradients(unconnected_gradients) is UnconnectedGradients.ZERO
        targets = nest.flatten(target)
        flat_sources = nest.flatten(sources)
        for s in flat_sources:
            if not hasattr(s, "dtype"):
                raise GradientError(f"gradient: expected tensors or Variables as sources, "
                                    f"got {type(s).__name__}")
        seeds = [None] * len(targets) if output_gradients is None \
            else nest.flatten(output_gradients)
        if len(seeds) != len(targets):
            raise GradientError(f"gradient: got {len(seeds)} output_gradients for "
                                f"{len(targets)} targets")
        paused = self._active
        if paused:
            core.pop_tape(self)
        try:
            grads = self._backward(targets, seeds, flat_sources)
        finally:
            if paused:
                core.push_tape(self)
            if not self.persistent:
                self.reset()
        result = []
        for s, g in zip(flat_sources, grads):
            if not dtypes.is_floating(s.dtype):
                g = None
            elif g is None and zero:
                g = zeros_like_value(s)
            result.append(g)
        return nest.pack_as(sources, result)

    def _backward(self, targets: list, seeds: list, sources: list) -> list:
        wanted = {id(s) for s in sources}
        reach = set(wanted)  # ids whose value depends on a source
        live = []
        for entry in self._entries:
            if any(id(k) in reach for k in entry[1]):
                live.append(entry)
                reach.update(id(o) for o in entry[3])
        cts: dict = {}
        for t, seed in zip(targets, seeds):
            if id(t) in reach:
                _accumulate(cts, id(t), ones_like_value(t) if seed is None else seed)
        for op, keys, inputs, outs, attrs in reversed(live):
            gs = [cts.get(id(o)) for o in outs]
            if all(g is None for g in gs):
                continue
            if op.multiple:
                in_cts = op.vjp(tuple(gs), outs, *inputs, **attrs)
            else:
                in_cts = op.vjp(gs[0], outs[0], *inputs, **attrs)
            for key, ct in zip(keys, in_cts):
                if ct is None or id(key) not in reach:
                    continue
                if callable(ct):  # a deferred cotangent (see Note [Deferred cotangents])
                    ct = ct()
                _accumulate(cts, id(key), ct)
        return [cts.get(id(s)) for s in sources]


def _accumulate(cts: dict, key: int, value: Any) -> None:
    previous = cts.get(key)
    cts[key] = value if previous is None else add(previous, value)


# Note [Deferred cotangents]: a VJP may return a zero-argument callable in place of a
# cotangent whose computation is expensive (matmul). The tape calls it only when the input
# leads back to a source, so eager code never computes, say, the gradient of the input
# batch of a network's first layer.
