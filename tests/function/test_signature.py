"""``input_signature`` (one trace for every matching call, clear errors for the rest),
``reduce_retracing`` (dims generalize after a retrace) and the RetracingWarning."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import autojit as aj
from autojit.errors import TracingError
from autojit.function import RetracingWarning

from .common import AUTOGRAPH

SPEC = aj.TensorSpec([None, 3], aj.float32)


def row_sums():
    return aj.function(lambda x: aj.reduce_sum(x * 2.0, axis=1), autograph=AUTOGRAPH,
                       input_signature=[SPEC])


def test_one_trace_for_every_matching_shape():
    f = row_sums()
    for rows in (1, 2, 7, 0):
        x = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
        np.testing.assert_allclose(f(aj.constant(x)).numpy(), 2.0 * x.sum(axis=1))
    assert f.tracing_count == 1
    graph = f.get_concrete_function().graph
    assert graph.inputs[0].spec.shape == (None, 3)
    assert f.tracing_count == 1


def test_python_and_numpy_values_are_converted_to_the_spec():
    f = row_sums()
    np.testing.assert_allclose(f([[1, 2, 3]]).numpy(), [12.0])
    np.testing.assert_allclose(f(np.ones((2, 3), np.float32)).numpy(), [6.0, 6.0])
    assert f.tracing_count == 1


@pytest.mark.parametrize("value, got", [
    (np.ones((2, 3), np.float64), "got a float64 tensor of shape (2, 3)"),  # dtype
    (np.ones((3,), np.float32), "got a float32 tensor of shape (3,)"),  # rank
    (np.ones((2, 4), np.float32), "got a float32 tensor of shape (2, 4)"),  # dim
    (np.ones((1, 2, 3), np.float32), "got a float32 tensor of shape (1, 2, 3)"),
])
def test_non_matching_calls_are_clear_errors(value, got):
    f = row_sums()
    f(aj.ones((1, 3)))
    with pytest.raises(TracingError) as info:
        f(aj.constant(value))
    message = str(info.value)
    assert "argument `x` must match TensorSpec(shape=(None, 3), dtype=aj.float32)" in message
    assert "input_signature" in message and got in message
    assert f.tracing_count == 1


def test_wrong_number_of_arguments():
    f = row_sums()
    with pytest.raises(TracingError, match=re.escape("input_signature has 1 entries, but the "
                                                     "call passed 2 arguments")):
        f(aj.ones((1, 3)), aj.ones((1, 3)))


def test_signature_with_several_arguments_and_keywords():
    f = aj.function(lambda x, w: aj.matmul(x, w), autograph=AUTOGRAPH, input_signature=[
        aj.TensorSpec([None, 3], aj.float32), aj.TensorSpec([3, None], aj.float32)])
    x, w = np.ones((2, 3), np.float32), np.ones((3, 5), np.float32)
    np.testing.assert_allclose(f(aj.constant(x), aj.constant(w)).numpy(), x @ w)
    np.testing.assert_allclose(f(aj.constant(x), w=aj.constant(w)).numpy(), x @ w)
    np.testing.assert_allclose(f(aj.ones((4, 3)), aj.ones((3, 1))).numpy(), np.full((4, 1), 3))
    assert f.tracing_count == 1
    with pytest.raises(TracingError, match="argument `w` must match"):
        f(aj.constant(x), aj.ones((4, 5)))


def test_keywords_in_any_order_get_their_own_specs():
    f = aj.function(lambda x, b, a: aj.reduce_sum(x) + 10.0 * aj.reduce_sum(b)
                    + 100.0 * aj.reduce_sum(a), autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([1]), aj.TensorSpec([2]), aj.TensorSpec([3])])
    assert float(f(aj.ones((1,)), a=aj.ones((3,)), b=aj.ones((2,)))) == 321.0
    assert float(f(aj.ones((1,)), aj.ones((2,)), a=aj.ones((3,)) * 2.0)) == 621.0
    assert f.tracing_count == 1


def test_python_lists_are_traced_as_tensors_not_baked_in():
    f = aj.function(lambda x: x * 2.0, autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([None], aj.float32)])
    np.testing.assert_allclose(f([1.0, 2.0]).numpy(), [2.0, 4.0])
    np.testing.assert_allclose(f([5.0, 6.0, 7.0]).numpy(), [10.0, 12.0, 14.0])
    assert f.tracing_count == 1


def test_nested_signature():
    f = aj.function(lambda pair: pair[0] + pair[1], autograph=AUTOGRAPH,
                    input_signature=[(aj.TensorSpec([None]), aj.TensorSpec([None]))])
    np.testing.assert_allclose(f((aj.ones((2,)), aj.ones((2,)))).numpy(), [2.0, 2.0])
    np.testing.assert_allclose(f((aj.ones((5,)), aj.ones((5,)))).numpy(), np.full(5, 2.0))
    assert f.tracing_count == 1
    with pytest.raises(TracingError, match="structure"):
        f((aj.ones((2,)),))


def test_unknown_dims_reach_the_graph():
    f = aj.function(lambda x: aj.reshape(x, (-1,)), autograph=AUTOGRAPH,
                    input_signature=[aj.TensorSpec([None, 2], aj.float32)])
    graph = f.get_concrete_function().graph
    assert graph.outputs[0].spec.shape == (None,)
    assert f(aj.ones((3, 2))).shape == (6,)


# --------------------------------------------------------------------------------------
# reduce_retracing


def test_reduce_retracing_generalizes_after_a_second_shape():
    f = aj.function(lambda x: aj.reduce_sum(x, axis=0), autograph=AUTOGRAPH,
                    reduce_retracing=True)
    for rows in (2, 5):
        np.testing.assert_allclose(f(aj.ones((rows, 3))).numpy(), np.full(3, rows))
    assert f.tracing_count == 2
    shapes = [v.spec.shape for v in f.get_concrete_function(aj.ones((5, 3))).graph.inputs]
    assert shapes == [(None, 3)]
    for rows in (7, 1, 11):  # no more traces
        np.testing.assert_allclose(f(aj.ones((rows, 3))).numpy(), np.full(3, rows))
    assert f.tracing_count == 2
    f(aj.ones((2, 4)))  # a dim that was fixed changes: one more trace, then it is general
    f(aj.ones((3, 6)))
    assert f.tracing_count == 3
    f(aj.ones((4,)))  # another rank always retraces
    assert f.tracing_count == 4


def test_reduce_retracing_keeps_python_values_in_the_key():
    f = aj.function(lambda x, n: x * n, autograph=AUTOGRAPH, reduce_retracing=True)
    f(aj.ones((2,)), 2)
    f(aj.ones((3,)), 2)
    assert float(f(aj.ones((4,)), 2)[0]) == 2.0
    assert f.tracing_count == 2
    assert float(f(aj.ones((4,)), 5)[0]) == 5.0  # another Python value: traced for it
    assert f.tracing_count == 3


def test_reduce_retracing_keeps_dtypes_apart():
    f = aj.function(lambda x: x + 1, autograph=AUTOGRAPH, reduce_retracing=True)
    f(aj.ones((2,)))
    f(aj.ones((3,)))
    out = f(aj.ones((4,), aj.int32))
    assert out.dtype == aj.int32 and f.tracing_count == 3


# --------------------------------------------------------------------------------------
# Retracing warnings


def _calls(f, values):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for value in values:
            f(*value) if isinstance(value, tuple) else f(value)
    return [w for w in record if issubclass(w.category, RetracingWarning)]


def test_retracing_on_shapes_warns_naming_the_argument():
    f = aj.function(lambda x: x * 2.0, autograph=AUTOGRAPH)
    record = _calls(f, [aj.ones((n,)) for n in range(1, 8)])
    assert record, "no RetracingWarning after 7 traces"
    message = str(record[0].message)
    assert "has been traced 5 times" in message
    assert "argument `x` changed from a float32 tensor of shape (4,) to a float32 tensor of " \
           "shape (5,)" in message
    assert "input_signature" in message and "reduce_retracing" in message
    assert record[0].filename == __file__  # points at the user's call, not at autojit


def test_retracing_on_python_values_warns_naming_the_argument():
    f = aj.function(lambda x, scale: x * scale, autograph=AUTOGRAPH)
    record = _calls(f, [(aj.ones((2,)), float(k)) for k in range(8)])
    message = str(record[0].message)
    assert "argument `scale` changed from the Python value 3.0 to the Python value 4.0" \
        in message
    assert "pass a tensor" in message


def test_retracing_on_keyword_arguments_names_the_keyword():
    f = aj.function(lambda x, scale=1: x * scale, autograph=AUTOGRAPH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(8):
            f(aj.ones((2,)), scale=k)
    record = [w for w in caught if issubclass(w.category, RetracingWarning)]
    assert "argument `scale` changed from the Python value 3 to the Python value 4" \
        in str(record[0].message)


def test_no_warning_for_a_few_traces_or_a_stable_signature():
    f = aj.function(lambda x: x * 2.0, autograph=AUTOGRAPH)
    assert not _calls(f, [aj.ones((1,)), aj.ones((2,)), aj.ones((3,))])
    assert not _calls(f, [aj.ones((3,))] * 20)
    g = aj.function(lambda x: x * 2.0, autograph=AUTOGRAPH, input_signature=[
        aj.TensorSpec([None])])
    assert not _calls(g, [aj.ones((n,)) for n in range(1, 20)])
    assert g.tracing_count == 1
