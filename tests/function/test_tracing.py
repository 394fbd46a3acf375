"""Tracing and the cache: one trace serves every call with the same signature key; a new
trace happens exactly when the key changes (Note [Signature keys] in function.py).
Also ``tracing_count``, ``get_concrete_function``, ``python_function``,
``run_functions_eagerly`` and concurrent calls from several threads."""

from __future__ import annotations

import collections
import threading

import numpy as np
import pytest

import autojit as aj

from .common import AUTOGRAPH

Pair = collections.namedtuple("Pair", ["a", "b"])


def counting(fn=None):
    """An @aj.function plus the list of Python-side trace events."""
    traces = []

    def wrapped(*args, **kwargs):
        traces.append(1)
        return (fn or _default)(*args, **kwargs)

    return aj.function(wrapped, autograph=AUTOGRAPH), traces


def _default(x, *rest, **kwargs):
    out = x * 2.0
    for leaf in aj.nest.flatten((rest, kwargs)):
        if isinstance(leaf, aj.Tensor):
            out = out + aj.reduce_sum(aj.cast(leaf, out.dtype))
        elif isinstance(leaf, (int, float)) and not isinstance(leaf, bool):
            out = out + leaf
    return out


def ones(*shape, dtype=aj.float32):
    return aj.ones(shape, dtype)


def test_one_trace_for_many_calls():
    f, traces = counting()
    for i in range(20):
        x = aj.constant(np.full((2, 3), float(i), np.float32))
        np.testing.assert_allclose(f(x).numpy(), 2.0 * x.numpy())
    assert f.tracing_count == 1 and len(traces) == 1


@pytest.mark.parametrize("first, second", [
    ((ones(2, 3),), (ones(3, 3),)),  # shape
    ((ones(2, 3),), (ones(2, 3, dtype=aj.float64),)),  # dtype
    ((ones(3),), (ones(3, 1),)),  # rank
    ((ones(3), 1), (ones(3), 2)),  # Python scalar value
    ((ones(3), 1), (ones(3), 1.0)),  # Python scalar type
    ((ones(3), [ones(1), ones(1)]), (ones(3), [ones(1), ones(1), ones(1)])),  # list length
    ((ones(3), [ones(1)]), (ones(3), (ones(1),))),  # list vs tuple
    ((ones(3), {"a": ones(1)}), (ones(3), {"b": ones(1)})),  # dict keys
    ((ones(3), Pair(ones(1), 1)), (ones(3), (ones(1), 1))),  # namedtuple vs tuple
    ((ones(3), Pair(ones(1), 1)), (ones(3), Pair(ones(1), 2))),  # value inside a structure
    ((ones(3), "relu"), (ones(3), "tanh")),  # strings
    ((ones(3), None), (ones(3), 0)),
])
def test_retrace_exactly_when_the_key_changes(first, second):
    f, _ = counting()
    f(*first)
    f(*first)
    assert f.tracing_count == 1
    f(*second)
    assert f.tracing_count == 2
    f(*second)
    f(*first)  # both stay cached
    assert f.tracing_count == 2


def test_equal_keys_do_not_retrace():
    f, _ = counting()
    f(ones(2), [ones(1), 3], {"k": Pair(ones(2), "s")})
    f(ones(2) * 5.0, [ones(1) * 2.0, 3], {"k": Pair(ones(2) + 1.0, "s")})  # new values only
    f(np.ones(2, np.float32), [ones(1), 3], {"k": Pair(ones(2), "s")})  # NumPy array input
    assert f.tracing_count == 1


def test_results_follow_the_values_not_the_first_trace():
    f, _ = counting()
    assert float(f(aj.constant(1.0), 10)) == 12.0
    assert float(f(aj.constant(5.0), 10)) == 20.0
    assert float(f(aj.constant(5.0), 1)) == 11.0


def test_variables_are_keyed_by_identity():
    v1, v2 = aj.Variable(1.0), aj.Variable(1.0)
    f = aj.function(lambda x, v: x * v, autograph=AUTOGRAPH)
    x = aj.constant(2.0)
    assert float(f(x, v1)) == 2.0
    v1.assign(3.0)  # a new value: same key, the graph reads the variable by reference
    assert float(f(x, v1)) == 6.0
    assert f.tracing_count == 1
    assert float(f(x, v2)) == 2.0  # another variable: another trace
    assert f.tracing_count == 2


def test_keyword_arguments_are_part_of_the_key():
    f, _ = counting(lambda x, scale=1.0, shift=None: x * scale + (0.0 if shift is None
                                                                   else shift))
    x = aj.constant(1.0)
    assert float(f(x)) == 1.0
    assert float(f(x, scale=3.0)) == 3.0
    assert float(f(x, scale=3.0)) == 3.0
    assert f.tracing_count == 2
    assert float(f(x, scale=3.0, shift=aj.constant(1.0))) == 4.0
    assert f.tracing_count == 3
    # `wrapped` takes **kwargs, whose order its body can see: another order, another trace
    assert float(f(x, shift=aj.constant(1.0), scale=3.0)) == 4.0
    assert f.tracing_count == 4
    # parameters bound by name: keyword order is irrelevant
    g = aj.function(lambda x, scale=1.0, shift=0.0: x * scale + shift)
    assert float(g(x, scale=3.0, shift=aj.constant(1.0))) == 4.0
    assert float(g(x, shift=aj.constant(1.0), scale=3.0)) == 4.0
    assert g.tracing_count == 1


