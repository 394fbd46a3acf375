"""``assert``: checked on Python values (also under ``-O``); on tensors inside
``@aj.function`` by the graph's ``assert`` op, at every call."""

import re

import pytest

import autojit as aj
from autojit import autograph


def checked(x):
    assert x > 0, f"x must be positive, got {x}"
    return x


def test_python_assert():
    converted = autograph.convert(checked)
    assert converted(2) == 2
    with pytest.raises(AssertionError, match="x must be positive, got -1"):
        converted(-1)
    assert "ag__.assert_stmt(x > 0, lambda: f'x must be positive, got {x}')" in \
        autograph.to_code(checked)


def test_tensor_assert_is_checked_at_every_call():
    fn = aj.function(checked)
    assert fn(aj.constant(2.0)).numpy() == 2.0
    graph_text = str(fn.get_concrete_function(aj.constant(2.0)).graph)
    assert "assert" in graph_text
    with pytest.raises(AssertionError) as info:
        fn(aj.constant(-3.0))  # same signature: replayed, not retraced
    assert fn.tracing_count == 1
    message = str(info.value)
    assert "while running `assert` of checked" in message
    assert re.search(r"assertion failed at .*test_asserts\.py:\d+: "
                     r"assert x > 0, f.x must be positive, got \{x\}.", message), message


def test_assert_op_rejects_a_non_bool_condition():
    from autojit.ops.io import assert_that

    with pytest.raises(aj.errors.DTypeError,
                       match=re.escape("assert: expected a bool scalar condition, got float32[]")):
        assert_that(aj.constant(1.0), "m")
