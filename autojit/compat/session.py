"""``Session``: runs the part of a v1 graph that fetches need, compiled per (fetches, feed
types) through the same trace, passes and code generation as ``@aj.function``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autojit import backend, nest
from autojit.compat.graph import Graph, Operation, Tensor, Variable, _Evaluator, \
    get_default_graph
from autojit.config import _config
from autojit.errors import AutojitError, DTypeError, InvalidArgumentError, ShapeError
from autojit.graph.codegen import generate
from autojit.graph.passes import optimize
from autojit.graph.tracer import where_text
from autojit.ops import core, shapes
from autojit.ops.core import TensorSpec


class _Compiled:
    """One compiled run: the replay function, its inputs (fed tensors) and output slots."""

    def __init__(self, graph, fn, code, inputs, slots, keep):
        self.graph = graph  # the optimized IR graph
        self.fn = fn
        self.code = code  # the generated replay source
        self.inputs = inputs  # ids of the fed tensors the function takes, in order
        self.slots = slots  # per fetch: index into the results, or None (an Operation)
        self._keep = keep  # the fetches and feeds whose ids are in the cache key


class Session:
    """Runs fetches of a v1 graph: ``run(fetches, feed_dict)`` returns NumPy values.

    Usage::

        with tf.Session(graph=g) as sess:
            sess.run(init)
            print(sess.run(z, feed_dict={x: 1.0}))

    Each distinct (fetches, fed tensors and their types) is traced, optimized and compiled
    once; ``compile_count`` counts the compilations and ``compiled`` holds them (each with
    its ``graph`` and generated ``code``). Ops run on the ``aj.device`` scope active when the
    session was created (the CPU by default). Variables live in their ``Variable`` objects,
    not in the session, so all sessions of a graph share them.
    """

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None):
        self.graph = graph if graph is not None else get_default_graph()
        self.device = backend.scope_device() or backend.CPU
        self.compiled: list[_Compiled] = []
        self._cache: dict[tuple, _Compiled] = {}
        self._closed = False

    @property
    def compile_count(self) -> int:
        """How many distinct runs were compiled. Usage: ``sess.compile_count``"""
        return len(self.compiled)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the compiled runs; the session cannot run afterwards."""
        self._closed = True
        self._cache.clear()
        self.compiled.clear()

    # --- running -------------------------------------------------------------------------
    def run(self, fetches: Any, feed_dict: dict | None = None) -> Any:
        """The values of ``fetches`` (a tensor, variable or operation, or a list, tuple or
        dict of them) as NumPy arrays in the same structure; operations give ``None``.

        Usage: ``c_val, gx = sess.run([c, grad_x], feed_dict={x: xs, y: ys})``
        """
        if self._closed:
            raise RuntimeError("Session.run: this session is closed; create a new tf.Session")
        leaves = nest.flatten(fetches)
        for leaf in leaves:
            self._check_element(leaf, "fetch")
        feeds = self._feeds(feed_dict or {})
        key = (tuple(id(leaf) for leaf in leaves),
               tuple((id(t), spec) for t, _, spec in feeds))
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = self._compile(leaves, feeds)
            self._cache[key] = compiled
            self.compiled.append(compiled)
        by_id = {id(t): array for t, array, _ in feeds}
        results = compiled.fn(*[by_id[i] for i in compiled.inputs])
        values = [None if slot is None else _to_host(results[slot]) for slot in compiled.slots]
        return nest.pack_as(fetches, values)

    def _check_element(self, x: Any, role: str) -> None:
        if not isinstance(x, (Tensor, Operation, Variable)):
            raise TypeError(f"Session.run: {role} {x!r:.80} is not an element of a compat.v1 "
                            "graph; expected a tensor, variable or operation built with "
                            "autojit.compat.v1 (a gradient that is None cannot be fetched)")
        if x.graph is not self.graph:
            raise InvalidArgumentError(
                f"Session.run: {role} {x.name!r} belongs to another graph than this "
                "session's; create the session with tf.Session(graph=...) for its graph, or "
                "build the tensor inside `with graph.as_default():`")

    def _feeds(self, feed_dict: dict) -> list:
        """``[(tensor, array, input spec)]`` for ``feed_dict``, checked and converted."""
        feeds = []
        for tensor, value in feed_dict.items():
            if not isinstance(tensor, Tensor):
                raise TypeError(f"Session.run: feed_dict keys must be compat.v1 tensors "
                                f"(placeholders), got {tensor!r:.80}")
            self._check_element(tensor, "fed tensor")
            if isinstance(value, (Tensor, Operation)):
                raise TypeError(f"Session.run: the value fed to {tensor.name!r} is a graph "
                                "element; feed NumPy arrays or Python values")
            declared = _declared_spec(tensor)
            try:
                array = core.to_numpy_constant(value, tensor.dtype)
            except DTypeError as exc:
                raise DTypeError(f"Session.run: cannot feed {value!r:.60} to {tensor.name!r} "
                                 f"({getattr(tensor.dtype, 'name', '?')}): {exc}") from None
            if declared is not None and not declared.is_compatible_with(array.shape,
                                                                          array.dtype):
                raise ShapeError(f"Session.run: cannot feed a value of shape "
                                 f"{shapes.fmt(array.shape)} to {tensor.name!r}, which has "
                                 f"shape {shapes.fmt(declared.shape)}")
            if self.device is not backend.CPU:
                array = backend.transfer(array, self.device)
            feeds.append((tensor, array, declared or TensorSpec(array.shape, array.dtype)))
        feeds.sort(key=lambda feed: (feed[0]._call.seq, feed[0]._index))
        return feeds

    # --- compiling -----------------------------------------------------------------------
    def _compile(self, leaves: list, feeds: list) -> _Compiled:
        fed = {id(t): (t, spec) for t, _, spec in feeds}
        calls, used = _needed_calls(leaves, fed)
        evaluator = _Evaluator("session_run", self.device)
        inputs = []
        for t, _, spec in feeds:
            if id(t) in used:
                evaluator.feed(t, spec)
                inputs.append(id(t))
        for call in calls:
            try:
                evaluator.run(call)
            except AutojitError as exc:  # say which definition failed for these feed types
                raise type(exc)(f"{exc}; in {call.name!r}, defined at "
                                f"{where_text(call.where)}") from None
        outputs, slots = [], []
        with core.trace_scope(evaluator.trace):
            for leaf in leaves:
                if isinstance(leaf, Operation):
                    slots.append(None)
                    continue
                value = evaluator.lookup(leaf)
                if value is None:
                    raise TypeError(f"Session.run: fetch {leaf.name!r} is None (a gradient "
                                    "of a target that does not depend on its source)")
                slots.append(len(outputs))
                outputs.append(evaluator.trace.value_of(value, "fetch"))
        graph = evaluator.graph
        graph.outputs = outputs
        if _config.optimize:
            graph = optimize(graph)
        graph.verify()
        fn, code = generate(graph, self.device, "session_run")
        return _Compiled(graph, fn, code, inputs, slots, [leaves, feeds])

    def __repr__(self) -> str:
        return f"<tf.Session graph={self.graph!r} compiled={self.compile_count}>"


