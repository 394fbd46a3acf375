"""What an ``@aj.function`` did and why: ``fn.cache_info()`` and ``concrete.explain()``.

``function.py`` records, for each trace, the signature it was traced for, the reason it traced
(the first call, or which argument changed from the previous trace and how) and the time spent
converting, tracing, optimizing and compiling; and, per ``ConcreteFunction``, what each graph
pass did (``PassStat`` from ``graph/passes``). This module holds those records and turns a
concrete function into a report. It reads graphs and signature keys only: ``function.py``
imports it, never the other way round.

Usage::

    print(fn.cache_info())          # entries, hits, misses, traces and why each happened
    print(fn.get_concrete_function(x).explain())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from autojit import backend
from autojit.graph.buffers import plan_buffers
from autojit.graph.ir import Graph
from autojit.graph.passes import PassStat
from autojit.graph.executors.capture import host_reads
from autojit.graph.tracer import where_text
from autojit.ops.core import TensorSpec
from autojit.signature import SCALARS


@dataclass(frozen=True)
class TraceRecord:
    """One trace of a ``Function``: its number (1 for the first), the signature it was traced
    for, why it traced (what differs from the previous trace's signature), and the seconds
    spent in each phase.

    Usage: ``fn.cache_info().traces[-1].reason``
    """

    number: int
    signature: str
    reason: str
    convert_s: float
    trace_s: float
    optimize_s: float
    compile_s: float

    @property
    def seconds(self) -> float:
        """Total time of this trace (convert + trace + optimize + compile)."""
        return self.convert_s + self.trace_s + self.optimize_s + self.compile_s

    def __str__(self) -> str:
        return (f"#{self.number} ({self.signature}) in {_ms(self.seconds)}: {self.reason}")


@dataclass(frozen=True)
class CacheInfo:
    """A ``Function``'s cache: ``entries`` (concrete functions held), ``hits`` and ``misses``
    (lookups by calls and ``get_concrete_function``; a miss traces, or reuses a generalized
    trace under ``reduce_retracing``; counted without a lock, so exact only when one thread
    calls) and every trace with its reason.

    Usage: ``info = fn.cache_info(); info.hits, info.misses, len(info.traces)``
    """

    name: str
    entries: int
    hits: int
    misses: int
    traces: tuple = ()

    @property
    def trace_seconds(self) -> float:
        """Total time spent tracing (all phases, all traces)."""
        return sum(t.seconds for t in self.traces)

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.entries} cached graph(s), {self.hits} hits, "
                 f"{self.misses} misses, {len(self.traces)} trace(s) in "
                 f"{_ms(self.trace_seconds)}"]
        lines += [f"  {t}" for t in self.traces]
        return "\n".join(lines)


@dataclass
class BuildInfo:
    """How one ``ConcreteFunction`` was built (filled in by ``Function._trace``).

    Usage: ``BuildInfo(convert_s=0.01, trace_s=0.02)``
    """

    convert_s: float = 0.0
    trace_s: float = 0.0
    optimize_s: float = 0.0
    compile_s: float = 0.0
    nodes_traced: int = 0
    passes: list = field(default_factory=list)  # PassStat, in the order they ran


@dataclass
class Explanation:
    """A readable report on one ``ConcreteFunction`` (``print`` it), with its parts as fields:
    phase times, node counts before and after each pass, buffer reuse, the Variables copied
    per call so a failed replay can restore them, and the places the replay reads a value
    back to Python (a host round trip; on a GPU each one waits for the device).

    Usage: ``print(fn.get_concrete_function(x).explain())``
    """

    name: str
    signature: str
    times: dict
    nodes_traced: int
    nodes_final: int
    passes: list
    buffer_reuse: list
    snapshot_variables: list
    host_round_trips: list

    def __str__(self) -> str:
        t = self.times
        lines = [f"ConcreteFunction {self.name}({self.signature})",
                 "  time: " + ", ".join(f"{k} {_ms(v)}" for k, v in t.items()),
                 f"  nodes: {self.nodes_traced} traced -> {self.nodes_final} after passes "
                 "(subgraph nodes included)"]
        if self.passes:
            changed = [stat for stat in self.passes if stat.removed or stat.added]
            lines.append(f"  passes: {len(self.passes)} run(s), {len(changed)} changed the graph"
                         + (":" if changed else ""))
            lines += [f"    {stat}" for stat in changed]
        else:
            lines.append("  passes: none ran (aj.config.set_graph_optimization(False))")
        if self.buffer_reuse:
            lines.append(f"  buffer reuse: {len(self.buffer_reuse)} node(s) write into a dying "
                         "input's buffer (out=):")
            lines += [f"    {text}" for text in self.buffer_reuse]
        else:
            lines.append("  buffer reuse: none (no elementwise node whose input dies there "
                         "is big enough to gain from it)")
        if self.snapshot_variables:
            lines.append(f"  failed replays: {len(self.snapshot_variables)} Variable(s) copied "
                         "at each call and restored if the replay raises: "
                         + ", ".join(self.snapshot_variables))
        else:
            lines.append("  failed replays: no snapshot needed (no Variable is written before "
                         "a node that can fail at replay time)")
        if self.host_round_trips:
            lines.append(f"  host round trips: {len(self.host_round_trips)} place(s) read a "
                         "value back to Python:")
            lines += [f"    {text}" for text in self.host_round_trips]
        else:
            lines.append("  host round trips: none (the replay never reads a value back to "
                         "Python)")
        return "\n".join(lines)


# --- retrace reasons -----------------------------------------------------------------------


def _is_tensor_key(key: Any) -> bool:
    return isinstance(key, tuple) and len(key) == 3 and isinstance(key[1], np.dtype)


def _split_scope(key: Any) -> tuple:
    """(key without the device scope, the scope's device or None)."""
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], backend.Device):
        return key[0], key[1]
    return key, None


