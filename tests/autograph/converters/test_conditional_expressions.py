"""``a if c else b``."""

from autojit import autograph

from ..helpers import check


def choose(x, z, w1, w2):
    return w1 * x if z > 0 else w2 * x


def nested(x):
    return 1.0 if x > 1.0 else (2.0 if x > 0 else 3.0)


def test_if_exp():
    check(choose, [(2.0, 1.0, 3.0, 5.0), (2.0, -1.0, 3.0, 5.0)], ops={"cond"})


def test_nested_if_exp_with_python_scalars():
    check(nested, [(2.0,), (0.5,), (-1.0,)], ops={"cond"})


def test_code_shape():
    assert "ag__.if_exp(z > 0, lambda: w1 * x, lambda: w2 * x)" in autograph.to_code(choose)