def _declared_spec(tensor: Tensor) -> TensorSpec | None:
    """The type a fed tensor must fit: a placeholder's declared shape, or a static shape;
    ``None`` when even the rank is open (the feed then fixes the compiled type)."""
    shape = tensor.shape
    if shape is None or tensor.dtype is None:
        return None
    return TensorSpec(shape, tensor.dtype)


def _needed_calls(leaves: list, fed: dict) -> tuple[list, set]:
    """The calls the fetches need, in creation order (a topological order), and the ids of
    the fed tensors they read. Fed tensors cut the search; an unfed placeholder is an error."""
    calls, used, seen = [], set(), set()
    stack = [x for x in leaves if isinstance(x, (Tensor, Operation))]
    while stack:
        x = stack.pop()
        if id(x) in fed:
            used.add(id(x))
            continue
        call = x._call
        if id(call) in seen:
            continue
        seen.add(id(call))
        if call.fn is None:
            raise InvalidArgumentError(
                f"Session.run: the fetches need placeholder {x.name!r} "
                f"({call.spec.short()}), but feed_dict has no value for it; pass "
                f"feed_dict={{{call.name}: value, ...}}")
        calls.append(call)
        stack.extend(d for d in call.deps if isinstance(d, (Tensor, Operation)))
    calls.sort(key=lambda c: c.seq)
    return calls, used


def _to_host(array: Any) -> Any:
    """A fetched value as TF1 returns it: a NumPy array, or a NumPy scalar for 0-d values."""
    if not isinstance(array, (np.ndarray, np.generic)):
        array = backend.transfer(array, backend.CPU)
    array = np.asarray(array)
    return array[()] if array.ndim == 0 else array