def leaf_text(key: Any) -> str:
    """A signature key as short text: ``f32[2,3]``, ``Variable``, ``3``, ``[f32[2], 1]``."""
    if _is_tensor_key(key):
        text = TensorSpec(key[0], key[1]).short()
        return text if key[2] is backend.CPU else f"{text}@{key[2]}"
    if (isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], type)
            and issubclass(key[0], dict)):  # a dict whose insertion order is not sorted
        entries = dict(key[1])
        return "{" + ", ".join(f"{k!r}: {leaf_text(entries[k])}" for k in key[2]) + "}"
    if isinstance(key, tuple) and len(key) == 2:
        kind, value = key
        if kind == "var":
            return "Variable"
        if kind == "id":
            return "object"
        if kind in SCALARS:
            return repr(value)
        if isinstance(kind, type) and isinstance(value, tuple):
            if issubclass(kind, dict):
                return "{" + ", ".join(f"{k!r}: {leaf_text(v)}" for k, v in value) + "}"
            items = ", ".join(leaf_text(v) for v in value)
            return f"[{items}]" if issubclass(kind, list) else f"({items})"
        if isinstance(kind, type):
            return repr(value)
    return "?"


def signature_text(key: Any, arg_name: Callable[[int], str]) -> str:
    """The call signature a key stands for: ``x=f32[2,3], n=3``.

    Usage: ``signature_text(key, fn._arg_name)``
    """
    key, scope = _split_scope(key)
    if key[:1] == ("signature",):
        text = "input_signature" if len(key) == 1 else \
            f"input_signature with ranks {list(key[1])} for its unknown-rank specs"
    else:
        parts = []
        try:
            args, kwargs = key
            for i, leaf in enumerate(args[1]):
                parts.append(f"{arg_name(i)}={leaf_text(leaf)}")
            if kwargs is not None:
                entries = dict(kwargs[1])
                for name in _order(kwargs):
                    parts.append(f"{name}={leaf_text(entries[name])}")
        except (TypeError, ValueError, IndexError):
            parts = [leaf_text(key)]
        text = ", ".join(parts)
    return text if scope is None else f"{text} under device {scope}"


def _order(key: tuple) -> list:
    """The names of a dict key in the order the call gave them."""
    return list(key[2]) if len(key) > 2 else [k for k, _ in key[1]]


def _difference(old: Any, new: Any, path: str) -> tuple | None:
    """(path, old leaf, new leaf) of the first difference between two keys, looking inside
    lists, tuples and dicts of the same kind and length."""
    if old == new:
        return None
    if (isinstance(old, tuple) and isinstance(new, tuple) and len(old) == 2 == len(new)
            and isinstance(old[0], type) and old[0] is new[0] and old[0] not in SCALARS
            and isinstance(old[1], tuple) and isinstance(new[1], tuple)
            and len(old[1]) == len(new[1])):
        if issubclass(old[0], dict):
            if [k for k, _ in old[1]] == [k for k, _ in new[1]]:
                for (k, a), (_, b) in zip(old[1], new[1]):
                    found = _difference(a, b, f"{path}[{k!r}]")
                    if found is not None:
                        return found
        else:
            for i, (a, b) in enumerate(zip(old[1], new[1])):
                found = _difference(a, b, f"{path}[{i}]")
                if found is not None:
                    return found
    return path, old, new


def _how(old: Any, new: Any) -> str:
    if _is_tensor_key(old) and _is_tensor_key(new):
        changes = []
        if tuple(old[0]) != tuple(new[0]):
            changes.append(f"shape changed from {tuple(old[0])} to {tuple(new[0])}")
        if old[1] != new[1]:
            changes.append(f"dtype changed from {old[1].name} to {new[1].name}")
        if old[2] is not new[2]:
            changes.append(f"device changed from {old[2]} to {new[2]}")
        return ", ".join(changes)
    if isinstance(new, tuple) and len(new) == 2 and new[0] == "var":
        if isinstance(old, tuple) and len(old) == 2 and old[0] == "var":
            return "is a new Variable (Variables are part of the signature by identity)"
        return f"changed from {leaf_text(old)} to a Variable"
    if (isinstance(old, tuple) and isinstance(new, tuple) and len(old) == 2 == len(new)
            and old[0] in SCALARS and new[0] in SCALARS):
        return (f"Python value changed from {old[1]!r} to {new[1]!r} (Python values are part "
                "of the signature; pass a tensor to avoid retracing)")
    if (isinstance(old, tuple) and isinstance(new, tuple) and old[:2] == new[:2]
            and isinstance(old[0], type) and issubclass(old[0], dict)):
        return f"key order changed from {leaf_text(old)} to {leaf_text(new)}"
    return f"structure changed from {leaf_text(old)} to {leaf_text(new)}"