def test_a_device_scope_is_part_of_the_key():
    f, _ = counting()
    x = ones(2)
    f(x)
    with aj.device("CPU:0"):
        np.testing.assert_allclose(f(x).numpy(), [2.0, 2.0])
        f(x)
    assert f.tracing_count == 2
    f(x)
    assert f.tracing_count == 2


def test_get_concrete_function_with_tensors_reuses_the_cache():
    f, _ = counting()
    x = ones(2, 3)
    concrete = f.get_concrete_function(x)
    assert f.tracing_count == 1
    f(x)
    assert f.tracing_count == 1
    assert f.get_concrete_function(ones(2, 3)) is concrete
    assert isinstance(concrete, aj.ConcreteFunction)
    np.testing.assert_allclose(concrete(x).numpy(), 2.0 * x.numpy())


def test_get_concrete_function_with_tensor_specs():
    f, _ = counting()
    concrete = f.get_concrete_function(aj.TensorSpec([None, 3], aj.float32))
    assert [v.spec.shape for v in concrete.graph.inputs] == [(None, 3)]
    assert concrete.structured_input_signature == [aj.TensorSpec([None, 3], aj.float32)]
    for rows in (1, 4):
        x = aj.constant(np.arange(rows * 3, dtype=np.float32).reshape(rows, 3))
        np.testing.assert_allclose(concrete(x).numpy(), 2.0 * x.numpy())
    assert f.tracing_count == 1
    assert "multiply" in str(concrete.graph) and "def " in concrete.code


def test_concrete_functions_check_their_input_types():
    f, _ = counting()
    concrete = f.get_concrete_function(aj.TensorSpec([None, 3], aj.float32))
    for bad in (ones(2, 4), ones(2, 3, dtype=aj.float64), ones(3)):
        with pytest.raises(aj.errors.TracingError, match="must match TensorSpec"):
            concrete(bad)


def test_dicts_with_number_keys_keep_each_tensor_with_its_key():
    f = aj.function(lambda d: (d[9] * 1.0, d[10] * 2.0, d["k"] * 3.0), autograph=AUTOGRAPH)
    a, b, c = f({10: ones(2), 9: ones(3), "k": ones(4)})
    assert (a.shape, b.shape, c.shape) == ((3,), (2,), (4,))
    assert float(b[0]) == 2.0 and float(c[0]) == 3.0


@pytest.mark.parametrize("make", [
    lambda x, y: collections.OrderedDict([("b", y), ("a", x)]),
    lambda x, y: collections.defaultdict(list, {"a": x, "b": y}),
])
def test_dict_subclasses_are_structures(make):
    f = aj.function(lambda d: d["a"] - d["b"], autograph=AUTOGRAPH)
    assert float(f(make(aj.constant(5.0), aj.constant(1.0)))) == 4.0
    assert float(f(make(aj.constant(9.0), aj.constant(1.0)))) == 8.0
    assert f.tracing_count == 1


def test_tuple_and_list_subclasses_are_structures():
    class Row(tuple):
        pass

    class Batch(list):
        pass

    f = aj.function(lambda r, b: r[0] + b[1], autograph=AUTOGRAPH)
    assert float(f(Row((aj.constant(1.0),)), Batch([aj.constant(0.0), aj.constant(2.0)]))) == 3
    assert float(f(Row((aj.constant(5.0),)), Batch([aj.constant(0.0), aj.constant(2.0)]))) == 7
    assert f.tracing_count == 1


def test_python_function_is_the_original():
    def original(x):
        return x + 1.0

    f = aj.function(original, autograph=AUTOGRAPH)
    assert f.python_function is original
    assert f.__name__ == "original" and f.__wrapped__ is original
    assert float(f.python_function(aj.constant(1.0))) == 2.0
    assert f.tracing_count == 0


def test_decorator_forms():
    @aj.function
    def plain(x):
        return x * 3.0

    @aj.function(autograph=AUTOGRAPH)
    def configured(x):
        return x * 3.0

    assert isinstance(plain, aj.Function) and isinstance(configured, aj.Function)
    if AUTOGRAPH:
        assert float(plain(aj.constant(1.0))) == 3.0
    assert float(configured(aj.constant(1.0))) == 3.0


def test_python_outputs_and_structures_come_back():
    f = aj.function(lambda x: {"y": x * 2.0, "n": 3, "pair": Pair(x, "tag")},
                    autograph=AUTOGRAPH)
    for _ in range(2):
        out = f(aj.constant(1.0))
        assert set(out) == {"y", "n", "pair"}
        assert out["n"] == 3 and isinstance(out["pair"], Pair) and out["pair"].b == "tag"
        assert float(out["y"]) == 2.0 and float(out["pair"].a) == 1.0


