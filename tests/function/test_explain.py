"""``fn.cache_info()``, ``fn.experimental_get_tracing_count()``, ``concrete.explain()`` and the
``"autojit"`` logger: the numbers they report are checked against what happened."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

import autojit as aj


def ones(*shape, dtype=np.float32):
    return aj.constant(np.ones(shape, dtype))


def nodes(graph) -> int:
    return sum(1 for _ in graph.walk())


@pytest.fixture
def log_level():
    logger = logging.getLogger("autojit")
    before = logger.level
    yield
    logger.setLevel(before)


# --- cache_info ------------------------------------------------------------------------------


def test_two_shapes_report_two_traces_naming_the_argument():
    @aj.function
    def f(x, scale):
        return x * scale

    f(ones(2, 3), 2.0)
    f(ones(4, 3), 2.0)
    info = f.cache_info()
    assert f.experimental_get_tracing_count() == f.tracing_count == 2
    assert len(info.traces) == 2 and info.entries == 2
    first, second = info.traces
    assert first.reason == "first call"
    assert first.signature == "x=f32[2,3], scale=2.0"
    assert "`x`" in second.reason and "shape changed from (2, 3) to (4, 3)" in second.reason
    assert second.number == 2


def test_hits_and_misses_count_lookups():
    @aj.function
    def f(x):
        return x + 1.0

    a, b = ones(2), ones(3)
    for x in (a, a, b, a, b, b):
        f(x)
    f.get_concrete_function(a)  # a lookup too
    info = f.cache_info()
    assert (info.entries, info.hits, info.misses) == (2, 5, 2)
    assert f.tracing_count == 2


@pytest.mark.parametrize("first, second, expected", [
    ((ones(2), 1), (ones(2, dtype=np.float64), 1), "`x` dtype changed from float32 to float64"),
    ((ones(2), 1), (ones(2), 2), "`n` Python value changed from 1 to 2"),
    (([ones(2), ones(2)], 1), ([ones(2), ones(5)], 1), "`x[1]` shape changed from (2,) to (5,)"),
    (([ones(2)], 1), ([ones(2), ones(2)], 1), "`x` structure changed from [f32[2]] to"),
    ((ones(2), 1), (ones(2), None), "`n` Python value changed from 1 to None"),
])
def test_each_retrace_reason(first, second, expected):
    @aj.function
    def f(x, n):
        return x

    f(*first)
    f(*second)
    assert expected in f.cache_info().traces[1].reason


def test_a_new_variable_is_a_reason():
    @aj.function
    def f(v):
        return v * 2.0

    f(aj.Variable(np.ones(2, np.float32)))
    f(aj.Variable(np.ones(2, np.float32)))
    assert "`v` is a new Variable" in f.cache_info().traces[1].reason


def test_keyword_reason_and_printable_summary():
    @aj.function
    def f(x, *, k=1):
        return x * k

    f(ones(2), k=1)
    f(ones(2), k=3)
    info = f.cache_info()
    assert "`k` Python value changed from 1 to 3" in info.traces[1].reason
    text = str(info)
    assert text.splitlines()[0].startswith("f: 2 cached graph(s), 0 hits, 2 misses, 2 trace(s)")
    assert all(str(t) in text for t in info.traces)
    assert info.trace_seconds == pytest.approx(sum(t.seconds for t in info.traces))
    assert all(t.seconds == t.convert_s + t.trace_s + t.optimize_s + t.compile_s > 0
               for t in info.traces)


# --- explain ---------------------------------------------------------------------------------


def _traced_unoptimized(fn, *args):
    aj.config.set_graph_optimization(False)
    try:
        return aj.function(fn).get_concrete_function(*args)
    finally:
        aj.config.set_graph_optimization(True)


def test_explain_node_counts_match_the_graphs():
    def f(x):
        y = x * 1.0 + 0.0  # simplified away
        unused = aj.exp(x)  # noqa: F841  dead code
        return aj.reduce_sum(y * y) + aj.reduce_sum(y * y)  # a common subexpression

    x = ones(3, 4)
    raw = _traced_unoptimized(f, x)
    concrete = aj.function(f).get_concrete_function(x)
    report = concrete.explain()
    assert report.nodes_traced == nodes(raw.graph)
    assert report.nodes_final == nodes(concrete.graph) < report.nodes_traced
    passes = report.passes
    assert passes[0].nodes_before == report.nodes_traced
    assert passes[-1].nodes_after == report.nodes_final
    assert all(a.nodes_after == b.nodes_before for a, b in zip(passes, passes[1:]))
    # what the passes say they removed and added is the change in op counts
    net = Counter()
    for stat in passes:
        net.update(stat.removed)
        net.subtract(stat.added)
    ops = Counter(n.op.name for n in raw.graph.walk())
    ops.subtract(Counter(n.op.name for n in concrete.graph.walk()))
    assert +net == +ops
    names = {stat.name for stat in passes}
    assert {"simplify_algebra", "eliminate_dead_code",
            "eliminate_common_subexpressions"} <= names
    assert next(s for s in passes if s.name == "eliminate_dead_code").removed.get("exp") == 1
    text = str(report)
    assert "time: convert" in text and "compile" in text
    assert f"nodes: {report.nodes_traced} traced -> {report.nodes_final} after passes" in text
    assert "simplify_algebra (round 1)" in text


def test_explain_without_passes():
    concrete = _traced_unoptimized(lambda x: x * 1.0, ones(2))
    report = concrete.explain()
    assert report.passes == [] and report.nodes_traced == report.nodes_final
    assert "passes: none ran" in str(report)


def test_explain_buffer_reuse_matches_the_code():
    @aj.function
    def f(x):
        return aj.tanh(x * 2.0 + 1.0) * 3.0

    concrete = f.get_concrete_function(ones(100, 100))
    report = concrete.explain()
    assert len(report.buffer_reuse) == concrete.code.count("out=") > 0
    small = f.get_concrete_function(ones(2, 2)).explain()
    assert small.buffer_reuse == [] and "buffer reuse: none" in str(small)


def test_explain_snapshot_variables_for_failed_replays():
    v = aj.Variable(np.zeros(1, np.float32), name="counter")

    @aj.function(input_signature=[aj.TensorSpec([None], aj.float32)])
    def writes_first(x):
        v.assign_add([1.0])
        return x * 2.0  # unknown dim: may fail at replay, after the write

    @aj.function(input_signature=[aj.TensorSpec([None], aj.float32)])
    def writes_last(x):
        y = x * 2.0
        v.assign_add([1.0])
        return y

    first = writes_first.get_concrete_function().explain()
    assert [name.split(":")[0] for name in first.snapshot_variables] == ["counter"]
    assert "restored if the replay raises" in str(first)
    last = writes_last.get_concrete_function().explain()
    assert last.snapshot_variables == [] and "no snapshot needed" in str(last)


def test_explain_host_round_trips():
    @aj.function
    def loop(x, n):
        i = aj.constant(0)
        while i < n:
            x = x * 2.0
            i += 1
        if aj.reduce_sum(x) > 0:
            x = x - 1.0
        return x

    @aj.function
    def straight(x):
        return x * 2.0

    trips = loop.get_concrete_function(ones(2), aj.constant(3)).explain().host_round_trips
    assert len(trips) == 2
    assert trips[0].startswith("while_loop at ") and "once per iteration" in trips[0]
    assert trips[1].startswith("cond at ") and "test_explain.py" in trips[1]
    report = straight.get_concrete_function(ones(2)).explain()
    assert report.host_round_trips == [] and "host round trips: none" in str(report)


# --- logging ---------------------------------------------------------------------------------


def test_traces_and_retraces_are_logged(caplog, log_level):
    @aj.function
    def logged(x):
        return x + 1.0

    with caplog.at_level(logging.INFO, logger="autojit"):
        logged(ones(2))
        logged(ones(2))
        logged(ones(3))
    messages = [r.getMessage() for r in caplog.records if r.name == "autojit"]
    assert len(messages) == 2
    assert messages[0].startswith("traced logged (trace #1) for (x=f32[2])")
    assert messages[1].startswith("retraced logged (trace #2)")
    assert "`x` shape changed from (2,) to (3,)" in messages[1]


def test_set_log_level(caplog, log_level):
    @aj.function
    def quiet(x):
        return x + 1.0

    aj.config.set_log_level("warning")
    assert aj.config.get_log_level() == logging.WARNING
    with caplog.at_level(logging.NOTSET):
        quiet(ones(2))
    assert not [r for r in caplog.records if r.name == "autojit"]
    aj.config.set_log_level("debug")
    with caplog.at_level(logging.NOTSET):
        quiet(ones(3))
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("pass simplify_algebra (round 1)" in m for m in debug)
    aj.config.set_log_level(logging.INFO)
    assert aj.config.get_log_level() == logging.INFO


def test_set_log_level_rejects_unknown_names():
    with pytest.raises(ValueError, match="expected a logging level such as 'debug'.*'loud'"):
        aj.config.set_log_level("loud")


def test_autojit_log_environment_variable():
    code = ("import autojit as aj\n"
            "f = aj.function(lambda x: x * 2.0)\n"
            "f(aj.constant([1.0]))\n")
    env = dict(os.environ, AUTOJIT_LOG="info")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "autojit INFO: traced <lambda> (trace #1) for (x=f32[1])" in done.stderr


def test_explain_lists_value_checks_as_host_round_trips():
    @aj.function
    def segments(x, ids):
        return aj.math.segment_sum(x, ids) * 2.0

    report = segments.get_concrete_function(ones(3), aj.constant([0, 0, 2])).explain()
    assert len(report.host_round_trips) == 1
    assert report.host_round_trips[0].startswith("segment_sum at ")
    assert report.host_round_trips[0].endswith("checks its input values, once per call")

    @aj.function
    def pick(x, i):  # an index range check runs on the device (Note [Deferred checks])
        return aj.gather(x, i) * 2.0

    report = pick.get_concrete_function(ones(3), aj.constant([0, 2])).explain()
    assert report.host_round_trips == []


def test_key_order_is_a_reason_and_shown_in_call_order():
    @aj.function
    def f(d, **kw):
        return list(d) + list(kw)

    assert f({"b": 1, "a": 2}, q=1, p=1) == ["b", "a", "q", "p"]
    assert f({"a": 2, "b": 1}, q=1, p=1) == ["a", "b", "q", "p"]
    assert f({"a": 2, "b": 1}, p=1, q=1) == ["a", "b", "p", "q"]
    traces = f.cache_info().traces
    assert "`d` key order changed from {'b': 1, 'a': 2} to {'a': 2, 'b': 1}" in traces[1].reason
    assert "keyword arguments came in another order (q, p before, p, q now)" in traces[2].reason
    assert "d={'b': 1, 'a': 2}, q=1, p=1" in str(traces[0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # 1 / 0.0 is the point
def test_negative_zero_is_its_own_trace_and_nan_is_one():
    f = aj.function(lambda x, s: aj.constant(1.0) / s + x)
    assert float(f(0.0, 0.0)) == np.inf and float(f(0.0, -0.0)) == -np.inf
    for _ in range(3):
        assert np.isnan(float(f(0.0, float("nan"))))
    assert f.tracing_count == 3
    assert "from 0.0 to -0.0" in f.cache_info().traces[1].reason