def retrace_reason(old: Any, new: Any, arg_name: Callable[[int], str]) -> str:
    """Why a call with key ``new`` traced again after a trace for key ``old``: which argument
    changed and how (shape, dtype, device, Python value, structure, a new Variable).

    Usage: ``retrace_reason(fn._last_key, key, fn._arg_name)``
    """
    if old is None:
        return "first call"
    old, old_scope = _split_scope(old)
    new, new_scope = _split_scope(new)
    if old_scope is not new_scope:
        return f"device scope changed from {old_scope or 'none'} to {new_scope or 'none'}"
    if old[:1] == ("signature",):  # input_signature: only ranks of unknown-rank specs vary
        return f"ranks for the unknown-rank specs of input_signature changed from " \
            f"{list(old[1]) if len(old) > 1 else []} to {list(new[1]) if len(new) > 1 else []}"
    try:
        (old_args, old_kw), (new_args, new_kw) = old, new
    except (TypeError, ValueError):
        return "new signature"
    if len(old_args[1]) != len(new_args[1]):
        return (f"number of positional arguments changed from {len(old_args[1])} to "
                f"{len(new_args[1])}")
    for i, (a, b) in enumerate(zip(old_args[1], new_args[1])):
        found = _difference(a, b, arg_name(i))
        if found is not None:
            return f"argument `{found[0]}` {_how(found[1], found[2])}"
    if old_kw is not None and new_kw is not None and old_kw[:2] == new_kw[:2]:
        return (f"keyword arguments came in another order ({', '.join(_order(old_kw))} "
                f"before, {', '.join(_order(new_kw))} now)")
    old_kw = dict(old_kw[1]) if old_kw is not None else {}
    new_kw = dict(new_kw[1]) if new_kw is not None else {}
    if set(old_kw) != set(new_kw):
        return (f"keyword arguments changed from {sorted(old_kw)} to {sorted(new_kw)}")
    for name in sorted(new_kw):
        found = _difference(old_kw[name], new_kw[name], name)
        if found is not None:
            return f"argument `{found[0]}` {_how(found[1], found[2])}"
    return "new signature"


# --- explain() -----------------------------------------------------------------------------


def count_nodes(graph: Graph) -> int:
    """Nodes in ``graph`` and its subgraphs (what pass statistics count).

    Usage: ``count_nodes(concrete.graph)``
    """
    return sum(1 for _ in graph.walk())


def _where(node: Any) -> str:
    return f" at {where_text(node.where)}" if getattr(node, "where", None) else ""


_TRIP_TEXT = {"predicate": "its predicate, once per call",
              "loop test": "its condition, once per iteration",
              "values": "reads its values, once per call",
              "checked values": "checks its input values, once per call"}


def _round_trips(graph: Graph) -> list:
    return [f"{node.op.name}{_where(node)}: {_TRIP_TEXT[what]}"
            + (" (each iteration of an enclosing loop)" if in_loop else "")
            for node, what, in_loop in host_reads(graph)]


def _buffer_reuse(graph: Graph) -> list:
    out = []
    for index, position in sorted(plan_buffers(graph).items()):
        node = graph.nodes[index]
        out.append(f"%{node.outputs[0].id} = {node.op.name}{_where(node)} reuses input "
                   f"#{position} (%{node.inputs[position].id})")
    return out


def explain_concrete(concrete: Any) -> Explanation:
    """The ``Explanation`` of a ``ConcreteFunction`` (``concrete.explain()`` calls this).

    Usage: ``print(explain_concrete(fn.get_concrete_function(x)))``
    """
    build = concrete._build or BuildInfo(compile_s=concrete._compile_s)
    graph = concrete.graph
    final = count_nodes(graph)
    times = {"convert": build.convert_s, "trace": build.trace_s,
             "optimize": build.optimize_s, "compile": concrete._compile_s}
    snapshot = [getattr(v, "name", "?") for v in concrete._guarded]
    return Explanation(
        name=concrete.name,
        signature=", ".join(s.short() for s in concrete.input_specs),
        times=times,
        nodes_traced=build.nodes_traced or final,
        nodes_final=final,
        passes=list(build.passes),
        buffer_reuse=_buffer_reuse(graph),
        snapshot_variables=snapshot,
        host_round_trips=_round_trips(graph),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


__all__ = ["CacheInfo", "TraceRecord", "Explanation", "BuildInfo", "PassStat",
           "retrace_reason", "signature_text", "explain_concrete", "count_nodes"]
