"""``assert``: checked on Python values (also under ``-O``); tensors warn until the graph
has an assert op."""

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


def test_tensor_assert():
    with pytest.warns(autograph.AutographWarning, match="checks a tensor inside @aj.function"):
        assert aj.function(checked)(aj.constant(2.0)).numpy() == 2.0