def test_run_functions_eagerly(run_eagerly):
    seen = []

    @aj.function(autograph=AUTOGRAPH)
    def f(x):
        seen.append(x.numpy() if aj.config.functions_run_eagerly() else "traced")
        return x * 2.0

    run_eagerly(True)
    assert aj.config.functions_run_eagerly()
    assert float(f(aj.constant(1.0))) == 2.0
    assert float(f(aj.constant(2.0))) == 4.0  # plain Python: concrete values every call
    assert [float(s) for s in seen] == [1.0, 2.0] and f.tracing_count == 0
    run_eagerly(False)
    assert float(f(aj.constant(3.0))) == 6.0
    assert float(f(aj.constant(4.0))) == 8.0
    assert seen[2:] == ["traced"] and f.tracing_count == 1


def test_nested_function_calls_are_inlined():
    inner, _ = counting(lambda x: aj.exp(x) * 3.0)

    @aj.function(autograph=AUTOGRAPH)
    def outer(x):
        return inner(x) + inner(x * 2.0)

    x = aj.constant([0.5, 1.0])
    np.testing.assert_allclose(outer(x).numpy(),
                               np.exp(x.numpy()) * 3 + np.exp(2 * x.numpy()) * 3, rtol=1e-6)
    names = [n.op.name for n in outer.get_concrete_function(x).graph.walk()]
    assert "call" not in names and names.count("exp") == 2
    assert inner.tracing_count == 0  # inlined: the inner function was never traced alone


# --------------------------------------------------------------------------------------
# Threads


def _run_threads(worker, n):
    errors = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait()
            worker(i)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_with_the_same_signature_trace_once():
    f, traces = counting(lambda x: aj.tanh(x) * 2.0)

    def worker(i):
        for k in range(30):
            x = aj.constant(np.full((3,), 0.01 * (i + k), np.float32))
            np.testing.assert_allclose(f(x).numpy(), np.tanh(x.numpy()) * 2.0, rtol=1e-6)

    _run_threads(worker, 4)
    assert f.tracing_count == 1 and len(traces) == 1


def test_threads_with_different_signatures():
    f, _ = counting(lambda x: aj.reduce_sum(x) + 1.0)

    def worker(i):
        n = 2 + i % 2  # two signatures across four threads
        for k in range(30):
            x = aj.constant(np.full((n,), float(k), np.float32))
            assert float(f(x)) == n * k + 1.0

    _run_threads(worker, 4)
    assert f.tracing_count == 2


def test_creating_a_variable_in_another_thread_during_a_retrace():
    started, release = threading.Event(), threading.Event()

    @aj.function(autograph=AUTOGRAPH)
    def slow(x):
        if x.shape[0] == 2:
            started.set()
            release.wait(5)
        return x + 1.0

    slow(ones(1))  # the first trace
    errors = []

    def other():
        started.wait(5)
        try:
            aj.Variable(1.0)  # eager, unrelated to the trace running in the main thread
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        release.set()

    thread = threading.Thread(target=other)
    thread.start()
    slow(ones(2))  # a retrace, blocked until the other thread made its Variable
    thread.join()
    assert not errors, errors


def test_reshape_to_a_shape_computed_in_the_graph():
    # TF's `tf.reshape(x, [tf.shape(x)[0], -1])`: one trace serves every batch size.
    @aj.function(input_signature=[aj.TensorSpec([None, 2, 3], aj.float32)])
    def flatten(x):
        return aj.reshape(x, [aj.shape(x)[0], -1])

    for n in (1, 4):
        x = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)
        np.testing.assert_array_equal(flatten(aj.constant(x)).numpy(), x.reshape(n, -1))
    assert flatten.tracing_count == 1
    assert flatten.get_concrete_function().graph.outputs[0].spec.shape == (None, None)


def test_a_concrete_function_called_while_another_function_traces_is_inlined():
    # it replayed its generated code on the symbolic inputs: TypeError on None arrays
    w = aj.Variable(2.0, dtype=aj.float64)
    f = aj.function(lambda x: {"y": x * w + 1.0})
    concrete = f.get_concrete_function(aj.TensorSpec([3], aj.float64))

    @aj.function
    def g(x):
        with aj.GradientTape() as tape:
            tape.watch(x)
            total = aj.reduce_sum(concrete(x)["y"] ** 2)
        return total, tape.gradient(total, [x, w])

    @aj.function
    def h(x):
        return concrete(x)["y"] - 1.0

    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(h(aj.constant(x)).numpy(), 2.0 * x)
    total, (gx, gw) = g(aj.constant(x))
    y = 2.0 * x + 1.0
    np.testing.assert_allclose(float(total), np.sum(y ** 2))
    np.testing.assert_allclose(gx.numpy(), 2 * y * 2.0)
    np.testing.assert_allclose(float(gw), np.sum(2 * y * x))
    w.assign(3.0)  # the inlined graph reads the Variable at every call
    np.testing.assert_allclose(float(g(aj.constant(x))[0]), np.sum((3.0 * x + 1.0) ** 2))
